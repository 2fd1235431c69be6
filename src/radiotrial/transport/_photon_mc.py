"""Photon Monte Carlo (numba): point kernels, spheres, and voxel geometries with Woodcock tracking.

Notes
-----
Interactions: photoelectric absorption (energy deposited locally; fluorescence of tissue elements
is below 4 keV and is deposited on the spot), incoherent (Compton) scattering sampled from the
free-electron Klein–Nishina law (Butcher & Messel / Geant4 ``G4KleinNishinaCompton`` algorithm)
with total cross sections that include binding through the incoherent scattering function
(Elam/xraydb); Doppler broadening is neglected. The recoil electron's energy is deposited at the
interaction site (kerma approximation; the Compton electrons of ≤ 1 MeV photons travel ≤ 4 mm).
Rayleigh scattering uses form-factor sampling (see :mod:`radiotrial.transport._photon_xs`).
Photons below 1 keV are absorbed.

In voxel geometries the free path is sampled with the majorant μ_max(E) = max_v ρ_v μ_m(v)(E)
and an interaction is real with probability μ(E, v)/μ_max(E) (Woodcock delta tracking), so no
voxel boundaries are crossed explicitly. Each batch has its own random stream (seed, batch), and
batches run in parallel with ``prange``: results do not depend on the thread count.

References
----------
E. Woodcock et al., ANL-7050 (1965), p. 557; J. C. Butcher, H. Messel, Nucl. Phys. 20, 15
(1960); O. Klein, Y. Nishina, Z. Phys. 52, 853 (1929). doi:10.1007/BF01366453
"""

from __future__ import annotations

import math
from typing import Any

import numba as nb
import numpy as np
import numpy.typing as npt

from radiotrial.transport._mc_sampling import (
    isotropic,
    outside,
    rotate,
    sample_line,
    source_voxel,
    voxel_of,
)
from radiotrial.transport._rng import new_state, uniform
from radiotrial.transport._stopping import ELECTRON_REST_MEV

__all__ = ["point_kernel_mc", "sphere_mc", "voxel_mc"]

_E_CUT = 1e-3
_HC = 12.398419843320026e-3  # MeV·Å


@nb.njit(cache=True, inline="always")
def _xs(
    tab: npt.NDArray[np.float64], m: int, ln_e: float, ln_e0: float, inv_dln: float
) -> float:  # pragma: no cover
    f = (ln_e - ln_e0) * inv_dln
    n = tab.shape[1]
    if f <= 0.0:
        return float(tab[m, 0])
    if f >= n - 1:
        return float(tab[m, n - 1])
    i = int(f)
    d = f - i
    # linear in the value on a grid of Δln E = 0.0077: < 0.01 % from log-log interpolation
    return float(tab[m, i] * (1.0 - d) + tab[m, i + 1] * d)


@nb.njit(cache=True)
def _sample_kn(e: float, st: npt.NDArray[np.uint64]) -> tuple[float, float]:  # pragma: no cover
    """Klein–Nishina: returns (scattered energy, cos θ)."""
    k = e / ELECTRON_REST_MEV
    eps0 = 1.0 / (1.0 + 2.0 * k)
    eps0sq = eps0 * eps0
    a1 = -math.log(eps0)
    a2 = 0.5 * (1.0 - eps0sq)
    while True:
        if uniform(st) * (a1 + a2) < a1:
            eps = math.exp(-a1 * uniform(st))
            epssq = eps * eps
        else:
            epssq = eps0sq + (1.0 - eps0sq) * uniform(st)
            eps = math.sqrt(epssq)
        t = (1.0 - eps) / (k * eps)
        sin2 = t * (2.0 - t)
        g = 1.0 - eps * sin2 / (1.0 + epssq)
        if uniform(st) <= g:
            return eps * e, 1.0 - t


@nb.njit(cache=True)
def _sample_rayleigh(
    e: float,
    m: int,
    ray_x: npt.NDArray[np.float64],
    ray_cdf: npt.NDArray[np.float64],
    st: npt.NDArray[np.uint64],
) -> float:  # pragma: no cover
    """cos θ of a Rayleigh event: x = q² from F², then Thomson rejection."""
    inv_lam = e / _HC  # Å⁻¹
    x_max = inv_lam * inv_lam
    n = ray_x.shape[0]
    dx = ray_x[1] - ray_x[0]
    cdf = ray_cdf[m]
    f = x_max / dx
    if f >= n - 1:
        c_max = cdf[n - 1]
    else:
        i = int(f)
        c_max = cdf[i] + (cdf[i + 1] - cdf[i]) * (f - i)
    while True:
        target = uniform(st) * c_max
        j = np.searchsorted(cdf, target)
        if j <= 0:
            x = 0.0
        elif j >= n:
            x = ray_x[n - 1]
        else:
            c0 = cdf[j - 1]
            c1 = cdf[j]
            x = ray_x[j - 1] + (dx * (target - c0) / (c1 - c0) if c1 > c0 else 0.0)
        cos_t = 1.0 - 2.0 * x / x_max
        if cos_t < -1.0:
            cos_t = -1.0
        if uniform(st) * 2.0 <= 1.0 + cos_t * cos_t:
            return cos_t


@nb.njit(cache=True)
def _interact(  # pragma: no cover
    e: float,
    m: int,
    ln_e0: float,
    inv_dln: float,
    mu_photo: npt.NDArray[np.float64],
    mu_incoh: npt.NDArray[np.float64],
    mu_coh: npt.NDArray[np.float64],
    ray_x: npt.NDArray[np.float64],
    ray_cdf: npt.NDArray[np.float64],
    u: float,
    v: float,
    w: float,
    st: npt.NDArray[np.uint64],
) -> tuple[float, float, float, float, float]:
    """One real interaction in material m: returns (deposited, new energy, u, v, w); E=0 ends."""
    le = math.log(e)
    pe = _xs(mu_photo, m, le, ln_e0, inv_dln)
    ic = _xs(mu_incoh, m, le, ln_e0, inv_dln)
    co = _xs(mu_coh, m, le, ln_e0, inv_dln)
    r = uniform(st) * (pe + ic + co)
    if r < pe:
        return e, 0.0, u, v, w
    if r < pe + ic:
        e2, cos_t = _sample_kn(e, st)
        u, v, w = rotate(u, v, w, cos_t, 2.0 * math.pi * uniform(st))
        if e2 < _E_CUT:
            return e, 0.0, u, v, w
        return e - e2, e2, u, v, w
    cos_t = _sample_rayleigh(e, m, ray_x, ray_cdf, st)
    u, v, w = rotate(u, v, w, cos_t, 2.0 * math.pi * uniform(st))
    return 0.0, e, u, v, w


@nb.njit(cache=True, inline="always")
def _mu_total(
    m: int,
    le: float,
    ln_e0: float,
    inv_dln: float,
    mu_photo: npt.NDArray[np.float64],
    mu_incoh: npt.NDArray[np.float64],
    mu_coh: npt.NDArray[np.float64],
) -> float:  # pragma: no cover
    """Total mass attenuation coefficient μ/ρ of material m at ln E (cm²/g)."""
    return (
        _xs(mu_photo, m, le, ln_e0, inv_dln)
        + _xs(mu_incoh, m, le, ln_e0, inv_dln)
        + _xs(mu_coh, m, le, ln_e0, inv_dln)
    )


@nb.njit(cache=True, parallel=True)
def _point_kernel(  # pragma: no cover
    per: int,
    n_batches: int,
    seed: int,
    line_e: npt.NDArray[np.float64],
    line_cdf: npt.NDArray[np.float64],
    density: float,
    ln_e0: float,
    inv_dln: float,
    mu_photo: npt.NDArray[np.float64],
    mu_incoh: npt.NDArray[np.float64],
    mu_coh: npt.NDArray[np.float64],
    ray_x: npt.NDArray[np.float64],
    ray_cdf: npt.NDArray[np.float64],
    edges_cm: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    nb_ = edges_cm.shape[0] - 1
    out = np.zeros((n_batches, nb_ + 1))
    r_max = edges_cm[nb_]
    for b in nb.prange(n_batches):
        st = new_state(seed, b)
        for _ in range(per):
            e = sample_line(line_cdf, line_e, st)
            x = 0.0
            y = 0.0
            z = 0.0
            u, v, w = isotropic(st)
            while e > 0.0:
                if e < _E_CUT:
                    r = math.sqrt(x * x + y * y + z * z)
                    k = np.searchsorted(edges_cm, r, side="right") - 1
                    out[b, k if k < nb_ else nb_] += e
                    break
                le = math.log(e)
                mu = density * _mu_total(0, le, ln_e0, inv_dln, mu_photo, mu_incoh, mu_coh)
                s = -math.log(uniform(st)) / mu
                x += u * s
                y += v * s
                z += w * s
                r = math.sqrt(x * x + y * y + z * z)
                if r >= r_max:
                    out[b, nb_] += e
                    break
                dep, e, u, v, w = _interact(
                    e, 0, ln_e0, inv_dln, mu_photo, mu_incoh, mu_coh, ray_x, ray_cdf, u, v, w, st
                )
                k = np.searchsorted(edges_cm, r, side="right") - 1
                out[b, k] += dep
    return out


@nb.njit(cache=True, parallel=True)
def _sphere(  # pragma: no cover
    per: int,
    n_batches: int,
    seed: int,
    line_e: npt.NDArray[np.float64],
    line_cdf: npt.NDArray[np.float64],
    radius_cm: float,
    density: float,
    ln_e0: float,
    inv_dln: float,
    mu_photo: npt.NDArray[np.float64],
    mu_incoh: npt.NDArray[np.float64],
    mu_coh: npt.NDArray[np.float64],
    ray_x: npt.NDArray[np.float64],
    ray_cdf: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    out = np.zeros((n_batches, 2))  # deposited, emitted
    for b in nb.prange(n_batches):
        st = new_state(seed, b)
        for _ in range(per):
            e = sample_line(line_cdf, line_e, st)
            out[b, 1] += e
            # uniform point in the ball
            rr = radius_cm * uniform(st) ** (1.0 / 3.0)
            px, py, pz = isotropic(st)
            x = rr * px
            y = rr * py
            z = rr * pz
            u, v, w = isotropic(st)
            while e > 0.0:
                if e < _E_CUT:
                    out[b, 0] += e
                    break
                le = math.log(e)
                mu = density * _mu_total(0, le, ln_e0, inv_dln, mu_photo, mu_incoh, mu_coh)
                s = -math.log(uniform(st)) / mu
                # distance to the sphere surface along (u, v, w)
                bdot = x * u + y * v + z * w
                c = x * x + y * y + z * z - radius_cm * radius_cm
                d_exit = -bdot + math.sqrt(max(0.0, bdot * bdot - c))
                if s >= d_exit:
                    break
                x += u * s
                y += v * s
                z += w * s
                dep, e, u, v, w = _interact(
                    e, 0, ln_e0, inv_dln, mu_photo, mu_incoh, mu_coh, ray_x, ray_cdf, u, v, w, st
                )
                out[b, 0] += dep
    return out


@nb.njit(cache=True, parallel=True)
def _voxel(  # pragma: no cover
    per: int,
    batch_ids: npt.NDArray[np.int64],
    seed: int,
    line_e: npt.NDArray[np.float64],
    line_cdf: npt.NDArray[np.float64],
    src_cdf: npt.NDArray[np.float64],
    src_index: npt.NDArray[np.int64],
    mat: npt.NDArray[np.int8],
    dens: npt.NDArray[np.float32],
    shape: npt.NDArray[np.int64],
    h_cm: npt.NDArray[np.float64],
    mu_max: npt.NDArray[np.float64],
    ln_e0: float,
    inv_dln: float,
    mu_photo: npt.NDArray[np.float64],
    mu_incoh: npt.NDArray[np.float64],
    mu_coh: npt.NDArray[np.float64],
    ray_x: npt.NDArray[np.float64],
    ray_cdf: npt.NDArray[np.float64],
    mu_tot: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    nz = shape[0]
    ny = shape[1]
    nx = shape[2]
    lz = nz * h_cm[0]
    ly = ny * h_cm[1]
    lx = nx * h_cm[2]
    nbt = batch_ids.shape[0]
    out = np.zeros((nbt, nz * ny * nx))
    for bi in nb.prange(nbt):
        st = new_state(seed, batch_ids[bi])
        edep = out[bi]
        for _ in range(per):
            target = uniform(st) * src_cdf[src_cdf.shape[0] - 1]
            vox, _, _, _, z, y, x = source_voxel(src_cdf, src_index, target, ny, nx, h_cm, st)
            e = sample_line(line_cdf, line_e, st)
            w, v, u = isotropic(st)
            while e > 0.0:
                if e < _E_CUT:
                    edep[vox] += e
                    break
                le = math.log(e)
                mu_maj = _xs(mu_max, 0, le, ln_e0, inv_dln)
                s = -math.log(uniform(st)) / mu_maj
                z += w * s
                y += v * s
                x += u * s
                if outside(z, y, x, lz, ly, lx):
                    break
                vox = voxel_of(z, y, x, h_cm, nz, ny, nx)
                m = mat[vox]
                rho = dens[vox]
                mu = rho * _xs(mu_tot, m, le, ln_e0, inv_dln)
                if uniform(st) * mu_maj > mu:
                    continue  # virtual (delta) collision
                dep, e, w, v, u = _interact(
                    e, m, ln_e0, inv_dln, mu_photo, mu_incoh, mu_coh, ray_x, ray_cdf, w, v, u, st
                )
                edep[vox] += dep
    return out


def point_kernel_mc(*args: Any) -> npt.NDArray[np.float64]:
    """Thin alias of the compiled infinite-medium point-source kernel (see module notes)."""
    return np.asarray(_point_kernel(*args))


def sphere_mc(*args: Any) -> npt.NDArray[np.float64]:
    """Thin alias of the compiled isolated-sphere kernel (see module notes)."""
    return np.asarray(_sphere(*args))


def voxel_mc(*args: Any) -> npt.NDArray[np.float64]:
    """Thin alias of the compiled Woodcock voxel kernel (see module notes)."""
    return np.asarray(_voxel(*args))
