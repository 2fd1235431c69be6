"""Versioned reference data files (YAML/JSON/CSV), each value with its source.

:func:`load_yaml` is the one way package code reads these files: lazily (never at import time),
cached, and with an :class:`~radiotrial.errors.InputFileError` naming the file when it is missing
or malformed. :func:`value_of` reads a ``{value: x, source: ...}`` entry.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

from radiotrial.errors import InputFileError

__all__ = ["load_yaml", "value_of"]


@cache
def load_yaml(*parts: str) -> dict[str, Any]:
    """Parse ``radiotrial/data/<parts...>`` (a YAML mapping), cached after the first call.

    Raises
    ------
    InputFileError
        If the file is missing or does not hold a YAML mapping.
    """
    ref = resources.files("radiotrial.data").joinpath(*parts)
    try:
        data = yaml.safe_load(ref.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(str(ref), "packaged data file not found") from None
    except yaml.YAMLError as exc:
        raise InputFileError(str(ref), f"not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise InputFileError(str(ref), "expected a YAML mapping")
    return data


def value_of(entry: Any) -> Any:
    """The number of a ``{value: x, source: ...}`` entry, or the entry itself if it is bare."""
    if isinstance(entry, dict) and "value" in entry:
        return entry["value"]
    return entry
