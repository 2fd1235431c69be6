"""Condensed-history Monte Carlo of electrons in water: scaled dose point kernels.

This is radiotrial's *physical model* for electron energy deposition (issue item 1). A point
isotropic source of monoenergetic electrons is simulated in an infinite homogeneous medium and the
deposited energy is scored against the scaled radius ξ = r / R_CSDA(T₀). The result, a table of
cumulative deposited-energy fractions C(ξ; T₀) on a grid of T₀, is shipped as a data file and is
regenerated with ``python -m radiotrial.transport._electron_mc``.

Notes
-----
Class II condensed history (Berger 1963): soft collisions are continuous, hard ones explicit.

* Energy loss: collisions that transfer more than W_c to an atomic electron are sampled from
  the Møller cross section (free electrons, binding neglected; W_c = 10 keV, or T₀/10 for
  T₀ < 100 keV); each one removes W from the electron, turns it by the binary-collision angle
  and starts a δ ray of energy W that is transported the same way. Everything softer is
  continuous, from the restricted collision stopping power L_Δ (ICRU 37) plus an approximate
  radiative stopping power (:mod:`radiotrial.transport._stopping`): a step of s g/cm² takes the
  electron from restricted range R to R − s exactly (range-table inversion). The radiative part
  of the loss escapes (it is not deposited): the kernel integrates to 1 − Y_rad. The hard
  collisions give the energy-loss and range straggling that a CSDA model lacks, so kernels reach
  beyond R_CSDA (to ~1.2 R_CSDA) as Berger's (1973) do; soft-collision straggling below W_c is
  neglected.
* Elastic scattering: screened Rutherford cross section with Molière's screening parameter
  A = ¼(α Z^{1/3} mc² / 0.885 pc)² (1.13 + 3.76 (αZ/β)²), Z(Z+1) to include atomic electrons. The
  transport mean free path λ₁ follows analytically,
  λ₁⁻¹ = Σᵢ nᵢ 2π Zᵢ(Zᵢ+1) (r_e mc²/pv)² [ln((1+A)/A) − 1/(1+A)].
  The angular deflection over a step s is sampled from a Wentzel (screened Rutherford) law whose
  screening parameter A' is fixed so that ⟨1 − cos θ⟩ = 1 − exp(−s/λ₁), Goudsmit–Saunderson's
  exact first moment (the "MW" model of Fernández-Varea et al. 1993). Lateral displacement uses
  the random-hinge method (Kawrakow & Bielajew 1998 / PENELOPE); energy lost in the step is
  deposited at the hinge.
* Steps: s = f · R(T) (f = 0.03 by default), cut short at the next hard collision (sampled
  from the cross section at the start of the step); tracking stops at
  T_cut = max(1 keV, 0.02 T₀) and the residual energy is deposited at the end point.

References
----------
M. J. Berger, "Monte Carlo calculation of the penetration and diffusion of fast charged
particles", in Methods in Computational Physics vol. 1 (Academic Press, 1963), pp. 135–215.
M. J. Berger, "Improved point kernels for electron and beta-ray dosimetry", NBSIR 73-107 (1973).
J. M. Fernández-Varea, R. Mayol, J. Baró, F. Salvat, NIM B 73, 447 (1993).
doi:10.1016/0168-583X(93)95827-R
I. Kawrakow, A. F. Bielajew, NIM B 142, 253 (1998). doi:10.1016/S0168-583X(98)00274-2
G. Molière, Z. Naturforsch. A 2, 133 (1947); H. A. Bethe, Phys. Rev. 89, 1256 (1953).
"""

from __future__ import annotations

import math
from typing import Any

import numba as nb
import numpy as np
import numpy.typing as npt
from scipy import constants as const

from radiotrial.transport._materials import Material
from radiotrial.transport._mc_sampling import (
    isotropic,
    outside,
    rotate,
    sample_line,
    source_voxel,
    voxel_of,
)
from radiotrial.transport._rng import new_state, uniform
from radiotrial.transport._stopping import ELECTRON_REST_MEV, moller_cross_section, range_table

__all__ = ["XI_EDGES", "scaled_kernel_mc", "transport_mean_free_path_g_cm2"]

XI_EDGES = np.linspace(0.0, 1.5, 301)
DELTA_CUT_MEV = 0.01  # Møller threshold W_c for T₀ ≥ 100 keV (T₀/10 below)
_STACK = 64  # δ rays pending per history (overflow is deposited on the spot)
_ALPHA = float(const.fine_structure)
_RE_CM = float(const.physical_constants["classical electron radius"][0]) * 100.0


def transport_mean_free_path_g_cm2(
    t_mev: npt.ArrayLike, material: Material
) -> npt.NDArray[np.float64]:
    """Elastic transport mean free path λ₁ (g/cm²), screened Rutherford with Molière screening."""
    import xraydb

    t = np.asarray(t_mev, dtype=np.float64)
    mc2 = ELECTRON_REST_MEV
    pc2 = t * (t + 2.0 * mc2)
    beta2 = pc2 / (t + mc2) ** 2
    pv = pc2 / (t + mc2)
    inv = np.zeros_like(t)
    for el, w in material.mass_fractions:
        z = float(xraydb.atomic_number(el))
        n_per_g = w * const.Avogadro / float(xraydb.atomic_mass(el))
        a = (
            0.25
            * (_ALPHA * z ** (1.0 / 3.0) * mc2 / 0.885) ** 2
            / pc2
            * (1.13 + 3.76 * (_ALPHA * z) ** 2 / beta2)
        )
        sigma1 = (
            2.0
            * math.pi
            * z
            * (z + 1.0)
            * (_RE_CM * mc2 / pv) ** 2
            * (np.log1p(1.0 / a) - 1.0 / (1.0 + a))
        )
        inv += n_per_g * sigma1
    return np.asarray(1.0 / inv, dtype=np.float64)


def _wentzel_table() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """ln A and ln G(A) with G(A) = ⟨1−cos θ⟩ = 2A[(1+A) ln(1+1/A) − 1] of the Wentzel law."""
    a = np.geomspace(1e-12, 1e6, 4000)
    g = 2.0 * a * ((1.0 + a) * np.log1p(1.0 / a) - 1.0)
    return np.log(a), np.log(g)


@nb.njit(cache=True, inline="always")
def _lerp(
    x: float, x0: float, inv_dx: float, y: npt.NDArray[np.float64]
) -> float:  # pragma: no cover - numba
    """Linear interpolation on a uniform grid starting at x0 with spacing 1/inv_dx (clamped)."""
    f = (x - x0) * inv_dx
    n = y.shape[0]
    if f <= 0.0:
        return float(y[0])
    if f >= n - 1:
        return float(y[n - 1])
    i = int(f)
    d = f - i
    return float(y[i] * (1.0 - d) + y[i + 1] * d)


@nb.njit(cache=True, inline="always")
def _csda_step(
    t: float,
    r_end: float,
    s: float,
    r0g: float,
    ir: float,
    ln_e_of_r: npt.NDArray[np.float64],
    e0: float,
    ie: float,
    colfrac: npt.NDArray[np.float64],
    ln_lam1: npt.NDArray[np.float64],
) -> tuple[float, float, float]:  # pragma: no cover - numba
    """A step of s g/cm² down to residual range r_end: (T after, energy deposited, target).

    The deposit is the collision part of the CSDA loss; target = 1 − exp(−s/λ₁) at the mid-step
    energy is the ⟨1 − cos θ⟩ the step's deflection must reproduce (Goudsmit–Saunderson).
    """
    t_end = math.exp(_lerp(math.log(r_end), r0g, ir, ln_e_of_r))
    lm = math.log(0.5 * (t + t_end))
    de = (t - t_end) * _lerp(lm, e0, ie, colfrac)
    lam1 = math.exp(_lerp(lm, e0, ie, ln_lam1))
    return t_end, de, -math.expm1(-s / lam1)


@nb.njit(cache=True, inline="always")
def _wentzel_cos(
    target: float,
    g_max: float,
    g0: float,
    ig: float,
    ln_a_of_g: npt.NDArray[np.float64],
    st: npt.NDArray[np.uint64],
) -> float:  # pragma: no cover - numba
    """cos θ from the Wentzel law with ⟨1 − cos θ⟩ = target (isotropic beyond its range)."""
    if target >= g_max:
        return 2.0 * uniform(st) - 1.0
    a = math.exp(_lerp(math.log(target), g0, ig, ln_a_of_g))
    q = uniform(st)
    return 1.0 - 2.0 * (a * q / (1.0 + a - q))


def _uniform(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], n: int = 4096
) -> tuple[float, float, npt.NDArray[np.float64]]:
    """Resample y(x) (x increasing) on a uniform grid: (x0, 1/dx, values)."""
    grid = np.linspace(x[0], x[-1], n)
    return float(grid[0]), float(1.0 / (grid[1] - grid[0])), np.interp(grid, x, y)


@nb.njit(cache=True, inline="always")
def _moller_transfer(
    t: float, w_cut: float, st: npt.NDArray[np.uint64]
) -> float:  # pragma: no cover
    """Energy W (W_c < W ≤ T/2) given to the atomic electron in a hard Møller collision.

    ε = W/T is drawn ∝ 1/ε² on [k, ½] (k = W_c/T) and kept with probability F(ε)/F_max,
    F = 1 + (ε/(1−ε))² + (τ/(τ+1))² ε² − (2τ+1)/(τ+1)² · ε/(1−ε) ≤ 2 + (τ/(τ+1))²/4.
    """
    tau = t / ELECTRON_REST_MEV
    g2 = (tau / (tau + 1.0)) ** 2
    b = (2.0 * tau + 1.0) / (tau + 1.0) ** 2
    k = w_cut / t
    f_max = 2.0 + 0.25 * g2
    while True:
        eps = k / (1.0 - uniform(st) * (1.0 - 2.0 * k))
        q = eps / (1.0 - eps)
        if uniform(st) * f_max <= 1.0 + q * q + g2 * eps * eps - b * q:
            return eps * t


@nb.njit(cache=True, inline="always")
def _binary_cosines(t: float, w: float) -> tuple[float, float]:  # pragma: no cover
    """Polar-angle cosines of the scattered electron (T − W) and of the δ ray (W)."""
    m2 = 2.0 * ELECTRON_REST_MEV
    tp = t - w
    return math.sqrt(tp * (t + m2) / (t * (tp + m2))), math.sqrt(w * (t + m2) / (t * (w + m2)))


@nb.njit(cache=True, inline="always")
def _push(  # pragma: no cover - numba
    stack: Any, i: int, a: float, b: float, c: float, u: float, v: float, w: float, t: float
) -> None:
    """Row ``i`` of the secondary-electron stack: position (three coordinates in the caller's
    order), direction cosines and kinetic energy."""
    stack[i, 0] = a
    stack[i, 1] = b
    stack[i, 2] = c
    stack[i, 3] = u
    stack[i, 4] = v
    stack[i, 5] = w
    stack[i, 6] = t


@nb.njit(cache=True, parallel=True)
def _simulate(  # pragma: no cover - numba
    t0: float,
    n: int,
    n_batches: int,
    seed: int,
    e0: float,
    ie: float,
    ln_r: npt.NDArray[np.float64],
    colfrac: npt.NDArray[np.float64],
    ln_lam1: npt.NDArray[np.float64],
    sigma_hard: npt.NDArray[np.float64],
    w_cut: float,
    r0g: float,
    ir: float,
    ln_e_of_r: npt.NDArray[np.float64],
    g0: float,
    ig: float,
    ln_a_of_g: npt.NDArray[np.float64],
    g_max: float,
    step_frac: float,
    cut_frac: float,
    r_scale: float,
    xi_edges: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    nbins = xi_edges.shape[0] - 1
    dxi = xi_edges[1] - xi_edges[0]
    out = np.zeros((n_batches, nbins + 1))  # last column: beyond the grid
    per = n // n_batches
    t_cut = max(1e-3, cut_frac * t0)
    for b in nb.prange(n_batches):
        st = new_state(seed, b)
        hist = out[b]
        stack = np.empty((_STACK, 7))
        for _ in range(per):
            u, v, w = isotropic(st)
            _push(stack, 0, 0.0, 0.0, 0.0, u, v, w, t0)
            ns = 1
            while ns > 0:
                ns -= 1
                x, y, z = stack[ns, 0], stack[ns, 1], stack[ns, 2]
                u, v, w = stack[ns, 3], stack[ns, 4], stack[ns, 5]
                t = stack[ns, 6]
                while t > t_cut:
                    r = math.exp(_lerp(math.log(t), e0, ie, ln_r))
                    r_cut = math.exp(_lerp(math.log(t_cut), e0, ie, ln_r))
                    s = step_frac * r
                    if r - s < r_cut:
                        s = r - r_cut
                    sig = _lerp(math.log(t), e0, ie, sigma_hard)
                    hard = False
                    if sig > 0.0:
                        s_hard = -math.log(uniform(st)) / sig
                        if s_hard < s:
                            s = s_hard
                            hard = True
                    t_end, de, target = _csda_step(
                        t, r - s, s, r0g, ir, ln_e_of_r, e0, ie, colfrac, ln_lam1
                    )
                    # random hinge
                    tau = uniform(st) * s
                    x += u * tau
                    y += v * tau
                    z += w * tau
                    k = int(math.sqrt(x * x + y * y + z * z) / r_scale / dxi)
                    hist[k if k < nbins else nbins] += de
                    cos_t = _wentzel_cos(target, g_max, g0, ig, ln_a_of_g, st)
                    u, v, w = rotate(u, v, w, cos_t, 2.0 * math.pi * uniform(st))
                    rest = s - tau
                    x += u * rest
                    y += v * rest
                    z += w * rest
                    t = t_end
                    if not hard or t <= 2.0 * w_cut:
                        if r - s <= r_cut * (1.0 + 1e-12):
                            break
                        continue
                    wd = _moller_transfer(t, w_cut, st)
                    cp, cd = _binary_cosines(t, wd)
                    phi = 2.0 * math.pi * uniform(st)
                    if wd > t_cut and ns < _STACK:
                        ud, vd, wdd = rotate(u, v, w, cd, phi + math.pi)
                        _push(stack, ns, x, y, z, ud, vd, wdd, wd)
                        ns += 1
                    else:
                        k = int(math.sqrt(x * x + y * y + z * z) / r_scale / dxi)
                        hist[k if k < nbins else nbins] += wd
                    u, v, w = rotate(u, v, w, cp, phi)
                    t -= wd
                k = int(math.sqrt(x * x + y * y + z * z) / r_scale / dxi)
                hist[k if k < nbins else nbins] += t
    return out


def delta_cut_mev(t0_mev: float) -> float:
    """Møller threshold W_c used for a primary of T₀: 10 keV, or T₀/10 below 100 keV."""
    return float(min(DELTA_CUT_MEV, 0.1 * t0_mev))


def _tables(material: Material, w_cut: float) -> tuple[Any, ...]:
    """Restricted-range, scattering and hard-collision tables on uniform grids (g/cm²)."""
    e, r, colfrac = range_table(material, w_cut)
    lam1 = transport_mean_free_path_g_cm2(e, material)
    sigma = moller_cross_section(e, material, w_cut)
    ln_a, ln_g = _wentzel_table()
    ln_e, ln_r = np.log(e), np.log(r)
    e0, ie = float(ln_e[0]), float(1.0 / (ln_e[1] - ln_e[0]))
    r0g, ir, ln_e_of_r = _uniform(ln_r, ln_e)
    g0, ig, ln_a_of_g = _uniform(ln_g, ln_a, 8192)
    return (
        e0,
        ie,
        ln_r,
        colfrac,
        np.log(lam1),
        sigma,
        float(w_cut),
        r0g,
        ir,
        ln_e_of_r,
        g0,
        ig,
        ln_a_of_g,
        float(np.exp(ln_g[-1])),
    )


def scaled_kernel_mc(
    t0_mev: float,
    material: Material,
    *,
    n_electrons: int = 20000,
    n_batches: int = 20,
    seed: int = 1,
    step_fraction: float = 0.03,
) -> dict[str, Any]:
    """Simulate a monoenergetic point source and return the scaled cumulative energy fraction.

    Parameters
    ----------
    t0_mev : float
        Initial kinetic energy, MeV (1 keV – 50 MeV).
    material : Material
        Homogeneous medium (the kernel is scored in ξ = r/R_CSDA, so density cancels).
    n_electrons, n_batches, seed : int
        Histories, statistical batches (for the uncertainty), seed of the reproducible stream.
    step_fraction : float
        Step length as a fraction of the residual (restricted) range.

    Returns
    -------
    dict
        ``xi_edges`` (M+1,), ``cumulative`` (M+1,) fraction of T₀ deposited within ξ,
        ``cumulative_std`` (M+1,) its standard error (batch method), ``range_g_cm2`` R_CSDA(T₀)
        (the scale of ξ).
    """
    e, r_csda, _ = range_table(material)
    r0 = float(np.exp(np.interp(np.log(t0_mev), np.log(e), np.log(r_csda))))
    tab = _tables(material, delta_cut_mev(t0_mev))
    n_batches = max(2, int(n_batches))
    per = max(1, int(n_electrons) // n_batches)
    args: tuple[Any, ...] = (
        float(t0_mev),
        per * n_batches,
        n_batches,
        int(seed),
        *tab,
        float(step_fraction),
        0.02,
        r0,
        XI_EDGES,
    )
    out = np.asarray(_simulate(*args))
    frac = out / (per * float(t0_mev))  # per-batch energy fraction per bin
    cum_b = np.concatenate([np.zeros((n_batches, 1)), np.cumsum(frac[:, :-1], axis=1)], axis=1)
    cum = cum_b.mean(axis=0)
    std = cum_b.std(axis=0, ddof=1) / math.sqrt(n_batches)
    return {
        "xi_edges": XI_EDGES.copy(),
        "cumulative": cum,
        "cumulative_std": std,
        "range_g_cm2": r0,
    }


TABLE_ENERGIES_MEV = np.geomspace(5e-3, 20.0, 37)
TABLE_FILE = "electron_scaled_kernels_water.csv"


def build_table(
    path: str | None = None, *, n_electrons: int = 40000, seed: int = 20260101
) -> npt.NDArray[np.float64]:
    """Regenerate the scaled-kernel table shipped in ``radiotrial/data/transport``.

    Writes a CSV whose rows are initial energies T₀ (MeV) and whose columns are the cumulative
    deposited-energy fraction C(ξ) at the edges :data:`XI_EDGES`; the header records the model,
    seed and statistics. Returns the table (E, M+1).
    """
    import datetime
    from importlib import resources

    from radiotrial.transport._materials import get_material

    water = get_material("water")
    rows = []
    for t0 in TABLE_ENERGIES_MEV:
        res = scaled_kernel_mc(float(t0), water, n_electrons=n_electrons, seed=seed)
        rows.append(res["cumulative"])
    table = np.asarray(rows)
    if path is None:
        target = resources.files("radiotrial.data").joinpath("transport", TABLE_FILE)
        path = str(target)
    header = [
        "# radiotrial scaled electron dose point kernels in water (cumulative energy fraction)",
        "# model: class-II condensed-history MC, radiotrial.transport._electron_mc (Moller",
        "#   delta rays above W_c, restricted Bethe stopping below, Moliere-screened Rutherford",
        "#   transport mean free path, Wentzel MW angular model, random hinge)",
        f"# generated: {datetime.date.today().isoformat()}",
        f"# electrons/energy: {n_electrons}  seed: {seed}",
        "# regenerate: python -m radiotrial.transport._electron_mc",
        "# columns: energy_mev, then C(xi) at xi = "
        + " ".join(f"{x:g}" for x in XI_EDGES[[0, 1, -1]])
        + f" ... ({XI_EDGES.size} edges, linspace 0..{XI_EDGES[-1]:g})",
    ]
    import os
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(header) + "\n")
        for t0, row in zip(TABLE_ENERGIES_MEV, table, strict=True):
            fh.write(f"{t0:.6g}," + ",".join(f"{v:.6g}" for v in row) + "\n")
    os.replace(tmp, path)
    return table


@nb.njit(cache=True, parallel=True)
def _voxel_electrons(  # pragma: no cover - numba
    per: int,
    batch_ids: npt.NDArray[np.int64],
    seed: int,
    comp_e: npt.NDArray[np.float64],
    comp_cdf: npt.NDArray[np.float64],
    src_cdf: npt.NDArray[np.float64],
    src_index: npt.NDArray[np.int64],
    dens: npt.NDArray[np.float32],
    shape: npt.NDArray[np.int64],
    h_cm: npt.NDArray[np.float64],
    e0: float,
    ie: float,
    ln_r: npt.NDArray[np.float64],
    colfrac: npt.NDArray[np.float64],
    ln_lam1: npt.NDArray[np.float64],
    sigma_hard: npt.NDArray[np.float64],
    w_cut: float,
    r0g: float,
    ir: float,
    ln_e_of_r: npt.NDArray[np.float64],
    g0: float,
    ig: float,
    ln_a_of_g: npt.NDArray[np.float64],
    g_max: float,
    step_frac: float,
    cut_cm: float,
) -> npt.NDArray[np.float64]:
    nz = shape[0]
    ny = shape[1]
    nx = shape[2]
    lz = nz * h_cm[0]
    ly = ny * h_cm[1]
    lx = nx * h_cm[2]
    max_step_cm = 0.5 * min(h_cm[0], min(h_cm[1], h_cm[2]))
    nbt = batch_ids.shape[0]
    out = np.zeros((nbt, nz * ny * nx))
    for bi in nb.prange(nbt):
        st = new_state(seed, batch_ids[bi])
        edep = out[bi]
        stack = np.empty((_STACK, 7))
        for i in range(per):
            # stratified source (see radiotrial.transport._photon_tle): slice i of `per`
            target = (i + uniform(st)) / per * src_cdf[src_cdf.shape[0] - 1]
            vox, _, _, _, z, y, x = source_voxel(src_cdf, src_index, target, ny, nx, h_cm, st)
            t = sample_line(comp_cdf, comp_e, st)
            u, v, w = isotropic(st)
            _push(stack, 0, z, y, x, u, v, w, t)
            ns = 1
            while ns > 0:
                ns -= 1
                z, y, x = stack[ns, 0], stack[ns, 1], stack[ns, 2]
                u, v, w = stack[ns, 3], stack[ns, 4], stack[ns, 5]
                t = stack[ns, 6]
                vox = voxel_of(z, y, x, h_cm, nz, ny, nx)
                while True:
                    rho = float(dens[vox])
                    if rho < 1e-4:
                        rho = 1e-4
                    if t <= 1e-3:
                        edep[vox] += t
                        break
                    rg = math.exp(_lerp(math.log(t), e0, ie, ln_r))
                    if rg < cut_cm * rho:  # residual range below the cut: deposit here
                        edep[vox] += t
                        break
                    sg = step_frac * rg
                    if sg > max_step_cm * rho:  # never step more than half a voxel
                        sg = max_step_cm * rho
                    if rg - sg < 1e-9:
                        sg = rg - 1e-9
                    sig = _lerp(math.log(t), e0, ie, sigma_hard)
                    hard = False
                    if sig > 0.0:
                        s_hard = -math.log(uniform(st)) / sig
                        if s_hard < sg:
                            sg = s_hard
                            hard = True
                    t_end, de, target = _csda_step(
                        t, rg - sg, sg, r0g, ir, ln_e_of_r, e0, ie, colfrac, ln_lam1
                    )
                    s = sg / rho  # geometric length at the density of the current voxel
                    tau = uniform(st) * s
                    x += u * tau
                    y += v * tau
                    z += w * tau
                    if outside(z, y, x, lz, ly, lx):
                        break
                    vox = voxel_of(z, y, x, h_cm, nz, ny, nx)
                    edep[vox] += de
                    cos_t = _wentzel_cos(target, g_max, g0, ig, ln_a_of_g, st)
                    u, v, w = rotate(u, v, w, cos_t, 2.0 * math.pi * uniform(st))
                    rest = s - tau
                    x += u * rest
                    y += v * rest
                    z += w * rest
                    if outside(z, y, x, lz, ly, lx):
                        break
                    vox = voxel_of(z, y, x, h_cm, nz, ny, nx)
                    t = t_end
                    if hard and t > 2.0 * w_cut:
                        wd = _moller_transfer(t, w_cut, st)
                        cp, cd = _binary_cosines(t, wd)
                        phi = 2.0 * math.pi * uniform(st)
                        rd = math.exp(_lerp(math.log(wd), e0, ie, ln_r))
                        if rd >= cut_cm * rho and ns < _STACK:
                            ud, vd, wdd = rotate(u, v, w, cd, phi + math.pi)
                            _push(stack, ns, z, y, x, ud, vd, wdd, wd)
                            ns += 1
                        else:  # a δ ray shorter than the range cut stays in this voxel
                            edep[vox] += wd
                        u, v, w = rotate(u, v, w, cp, phi)
                        t -= wd
    return out


def voxel_electron_tables(material: Material) -> tuple[Any, ...]:
    """Restricted-range, scattering and Møller tables for :func:`_voxel_electrons` (g/cm²)."""
    return _tables(material, DELTA_CUT_MEV)


def voxel_electrons_mc(*args: Any) -> npt.NDArray[np.float64]:
    """Compiled condensed-history electron transport in a voxel geometry (see engines)."""
    return np.asarray(_voxel_electrons(*args))


if __name__ == "__main__":  # pragma: no cover
    build_table()
