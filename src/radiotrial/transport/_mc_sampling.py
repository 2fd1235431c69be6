"""Sampling and geometry steps shared by the photon and electron Monte Carlo kernels (numba).

One home for what every transport kernel does the same way: an isotropic direction, a
discrete emission line, a source point in a voxel chosen from the TIA, the voxel that holds a
position, and the rotation of a direction by a polar and an azimuthal angle. All are compiled
inline into the calling kernels, so sharing them costs nothing at run time; the random numbers
are drawn in the same order as the kernels always drew them.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
import numpy.typing as npt

from radiotrial.transport._rng import uniform

__all__ = ["isotropic", "outside", "rotate", "sample_line", "source_voxel", "voxel_of"]


@nb.njit(cache=True)
def rotate(
    u: float, v: float, w: float, cos_t: float, phi: float
) -> tuple[float, float, float]:  # pragma: no cover - numba
    """Direction (u, v, w) turned by polar angle θ (cos θ) and azimuth φ; unit length."""
    sin_t = math.sqrt(max(0.0, 1.0 - cos_t * cos_t))
    cp = math.cos(phi)
    sp = math.sin(phi)
    if abs(w) > 0.99999:
        sgn = 1.0 if w > 0 else -1.0
        return sin_t * cp, sin_t * sp, sgn * cos_t
    tmp = math.sqrt(1.0 - w * w)
    nu = u * cos_t + sin_t * (u * w * cp - v * sp) / tmp
    nv = v * cos_t + sin_t * (v * w * cp + u * sp) / tmp
    nw = w * cos_t - sin_t * tmp * cp
    norm = math.sqrt(nu * nu + nv * nv + nw * nw)
    return nu / norm, nv / norm, nw / norm


@nb.njit(cache=True, inline="always")
def isotropic(st: npt.NDArray[np.uint64]) -> tuple[float, float, float]:  # pragma: no cover
    """Isotropic unit direction: cos θ uniform in [−1, 1), then φ; returns (u, v, w = cos θ)."""
    w = 2.0 * uniform(st) - 1.0
    ph = 2.0 * math.pi * uniform(st)
    s = math.sqrt(max(0.0, 1.0 - w * w))
    return s * math.cos(ph), s * math.sin(ph), w


@nb.njit(cache=True, inline="always")
def sample_line(
    cdf: npt.NDArray[np.float64], energies: npt.NDArray[np.float64], st: npt.NDArray[np.uint64]
) -> float:  # pragma: no cover
    """An energy of a discrete spectrum given its cumulative probabilities ``cdf``."""
    j = np.searchsorted(cdf, uniform(st))
    if j >= energies.shape[0]:
        j = energies.shape[0] - 1
    return float(energies[j])


@nb.njit(cache=True, inline="always")
def source_voxel(
    src_cdf: npt.NDArray[np.float64],
    src_index: npt.NDArray[np.int64],
    target: float,
    ny: int,
    nx: int,
    h_cm: npt.NDArray[np.float64],
    st: npt.NDArray[np.uint64],
) -> tuple[int, int, int, int, float, float, float]:  # pragma: no cover
    """The source voxel where the cumulative TIA ``src_cdf`` passes ``target``, and a uniform
    point in it: (flat index, iz, iy, ix, z, y, x) with positions in cm from the grid corner."""
    j = np.searchsorted(src_cdf, target, side="right")
    if j >= src_index.shape[0]:
        j = src_index.shape[0] - 1
    flat = src_index[j]
    iz = flat // (ny * nx)
    iy = (flat // nx) % ny
    ix = flat % nx
    z = (iz + uniform(st)) * h_cm[0]
    y = (iy + uniform(st)) * h_cm[1]
    x = (ix + uniform(st)) * h_cm[2]
    return flat, iz, iy, ix, z, y, x


@nb.njit(cache=True, inline="always")
def outside(
    z: float, y: float, x: float, lz: float, ly: float, lx: float
) -> bool:  # pragma: no cover
    """Whether (z, y, x) lies outside the box [0, lz) × [0, ly) × [0, lx)."""
    return z < 0.0 or y < 0.0 or x < 0.0 or z >= lz or y >= ly or x >= lx


@nb.njit(cache=True, inline="always")
def voxel_of(
    z: float, y: float, x: float, h_cm: npt.NDArray[np.float64], nz: int, ny: int, nx: int
) -> int:  # pragma: no cover
    """Flat index of the voxel holding a point inside the grid (edges clamped inward)."""
    return (min(int(z / h_cm[0]), nz - 1) * ny + min(int(y / h_cm[1]), ny - 1)) * nx + min(
        int(x / h_cm[2]), nx - 1
    )
