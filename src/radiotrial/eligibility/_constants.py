"""Lazy, cached access to ``data/lab_constants.yaml`` (constants of the clinical derivations)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

__all__ = ["lab_constants", "value_of"]


@cache
def lab_constants() -> dict[str, Any]:
    """The parsed ``lab_constants.yaml`` (loaded on first use, never at import)."""
    text = resources.files("radiotrial.data").joinpath("lab_constants.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def value_of(entry: Any) -> float:
    """A number that is either plain or a ``{value, source}`` mapping."""
    if isinstance(entry, dict):
        return float(entry["value"])
    return float(entry)
