"""Exception hierarchy shared by every radiotrial layer.

Each domain error derives from :class:`RadiotrialError` *and* from the builtin that a
caller would naturally catch (``ValueError``, ``KeyError``), as pydicom and
radioactivedecay do. Messages name the offending argument, field, file or tag, the bad
value and, where one exists, the fix.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "InputFileError",
    "NuclideError",
    "ProtocolError",
    "RadiotrialError",
    "UnitError",
    "ValidationError",
]


class RadiotrialError(Exception):
    """Base class of every error raised on purpose by radiotrial."""


class ValidationError(RadiotrialError, ValueError):
    """An argument or field has an impossible or unsupported value.

    Parameters
    ----------
    field : str
        Name of the argument or field (dotted path for nested data).
    value : object
        The offending value; ``...`` (Ellipsis) when there is no single value to show
        (a missing field, a rule across several fields).
    reason : str
        Why it is refused, ideally with the accepted range or the fix.
    """

    def __init__(self, field: str, value: Any, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        shown = f"{field}" if value is ... else f"{field}={value!r}"
        super().__init__(f"{shown}: {reason}")


class UnitError(ValidationError):
    """A unit string is unknown, or two quantities of different dimension were mixed."""


class NuclideError(RadiotrialError, KeyError):
    """A nuclide name is not in the ICRP-107 collection."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ProtocolError(ValidationError):
    """A protocol file breaks a schema or consistency rule.

    The message carries the file (when known), the field path, the value and the rule.
    """

    def __init__(self, field: str, value: Any, reason: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(field, value, reason)
        if path is not None:
            self.args = (f"{path}: {self.args[0]}",)


class InputFileError(RadiotrialError, ValueError):
    """An input file (DICOM, NIfTI, YAML, CSV, JSON) is malformed or inconsistent.

    Parameters
    ----------
    path : str
        The file (or folder) at fault.
    reason : str
        What is wrong, naming the tag or field.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")
