"""Radial (point-source) energy-deposition kernels shared by electrons and photons."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from radiotrial.transport._units import MEV_TO_J

__all__ = ["RadialKernel", "radial_edges_mm"]


def radial_edges_mm(
    r_max_mm: float, *, r_min_mm: float = 1e-3, n: int = 800
) -> npt.NDArray[np.float64]:
    """Shell edges: 0, then ``n`` log-spaced radii from ``r_min_mm`` to ``r_max_mm``."""
    return np.concatenate([[0.0], np.geomspace(r_min_mm, max(r_max_mm, 10 * r_min_mm), n)])


@dataclass(frozen=True)
class RadialKernel:
    """Energy deposited in spherical shells around an isotropic point source, per decay.

    Attributes
    ----------
    r_edges_mm : (N+1,) ndarray
        Shell edges in mm, starting at 0.
    energy_mev : (N,) ndarray
        Mean energy deposited in each shell per decay, MeV.
    beyond_mev : float
        Energy per decay deposited beyond the last edge, or escaping the medium (bremsstrahlung
        for electrons), MeV.
    emitted_mev : float
        Energy emitted per decay by the radiations the kernel covers, MeV.
    density_g_cm3 : float
        Density of the homogeneous medium.
    label : str
        What it is (nuclide, radiation, material).
    """

    r_edges_mm: npt.NDArray[np.float64]
    energy_mev: npt.NDArray[np.float64]
    beyond_mev: float
    emitted_mev: float
    density_g_cm3: float
    label: str

    @property
    def r_mid_mm(self) -> npt.NDArray[np.float64]:
        """Shell mid radii, mm."""
        return 0.5 * (self.r_edges_mm[1:] + self.r_edges_mm[:-1])

    def cumulative_mev(self, r_mm: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Energy per decay deposited within radius ``r_mm`` (MeV), linear within shells."""
        cum = np.concatenate([[0.0], np.cumsum(self.energy_mev)])
        return np.asarray(np.interp(np.asarray(r_mm, dtype=np.float64), self.r_edges_mm, cum))

    def dose_gy_per_decay(self) -> npt.NDArray[np.float64]:
        """Shell-averaged absorbed dose per decay, Gy: ΔE / (ρ · shell volume)."""
        vol_cm3 = 4.0 / 3.0 * np.pi * np.diff(self.r_edges_mm**3) * 1e-3
        mass_kg = vol_cm3 * self.density_g_cm3 * 1e-3
        return np.asarray(self.energy_mev * MEV_TO_J / mass_kg, dtype=np.float64)

    def __add__(self, other: RadialKernel) -> RadialKernel:
        if not np.array_equal(self.r_edges_mm, other.r_edges_mm):
            edges = np.union1d(self.r_edges_mm, other.r_edges_mm)
            a = np.diff(self.cumulative_mev(edges))
            b = np.diff(other.cumulative_mev(edges))
        else:
            edges, a, b = self.r_edges_mm, self.energy_mev, other.energy_mev
        return RadialKernel(
            edges,
            a + b,
            self.beyond_mev + other.beyond_mev,
            self.emitted_mev + other.emitted_mev,
            self.density_g_cm3,
            f"{self.label} + {other.label}",
        )
