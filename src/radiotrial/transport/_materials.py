"""Tissue materials: composition, density and mean excitation energy, from a versioned data file.

The compositions live in ``radiotrial/data/transport/materials.yaml`` (ICRU Report 44 tissues,
water, air), each value with its source. Photon cross sections and electron stopping powers are
*computed* from these compositions (xraydb; Bethe formula), never typed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

import yaml

from radiotrial.errors import ValidationError

__all__ = ["Material", "get_material", "list_materials"]


@dataclass(frozen=True, slots=True)
class Material:
    """A homogeneous material.

    Attributes
    ----------
    name : str
        Key in ``materials.yaml`` (``"water"``, ``"soft-tissue"``, ``"lung"``, ``"bone"``, ...).
    density_g_cm3 : float
        Mass density, g/cm³.
    mass_fractions : tuple of (str, float)
        Element symbol and mass fraction; fractions sum to 1.
    mean_excitation_ev : float
        Mean excitation energy *I* of the Bethe formula, eV.
    """

    name: str
    density_g_cm3: float
    mass_fractions: tuple[tuple[str, float], ...]
    mean_excitation_ev: float

    def with_density(self, density_g_cm3: float) -> Material:
        """The same composition at another density (g/cm³)."""
        if not 1e-5 <= density_g_cm3 <= 25.0:
            raise ValidationError(
                "density_g_cm3", density_g_cm3, "expected a mass density between 1e-5 and 25 g/cm3"
            )
        return replace(self, density_g_cm3=float(density_g_cm3))

    @property
    def z_over_a(self) -> float:
        """Mean ratio of atomic number to atomic mass, Σ wᵢ Zᵢ/Aᵢ (mol/g)."""
        import xraydb

        return float(
            sum(
                w * xraydb.atomic_number(el) / xraydb.atomic_mass(el)
                for el, w in self.mass_fractions
            )
        )

    @property
    def electron_density_per_cm3(self) -> float:
        """Electrons per cm³: ρ N_A Σ wᵢ Zᵢ/Aᵢ."""
        from scipy.constants import Avogadro

        return float(self.density_g_cm3 * Avogadro * self.z_over_a)


@cache
def _table() -> dict[str, Any]:
    text = (
        resources.files("radiotrial.data")
        .joinpath("transport", "materials.yaml")
        .read_text("utf-8")
    )
    data = yaml.safe_load(text)
    materials = data["materials"]
    assert isinstance(materials, dict)
    return materials


def list_materials() -> tuple[str, ...]:
    """Names of the materials in the data file."""
    return tuple(_table())


@cache
def get_material(name: str) -> Material:
    """Return a material by name (``water``, ``air``, ``lung``, ``adipose``, ``soft-tissue``, ...).

    Raises
    ------
    ValidationError
        If ``name`` is not one of :func:`list_materials`.
    """
    key = (
        name.strip().lower().replace("_", "-").replace(" ", "-") if isinstance(name, str) else name
    )
    if key == "softtissue" or key == "tissue":
        key = "soft-tissue"
    table = _table()
    if key not in table:
        raise ValidationError("material", name, f"unknown material; use one of {', '.join(table)}")
    rec = table[key]
    fractions = tuple((str(el), float(w)) for el, w in rec["mass_fractions"].items())
    total = sum(w for _, w in fractions)
    # ICRU-44 fractions are rounded to 0.001; renormalise so that mass is conserved exactly
    fractions = tuple((el, w / total) for el, w in fractions)
    return Material(
        name=key,
        density_g_cm3=float(rec["density_g_cm3"]),
        mass_fractions=fractions,
        mean_excitation_ev=float(rec["mean_excitation_ev"]),
    )
