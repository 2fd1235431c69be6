"""Workflow parameters from ``data/dosimetry.yaml``."""

from __future__ import annotations

from typing import Any

from radiotrial.data import load_yaml

__all__ = ["dosimetry_data", "value"]


def dosimetry_data() -> dict[str, Any]:
    """The parsed ``data/dosimetry.yaml`` (cached by :func:`radiotrial.data.load_yaml`)."""
    return load_yaml("dosimetry.yaml")


def value(*path: str) -> float:
    """The ``value`` of a sourced entry, e.g. ``value("uncertainty", "calibration_rsd")``."""
    node: Any = dosimetry_data()
    for key in path:
        node = node[key]
    return float(node["value"])
