"""Sphere model: self-dose S-values for uniformly filled spheres (tumours), any nuclide.

Notes
-----
Electrons: the absorbed fraction of a uniform source in a sphere of radius R follows from the
point kernel and the geometric reduction factor of Berger (1971, MIRD Pamphlet 7), the mean
fraction of a sphere of radius r centred uniformly in the ball that lies inside it,

.. math:: \\psi(r) = 1 - \\tfrac{3}{4}\\tfrac{r}{R} + \\tfrac{1}{16}\\left(\\tfrac{r}{R}\\right)^3,
   \\quad r \\le 2R,

so φ_e = Σₙ ΔEₙ ψ(rₙ) / E_e. Photons: Monte Carlo in the isolated sphere (vacuum outside, no
backscatter from surrounding tissue, as in the OLINDA/EXM sphere model). α and recoil energy is
absorbed entirely (E_α term; absorbed dose, no RBE weighting). The S-value is

.. math:: S = (E_e φ_e + E_γ φ_γ + E_α)\\, k / m,

with k = 1.602×10⁻¹³ J/MeV · 3.6×10⁹ decays/(MBq h), giving Gy/(MBq h).

The sphere's composition is ICRU-44 soft tissue at the requested density.

References
----------
M. J. Berger, "Distribution of absorbed dose around point sources of electrons and beta
particles in water and other media", MIRD Pamphlet No. 7, J. Nucl. Med. 12 Suppl 5, 5 (1971).
M. G. Stabin, M. W. Konijnenberg, "Re-evaluation of absorbed fractions for photons and electrons
in spheres of various sizes", J. Nucl. Med. 41, 149 (2000).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from radiotrial.errors import ValidationError
from radiotrial.nuclides import get_nuclide
from radiotrial.transport._electron_kernel import (
    electron_point_kernel,
    monoenergetic_electron_kernel,
)
from radiotrial.transport._materials import Material, get_material
from radiotrial.transport._photon_kernel import (
    monoenergetic_photon_sphere_absorbed_fraction,
    photon_sphere_absorbed_fraction,
)
from radiotrial.transport._radial import RadialKernel
from radiotrial.transport._units import MEV_TO_J

__all__ = [
    "SphereSValue",
    "sphere_absorbed_fraction",
    "sphere_electron_absorbed_fraction",
    "sphere_s_value",
]

MASS_G_RANGE = (0.01, 5000.0)
DENSITY_RANGE = (0.3, 2.0)


@dataclass(frozen=True)
class SphereSValue:
    """Self-dose S-value of a uniformly filled sphere.

    Attributes
    ----------
    s_mgy_per_mbq_h : float
        Mean absorbed dose per cumulated activity, mGy/(MBq h).
    electron_absorbed_fraction, photon_absorbed_fraction : float
        Fractions of the emitted electron / photon energy absorbed in the sphere.
    photon_absorbed_fraction_std : float
        Monte Carlo standard error of the photon fraction.
    radius_mm, mass_g, density_g_cm3 : float
    nuclide : str
    """

    s_mgy_per_mbq_h: float
    electron_absorbed_fraction: float
    photon_absorbed_fraction: float
    photon_absorbed_fraction_std: float
    radius_mm: float
    mass_g: float
    density_g_cm3: float
    nuclide: str


def _psi(r: np.ndarray, radius: float) -> np.ndarray:
    x = r / radius
    return np.where(x <= 2.0, 1.0 - 0.75 * x + x**3 / 16.0, 0.0)


def _real(field: str, value: object, bounds: tuple[float, float], unit: str) -> float:
    """A finite real number (Python or NumPy scalar) within ``bounds``, as float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValidationError(field, value, f"expected a number in {unit}")
    x = float(value)
    lo, hi = bounds
    if not (math.isfinite(x) and lo <= x <= hi):
        raise ValidationError(field, value, f"outside the supported range {lo:g}–{hi:g} {unit}")
    return x


def sphere_electron_absorbed_fraction(kernel: RadialKernel, radius_mm: float) -> float:
    """Electron absorbed fraction of a uniform source in a sphere, from a point kernel."""
    if kernel.emitted_mev == 0.0:
        return 0.0
    # integrate ψ exactly over the linear-within-shell cumulative energy
    return float(np.dot(kernel.energy_mev, _psi(kernel.r_mid_mm, radius_mm)) / kernel.emitted_mev)


def _radius_cm(mass_g: float, density_g_cm3: float) -> float:
    return float((3.0 * mass_g / (4.0 * math.pi * density_g_cm3)) ** (1.0 / 3.0))


def sphere_absorbed_fraction(
    radiation: str,
    energy_mev: float,
    mass_g: float,
    *,
    density_g_cm3: float = 1.0,
    material: str | Material = "soft-tissue",
    n_photon_histories: int = 200_000,
    seed: int = 1,
) -> tuple[float, float]:
    """Absorbed fraction of a uniform monoenergetic source in an isolated sphere.

    The quantity that the classic sphere tables (e.g. Stabin & Konijnenberg 2000) list, for
    electrons (point kernel and Berger's ψ) or photons (Monte Carlo, vacuum outside).

    Parameters
    ----------
    radiation : {"electron", "photon"}
    energy_mev : float
        Electrons 5 keV–20 MeV, photons 1 keV–10 MeV.
    mass_g, density_g_cm3 : float
        0.01–5000 g and 0.3–2.0 g/cm³, as for :func:`sphere_s_value`.
    material : str or Material, default "soft-tissue"
        Composition; its density is replaced by ``density_g_cm3``.
    n_photon_histories, seed : int
        Photon Monte Carlo statistics and seed.

    Returns
    -------
    (fraction, standard error)
        The standard error is 0 for electrons (deterministic).

    Raises
    ------
    ValidationError
        If ``radiation`` is unknown or energy, mass or density is outside its range.

    Examples
    --------
    >>> af, _ = sphere_absorbed_fraction("electron", 0.5, 1.0)
    >>> round(af, 2)  # 1 g: R = 6.2 mm against a 1.8 mm range
    0.9
    """
    mass_g = _real("mass_g", mass_g, MASS_G_RANGE, "g")
    density_g_cm3 = _real("density_g_cm3", density_g_cm3, DENSITY_RANGE, "g/cm3")
    mat = material if isinstance(material, Material) else get_material(material)
    mat = mat.with_density(density_g_cm3)
    radius_cm = _radius_cm(mass_g, density_g_cm3)
    if radiation == "electron":
        kernel = monoenergetic_electron_kernel(energy_mev, mat)
        return sphere_electron_absorbed_fraction(kernel, radius_cm * 10.0), 0.0
    if radiation == "photon":
        return monoenergetic_photon_sphere_absorbed_fraction(
            energy_mev, mat, radius_cm, n_histories=n_photon_histories, seed=seed
        )
    raise ValidationError("radiation", radiation, "expected 'electron' or 'photon'")


def sphere_s_value(
    nuclide: str,
    mass_g: float,
    *,
    density_g_cm3: float = 1.0,
    n_photon_histories: int = 200_000,
    seed: int = 1,
) -> SphereSValue:
    """S-value of a uniformly filled soft-tissue sphere (self dose), electrons + photons.

    Parameters
    ----------
    nuclide : str
        Any ICRP-107 nuclide.
    mass_g : float
        Sphere mass, 0.01–5000 g.
    density_g_cm3 : float, default 1.0
        0.3–2.0 g/cm³.
    n_photon_histories, seed : int
        Photon Monte Carlo statistics and seed.

    Raises
    ------
    ValidationError
        If the mass or the density is outside the supported range.
    NuclideError
        If the nuclide is not in ICRP-107.

    Examples
    --------
    >>> s = sphere_s_value("Lu-177", 10.0)
    >>> 0.95 < s.electron_absorbed_fraction < 1.0
    True
    """
    mass_g = _real("mass_g", mass_g, MASS_G_RANGE, "g")
    density_g_cm3 = _real("density_g_cm3", density_g_cm3, DENSITY_RANGE, "g/cm3")
    nuc = get_nuclide(nuclide)
    mat = get_material("soft-tissue").with_density(float(density_g_cm3))
    radius_cm = _radius_cm(mass_g, density_g_cm3)
    ek = electron_point_kernel(nuc.name, mat)
    af_e = sphere_electron_absorbed_fraction(ek, radius_cm * 10.0)
    af_p, af_p_std = photon_sphere_absorbed_fraction(
        nuc.name, mat, radius_cm, n_histories=n_photon_histories, seed=seed
    )
    e_e = nuc.energy_per_decay_mev("electrons")
    e_p = nuc.energy_per_decay_mev("photons")
    # α particles and recoil nuclei: ranges < 0.1 mm, absorbed in the sphere (no RBE weighting)
    e_a = nuc.energy_per_decay_mev("alpha") + nuc.energy_per_decay_mev("alpha-recoil")
    energy_j = (e_e * af_e + e_p * af_p + e_a) * MEV_TO_J
    s = energy_j * 3.6e9 / (mass_g * 1e-3) * 1e3
    return SphereSValue(
        s_mgy_per_mbq_h=float(s),
        electron_absorbed_fraction=af_e,
        photon_absorbed_fraction=af_p,
        photon_absorbed_fraction_std=af_p_std,
        radius_mm=radius_cm * 10.0,
        mass_g=float(mass_g),
        density_g_cm3=float(density_g_cm3),
        nuclide=nuc.name,
    )
