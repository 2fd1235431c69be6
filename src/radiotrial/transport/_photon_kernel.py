"""Photon point kernels and sphere absorbed fractions from radiotrial's photon Monte Carlo."""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import numpy.typing as npt

from radiotrial.errors import ValidationError
from radiotrial.nuclides import get_nuclide
from radiotrial.transport._materials import Material, get_material
from radiotrial.transport._photon_mc import point_kernel_mc, sphere_mc
from radiotrial.transport._photon_xs import E_MAX_MEV, E_MIN_MEV, photon_tables
from radiotrial.transport._radial import RadialKernel, radial_edges_mm

__all__ = [
    "monoenergetic_photon_sphere_absorbed_fraction",
    "photon_lines",
    "photon_point_kernel",
    "photon_sphere_absorbed_fraction",
]


def photon_lines(nuclide: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """γ, X-ray and annihilation lines: energies (MeV) and yields per decay (ICRP-107)."""
    lines = get_nuclide(nuclide).lines("photons")
    e = np.array([ln.energy_mev for ln in lines], dtype=np.float64)
    y = np.array([ln.yield_per_decay for ln in lines], dtype=np.float64)
    keep = (e > 0) & (y > 0)
    return e[keep], y[keep]


def line_sampler(nuclide: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
    """Energies, cumulative probabilities (∝ yield) and photons per decay."""
    e, y = photon_lines(nuclide)
    if e.size == 0:
        return np.array([0.0]), np.array([1.0]), 0.0
    total = float(y.sum())
    return e, np.cumsum(y) / total, total


@cache
def _photon_point_kernel(
    nuclide: str, material: Material, n_histories: int, seed: int
) -> RadialKernel:
    e, cdf, per_decay = line_sampler(nuclide)
    edges = radial_edges_mm(1000.0, r_min_mm=0.01, n=500)
    label = (
        f"{get_nuclide(nuclide).name} photons in {material.name} ({material.density_g_cm3:g} g/cm3)"
    )
    if per_decay == 0.0:
        return RadialKernel(
            edges, np.zeros(edges.size - 1), 0.0, 0.0, material.density_g_cm3, label
        )
    t = photon_tables((material,))
    n_batches = 16
    per = max(1, n_histories // n_batches)
    out = point_kernel_mc(
        per,
        n_batches,
        seed,
        e,
        cdf,
        material.density_g_cm3,
        t.ln_e0,
        t.inv_dln,
        t.mu_photo,
        t.mu_incoh,
        t.mu_coh,
        t.ray_x,
        t.ray_cdf,
        edges / 10.0,
    )
    scale = per_decay / (per * n_batches)
    total = out.sum(axis=0) * scale
    return RadialKernel(
        edges,
        total[:-1],
        float(total[-1]),
        float(np.dot(e, np.diff(np.concatenate([[0.0], cdf]))) * per_decay),
        material.density_g_cm3,
        label,
    )


def photon_point_kernel(
    nuclide: str,
    material: str | Material = "water",
    *,
    density_g_cm3: float | None = None,
    n_histories: int = 400_000,
    seed: int = 1,
) -> RadialKernel:
    """Photon point kernel of ``nuclide`` in an infinite homogeneous medium (Monte Carlo).

    Deposited energy is scored in spherical shells out to 1 m; energy beyond is in
    ``beyond_mev``. Compton electrons and photoelectrons deposit locally (kerma approximation).

    Parameters
    ----------
    nuclide : str
        Any ICRP-107 nuclide.
    material : str or Material
        Medium.
    density_g_cm3 : float, optional
        Override the density.
    n_histories, seed : int
        Photon histories and the seed of the reproducible random streams.
    """
    mat = material if isinstance(material, Material) else get_material(material)
    if density_g_cm3 is not None:
        mat = mat.with_density(density_g_cm3)
    return _photon_point_kernel(get_nuclide(nuclide).name, mat, int(n_histories), int(seed))


@cache
def _sphere_af(
    nuclide: str, material: Material, radius_cm: float, n_histories: int, seed: int
) -> tuple[float, float]:
    e, cdf, per_decay = line_sampler(nuclide)
    if per_decay == 0.0:
        return 0.0, 0.0
    return _run_sphere(e, cdf, material, radius_cm, n_histories, seed)


def _run_sphere(
    e: npt.NDArray[np.float64],
    cdf: npt.NDArray[np.float64],
    material: Material,
    radius_cm: float,
    n_histories: int,
    seed: int,
) -> tuple[float, float]:
    """Absorbed fraction and its standard error (16 batches) for photon lines ``e``."""
    t = photon_tables((material,))
    n_batches = 16
    per = max(1, n_histories // n_batches)
    out = sphere_mc(
        per,
        n_batches,
        seed,
        e,
        cdf,
        radius_cm,
        material.density_g_cm3,
        t.ln_e0,
        t.inv_dln,
        t.mu_photo,
        t.mu_incoh,
        t.mu_coh,
        t.ray_x,
        t.ray_cdf,
    )
    af_b = out[:, 0] / out[:, 1]
    return float(out[:, 0].sum() / out[:, 1].sum()), float(af_b.std(ddof=1) / math.sqrt(n_batches))


def photon_sphere_absorbed_fraction(
    nuclide: str, material: Material, radius_cm: float, *, n_histories: int = 200_000, seed: int = 1
) -> tuple[float, float]:
    """Photon absorbed fraction of a uniform source in an isolated sphere (vacuum outside).

    Returns
    -------
    (fraction, standard error)
    """
    return _sphere_af(
        get_nuclide(nuclide).name, material, float(radius_cm), int(n_histories), int(seed)
    )


def monoenergetic_photon_sphere_absorbed_fraction(
    energy_mev: float,
    material: Material,
    radius_cm: float,
    *,
    n_histories: int = 200_000,
    seed: int = 1,
) -> tuple[float, float]:
    """Photon absorbed fraction of a uniform monoenergetic source in an isolated sphere.

    Raises
    ------
    ValidationError
        If ``energy_mev`` is outside the cross-section tables (1 keV–10 MeV).

    Returns
    -------
    (fraction, standard error)
    """
    e = float(energy_mev)
    if not (E_MIN_MEV <= e <= E_MAX_MEV):
        raise ValidationError(
            "energy_mev", energy_mev, f"outside the tabulated range {E_MIN_MEV:g}–{E_MAX_MEV:g} MeV"
        )
    return _run_sphere(
        np.array([e]), np.array([1.0]), material, float(radius_cm), int(n_histories), int(seed)
    )
