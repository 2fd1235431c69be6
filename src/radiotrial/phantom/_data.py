"""Access to the phantom's versioned data files (``radiotrial/data/phantom``)."""

from __future__ import annotations

from typing import Any, Final

from radiotrial.data import load_yaml, value_of
from radiotrial.errors import InputFileError

__all__ = ["DATA_FILES", "load_data", "value_of"]

DATA_FILES: Final = ("anatomy.yaml", "kinetics_lu177_neob.yaml", "spect.yaml")


def load_data(name: str) -> dict[str, Any]:
    """Parse one data file of ``radiotrial/data/phantom`` (cached).

    Raises
    ------
    InputFileError
        If the file is missing, is not a YAML mapping or has no ``version`` key.
    """
    data = load_yaml("phantom", name)
    if "version" not in data:
        raise InputFileError(f"radiotrial/data/phantom/{name}", "expected a 'version' key")
    return data
