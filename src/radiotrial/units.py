"""Unit convention and conversions.

Convention
----------
Inside radiotrial every quantity is SI: activity in Bq, time in s, energy in J, mass in kg,
absorbed dose in Gy, length in m. Values cross the boundary (files, CLI, web, reports) in the
units people use (MBq/GBq, h/d, keV/MeV, g, mGy/Gy, mm) and every boundary name carries its unit
(``activity_mbq``, ``times_h``, ``spacing_mm``). Conversions happen here and only here.

Clinical laboratory units (g/dL, µmol/L, 10⁹/L, /µL, U/L and µkat/L, mL/min/1.73 m²) are
registered too, each with its dimension, so that a threshold in the wrong kind of unit (an ANC in
g/dL) is refused instead of silently converted.

An :class:`Activity` always carries the datetime at which it holds (timezone-aware) and the
nuclide, and decay-corrects to any other time in one call.

Factors are definitions, not measurements: SI prefixes and derived units (BIPM, *The
International System of Units*, 9th ed., 2019), the curie (1 Ci = 3.7×10¹⁰ Bq exactly), the
electronvolt (CODATA 2018, exact since the 2019 SI revision) as provided by ``scipy.constants``,
the international pound (1 lb = 0.45359237 kg exactly, 1959 agreement) and the enzyme unit
(1 U = 1 µmol/min, IUPAC/IUB 1964; IU is the same unit), so that 1 µkat/L = 60 U/L.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, overload

import numpy as np
import numpy.typing as npt
from scipy import constants as _const

from radiotrial.errors import UnitError, ValidationError

__all__ = [
    "Activity",
    "Dimension",
    "Unit",
    "check_aware",
    "convert",
    "dimension_of",
    "from_si",
    "get_unit",
    "known_units",
    "to_si",
]

Dimension = Literal[
    "activity",
    "time",
    "energy",
    "mass",
    "length",
    "volume",
    "absorbed_dose",
    "dose_rate",
    "equivalent_dose_rate",
    "density",
    "mass_concentration",
    "molar_concentration",
    "catalytic_concentration",
    "cell_concentration",
    "fraction",
    "clearance",
    "normalised_clearance",
    "count",
    "count_rate",
    "sensitivity",
    "uln_multiple",
]


@dataclass(frozen=True, slots=True)
class Unit:
    """A registered unit: its canonical spelling, dimension and factor to the SI unit."""

    symbol: str
    dimension: Dimension
    to_si: float


_MEV_J: Final = _const.mega * _const.electron_volt
_KEV_J: Final = _const.kilo * _const.electron_volt
_CI_BQ: Final = 3.7e10  # definition of the curie
_MIN: Final = _const.minute
_HOUR: Final = _const.hour
_DAY: Final = _const.day
_WEEK: Final = _const.week
_YEAR: Final = _const.Julian_year
_LITRE: Final = _const.litre
_POUND_KG: Final = 0.45359237  # definition of the international pound (1959); scipy's is 1 ulp off
_ENZYME_UNIT_KAT: Final = _const.micro / _MIN  # 1 U = 1 µmol/min (IUPAC/IUB 1964)

# symbol -> (dimension, factor to SI); aliases map to a canonical symbol below.
_TABLE: Final[dict[str, tuple[Dimension, float]]] = {
    # activity (SI: Bq)
    "Bq": ("activity", 1.0),
    "kBq": ("activity", 1e3),
    "MBq": ("activity", 1e6),
    "GBq": ("activity", 1e9),
    "TBq": ("activity", 1e12),
    "uCi": ("activity", 1e-6 * _CI_BQ),
    "mCi": ("activity", 1e-3 * _CI_BQ),
    "Ci": ("activity", _CI_BQ),
    # time (SI: s)
    "s": ("time", 1.0),
    "min": ("time", _MIN),
    "h": ("time", _HOUR),
    "d": ("time", _DAY),
    "week": ("time", _WEEK),
    "month": ("time", _YEAR / 12.0),
    "y": ("time", _YEAR),
    # energy (SI: J)
    "J": ("energy", 1.0),
    "eV": ("energy", _const.electron_volt),
    "keV": ("energy", _KEV_J),
    "MeV": ("energy", _MEV_J),
    # mass (SI: kg)
    "kg": ("mass", 1.0),
    "g": ("mass", 1e-3),
    "mg": ("mass", 1e-6),
    "lb": ("mass", _POUND_KG),
    # length (SI: m)
    "m": ("length", 1.0),
    "cm": ("length", 1e-2),
    "mm": ("length", 1e-3),
    "um": ("length", 1e-6),
    # volume (SI: m^3)
    "m3": ("volume", 1.0),
    "L": ("volume", _LITRE),
    "mL": ("volume", 1e-3 * _LITRE),
    "cm3": ("volume", 1e-6),
    "mm3": ("volume", 1e-9),
    # absorbed dose (SI: Gy)
    "Gy": ("absorbed_dose", 1.0),
    "cGy": ("absorbed_dose", 1e-2),
    "mGy": ("absorbed_dose", 1e-3),
    "uGy": ("absorbed_dose", 1e-6),
    # absorbed dose rate (SI: Gy/s)
    "Gy/s": ("dose_rate", 1.0),
    "Gy/h": ("dose_rate", 1.0 / _HOUR),
    "mGy/h": ("dose_rate", 1e-3 / _HOUR),
    # ambient/equivalent dose rate (SI: Sv/s)
    "Sv/s": ("equivalent_dose_rate", 1.0),
    "mSv/h": ("equivalent_dose_rate", 1e-3 / _HOUR),
    "uSv/h": ("equivalent_dose_rate", 1e-6 / _HOUR),
    # density (SI: kg/m^3)
    "kg/m3": ("density", 1.0),
    "g/cm3": ("density", 1e3),
    "g/mL": ("density", 1e3),
    # mass concentration (SI: kg/m^3 == g/L)
    "g/L": ("mass_concentration", 1.0),
    "g/dL": ("mass_concentration", 10.0),
    "mg/dL": ("mass_concentration", 1e-2),
    "mg/L": ("mass_concentration", 1e-3),
    # amount concentration (SI: mol/m^3); conversion to mass needs a molar mass (not here)
    "mol/L": ("molar_concentration", 1e3),
    "mmol/L": ("molar_concentration", 1.0),
    "umol/L": ("molar_concentration", 1e-3),
    # catalytic (enzyme-activity) concentration (SI: kat/m^3; 1 kat = 1 mol/s)
    "U/L": ("catalytic_concentration", _ENZYME_UNIT_KAT / _LITRE),
    "IU/L": ("catalytic_concentration", _ENZYME_UNIT_KAT / _LITRE),
    "ukat/L": ("catalytic_concentration", _const.micro / _LITRE),
    # number concentration of cells (SI: 1/m^3)
    "10^9/L": ("cell_concentration", 1e9 / _LITRE),
    "10^12/L": ("cell_concentration", 1e12 / _LITRE),
    "/uL": ("cell_concentration", 1.0 / (1e-9)),
    # dimensionless
    "1": ("fraction", 1.0),
    "%": ("fraction", 1e-2),
    # clearance (SI: m^3/s)
    "mL/min": ("clearance", 1e-3 * _LITRE / _MIN),
    "mL/min/1.73m2": ("normalised_clearance", 1e-3 * _LITRE / _MIN),
    # counts
    "counts": ("count", 1.0),
    "cps": ("count_rate", 1.0),
    "cps/MBq": ("sensitivity", 1e-6),
    # laboratory value as a multiple of the upper limit of normal
    "xULN": ("uln_multiple", 1.0),
}

_ALIASES: Final[dict[str, str]] = {
    "µCi": "uCi",
    "μCi": "uCi",
    "sec": "s",
    "second": "s",
    "seconds": "s",
    "hour": "h",
    "hours": "h",
    "hr": "h",
    "day": "d",
    "days": "d",
    "weeks": "week",
    "wk": "week",
    "months": "month",
    "year": "y",
    "years": "y",
    "a": "y",
    "µm": "um",
    "μm": "um",
    "ml": "mL",
    "l": "L",
    "cc": "cm3",
    "µGy": "uGy",
    "μGy": "uGy",
    "µSv/h": "uSv/h",
    "μSv/h": "uSv/h",
    "µmol/L": "umol/L",
    "μmol/L": "umol/L",
    "µkat/L": "ukat/L",
    "μkat/L": "ukat/L",
    "lbs": "lb",
    "pound": "lb",
    "pounds": "lb",
    "×10⁹/L": "10^9/L",
    "x10^9/L": "10^9/L",
    "10*9/L": "10^9/L",
    "10e9/L": "10^9/L",
    "G/L": "10^9/L",
    "×10¹²/L": "10^12/L",
    "x10^12/L": "10^12/L",
    "10*12/L": "10^12/L",
    "/µL": "/uL",
    "/μL": "/uL",
    "cells/uL": "/uL",
    "cells/µL": "/uL",
    "/mm3": "/uL",
    "×ULN": "xULN",
    "x ULN": "xULN",
    "ULN": "xULN",
    "percent": "%",
    "mL/min/1.73 m2": "mL/min/1.73m2",
    "mL/min/1.73m²": "mL/min/1.73m2",
    "mL/min/1.73 m²": "mL/min/1.73m2",
}


def known_units(dimension: Dimension | None = None) -> list[str]:
    """Return the canonical unit symbols, optionally those of one dimension."""
    return [s for s, (d, _) in _TABLE.items() if dimension is None or d == dimension]


def get_unit(symbol: str) -> Unit:
    """Look up a unit by symbol or alias.

    Raises
    ------
    UnitError
        If the symbol is not registered; the message lists the valid symbols.
    """
    if not isinstance(symbol, str):
        raise UnitError("unit", symbol, "a unit must be given as a string")
    key = _ALIASES.get(symbol.strip(), symbol.strip())
    if key not in _TABLE:
        raise UnitError("unit", symbol, f"unknown unit; valid units: {', '.join(_TABLE)}")
    dim, factor = _TABLE[key]
    return Unit(key, dim, factor)


def dimension_of(symbol: str) -> Dimension:
    """Return the physical dimension of a unit symbol."""
    return get_unit(symbol).dimension


FloatOrArray = float | npt.NDArray[np.float64]


@overload
def convert(value: float, from_unit: str, to_unit: str) -> float: ...
@overload
def convert(
    value: npt.NDArray[np.float64], from_unit: str, to_unit: str
) -> npt.NDArray[np.float64]: ...
def convert(value: FloatOrArray, from_unit: str, to_unit: str) -> FloatOrArray:
    """Convert ``value`` from one unit to another of the same dimension.

    Parameters
    ----------
    value : float or ndarray
        Quantity in ``from_unit``.
    from_unit, to_unit : str
        Registered unit symbols (see :func:`known_units`).

    Returns
    -------
    float or ndarray
        Quantity in ``to_unit``.

    Raises
    ------
    UnitError
        If either unit is unknown or their dimensions differ (mixing units is never silent).

    Notes
    -----
    A scalar result is rounded to 12 significant figures; an array result is not. Scalars are
    the values people type and read (protocol thresholds, CLI options, report fields), where a
    factor that is not exactly representable would otherwise turn 7.4 GBq into
    199.99999999999997 mCi; the rounding changes a value by at most 5e-13 relative, far below
    any physical significance. Arrays are numerics (images, dose grids, spectra): rounding each
    element would cost a formatting pass per element and buy nothing there, so
    ``convert(x, a, b)`` and ``convert(np.array([x]), a, b)[0]`` can differ by that 5e-13.

    Examples
    --------
    >>> convert(7.4, "GBq", "mCi")
    200.0
    >>> convert(1.2, "g/dL", "g/L")
    12.0
    """
    src, dst = get_unit(from_unit), get_unit(to_unit)
    if src.dimension != dst.dimension:
        raise UnitError(
            "unit",
            f"{from_unit} -> {to_unit}",
            f"cannot convert {src.dimension} ({from_unit}) to {dst.dimension} ({to_unit})",
        )
    factor = src.to_si / dst.to_si
    if isinstance(value, np.ndarray):
        return value * factor
    result = float(value) * factor
    # keep exact decimal results exact for display (7.4 GBq -> 200 mCi, not 199.99999999999997)
    return float(f"{result:.12g}")


def to_si(value: float, unit: str) -> float:
    """Convert a scalar to the SI unit of its dimension."""
    return float(value) * get_unit(unit).to_si


def from_si(value: float, unit: str) -> float:
    """Convert a scalar from the SI unit of ``unit``'s dimension to ``unit``."""
    return float(value) / get_unit(unit).to_si


def check_aware(name: str, when: datetime) -> datetime:
    """Refuse naive datetimes: every time in radiotrial carries its UTC offset."""
    if not isinstance(when, datetime):
        raise ValidationError(name, when, "expected a datetime")
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValidationError(
            name, when.isoformat(), "datetime must be timezone-aware (e.g. 2025-04-01T09:30+08:00)"
        )
    return when


@dataclass(frozen=True, slots=True)
class Activity:
    """An activity of one nuclide at a stated reference time.

    Immutable: decay correction returns a new object.

    Parameters
    ----------
    bq : float
        Activity in Bq at ``reference_time`` (≥ 0, finite).
    reference_time : datetime
        Timezone-aware datetime at which ``bq`` holds.
    nuclide : str
        ICRP-107 nuclide name (normalised, e.g. ``"Lu-177"``).

    Examples
    --------
    >>> from datetime import datetime, timedelta, timezone
    >>> t0 = datetime(2025, 4, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    >>> a = Activity.from_value(7.4, "GBq", t0, "Lu-177")
    >>> round(a.at(t0 + timedelta(days=6.647)).gbq, 6)
    3.7
    """

    bq: float
    reference_time: datetime
    nuclide: str

    def __post_init__(self) -> None:
        if not isinstance(self.bq, int | float) or not math.isfinite(self.bq) or self.bq < 0:
            raise ValidationError("activity", self.bq, "activity must be a finite value ≥ 0")
        check_aware("reference_time", self.reference_time)
        from radiotrial.nuclides import get_nuclide

        object.__setattr__(self, "nuclide", get_nuclide(self.nuclide).name)

    @classmethod
    def from_value(
        cls, value: float, unit: str, reference_time: datetime, nuclide: str
    ) -> Activity:
        """Build an activity from a value in any activity unit (``"MBq"``, ``"mCi"``, ...)."""
        u = get_unit(unit)
        if u.dimension != "activity":
            raise UnitError("unit", unit, f"expected an activity unit, got a {u.dimension} unit")
        return cls(float(value) * u.to_si, reference_time, nuclide)

    def to(self, unit: str) -> float:
        """Return the value in ``unit`` (an activity unit) at the reference time."""
        return convert(self.bq, "Bq", unit)

    @property
    def mbq(self) -> float:
        """Activity in MBq at the reference time."""
        return self.bq * 1e-6

    @property
    def gbq(self) -> float:
        """Activity in GBq at the reference time."""
        return self.bq * 1e-9

    def at(self, when: datetime) -> Activity:
        """Decay-correct to another time (earlier or later).

        Uses A(t) = A(t₀)·exp(−λ(t − t₀)) with λ from ICRP-107 via :mod:`radiotrial.nuclides`.
        """
        from radiotrial.nuclides import get_nuclide

        factor = get_nuclide(self.nuclide).decay_factor(self.reference_time, when)
        return Activity(self.bq * factor, when, self.nuclide)

    def __add__(self, other: object) -> Activity:
        if not isinstance(other, Activity):
            return NotImplemented
        if other.nuclide != self.nuclide:
            raise ValidationError(
                "activity", other.nuclide, f"cannot add {other.nuclide} to {self.nuclide}"
            )
        return Activity(
            self.bq + other.at(self.reference_time).bq, self.reference_time, self.nuclide
        )

    def __sub__(self, other: object) -> Activity:
        """Net activity, e.g. syringe before minus residual after injection."""
        if not isinstance(other, Activity):
            return NotImplemented
        if other.nuclide != self.nuclide:
            raise ValidationError(
                "activity", other.nuclide, f"cannot subtract {other.nuclide} from {self.nuclide}"
            )
        diff = self.bq - other.at(self.reference_time).bq
        if diff < 0:
            raise ValidationError(
                "activity", diff, "subtraction gives a negative activity (residual > measured?)"
            )
        return Activity(diff, self.reference_time, self.nuclide)

    def __str__(self) -> str:
        return f"{self.to('MBq'):.4g} MBq {self.nuclide} at {self.reference_time.isoformat()}"
