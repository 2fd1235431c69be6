"""Ground-truth biokinetics of a virtual patient: time-activity curves and analytic TIAs.

Every region's activity is a sum of exponentials (physical decay included)

.. math::
    A(t) = A_0 \\Big[\\sum_i f_i e^{-(λ_i + λ_p) t}
           - u \\Big(\\sum_i f_i\\Big) e^{-(λ_u + λ_p) t}\\Big]

with biological rates :math:`λ_i = \\ln 2 / T_i`, uptake rate :math:`λ_u = \\ln 2 / T_{up}`
(:math:`u = 1` when the region has an uptake phase) and physical decay constant :math:`λ_p`.
The time-integrated activity is the closed form

.. math::
    \\tilde A = A_0 \\Big[\\sum_i \\frac{f_i}{λ_i + λ_p} - u \\frac{\\sum_i f_i}{λ_u + λ_p}\\Big].
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from radiotrial.errors import ValidationError
from radiotrial.nuclides import get_nuclide
from radiotrial.phantom._data import load_data, value_of

__all__ = [
    "PatientKinetics",
    "RegionKinetics",
    "default_kinetics",
    "organ_self_dose_gy",
    "photon_self_absorbed_fraction",
    "sample_kinetics",
]

F64 = npt.NDArray[np.float64]
_LN2: Final = math.log(2.0)
_MEV_J: Final = 1.602176634e-13  # J per MeV (exact, 2019 SI)


@dataclass(frozen=True, slots=True)
class RegionKinetics:
    """Biokinetics of one region (fractions of the injected activity).

    Parameters
    ----------
    name : str
        Region name.
    fractions : tuple of float
        Amplitudes :math:`f_i` of the washout components (≥ 0, fraction of injected activity).
    half_lives_h : tuple of float
        Biological half-lives :math:`T_i` (h, > 0) of the components.
    uptake_half_life_h : float or None
        Uptake half-life (h); must be shorter than every :math:`T_i`. ``None``: no uptake
        phase (the region holds :math:`\\sum f_i` at injection).
    """

    name: str
    fractions: tuple[float, ...]
    half_lives_h: tuple[float, ...]
    uptake_half_life_h: float | None = None

    def __post_init__(self) -> None:
        if len(self.fractions) != len(self.half_lives_h) or not self.fractions:
            raise ValidationError(
                f"{self.name}.components", self.fractions, "need ≥ 1 (fraction, half-life) pair"
            )
        if any(not (math.isfinite(f) and f >= 0) for f in self.fractions):
            raise ValidationError(
                f"{self.name}.fractions", self.fractions, "fractions must be finite and ≥ 0"
            )
        if any(not (math.isfinite(t) and t > 0) for t in self.half_lives_h):
            raise ValidationError(
                f"{self.name}.half_lives_h", self.half_lives_h, "half-lives must be > 0 h"
            )
        up = self.uptake_half_life_h
        if up is not None and not (math.isfinite(up) and 0 < up < min(self.half_lives_h)):
            raise ValidationError(
                f"{self.name}.uptake_half_life_h",
                up,
                "uptake must be > 0 h and faster than every washout",
            )

    def terms(self, decay_per_h: float) -> tuple[F64, F64]:
        """Coefficients :math:`c_k` and effective rates :math:`μ_k` (1/h).

        ``A(t)/A0 = Σ c_k exp(−μ_k t)``.
        """
        f = np.asarray(self.fractions, dtype=np.float64)
        lam = _LN2 / np.asarray(self.half_lives_h, dtype=np.float64)
        if self.uptake_half_life_h is None:
            return f, lam + decay_per_h
        return (
            np.append(f, -f.sum()),
            np.append(lam, _LN2 / self.uptake_half_life_h) + decay_per_h,
        )

    def fraction_at(self, times_h: npt.ArrayLike, decay_per_h: float) -> F64:
        """A(t)/A0 at ``times_h`` (h after injection; negative times give 0)."""
        t = np.asarray(times_h, dtype=np.float64)
        c, mu = self.terms(decay_per_h)
        out = np.sum(c * np.exp(-np.multiply.outer(np.maximum(t, 0.0), mu)), axis=-1)
        return np.where(t >= 0, np.maximum(out, 0.0), 0.0)

    def tia_h(self, decay_per_h: float, *, until_h: float = math.inf) -> float:
        """Time-integrated activity per injected activity, ∫₀^T A/A0 dt, in h (closed form).

        Notes
        -----
        :math:`\\int_0^T \\sum c_k e^{-μ_k t} dt = \\sum c_k (1 - e^{-μ_k T}) / μ_k`.
        """
        c, mu = self.terms(decay_per_h)
        if math.isinf(until_h):
            return float(np.sum(c / mu))
        return float(np.sum(c * -np.expm1(-mu * until_h) / mu))

    def scaled(self, factor: float) -> RegionKinetics:
        """The same curve with every fraction multiplied by ``factor``."""
        return replace(self, fractions=tuple(f * factor for f in self.fractions))


@dataclass(frozen=True, slots=True)
class PatientKinetics:
    """All regions' kinetics for one virtual patient.

    Attributes
    ----------
    nuclide : str
        Radionuclide (ICRP-107 name).
    regions : dict of str to RegionKinetics
        Kinetic region name (``kidneys``, ``red_marrow``, ``tumour_1``…) → curve, fractions of
        the injected activity in the *whole* region (in and out of the imaged field).
    seed : int or None
        Seed of the variability draw (``None``: nominal values).
    draws : dict
        Multipliers drawn for each region (``fraction``, ``half_life``), for the record.
    """

    nuclide: str
    regions: dict[str, RegionKinetics]
    seed: int | None
    draws: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def decay_per_h(self) -> float:
        """Physical decay constant λ_p in 1/h."""
        return get_nuclide(self.nuclide).decay_constant_per_s * 3600.0

    def total_fraction(self, times_h: npt.ArrayLike) -> F64:
        """Fraction of the injected activity retained in the body (all regions), decayed."""
        return np.asarray(
            np.sum(
                [k.fraction_at(times_h, self.decay_per_h) for k in self.regions.values()], axis=0
            ),
            dtype=np.float64,
        )

    def tia_h(self) -> dict[str, float]:
        """Analytic TIA per injected activity (h) of every region."""
        lam = self.decay_per_h
        return {n: k.tia_h(lam) for n, k in self.regions.items()}

    def to_dict(self) -> dict[str, Any]:
        """Plain-data record of the parameters (for the ground-truth file)."""
        return {
            "nuclide": self.nuclide,
            "seed": self.seed,
            "model": (
                "A(t)/A0 = [sum_i f_i exp(-ln2 t/T_i) - u (sum_i f_i) exp(-ln2 t/T_up)]"
                " exp(-lambda_p t)"
            ),
            "regions": {
                n: {
                    "fractions": list(k.fractions),
                    "half_lives_h": list(k.half_lives_h),
                    "uptake_half_life_h": k.uptake_half_life_h,
                }
                for n, k in self.regions.items()
            },
            "draws": self.draws,
        }


def _curve(name: str, entry: dict[str, Any], *, per_ml: float | None = None) -> RegionKinetics:
    comps = entry["components"]
    key = "fraction_per_ml" if per_ml is not None else "fraction"
    fr = tuple(float(c[key]) * (per_ml if per_ml is not None else 1.0) for c in comps)
    return RegionKinetics(
        name,
        fr,
        tuple(float(c["half_life_h"]) for c in comps),
        None if entry.get("uptake_h") is None else float(entry["uptake_h"]),
    )


def _reference_volumes_ml() -> tuple[float, float]:
    """Blood-pool (heart) and whole-body red-marrow volumes (mL) of the reference female."""
    anatomy = load_data("anatomy.yaml")
    rho_blood = float(value_of(anatomy["tissues"]["blood"]["density"]))
    entry = load_data("kinetics_lu177_neob.yaml")["regions"]["red_marrow"]["blood_borne"]
    rho_rm = float(value_of(entry["marrow_density_g_cm3"]))
    masses = anatomy["masses_g"]
    return (
        float(masses["heart"]["female"]) / rho_blood,
        float(masses["red_marrow"]["female"]) / rho_rm,
    )


def _blood_borne(
    entry: dict[str, Any], blood: RegionKinetics, name: str, blood_pool_ml: float, marrow_ml: float
) -> RegionKinetics:
    """A region whose concentration is a fixed ratio of the blood pool's (same curve shape)."""
    ratio = float(value_of(entry["blood_borne"]["marrow_to_blood_ratio"]))
    if not (blood_pool_ml > 0 and marrow_ml > 0):
        raise ValidationError("blood_pool_ml", (blood_pool_ml, marrow_ml), "volumes must be > 0")
    return replace(blood.scaled(ratio * marrow_ml / blood_pool_ml), name=name)


def default_kinetics() -> dict[str, RegionKinetics]:
    """Nominal 177Lu-NeoB curves of the normal-organ regions (``kinetics_lu177_neob.yaml``).

    Blood-borne regions (red marrow) use the reference female's blood-pool and marrow volumes.
    """
    data = load_data("kinetics_lu177_neob.yaml")
    out = {
        name: _curve(name, entry)
        for name, entry in data["regions"].items()
        if "blood_borne" not in entry
    }
    blood_ml, marrow_ml = _reference_volumes_ml()
    for name, entry in data["regions"].items():
        if "blood_borne" in entry:
            blood = out[entry["blood_borne"]["region"]]
            out[name] = _blood_borne(entry, blood, name, blood_ml, marrow_ml)
    return {name: out[name] for name in data["regions"]}


def sample_kinetics(
    tumour_volumes_ml: dict[str, float],
    *,
    seed: int | None,
    variability: bool = True,
    region_masses_g: dict[str, float] | None = None,
    blood_pool_ml: float | None = None,
    red_marrow_ml: float | None = None,
) -> PatientKinetics:
    """Draw one patient's kinetics: normal organs plus one curve per tumour.

    Parameters
    ----------
    tumour_volumes_ml : dict of str to float
        Tumour region name → volume (mL); tumour fractions are per mL.
    seed : int or None
        Seed of ``numpy.random.default_rng``: the same seed gives the same patient.
    variability : bool, default True
        Draw log-normal multipliers (median 1) on fractions and half-lives; False gives the
        nominal curves.
    region_masses_g : dict of str to float, optional
        Patient's mass of kinetic regions marked ``mass_scaled`` in the data file (e.g. the
        breasts, 500 g female / 25 g male): their fractions scale with mass / reference mass.
    blood_pool_ml, red_marrow_ml : float, optional
        The patient's blood-pool (heart) volume and whole-body red-marrow volume; a
        blood-borne region (red marrow) follows the drawn blood-pool curve at RMBLR × these
        volumes' ratio (default: the reference female's).

    Returns
    -------
    PatientKinetics

    Notes
    -----
    Multipliers are :math:`e^{σ Z}`, :math:`σ = \\sqrt{\\ln(1 + CV^2)}`, drawn in a fixed
    order (regions in file order, then tumours). An uptake half-life keeps its ratio to the
    shortest washout so that uptake stays faster than washout. If the drawn retention exceeded
    the injected activity at any time, every fraction is scaled down to keep Σ ≤ 1.
    """
    data = load_data("kinetics_lu177_neob.yaml")
    var = data["variability"]
    cv_f = float(value_of(var["fraction_cv"]))
    cv_t = float(value_of(var["half_life_cv"]))
    cv_tum = float(value_of(var["tumour_fraction_cv"]))
    rng = np.random.default_rng(seed)
    nominal = default_kinetics()
    for name, entry in data["regions"].items():
        if "mass_scaled" in entry and region_masses_g and name in region_masses_g:
            ref_g = float(entry["mass_scaled"]["reference_g"])
            nominal[name] = nominal[name].scaled(region_masses_g[name] / ref_g)
    nominal |= {
        name: _curve(name, data["tumour"], per_ml=vol) for name, vol in tumour_volumes_ml.items()
    }
    regions: dict[str, RegionKinetics] = {}
    draws: dict[str, dict[str, float]] = {}
    for name, k in nominal.items():
        cv = cv_tum if name in tumour_volumes_ml else cv_f
        zf, zt = rng.standard_normal(2)
        mf = math.exp(math.sqrt(math.log1p(cv**2)) * zf) if variability else 1.0
        mt = math.exp(math.sqrt(math.log1p(cv_t**2)) * zt) if variability else 1.0
        up = None if k.uptake_half_life_h is None else k.uptake_half_life_h * mt
        regions[name] = RegionKinetics(
            name,
            tuple(f * mf for f in k.fractions),
            tuple(t * mt for t in k.half_lives_h),
            up,
        )
        draws[name] = {"fraction": mf, "half_life": mt}
    ref_blood, ref_marrow = _reference_volumes_ml()
    for name, entry in data["regions"].items():
        if "blood_borne" in entry:
            # drawn above only to keep the random stream of the regions after it
            source = entry["blood_borne"]["region"]
            regions[name] = _blood_borne(
                entry,
                regions[source],
                name,
                blood_pool_ml or ref_blood,
                red_marrow_ml or ref_marrow,
            )
            draws[name] = dict(draws[source])
    pk = PatientKinetics(get_nuclide(str(data["nuclide"])).name, regions, seed, draws)
    # biological retention (no decay) must never exceed the injected activity
    grid = np.concatenate([[0.0], np.geomspace(0.01, 5000.0, 400)])
    peak = float(np.max(np.sum([k.fraction_at(grid, 0.0) for k in regions.values()], axis=0)))
    if peak > 1.0:
        regions = {n: k.scaled(1.0 / peak) for n, k in regions.items()}
        pk = PatientKinetics(pk.nuclide, regions, seed, draws)
    return pk


def _kn_energy_transfer_fraction(energy_mev: float) -> float:
    """Mean fraction of photon energy given to the Compton electron (Klein-Nishina)."""
    k = energy_mev / 0.51099895  # photon energy in electron rest-mass units (CODATA 2018)
    cos = np.linspace(-1.0, 1.0, 4001)
    ratio = 1.0 / (1.0 + k * (1.0 - cos))  # E'/E
    dsigma = ratio**2 * (ratio + 1.0 / ratio - (1.0 - cos**2))  # ∝ dσ/dΩ (Klein & Nishina 1929)
    return float(np.trapezoid(dsigma * (1.0 - ratio), cos) / np.trapezoid(dsigma, cos))


def photon_self_absorbed_fraction(
    energy_mev: float, mass_g: float, *, density_g_cm3: float = 1.05
) -> float:
    """Crude self-absorbed fraction of a photon line in a spherical organ.

    Notes
    -----
    :math:`φ ≈ 1 - e^{-μ_{en} \\bar r}` with the mean chord of a sphere :math:`\\bar r = 4R/3`
    (Cauchy) and :math:`μ_{en} = ρ\\,[(μ/ρ)_{pe} + (μ/ρ)_{incoh} \\langle T\\rangle/E]` for
    soft tissue (ICRU-44 muscle composition, xraydb cross sections, Klein-Nishina mean energy
    transfer). It ignores scatter build-up and is only a check of the kinetics defaults; the
    dosimetry package computes real absorbed doses.
    """
    import xraydb

    from radiotrial.phantom._tissues import get_tissue

    comp = get_tissue("soft_tissue").composition
    e_ev = energy_mev * 1e6
    pe = sum(w * float(xraydb.mu_elam(el, e_ev, kind="photo")) for el, w in comp)
    inc = sum(w * float(xraydb.mu_elam(el, e_ev, kind="incoh")) for el, w in comp)
    mu_en = density_g_cm3 * (pe + inc * _kn_energy_transfer_fraction(energy_mev))
    radius_cm = (3.0 * mass_g / density_g_cm3 / (4.0 * math.pi)) ** (1.0 / 3.0)
    return 1.0 - math.exp(-mu_en * 4.0 * radius_cm / 3.0)


def organ_self_dose_gy(tia_bq_s: float, mass_g: float, *, nuclide: str = "Lu-177") -> float:
    """Self-irradiation absorbed dose estimate (Gy) for a TIA in an organ of ``mass_g``.

    Notes
    -----
    :math:`D = \\tilde A \\, [E_e + \\sum_γ φ_γ E_γ y_γ] / m` (MIRD schema, self term only):
    electrons (β, conversion and Auger, ICRP-107) deposit locally; photons with the crude
    spherical self-absorbed fraction of :func:`photon_self_absorbed_fraction`.
    """
    if not mass_g > 0:
        raise ValidationError("mass_g", mass_g, "organ mass must be > 0 g")
    nuc = get_nuclide(nuclide)
    e_el = nuc.energy_per_decay_mev("electrons")
    e_ph = sum(
        line.energy_per_decay_mev * photon_self_absorbed_fraction(line.energy_mev, mass_g)
        for line in nuc.lines("photons", min_energy_mev=0.01)
    )
    return tia_bq_s * (e_el + e_ph) * _MEV_J / (mass_g * 1e-3)
