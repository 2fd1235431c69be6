"""Versioned escalation data files (scenario sets, defaults), loaded lazily."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

from radiotrial.errors import InputFileError, ValidationError

__all__ = ["dosimetry_defaults", "get_scenario", "load_yaml", "scenarios"]


@cache
def load_yaml(name: str) -> dict[str, Any]:
    """Parse ``radiotrial/data/escalation/<name>``."""
    ref = resources.files("radiotrial") / "data" / "escalation" / name
    try:
        data = yaml.safe_load(ref.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputFileError(str(ref), f"cannot read escalation data: {exc}") from exc
    if not isinstance(data, dict) or "version" not in data:
        raise InputFileError(str(ref), "missing 'version'")
    return data


def scenarios() -> dict[str, dict[str, Any]]:
    """All scenario sets: name → {truth, target, source, ...}."""
    out: dict[str, dict[str, Any]] = load_yaml("scenarios.yaml")["scenarios"]
    return out


def get_scenario(name: str) -> dict[str, Any]:
    """One scenario set by name."""
    sc = scenarios()
    if name not in sc:
        raise ValidationError("scenario", name, f"unknown; choose from {', '.join(sorted(sc))}")
    return sc[name]


def dosimetry_defaults() -> dict[str, Any]:
    """Organ coefficients, limits and the illustrative dose-response (values with sources)."""
    return load_yaml("dosimetry_defaults.yaml")


def value(entry: Any) -> Any:
    """The ``value`` of a ``{value, source}`` entry."""
    return entry["value"] if isinstance(entry, dict) and "value" in entry else entry
