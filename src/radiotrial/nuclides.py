"""Nuclear decay data for any ICRP-107 nuclide.

Emission lines and β spectra come from the ``icrp107-database`` package (ICRP Publication 107,
*Nuclear Decay Data for Dosimetric Calculations*, Ann. ICRP 38(3), 2008); half-lives, decay modes
and progeny come from ``radioactivedecay`` (its ``icrp107_ame2020_nubase2020`` dataset). Nothing
here is typed by hand.

Energies are in MeV per nuclear transformation (the ICRP-107 convention), times in SI seconds.

Examples
--------
>>> lu = get_nuclide("177Lu")
>>> lu.name, round(lu.half_life("d"), 3)
('Lu-177', 6.647)
>>> round(lu.energy_per_decay_mev("beta-"), 4)
0.1333
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache, cached_property
from pathlib import Path
from typing import Final, Literal, get_args

import numpy as np
import numpy.typing as npt

from radiotrial.errors import NuclideError, ValidationError
from radiotrial.units import check_aware, from_si

__all__ = [
    "ELECTRONS",
    "PHOTONS",
    "EmissionLine",
    "Nuclide",
    "RadiationClass",
    "RadiationGroup",
    "get_nuclide",
    "list_nuclides",
    "normalise_name",
]

RadiationClass = Literal[
    "alpha",
    "alpha-recoil",
    "beta-",
    "beta+",
    "ie",
    "auger",
    "gamma",
    "x",
    "annihilation",
    "neutron",
    "fission",
    "delayed-beta",
]
RadiationGroup = Literal["electrons", "photons", "total"]

ELECTRONS: Final[tuple[RadiationClass, ...]] = ("beta-", "beta+", "ie", "auger")
PHOTONS: Final[tuple[RadiationClass, ...]] = ("gamma", "x", "annihilation")

# ICRP-107 JSON keys -> radiotrial class names
_ICRP_KEYS: Final[dict[str, RadiationClass]] = {
    "alpha": "alpha",
    "alpha recoil": "alpha-recoil",
    "beta-": "beta-",
    "beta+": "beta+",
    "IE": "ie",
    "auger": "auger",
    "gamma": "gamma",
    "X": "x",
    "annihilation": "annihilation",
    "neutron": "neutron",
    "fission": "fission",
    "betaD": "delayed-beta",
}

_NAME_RE: Final = (
    re.compile(r"^(?P<el>[A-Za-z]{1,2})-?(?P<a>\d{1,3})(?P<m>[mn]?)$"),
    re.compile(r"^(?P<a>\d{1,3})(?P<m>[mn]?)-?(?P<el>[A-Za-z]{1,2})$"),
)


def _data_dir() -> Path:
    import icrp107_database.utility as icrp

    return Path(icrp.icrp107_source_path) / "icrp107"


@cache
def list_nuclides() -> tuple[str, ...]:
    """Return the names of all 1252 ICRP-107 nuclides, sorted."""
    return tuple(sorted(p.stem for p in _data_dir().glob("*.json")))


def normalise_name(name: str) -> str:
    """Return the ICRP-107 spelling of a nuclide name.

    Accepts ``"Lu-177"``, ``"lu177"``, ``"177Lu"``, ``"Tc99m"``, ``"99mTc"``.

    Raises
    ------
    NuclideError
        If the name cannot be parsed or is not one of the ICRP-107 nuclides.
    """
    if not isinstance(name, str):
        raise NuclideError(f"nuclide: expected a name such as 'Lu-177', got {name!r}")
    text = name.strip()
    for pattern in _NAME_RE:
        match = pattern.match(text)
        if match:
            el = match["el"].capitalize()
            candidate = f"{el}-{int(match['a'])}{match['m'].lower()}"
            if candidate in list_nuclides():
                return candidate
            break
    raise NuclideError(
        f"nuclide={name!r}: not an ICRP-107 nuclide (expected e.g. 'Lu-177', 'Y-90', 'I-131')"
    )


@dataclass(frozen=True, slots=True)
class EmissionLine:
    """One discrete emission: radiation class, energy (MeV) and yield per decay."""

    radiation: RadiationClass
    energy_mev: float
    yield_per_decay: float

    @property
    def energy_per_decay_mev(self) -> float:
        """Energy carried per decay by this line, MeV."""
        return self.energy_mev * self.yield_per_decay


class Nuclide:
    """ICRP-107 decay data of one nuclide. Obtain instances with :func:`get_nuclide`."""

    def __init__(self, name: str) -> None:
        self.name: Final = normalise_name(name)

    def __repr__(self) -> str:
        return f"Nuclide({self.name!r})"

    @cached_property
    def _raw(self) -> dict[str, object]:
        path = _data_dir() / f"{self.name}.json"
        text = json.loads(path.read_text())
        # the package stores each record as a JSON string inside a JSON file
        data = json.loads(text) if isinstance(text, str) else text
        if not isinstance(data, dict) or "emissions" not in data:
            raise NuclideError(f"{path}: not an ICRP-107 record")
        return data

    @cached_property
    def _rd(self) -> object:
        import radioactivedecay as rd

        return rd.Nuclide(self.name)

    # -- half-life and decay --------------------------------------------------------------
    @cached_property
    def half_life_s(self) -> float:
        """Physical half-life in seconds (radioactivedecay, ICRP-107 dataset); inf if stable."""
        return float(self._rd.half_life("s"))  # type: ignore[attr-defined]

    def half_life(self, unit: str = "s") -> float:
        """Physical half-life in ``unit`` (any time unit of :mod:`radiotrial.units`)."""
        return from_si(self.half_life_s, unit)

    @property
    def decay_constant_per_s(self) -> float:
        """λ = ln 2 / T½ in s⁻¹."""
        return math.log(2.0) / self.half_life_s

    def decay_factor(self, from_time: datetime, to_time: datetime) -> float:
        """Return A(to_time)/A(from_time) = exp(−λ (to_time − from_time)).

        Both datetimes must be timezone-aware. ``to_time`` earlier than ``from_time`` gives a
        factor above 1 (back-correction).
        """
        check_aware("from_time", from_time)
        check_aware("to_time", to_time)
        dt_s = (to_time - from_time).total_seconds()
        return math.exp(-self.decay_constant_per_s * dt_s)

    @cached_property
    def progeny(self) -> tuple[tuple[str, float, str], ...]:
        """Direct progeny as ``(name, branching fraction, decay mode)`` tuples."""
        rd = self._rd
        return tuple(
            zip(
                rd.progeny(),  # type: ignore[attr-defined]
                (float(b) for b in rd.branching_fractions()),  # type: ignore[attr-defined]
                rd.decay_modes(),  # type: ignore[attr-defined]
                strict=True,
            )
        )

    # -- emissions --------------------------------------------------------------------------
    @cached_property
    def _lines(self) -> dict[RadiationClass, npt.NDArray[np.float64]]:
        emissions = self._raw["emissions"]
        assert isinstance(emissions, dict)
        out: dict[RadiationClass, npt.NDArray[np.float64]] = {}
        for key, cls in _ICRP_KEYS.items():
            rows = emissions.get(key, [])
            arr = np.asarray(rows, dtype=np.float64).reshape(-1, 2)
            out[cls] = arr
        return out

    def lines(
        self,
        radiation: RadiationClass | RadiationGroup = "total",
        *,
        min_yield: float = 0.0,
        min_energy_mev: float = 0.0,
    ) -> list[EmissionLine]:
        """Discrete lines of one class or group, above yield and energy thresholds.

        β spectra are continuous: a β line's energy is the branch's *mean* energy (ICRP-107).
        Lines are sorted by energy.
        """
        result: list[EmissionLine] = []
        for cls in self._classes(radiation):
            for energy, yld in self._lines[cls]:
                if yld >= min_yield and energy >= min_energy_mev:
                    result.append(EmissionLine(cls, float(energy), float(yld)))
        return sorted(result, key=lambda line: (line.energy_mev, line.radiation))

    def energy_per_decay_mev(self, radiation: RadiationClass | RadiationGroup = "total") -> float:
        """Mean energy emitted per decay (MeV) by one radiation class or group.

        Groups: ``"electrons"`` (β−, β+, internal-conversion, Auger), ``"photons"`` (γ, X,
        annihilation) and ``"total"`` (every class, including α and neutrons).
        """
        return float(
            sum(
                float(np.dot(a[:, 0], a[:, 1]))
                for a in map(self._lines.get, self._classes(radiation))
                if a is not None
            )
        )

    def _classes(self, radiation: RadiationClass | RadiationGroup) -> tuple[RadiationClass, ...]:
        if radiation == "electrons":
            return ELECTRONS
        if radiation == "photons":
            return PHOTONS
        if radiation == "total":
            return tuple(_ICRP_KEYS.values())
        if radiation not in get_args(RadiationClass):
            raise ValidationError(
                "radiation",
                radiation,
                f"unknown radiation class; use one of {', '.join(get_args(RadiationClass))}, "
                "or a group: electrons, photons, total",
            )
        return (radiation,)

    def beta_spectrum(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Continuous β spectrum from ICRP-107 (``.BET`` data).

        Returns
        -------
        energy_mev : (N,) ndarray
            Kinetic energy grid, MeV.
        density_per_mev : (N,) ndarray
            Number of β particles per MeV per decay at each energy; its integral over energy is
            the β yield per decay and its first moment the mean β energy per decay.

        Raises
        ------
        NuclideError
            If the nuclide emits no β particles.
        """
        rows = self._raw["emissions"]
        assert isinstance(rows, dict)
        arr = np.asarray(rows.get("b-spectra", []), dtype=np.float64).reshape(-1, 2)
        if arr.size == 0:
            raise NuclideError(f"nuclide={self.name!r}: no beta spectrum in ICRP-107")
        return arr[:, 0].copy(), arr[:, 1].copy()


@cache
def get_nuclide(name: str) -> Nuclide:
    """Return the (cached) :class:`Nuclide` for any spelling of an ICRP-107 name."""
    canonical = normalise_name(name)
    if canonical != name:
        return get_nuclide(canonical)
    return Nuclide(canonical)
