"""Electron stopping powers and CSDA ranges computed from the Bethe formula.

Notes
-----
Mass collision stopping power for electrons (ICRU Report 37, 1984, eq. 2.6):

.. math::

    \\frac{S_\\mathrm{col}}{\\rho} = \\frac{2\\pi r_e^2 m c^2 N_A}{\\beta^2}\\frac{Z}{A}
    \\left[\\ln\\frac{\\tau^2(\\tau+2)}{2 (I/mc^2)^2} + F^-(\\tau) - \\delta\\right],
    \\quad F^- = 1-\\beta^2 + \\frac{\\tau^2/8 - (2\\tau+1)\\ln 2}{(\\tau+1)^2}

with τ = T/mc². The density-effect correction δ uses the Sternheimer–Peierls (1971) general
parameterisation from *I*, Z/A and ρ (plasma energy ħω_p = 28.816 √(ρ Z/A) eV). The radiative
stopping power uses the approximation S_rad/S_col ≈ T Z_eff / 800 MeV (Attix, *Introduction to
Radiological Physics and Radiation Dosimetry*, 1986, eq. 8.31) with Z_eff = Σ wZ²/A / Σ wZ/A; it
is a small correction below 3 MeV in tissue (< 3 %). The CSDA range is
R(T) = ∫₀ᵀ dT'/S_tot(T'); below 1 keV, where the Bethe formula fails, the range is taken as
T/S_tot(1 keV) (a few nm, negligible at voxel scale).

For the condensed-history electron model with explicit δ rays (class II), collisions that give
the atomic electron more than W_c are sampled from the Møller cross section (free electrons,
binding neglected) and only the softer ones are continuous: the restricted collision stopping
power (ICRU Report 37, 1984, restricted form of the formula above) is

.. math::

    \\frac{L_\\Delta}{\\rho} = \\frac{2\\pi r_e^2 m c^2 N_A}{\\beta^2}\\frac{Z}{A}
    \\left[\\ln\\frac{2(\\tau+2)}{(I/mc^2)^2} + F^-(\\tau,\\Delta) - \\delta\\right],

    F^-(\\tau,\\Delta) = -1-\\beta^2+\\ln[(\\tau-\\Delta)\\Delta]+\\frac{\\tau}{\\tau-\\Delta}
    + \\frac{\\Delta^2/2 + (2\\tau+1)\\ln(1-\\Delta/\\tau)}{(\\tau+1)^2},

Δ = W_c/mc² ≤ τ/2 (at Δ = τ/2 it is the unrestricted formula), and the macroscopic Møller cross
section for W_c < W ≤ T/2 follows in closed form (see :func:`moller_cross_section`). Together
they reproduce S_col: L_Δ + ∫ W dσ/dW dW = S_col (tested).

References
----------
ICRU Report 37, *Stopping Powers for Electrons and Positrons* (1984).
R. M. Sternheimer, R. F. Peierls, Phys. Rev. B 3, 3681 (1971). doi:10.1103/PhysRevB.3.3681
M. J. Berger, ESTAR, NISTIR 4999 (1992) — used only as the validation reference in tests.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import numpy.typing as npt
from scipy import constants as const

from radiotrial.transport._materials import Material

__all__ = [
    "ELECTRON_REST_MEV",
    "collision_stopping_power",
    "csda_range_g_cm2",
    "density_effect",
    "moller_cross_section",
    "radiative_stopping_power",
    "range_table",
    "restricted_collision_stopping_power",
]

ELECTRON_REST_MEV = float(const.physical_constants["electron mass energy equivalent in MeV"][0])
_RE_CM = float(const.physical_constants["classical electron radius"][0]) * 100.0
# 2π r_e² m c² N_A in MeV cm² / mol (≈ 0.153537)
_K = 2.0 * math.pi * _RE_CM**2 * ELECTRON_REST_MEV * const.Avogadro

_T_LOW_MEV = 1e-3  # Bethe formula used from here up
_T_HIGH_MEV = 50.0


def _beta2(t_mev: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    tau = t_mev / ELECTRON_REST_MEV
    return np.asarray(tau * (tau + 2.0) / (tau + 1.0) ** 2, dtype=np.float64)


def density_effect(t_mev: npt.ArrayLike, material: Material) -> npt.NDArray[np.float64]:
    """Density-effect correction δ(T) (Sternheimer–Peierls 1971 general formula, condensed media).

    Parameters
    ----------
    t_mev : array_like
        Electron kinetic energy, MeV.
    material : Material
        Medium; its density enters through the plasma energy.
    """
    t = np.asarray(t_mev, dtype=np.float64)
    i_ev = material.mean_excitation_ev
    plasma_ev = 28.816 * math.sqrt(material.density_g_cm3 * material.z_over_a)
    cbar = 2.0 * math.log(i_ev / plasma_ev) + 1.0
    if material.density_g_cm3 < 0.01:  # gases (Sternheimer & Peierls table for gases)
        x1 = 4.0 if cbar < 12.25 else 5.0
        x0 = 1.6 if cbar < 10.0 else (0.326 * cbar - 1.7 if cbar < 12.25 else 0.326 * cbar - 1.5)
    elif i_ev < 100.0:
        x1 = 2.0
        x0 = 0.2 if cbar < 3.681 else 0.326 * cbar - 1.0
    else:
        x1 = 3.0
        x0 = 0.2 if cbar < 5.215 else 0.326 * cbar - 1.5
    m = 3.0
    a = (cbar - 4.606 * x0) / (x1 - x0) ** m
    tau = t / ELECTRON_REST_MEV
    x = np.log10(np.sqrt(tau * (tau + 2.0)))  # log10(βγ) = log10(p/mc)
    delta = np.where(x < x0, 0.0, 4.606 * x - cbar + a * np.clip(x1 - x, 0.0, None) ** m)
    return np.asarray(delta, dtype=np.float64)


def collision_stopping_power(t_mev: npt.ArrayLike, material: Material) -> npt.NDArray[np.float64]:
    """Mass collision stopping power of electrons, MeV cm²/g (ICRU 37 Bethe formula).

    Parameters
    ----------
    t_mev : array_like
        Kinetic energy, MeV (meaningful above ~1 keV).
    material : Material
        Medium.
    """
    t = np.asarray(t_mev, dtype=np.float64)
    tau = t / ELECTRON_REST_MEV
    b2 = _beta2(t)
    i_rel = material.mean_excitation_ev * 1e-6 / ELECTRON_REST_MEV
    f_minus = 1.0 - b2 + (tau**2 / 8.0 - (2.0 * tau + 1.0) * math.log(2.0)) / (tau + 1.0) ** 2
    bracket = (
        np.log(tau**2 * (tau + 2.0) / (2.0 * i_rel**2)) + f_minus - density_effect(t, material)
    )
    return np.asarray(_K * material.z_over_a / b2 * bracket, dtype=np.float64)


def restricted_collision_stopping_power(
    t_mev: npt.ArrayLike, material: Material, w_cut_mev: float
) -> npt.NDArray[np.float64]:
    """Collision stopping power for energy transfers below ``w_cut_mev``, MeV cm²/g (ICRU 37).

    Where no hard collision is possible (T ≤ 2 W_c) it equals the unrestricted S_col.
    """
    t = np.asarray(t_mev, dtype=np.float64)
    tau = t / ELECTRON_REST_MEV
    d = np.minimum(w_cut_mev / ELECTRON_REST_MEV, 0.5 * tau)
    b2 = _beta2(t)
    i_rel = material.mean_excitation_ev * 1e-6 / ELECTRON_REST_MEV
    f_minus = (
        -1.0
        - b2
        + np.log((tau - d) * d)
        + tau / (tau - d)
        + (0.5 * d**2 + (2.0 * tau + 1.0) * np.log1p(-d / tau)) / (tau + 1.0) ** 2
    )
    bracket = np.log(2.0 * (tau + 2.0) / i_rel**2) + f_minus - density_effect(t, material)
    return np.asarray(_K * material.z_over_a / b2 * bracket, dtype=np.float64)


def moller_cross_section(
    t_mev: npt.ArrayLike, material: Material, w_cut_mev: float
) -> npt.NDArray[np.float64]:
    """Macroscopic Møller cross section for transfers W_c < W ≤ T/2, cm²/g (0 if T ≤ 2 W_c).

    Integral of dσ/dε = (2π r_e² mc² / β² T)[1/ε² + 1/(1−ε)² + (τ/(τ+1))² − (2τ+1)/((τ+1)²
    ε(1−ε))] over ε = W/T from k = W_c/T to ½, per atomic electron, times N_A Z/A.
    """
    t = np.asarray(t_mev, dtype=np.float64)
    tau = t / ELECTRON_REST_MEV
    k = np.minimum(w_cut_mev / np.maximum(t, 1e-30), 0.5)
    g2 = (tau / (tau + 1.0)) ** 2
    b = (2.0 * tau + 1.0) / (tau + 1.0) ** 2
    integral = 1.0 / k - 1.0 / (1.0 - k) + (0.5 - k) * g2 - b * np.log((1.0 - k) / k)
    sigma = _K * material.z_over_a / (_beta2(t) * t) * integral
    return np.asarray(np.where(k < 0.5, sigma, 0.0), dtype=np.float64)


def _z_eff(material: Material) -> float:
    import xraydb

    num = sum(
        w * xraydb.atomic_number(el) ** 2 / xraydb.atomic_mass(el)
        for el, w in material.mass_fractions
    )
    return float(num / material.z_over_a)


def radiative_stopping_power(t_mev: npt.ArrayLike, material: Material) -> npt.NDArray[np.float64]:
    """Approximate mass radiative stopping power, MeV cm²/g (S_col · T Z_eff / 800 MeV)."""
    t = np.asarray(t_mev, dtype=np.float64)
    return np.asarray(collision_stopping_power(t, material) * t * _z_eff(material) / 800.0)


@cache
def range_table(
    material: Material, w_cut_mev: float | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """CSDA (or restricted) range and collision fraction on a log energy grid (1 keV – 50 MeV).

    Parameters
    ----------
    material : Material
    w_cut_mev : float, optional
        With a δ-ray threshold W_c, the continuous loss is the restricted L_Δ + S_rad and the
        range is the class-II "restricted range" (hard collisions are sampled separately).

    Returns
    -------
    energy_mev : (N,) ndarray
    range_g_cm2 : (N,) ndarray
        R(T) = ∫ dT/S_tot (or ∫ dT/(L_Δ + S_rad)), g/cm².
    collision_fraction : (N,) ndarray
        Continuous collision loss / total continuous loss at each energy (the fraction of the
        continuous loss that is deposited locally).
    """
    t = np.geomspace(_T_LOW_MEV, _T_HIGH_MEV, 2001)
    if w_cut_mev is None:
        s_col = collision_stopping_power(t, material)
    else:
        s_col = restricted_collision_stopping_power(t, material, float(w_cut_mev))
    s_tot = s_col + radiative_stopping_power(t, material)
    inv = 1.0 / s_tot
    # trapezoid in T on a fine log grid (relative step 0.4 %), exact enough (< 1e-4)
    r = np.concatenate(
        [[t[0] / s_tot[0]], t[0] / s_tot[0] + np.cumsum(0.5 * (inv[1:] + inv[:-1]) * np.diff(t))]
    )
    return t, r, s_col / s_tot


def csda_range_g_cm2(t_mev: npt.ArrayLike, material: Material) -> npt.NDArray[np.float64]:
    """CSDA range of electrons of kinetic energy ``t_mev`` (MeV) in g/cm² (log-log interpolation).

    Energies below 1 keV get R = T / S_tot(1 keV); above 50 MeV the table is extrapolated linearly.
    """
    t = np.asarray(t_mev, dtype=np.float64)
    grid, r, _ = range_table(material)
    tt = np.clip(t, grid[0], grid[-1])
    out = np.exp(np.interp(np.log(tt), np.log(grid), np.log(r)))
    out = np.where(t < grid[0], r[0] * t / grid[0], out)
    return np.asarray(out, dtype=np.float64)
