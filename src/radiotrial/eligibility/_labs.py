"""Laboratory analytes: units, conversions (including mg/dL ↔ µmol/L via molar mass) and checks.

Mass, cell-count, amount and enzyme-activity (U/L, IU/L, µkat/L) concentrations go through
:mod:`radiotrial.units`; a conversion between mass and amount concentration needs the analyte's
molar mass, which lives with its source in ``data/lab_constants.yaml`` (creatinine
113.12 g/mol, bilirubin 584.66 g/mol).
"""

from __future__ import annotations

import math
from typing import Any, Literal, get_args

from radiotrial.eligibility._constants import lab_constants, value_of
from radiotrial.errors import UnitError, ValidationError
from radiotrial.units import Dimension, convert, from_si, get_unit, known_units, to_si

__all__ = [
    "ANALYTES",
    "Analyte",
    "analyte_unit",
    "check_lab_value",
    "convert_lab",
    "lab_units",
    "uln_multiple",
]

Analyte = Literal[
    "haemoglobin",
    "platelets",
    "wbc",
    "anc",
    "lymphocytes",
    "creatinine",
    "albumin",
    "bilirubin",
    "alt",
    "ast",
    "alp",
    "ggt",
]
ANALYTES: tuple[str, ...] = get_args(Analyte)

_KIND_DIMENSION: dict[str, Dimension] = {
    "mass": "mass_concentration",
    "cells": "cell_concentration",
    "catalytic": "catalytic_concentration",
}
_KIND_WORDS = {
    "mass": "a mass concentration",
    "cells": "a cell count",
    "catalytic": "an enzyme activity",
}


def _spec(analyte: str) -> dict[str, Any]:
    table: dict[str, Any] = lab_constants()["analytes"]
    if analyte not in table:
        raise ValidationError("analyte", analyte, f"unknown analyte; known: {', '.join(table)}")
    spec: dict[str, Any] = table[analyte]
    return spec


def analyte_unit(analyte: str) -> str:
    """The canonical unit in which radiotrial reports ``analyte``."""
    return str(_spec(analyte)["canonical_unit"])


def lab_units(analyte: str) -> list[str]:
    """Every unit accepted for ``analyte``."""
    spec = _spec(analyte)
    units = known_units(_KIND_DIMENSION[spec["kind"]])
    if "molar_mass_g_per_mol" in spec:
        units += known_units("molar_concentration")
    return units


def convert_lab(
    value: float, from_unit: str, to_unit: str, *, analyte: str, field: str = "unit"
) -> float:
    """Convert a laboratory value between units of the same analyte.

    Parameters
    ----------
    value : float
        The value in ``from_unit``.
    from_unit, to_unit : str
        Units of the analyte: mass concentration (g/dL, g/L, mg/dL, ...), amount concentration
        (µmol/L, mmol/L; only for analytes with a molar mass), cell concentration (10^9/L,
        /µL) or enzyme activity (U/L, IU/L, µkat/L).
    analyte : str
        One of :data:`ANALYTES`.
    field : str
        Name of the field that carried ``from_unit``, for the error message.

    Returns
    -------
    float
        The value in ``to_unit``.

    Raises
    ------
    UnitError
        Unknown unit, or a unit of the wrong kind for the analyte (an ANC in g/dL).

    Notes
    -----
    Mass ↔ amount concentration: c_mol = c_mass / M with M the molar mass (g/mol). For
    creatinine (M = 113.12 g/mol) 1 mg/dL = 88.4 µmol/L.

    Examples
    --------
    >>> round(convert_lab(1.0, "mg/dL", "umol/L", analyte="creatinine"), 2)
    88.4
    >>> convert_lab(150000, "/uL", "10^9/L", analyte="platelets")
    150.0
    >>> convert_lab(95, "g/L", "g/dL", analyte="haemoglobin")
    9.5
    """
    spec = _spec(analyte)
    allowed = lab_units(analyte)
    try:
        src = get_unit(from_unit)
    except UnitError:
        raise UnitError(
            field, from_unit, f"unknown unit for {analyte}; valid units: {', '.join(allowed)}"
        ) from None
    dst = get_unit(to_unit)
    for u, name in ((src, field), (dst, "to_unit")):
        if u.symbol not in allowed:
            raise UnitError(
                name,
                u.symbol,
                f"{u.symbol} is a {u.dimension} unit, not a unit of {analyte} "
                f"({_KIND_WORDS[spec['kind']]}); valid units: {', '.join(allowed)}",
            )
    if src.dimension == dst.dimension:
        return convert(float(value), src.symbol, dst.symbol)
    molar_mass_g_per_mol = value_of(spec["molar_mass_g_per_mol"])
    si = to_si(float(value), src.symbol)
    if src.dimension == "mass_concentration":  # kg/m³ → mol/m³
        result = from_si(si * 1e3 / molar_mass_g_per_mol, dst.symbol)
    else:  # mol/m³ → kg/m³
        result = from_si(si * molar_mass_g_per_mol * 1e-3, dst.symbol)
    return float(f"{result:.12g}")


def check_lab_value(value: float, unit: str, *, analyte: str, field: str) -> float:
    """Refuse impossible laboratory values; return the value in the canonical unit.

    Raises
    ------
    ValidationError
        Negative, non-finite, or beyond the physiological plausibility limit of the analyte
        (``data/lab_constants.yaml``), which almost always means a wrong unit.
    UnitError
        Unknown or wrong-kind unit.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"{field}.value", value, "must be a finite number")
    if value < 0:
        raise ValidationError(f"{field}.value", value, f"a {analyte} value cannot be negative")
    canonical = analyte_unit(analyte)
    converted = convert_lab(value, unit, canonical, analyte=analyte, field=f"{field}.unit")
    limit = value_of(_spec(analyte)["plausible_max"])
    if converted > limit:
        raise ValidationError(
            f"{field}.value",
            value,
            f"{analyte} of {converted:g} {canonical} is beyond the plausible maximum "
            f"{limit:g} {canonical}; check the value and its unit ({unit})",
        )
    return converted


def uln_multiple(
    value: float, value_unit: str, uln: float, uln_unit: str, *, analyte: str, field: str
) -> float:
    """A laboratory value as a multiple of its upper limit of normal (dimensionless).

    The ULN may be given in another unit of the same analyte (µmol/L value, mg/dL ULN).
    """
    if not isinstance(uln, int | float) or not math.isfinite(uln) or uln <= 0:
        raise ValidationError(f"{field}.uln", uln, "the upper limit of normal must be > 0")
    uln_in_value_unit = convert_lab(
        uln, uln_unit, value_unit, analyte=analyte, field=f"{field}.unit"
    )
    return float(value) / uln_in_value_unit
