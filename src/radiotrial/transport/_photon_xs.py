"""Photon interaction data for transport, computed from xraydb for any material composition.

Notes
-----
Mass attenuation coefficients of a mixture are Σᵢ wᵢ (μ/ρ)ᵢ with the elemental photoelectric,
incoherent (Compton, including binding through the incoherent scattering function) and coherent
(Rayleigh) cross sections of Elam, Ravel & Sieber (2002) as shipped by ``xraydb``. The Elam tables
end at 800 keV; above it the incoherent cross section follows the free-electron Klein–Nishina
shape scaled to the 800 keV value, the photoelectric one falls as 1/E and the coherent one as
1/E². Pair production (> 1.022 MeV) is not modelled: it is < 2 % of μ in water below 2 MeV.

Rayleigh angles are sampled from the molecular form factor F²(q) = Σᵢ (wᵢ/Aᵢ) f₀ᵢ(q)² (xraydb
f₀, independent-atom approximation) times the Thomson factor (1 + cos²θ)/2 (PENELOPE method).

References
----------
W. T. Elam, B. D. Ravel, J. R. Sieber, Radiat. Phys. Chem. 63, 121 (2002).
doi:10.1016/S0969-806X(01)00227-4
F. Salvat, PENELOPE-2018 (OECD/NEA 2019), §2.1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from radiotrial.transport._materials import Material
from radiotrial.transport._stopping import ELECTRON_REST_MEV

__all__ = [
    "PhotonTables",
    "klein_nishina_mean_transfer",
    "klein_nishina_total",
    "photon_tables",
]

E_MIN_MEV = 1e-3
E_MAX_MEV = 10.0
N_E = 1200
_ELAM_MAX_MEV = 0.8
HC_KEV_A = 12.398419843320026  # h c in keV·Å (CODATA 2018, exact SI)
_Q_MAX = 30.0  # Å⁻¹, beyond which F² is negligible for Z ≤ 20
_N_X = 4000


def klein_nishina_total(e_mev: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Klein–Nishina cross section per free electron, relative units (×2π r_e²)."""
    k = np.asarray(e_mev, dtype=np.float64) / ELECTRON_REST_MEV
    a = (1 + k) / k**2 * (2 * (1 + k) / (1 + 2 * k) - np.log1p(2 * k) / k)
    b = np.log1p(2 * k) / (2 * k) - (1 + 3 * k) / (1 + 2 * k) ** 2
    return np.asarray(a + b, dtype=np.float64)


def klein_nishina_mean_transfer(e_mev: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Mean fraction ⟨T⟩/E of the photon energy given to the electron in a Klein–Nishina event.

    Parameters
    ----------
    e_mev : array_like
        Photon energy, MeV.

    Returns
    -------
    ndarray
        ⟨1 − ε⟩ with ε = E'/E, same shape as ``e_mev``.

    Notes
    -----
    With ε ∈ [1/(1 + 2k), 1], k = E/mₑc², the Klein–Nishina law is
    dσ/d ln ε ∝ 1 + ε² − ε sin²θ, cos θ = 1 − (1 − ε)/(k ε) — smooth in ln ε, so a 48-node
    Gauss–Legendre rule in ln ε is exact to < 1e-10. It is the mean of the sampler in
    :mod:`radiotrial.transport._photon_mc` (Butcher & Messel), which makes μ_tr below the exact
    expectation of that code's local deposition.
    """
    k = np.atleast_1d(np.asarray(e_mev, dtype=np.float64)) / ELECTRON_REST_MEV
    x, w = np.polynomial.legendre.leggauss(48)
    lo = -np.log1p(2.0 * k)[..., None]  # ln ε₀
    ln_eps = 0.5 * lo * (1.0 - x)  # nodes on [ln ε₀, 0]
    eps = np.exp(ln_eps)
    t = (1.0 - eps) / (k[..., None] * eps)
    sin2 = t * (2.0 - t)
    f = 1.0 + eps * eps - eps * sin2
    out = (f * (1.0 - eps)) @ w / (f @ w)
    return np.asarray(out.reshape(np.shape(e_mev)), dtype=np.float64)


@dataclass(frozen=True)
class PhotonTables:
    """Cross sections of several materials on one log-uniform energy grid.

    Attributes
    ----------
    ln_e0, inv_dln : float
        ln of the first energy (MeV) and 1/Δln E of the grid.
    mu_photo, mu_incoh, mu_coh : (M, N) ndarray
        Mass coefficients, cm²/g, for M materials.
    ray_x : (K,) ndarray
        Grid of x = q² (Å⁻²) for Rayleigh sampling (uniform).
    ray_cdf : (M, K) ndarray
        Cumulative ∫₀ˣ F² dx' per material.
    names : tuple of str
    """

    ln_e0: float
    inv_dln: float
    energy_mev: npt.NDArray[np.float64]
    mu_photo: npt.NDArray[np.float64]
    mu_incoh: npt.NDArray[np.float64]
    mu_coh: npt.NDArray[np.float64]
    ray_x: npt.NDArray[np.float64]
    ray_cdf: npt.NDArray[np.float64]
    names: tuple[str, ...]

    @property
    def mu_total(self) -> npt.NDArray[np.float64]:
        """Total mass attenuation coefficient (M, N), cm²/g."""
        return np.asarray(self.mu_photo + self.mu_incoh + self.mu_coh)

    @property
    def mu_transfer(self) -> npt.NDArray[np.float64]:
        """Mass energy-transfer coefficient of the transport model (M, N), cm²/g.

        μ_tr/ρ = τ/ρ + (σ_incoh/ρ) ⟨T⟩/E: photoabsorption deposits the whole photon energy and
        a Compton event the Klein–Nishina mean transfer (binding only in σ_incoh), exactly as
        the photon MC deposits it; Rayleigh transfers nothing.
        """
        return np.asarray(
            self.mu_photo + self.mu_incoh * klein_nishina_mean_transfer(self.energy_mev)
        )


@cache
def _material_xs(material: Material) -> tuple[npt.NDArray[np.float64], ...]:
    import xraydb

    e = np.geomspace(E_MIN_MEV, E_MAX_MEV, N_E)
    low = e <= _ELAM_MAX_MEV
    e_ev = e[low] * 1e6
    photo = np.zeros(N_E)
    incoh = np.zeros(N_E)
    coh = np.zeros(N_E)
    q = np.sqrt(np.linspace(0.0, _Q_MAX**2, _N_X))
    f2 = np.zeros(_N_X)
    for el, w in material.mass_fractions:
        photo[low] += w * np.asarray(xraydb.mu_elam(el, e_ev, kind="photo"))
        incoh[low] += w * np.asarray(xraydb.incoherent_cross_section_elam(el, e_ev))
        coh[low] += w * np.asarray(xraydb.coherent_cross_section_elam(el, e_ev))
        f2 += w / float(xraydb.atomic_mass(el)) * np.asarray(xraydb.f0(el, q)) ** 2
    i = int(np.nonzero(low)[0][-1])
    hi = ~low
    kn = klein_nishina_total(e[hi]) / klein_nishina_total(e[i])
    incoh[hi] = incoh[i] * kn
    photo[hi] = photo[i] * e[i] / e[hi]
    coh[hi] = coh[i] * (e[i] / e[hi]) ** 2
    x = q**2
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (f2[1:] + f2[:-1]) * np.diff(x))])
    return e, photo, incoh, coh, x, cdf


def photon_tables(materials: tuple[Material, ...]) -> PhotonTables:
    """Tables for a tuple of materials (index = material id in voxel geometries)."""
    parts = [_material_xs(m) for m in materials]
    e = parts[0][0]
    return PhotonTables(
        ln_e0=float(math.log(e[0])),
        inv_dln=float(1.0 / (math.log(e[1]) - math.log(e[0]))),
        energy_mev=e,
        mu_photo=np.stack([p[1] for p in parts]),
        mu_incoh=np.stack([p[2] for p in parts]),
        mu_coh=np.stack([p[3] for p in parts]),
        ray_x=parts[0][4],
        ray_cdf=np.stack([p[5] for p in parts]),
        names=tuple(m.name for m in materials),
    )
