"""Catalogue of patient-record variables that eligibility criteria may test.

The catalogue fixes each variable's kind (numeric with a physical dimension, categorical,
boolean, date) so that a protocol threshold in the wrong kind of unit is refused at load time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from radiotrial.data import load_yaml
from radiotrial.units import Dimension

__all__ = ["Variable", "VariableKind", "variable_catalogue"]

VariableKind = Literal["numeric", "score", "categorical", "boolean", "date"]


@dataclass(frozen=True, slots=True)
class Variable:
    """One patient-record variable: name, kind, physical dimension and description.

    ``range_min``/``range_max`` bound the physical range (in ``range_unit``; ``None`` =
    unbounded), ``range_source`` says why.
    """

    name: str
    kind: VariableKind
    dimension: Dimension | None
    description: str
    categories: tuple[str, ...] = ()
    range_min: float | None = None
    range_max: float | None = None
    range_unit: str | None = None
    range_source: str | None = None


@cache
def variable_catalogue() -> dict[str, Variable]:
    """Load ``data/variables.yaml`` (package data) into :class:`Variable` records."""
    raw = load_yaml("variables.yaml")
    out = {}
    for name, spec in raw["variables"].items():
        rng = spec.get("range", {})
        out[name] = Variable(
            name=name,
            kind=spec["kind"],
            dimension=spec.get("dimension"),
            description=spec["description"],
            categories=tuple(spec.get("categories", ())),
            range_min=None if rng.get("min") is None else float(rng["min"]),
            range_max=None if rng.get("max") is None else float(rng["max"]),
            range_unit=rng.get("unit"),
            range_source=rng.get("source"),
        )
    return out
