"""Lazy, cached access to the phantom's versioned data files (``radiotrial/data/phantom``)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Final

import yaml

from radiotrial.errors import InputFileError

__all__ = ["DATA_FILES", "load_data", "value_of"]

DATA_FILES: Final = ("anatomy.yaml", "kinetics_lu177_neob.yaml", "spect.yaml")


@cache
def load_data(name: str) -> dict[str, Any]:
    """Parse one data file of ``radiotrial/data/phantom`` (cached after the first call).

    Raises
    ------
    InputFileError
        If the file is missing or is not a YAML mapping.
    """
    ref = resources.files("radiotrial").joinpath("data", "phantom", name)
    try:
        text = ref.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(str(ref), "phantom data file not found") from None
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or "version" not in data:
        raise InputFileError(str(ref), "expected a YAML mapping with a 'version' key")
    return data


def value_of(entry: Any) -> Any:
    """The number of a ``{value: x, source: ...}`` entry, or the entry itself if it is bare."""
    if isinstance(entry, dict) and "value" in entry:
        return entry["value"]
    return entry
