"""Tissue media: density, elemental composition, photon attenuation and CT number."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from radiotrial.errors import ValidationError
from radiotrial.phantom._data import load_data, value_of

__all__ = ["Tissue", "ct_number_hu", "get_tissue", "list_tissues", "mu_per_cm"]


@dataclass(frozen=True, slots=True)
class Tissue:
    """A tissue medium.

    Parameters
    ----------
    name : str
        Key in ``anatomy.yaml``.
    density_g_cm3 : float
        Mass density, g/cm³.
    composition : tuple of (element, mass fraction)
        Elemental mass fractions, normalised to 1.
    """

    name: str
    density_g_cm3: float
    composition: tuple[tuple[str, float], ...]


@cache
def list_tissues() -> tuple[str, ...]:
    """Names of the tissue media in ``anatomy.yaml``, in file order (index = tissue code)."""
    return tuple(load_data("anatomy.yaml")["tissues"])


@cache
def get_tissue(name: str) -> Tissue:
    """The :class:`Tissue` named ``name``.

    Raises
    ------
    ValidationError
        If ``name`` is not a tissue of ``anatomy.yaml``.
    """
    table = load_data("anatomy.yaml")["tissues"]
    if name not in table:
        raise ValidationError("tissue", name, f"unknown tissue; use one of {sorted(table)}")
    entry = table[name]
    comp = {str(k): float(v) for k, v in entry["composition"].items()}
    total = sum(comp.values())
    # compositions are printed to 3 decimals: renormalise the rounding away
    return Tissue(
        name, float(value_of(entry["density"])), tuple((k, v / total) for k, v in comp.items())
    )


@cache
def mass_attenuation_cm2_g(name: str, energy_kev: float) -> float:
    """Total mass attenuation coefficient μ/ρ (cm²/g) of a tissue, with coherent scattering.

    Notes
    -----
    Mixture rule :math:`μ/ρ = Σ_i w_i (μ/ρ)_i` over elemental cross sections from xraydb
    (Elam, Ravel & Sieber, Radiat Phys Chem 2002;63:121, doi:10.1016/S0969-806X(01)00227-4).
    """
    import xraydb

    if not energy_kev > 0:
        raise ValidationError("energy_kev", energy_kev, "photon energy must be > 0 keV")
    tissue = get_tissue(name)
    return float(
        sum(
            w * float(xraydb.mu_elam(el, energy_kev * 1e3, kind="total"))
            for el, w in tissue.composition
        )
    )


def mu_per_cm(name: str, energy_kev: float) -> float:
    """Linear attenuation coefficient μ (1/cm) of a tissue at ``energy_kev``."""
    return mass_attenuation_cm2_g(name, energy_kev) * get_tissue(name).density_g_cm3


@cache
def _water_mu(energy_kev: float) -> float:
    import xraydb

    return float(xraydb.material_mu("H2O", energy_kev * 1e3, density=1.0))


def ct_number_hu(name: str, energy_kev: float | None = None) -> float:
    """CT number (HU) of a tissue at the effective CT energy.

    Notes
    -----
    :math:`HU = 1000 (μ − μ_w) / μ_w` with μ at a single effective energy
    (``ct.effective_energy_kev`` of ``anatomy.yaml``, an assumption standing for the
    polychromatic beam).
    """
    e = (
        float(value_of(load_data("anatomy.yaml")["ct"]["effective_energy_kev"]))
        if energy_kev is None
        else energy_kev
    )
    mu_w = _water_mu(e)
    return 1000.0 * (mu_per_cm(name, e) - mu_w) / mu_w


def lookup(values: dict[str, float]) -> npt.NDArray[np.float64]:
    """Array indexed by tissue code holding ``values[tissue name]``."""
    return np.array([values[t] for t in list_tissues()], dtype=np.float64)
