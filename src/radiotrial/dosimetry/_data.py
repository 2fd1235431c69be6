"""Workflow parameters from ``data/dosimetry.yaml``, loaded once on first use."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

__all__ = ["dosimetry_data", "value"]


@cache
def dosimetry_data() -> dict[str, Any]:
    text = resources.files("radiotrial.data").joinpath("dosimetry.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def value(*path: str) -> float:
    """The ``value`` of a sourced entry, e.g. ``value("uncertainty", "calibration_rsd")``."""
    node: Any = dosimetry_data()
    for key in path:
        node = node[key]
    return float(node["value"])
