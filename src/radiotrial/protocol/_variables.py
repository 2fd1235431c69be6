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
    """One patient-record variable: name, kind, physical dimension and description."""

    name: str
    kind: VariableKind
    dimension: Dimension | None
    description: str
    categories: tuple[str, ...] = ()


@cache
def variable_catalogue() -> dict[str, Variable]:
    """Load ``data/variables.yaml`` (package data) into :class:`Variable` records."""
    raw = load_yaml("variables.yaml")
    return {
        name: Variable(
            name=name,
            kind=spec["kind"],
            dimension=spec.get("dimension"),
            description=spec["description"],
            categories=tuple(spec.get("categories", ())),
        )
        for name, spec in raw["variables"].items()
    }
