"""External dose rate from a patient, discharge under a rule set, close-contact restrictions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq

from radiotrial.data import load_yaml
from radiotrial.errors import InputFileError, ValidationError
from radiotrial.nuclides import get_nuclide

__all__ = [
    "BodyRetention",
    "ContactRestriction",
    "DischargeDecision",
    "air_kerma_rate_constant",
    "ambient_dose_rate_constant",
    "discharge",
    "dose_rate_at_1m_usv_h",
    "dose_to_contact_msv",
    "klein_nishina_transfer_fraction",
    "mu_en_air_cm2_g",
    "restriction_days",
    "rule_sets",
]

F64 = npt.NDArray[np.float64]
LN2 = math.log(2.0)
_ME_C2_MEV = 0.51099895000  # electron rest energy (CODATA 2018)
DoseRateMethod = Literal["measured", "computed"]


def _data(name: str) -> dict[str, Any]:
    return load_yaml("radioprotection", name)


# ---------------------------------------------------------------------------------------------
# photon physics for the computed dose-rate constant


def klein_nishina_transfer_fraction(energy_mev: npt.ArrayLike) -> F64:
    """Mean fraction of a photon's energy given to the Compton electron (Klein–Nishina).

    σ_tr/σ = ∫ (dσ/dΩ)(1 − k'/k) dΩ / ∫ (dσ/dΩ) dΩ, integrated over cos θ with 400-point
    Gauss–Legendre quadrature; dσ/dΩ ∝ (k'/k)² (k'/k + k/k' − sin²θ), k'/k = 1/(1 + κ(1 − cos θ)),
    κ = E/mₑc² (Klein & Nishina 1929; Attix, *Introduction to Radiological Physics*, ch. 7).
    """
    e = np.atleast_1d(np.asarray(energy_mev, dtype=np.float64))
    kappa = e[:, None] / _ME_C2_MEV
    x, w = np.polynomial.legendre.leggauss(400)
    ratio = 1.0 / (1.0 + kappa * (1.0 - x[None, :]))
    dsig = ratio**2 * (ratio + 1.0 / ratio - (1.0 - x[None, :] ** 2))
    out: F64 = np.sum(w * dsig * (1.0 - ratio), axis=1) / np.sum(w * dsig, axis=1)
    return out


def mu_en_air_cm2_g(energy_mev: npt.ArrayLike) -> F64:
    """Mass energy-absorption coefficient of dry air, cm²/g, from xraydb cross sections.

    μ_en/ρ ≈ τ/ρ + (σ_incoh/ρ)·(σ_tr/σ)_KN: photoabsorption deposits its energy locally in air
    (fluorescence yield of N, O, Ar is negligible), incoherent scattering transfers the
    Klein–Nishina mean fraction, coherent scattering none; radiative losses of the secondary
    electrons (g < 0.1 % below 1 MeV in air) are neglected.
    """
    import xraydb

    e = np.atleast_1d(np.asarray(energy_mev, dtype=np.float64))
    if np.any(e <= 0.001) or np.any(e > 10.0):
        raise ValidationError("energy_mev", e.tolist(), "supported range is 1 keV to 10 MeV")
    _, density = xraydb.get_material("air")
    ev = e * 1e6
    photo = np.asarray(xraydb.material_mu("air", ev, kind="photo")) / density
    incoh = np.asarray(xraydb.material_mu("air", ev, kind="incoh")) / density
    out: F64 = photo + incoh * klein_nishina_transfer_fraction(e)
    return out


def _h10_per_kerma(energy_mev: F64) -> F64:
    table = _data("dose_rate.yaml")["h10_per_air_kerma"]
    e = np.asarray(table["energy_mev"], dtype=np.float64)
    h = np.asarray(table["sv_per_gy"], dtype=np.float64)
    out: F64 = np.exp(np.interp(np.log(energy_mev), np.log(e), np.log(h)))
    return out


def _photon_lines(nuclide: str, cutoff_mev: float | None) -> tuple[F64, F64]:
    if cutoff_mev is None:
        cutoff_mev = float(_data("dose_rate.yaml")["photon_energy_cutoff_mev"]["value"])
    lines = get_nuclide(nuclide).lines("photons", min_energy_mev=cutoff_mev)
    if not lines:
        raise ValidationError("nuclide", nuclide, f"no photon lines above {cutoff_mev} MeV")
    e = np.array([ln.energy_mev for ln in lines])
    y = np.array([ln.yield_per_decay for ln in lines])
    return e, y


def air_kerma_rate_constant(nuclide: str = "Lu-177", *, cutoff_mev: float | None = None) -> float:
    """Air-kerma-rate constant Γ_δ of an unshielded point source, µGy·m²/(GBq·h).

    Γ_δ = (1/4π) Σᵢ yᵢ Eᵢ (μ_en/ρ)ᵢ over ICRP-107 photon lines above δ (default 20 keV).
    """
    e, y = _photon_lines(nuclide, cutoff_mev)
    mev_j = 1.602176634e-13
    mu = mu_en_air_cm2_g(e) * 0.1  # cm²/g -> m²/kg
    gy_m2_per_bq_s = float(np.sum(y * e * mev_j * mu)) / (4 * math.pi)
    return gy_m2_per_bq_s * 1e6 * 1e9 * 3600.0


def ambient_dose_rate_constant(
    nuclide: str = "Lu-177", *, cutoff_mev: float | None = None
) -> float:
    """H*(10) rate constant of an unshielded point source, µSv·m²/(GBq·h).

    Each line's air kerma is converted with ICRP 74 H*(10)/K_a (log-log interpolation).
    """
    e, y = _photon_lines(nuclide, cutoff_mev)
    mev_j = 1.602176634e-13
    mu = mu_en_air_cm2_g(e) * 0.1
    per_line = y * e * mev_j * mu * _h10_per_kerma(e) / (4 * math.pi)
    return float(np.sum(per_line)) * 1e6 * 1e9 * 3600.0


def dose_rate_at_1m_usv_h(
    activity_gbq: npt.ArrayLike, *, nuclide: str = "Lu-177", method: DoseRateMethod = "measured"
) -> F64:
    """Ambient dose-equivalent rate at 1 m from a patient holding ``activity_gbq``, µSv/h.

    Parameters
    ----------
    activity_gbq : array_like
        Activity in the body (GBq, ≥ 0).
    nuclide : str
    method : {"measured", "computed"}
        ``"measured"``: patient coefficient from the literature (177Lu: 0.0037 mSv/h per GBq,
        Bellamy et al. 2022, body attenuation included); ``"computed"``: unshielded point
        source from ICRP-107 lines, xraydb μ_en/ρ of air and ICRP 74 H*(10)/K_a — an upper
        bound, since the body absorbs part of the 113/208 keV photons.
    """
    a = np.asarray(activity_gbq, dtype=np.float64)
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValidationError("activity_gbq", a.tolist(), "must be finite and ≥ 0")
    if method == "measured":
        name = get_nuclide(nuclide).name
        table = _data("dose_rate.yaml")["measured_dose_rate_at_1m"]
        if name not in table:
            raise ValidationError(
                "nuclide",
                name,
                f"no measured patient coefficient (have {', '.join(table)}); use method='computed'",
            )
        coeff = float(table[name]["msv_per_h_per_gbq"]) * 1e3
    elif method == "computed":
        coeff = ambient_dose_rate_constant(nuclide)
    else:
        raise ValidationError("method", method, "use 'measured' or 'computed'")
    out: F64 = a * coeff
    return out


# ---------------------------------------------------------------------------------------------
# retention and dose to others


@dataclass(frozen=True)
class BodyRetention:
    """Whole-body retention R(t) = Σ fᵢ e^{−ln2·t/Tᵢ} (fraction of the administered activity).

    ``half_lives_h`` are effective half-lives (physical decay included), each ≤ the physical
    half-life of the nuclide is not enforced here but checked by :func:`discharge`.
    """

    fractions: tuple[float, ...]
    half_lives_h: tuple[float, ...]

    def __post_init__(self) -> None:
        f = np.asarray(self.fractions, dtype=np.float64)
        t = np.asarray(self.half_lives_h, dtype=np.float64)
        if f.shape != t.shape or f.ndim != 1 or f.size == 0:
            raise ValidationError("fractions", self.fractions, "need one fraction per half-life")
        if np.any(f <= 0) or not np.isfinite(f).all() or f.sum() > 1 + 1e-9:
            raise ValidationError("fractions", self.fractions, "must be > 0 and sum to ≤ 1")
        if np.any(t <= 0) or not np.isfinite(t).all():
            raise ValidationError("half_lives_h", self.half_lives_h, "must be finite and > 0")

    @classmethod
    def default(cls, nuclide: str = "Lu-177") -> BodyRetention:
        """Planning default from ``contact_patterns.yaml`` (flagged as an assumption)."""
        name = get_nuclide(nuclide).name
        table = _data("contact_patterns.yaml")["default_retention"]
        if name not in table:
            raise ValidationError(
                "nuclide", name, "no default retention; give fractions/half-lives"
            )
        row = table[name]
        return cls(tuple(row["fractions"]), tuple(row["half_lives_h"]))

    def fraction(self, t_h: npt.ArrayLike) -> F64:
        """Retained fraction at ``t_h`` hours after administration."""
        t = np.asarray(t_h, dtype=np.float64)[..., None]
        f = np.asarray(self.fractions)
        k = LN2 / np.asarray(self.half_lives_h)
        out: F64 = np.sum(f * np.exp(-k * t), axis=-1)
        return out

    def integral_from(self, t_h: npt.ArrayLike) -> F64:
        """∫_t^∞ R(s) ds in hours (fraction × h)."""
        t = np.asarray(t_h, dtype=np.float64)[..., None]
        f = np.asarray(self.fractions)
        tt = np.asarray(self.half_lives_h)
        out: F64 = np.sum(f * tt / LN2 * np.exp(-LN2 * t / tt), axis=-1)
        return out


def dose_to_contact_msv(
    dose_rate_1m_at_0_usv_h: float,
    retention: BodyRetention,
    *,
    from_h: npt.ArrayLike,
    occupancy: float,
    distance_m: float = 1.0,
) -> F64:
    """Dose (mSv) to a person near the patient from ``from_h`` on, point-source model.

    D = Ḣ(1 m, 0)·E·∫_{t}^{∞} R(s) ds / r²; for one component ∫ = 1.443·T_eff·e^{−ln2·t/T_eff}
    (NCRP Report 37; NRC NUREG-1556 Vol. 9, Appendix U, Eq. U.1).
    """
    if occupancy < 0 or occupancy > 1:
        raise ValidationError("occupancy", occupancy, "must be a fraction in [0, 1]")
    if distance_m <= 0:
        raise ValidationError("distance_m", distance_m, "must be > 0 m")
    out: F64 = (
        dose_rate_1m_at_0_usv_h * occupancy * retention.integral_from(from_h) / distance_m**2 * 1e-3
    )
    return out


# ---------------------------------------------------------------------------------------------
# discharge


@dataclass(frozen=True)
class CriterionResult:
    """One criterion of a rule set: when it is first met, and its numbers at that time."""

    kind: str
    limit: float
    unit: str
    met_at_h: float
    source: str
    assumption: bool


@dataclass(frozen=True)
class DischargeDecision:
    """Earliest discharge under a rule set.

    Attributes
    ----------
    rule_set : str
    discharge_h : float
        Earliest time after administration (h) at which any criterion holds.
    dose_rate_at_discharge_usv_h : float
    activity_at_discharge_gbq : float
    criteria : list of CriterionResult
    instructions_required : bool or None
        US rule: written instructions needed (dose to others > 1 mSv); None elsewhere.
    dose_to_others_msv : float
        Point-source dose to a person at 1 m with occupancy 0.25 from discharge on.
    notes : list of str
    """

    rule_set: str
    title: str
    discharge_h: float
    dose_rate_at_discharge_usv_h: float
    activity_at_discharge_gbq: float
    criteria: list[CriterionResult]
    instructions_required: bool | None
    dose_to_others_msv: float
    notes: list[str] = field(default_factory=list)


def rule_sets() -> dict[str, str]:
    """Names and titles of the configured discharge rule sets."""
    return {k: str(v["title"]) for k, v in _data("release_rules.yaml")["rule_sets"].items()}


def _first_time(fun: Any, limit: float) -> float:
    """Smallest t ≥ 0 with fun(t) ≤ limit for a decreasing fun."""
    if fun(0.0) <= limit:
        return 0.0
    hi = 24.0
    while fun(hi) > limit:
        hi *= 2
        if hi > 1e6:
            return math.inf
    return float(brentq(lambda t: fun(t) - limit, 0.0, hi, xtol=1e-6))


def discharge(
    activity_gbq: float,
    *,
    rule_set: str = "china_gbz120_2020",
    nuclide: str = "Lu-177",
    retention: BodyRetention | None = None,
    method: DoseRateMethod = "measured",
) -> DischargeDecision:
    """Earliest discharge after administering ``activity_gbq`` under a configured rule set.

    Parameters
    ----------
    activity_gbq : float
        Administered activity (GBq, > 0).
    rule_set : str
        A key of :func:`rule_sets` (``china_gbz120_2020``, ``us_10cfr35_75``).
    nuclide : str
    retention : BodyRetention, optional
        Whole-body retention; the flagged planning default of the nuclide if omitted.
    method : {"measured", "computed"}
        Dose-rate coefficient, see :func:`dose_rate_at_1m_usv_h`.
    """
    if not math.isfinite(activity_gbq) or activity_gbq <= 0:
        raise ValidationError("activity_gbq", activity_gbq, "must be finite and > 0")
    sets = _data("release_rules.yaml")["rule_sets"]
    if rule_set not in sets:
        raise ValidationError("rule_set", rule_set, f"unknown; use one of {', '.join(sets)}")
    nuc = get_nuclide(nuclide)
    ret = retention or BodyRetention.default(nuc.name)
    t_phys_h = nuc.half_life("h")
    notes: list[str] = []
    if max(ret.half_lives_h) > t_phys_h * 1.0001:
        raise ValidationError(
            "half_lives_h",
            ret.half_lives_h,
            f"effective half-lives cannot exceed T½ = {t_phys_h:.4g} h",
        )
    if retention is None:
        notes.append("whole-body retention: planning default (assumption), not patient data")
    h0 = float(dose_rate_at_1m_usv_h(activity_gbq, nuclide=nuc.name, method=method))
    spec = sets[rule_set]
    results: list[CriterionResult] = []
    for crit in spec["criteria"]:
        kind = crit["kind"]
        if kind == "dose_rate_at_1m":
            limit = float(crit["max_usv_per_h"])
            t = _first_time(lambda s: h0 * float(ret.fraction(s)), limit)
            results.append(
                CriterionResult(kind, limit, "uSv/h", t, crit["source"], crit["assumption"])
            )
        elif kind == "activity":
            if nuc.name not in crit.get("nuclides", [nuc.name]):
                continue
            limit = float(crit["max_mbq"])
            t = _first_time(lambda s: activity_gbq * 1e3 * float(ret.fraction(s)), limit)
            results.append(
                CriterionResult(kind, limit, "MBq", t, crit["source"], crit["assumption"])
            )
        elif kind == "dose_to_others":
            limit = float(crit["max_msv"])
            occ = float(crit["occupancy_at_1m"])
            t = _first_time(
                lambda s, o=occ: float(dose_to_contact_msv(h0, ret, from_h=s, occupancy=o)), limit
            )
            results.append(
                CriterionResult(kind, limit, "mSv", t, crit["source"], crit["assumption"])
            )
        else:
            raise InputFileError(
                "release_rules.yaml", f"{rule_set}: unknown criterion kind {kind!r}"
            )
    if not results:
        raise InputFileError(
            "release_rules.yaml", f"{rule_set}: no criterion applies to {nuc.name}"
        )
    t_d = min(r.met_at_h for r in results)
    others = float(dose_to_contact_msv(h0, ret, from_h=t_d, occupancy=0.25))
    instr = None
    if "instructions_above_msv" in spec:
        instr = others > float(spec["instructions_above_msv"])
    return DischargeDecision(
        rule_set=rule_set,
        title=str(spec["title"]),
        discharge_h=t_d,
        dose_rate_at_discharge_usv_h=h0 * float(ret.fraction(t_d)),
        activity_at_discharge_gbq=activity_gbq * float(ret.fraction(t_d)),
        criteria=results,
        instructions_required=instr,
        dose_to_others_msv=others,
        notes=notes,
    )


# ---------------------------------------------------------------------------------------------
# close-contact restrictions


@dataclass(frozen=True)
class ContactRestriction:
    """Restriction for one contact scenario.

    Attributes
    ----------
    scenario, label : str
    constraint_msv : float
        Dose constraint for this cycle.
    dose_without_restriction_msv : float
        Dose if normal contact resumed at discharge.
    restriction_h : float
        Hours after administration until normal contact may resume.
    restriction_days : int
        Whole days after discharge (rounded up) until normal contact may resume.
    """

    scenario: str
    label: str
    constraint_msv: float
    dose_without_restriction_msv: float
    restriction_h: float
    restriction_days: int
    assumption: bool


def restriction_days(
    activity_gbq: float,
    *,
    discharge_h: float = 0.0,
    nuclide: str = "Lu-177",
    retention: BodyRetention | None = None,
    method: DoseRateMethod = "measured",
    scenarios: Sequence[str] | None = None,
) -> list[ContactRestriction]:
    """Days of restricted close contact after discharge, per scenario (point-source model).

    Normal contact (the scenario's daily periods at their distances, inverse-square law) may
    resume at the time t_r after which the remaining dose equals the constraint:
    Ḣ(1 m, 0)·Σₚ (hₚ/24)(dₚ/7)/rₚ²·∫_{t_r}^∞ R(s) ds = constraint. Contact is assumed absent
    during the restriction, so the result is the shortest restriction that meets the
    constraint. The inverse-square law over-estimates the dose at < 0.5 m from an extended
    source, which makes the child scenarios conservative.

    References
    ----------
    Levart D, Kalogianni E, Corcoran B, Mulholland N, Vivian G. Radiation precautions for
    inpatient and outpatient 177Lu-DOTATATE peptide receptor radionuclide therapy of
    neuroendocrine tumours. EJNMMI Phys 2019;6:7, doi:10.1186/s40658-019-0243-1.
    """
    if not math.isfinite(activity_gbq) or activity_gbq <= 0:
        raise ValidationError("activity_gbq", activity_gbq, "must be finite and > 0")
    if not math.isfinite(discharge_h) or discharge_h < 0:
        raise ValidationError("discharge_h", discharge_h, "must be ≥ 0 h after administration")
    data = _data("contact_patterns.yaml")
    table = data["scenarios"]
    names = list(table) if scenarios is None else list(scenarios)
    ret = retention or BodyRetention.default(nuclide)
    h0 = float(dose_rate_at_1m_usv_h(activity_gbq, nuclide=nuclide, method=method))
    out: list[ContactRestriction] = []
    for name in names:
        if name not in table:
            raise ValidationError("scenario", name, f"unknown; use one of {', '.join(table)}")
        row = table[name]
        occ_1m = sum(
            float(p["hours_per_day"])
            / 24.0
            * float(p.get("days_per_week", 7))
            / 7.0
            / float(p["distance_m"]) ** 2
            for p in row["periods"]
        )
        if "constraint_msv_per_cycle" in row:
            limit = float(row["constraint_msv_per_cycle"])
        else:
            limit = float(row["constraint_msv_per_year"]) / float(data["cycles_per_year"])

        def dose(s: float, occ: float = occ_1m) -> float:
            return float(dose_to_contact_msv(h0, ret, from_h=s, occupancy=min(occ, 1.0)))

        # occupancy-at-1-m above 1 is possible at close distance: scale outside the fraction
        def dose_scaled(s: float, occ: float = occ_1m) -> float:
            return dose(s, 1.0) * occ

        unrestricted = dose_scaled(discharge_h)
        t_r = max(_first_time(dose_scaled, limit), discharge_h)
        days = math.ceil((t_r - discharge_h) / 24.0 - 1e-9)
        out.append(
            ContactRestriction(
                scenario=name,
                label=str(row["label"]),
                constraint_msv=limit,
                dose_without_restriction_msv=unrestricted,
                restriction_h=t_r,
                restriction_days=max(days, 0),
                assumption=bool(row.get("assumption", False)),
            )
        )
    return out
