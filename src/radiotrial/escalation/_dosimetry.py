"""Dosimetry-guided dose finding: escalate a target organ absorbed dose, not an activity.

Each dose level is a target absorbed dose (or BED) per cycle to the organ at risk. A patient's
activity is the level's target divided by the patient's own absorbed-dose coefficient (Gy/GBq,
from the previous cycle's post-therapy dosimetry or a pre-therapy estimate), capped by the
protocol's activity limits. Escalation between levels uses BOIN's rules on DLTs; in addition,
a patient whose *realised* organ dose exceeds ``dose_event_gy`` can be counted as a
DLT-equivalent event, and a level is not entered when its planned cumulative organ dose over
the planned cycles exceeds the organ limit.

Why: with a fixed activity, the organ dose varies several-fold between patients (NeoRay kidney
coefficient 0.10 ± 0.056 Gy/GBq), so a level mixes under- and over-exposed patients; fixing
the organ dose removes that variance from the quantity being escalated. See
``docs/dosimetry-guided-design.md`` for the assumptions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from radiotrial.errors import ValidationError
from radiotrial.escalation._boin import BoinDesign
from radiotrial.escalation._data import dosimetry_defaults, value
from radiotrial.escalation._engine import (
    ESCALATE,
    STAY,
    Decision,
    FloatArray,
    OperatingCharacteristics,
    SimulatedTrials,
    run_trials,
    summarise,
    tolerances,
)
from radiotrial.escalation._state import TrialState
from radiotrial.escalation._validation import check_positive_int
from radiotrial.radiobiology import dose_for_bed_mono

__all__ = [
    "DoseResponse",
    "DosimetryGuidedDesign",
    "activity_for_target_bed_gbq",
    "activity_for_target_dose_gbq",
    "compare_activity_and_dosimetry_designs",
    "sample_coefficients",
]


def activity_for_target_dose_gbq(
    target_dose_gy: float,
    coefficient_gy_per_gbq: npt.ArrayLike,
    *,
    max_activity_gbq: float | None = None,
    min_activity_gbq: float | None = None,
) -> FloatArray:
    """Patient-specific activity A = D_target / c, clipped to [min, max] activity (GBq)."""
    c = np.asarray(coefficient_gy_per_gbq, dtype=np.float64)
    if not target_dose_gy > 0:
        raise ValidationError("target_dose_gy", target_dose_gy, "must be > 0 Gy")
    if np.any(~np.isfinite(c)) or np.any(c <= 0):
        raise ValidationError("coefficient_gy_per_gbq", c.tolist(), "must be > 0 Gy/GBq")
    a = target_dose_gy / c
    if max_activity_gbq is not None:
        a = np.minimum(a, max_activity_gbq)
    if min_activity_gbq is not None:
        a = np.maximum(a, min_activity_gbq)
    return a


def activity_for_target_bed_gbq(
    target_bed_gy: float,
    coefficient_gy_per_gbq: npt.ArrayLike,
    *,
    t_eff_h: float,
    alpha_beta_gy: float,
    t_rep_h: float,
    max_activity_gbq: float | None = None,
) -> FloatArray:
    """Activity that gives a target BED for a mono-exponential dose rate: A = D / c.

    D is the dose whose BED is ``target_bed_gy`` (:func:`radiotrial.radiobiology.dose_for_bed_mono`,
    the inverse of :func:`radiotrial.radiobiology.bed_mono`).
    """
    if not target_bed_gy > 0:
        raise ValidationError("target_bed_gy", target_bed_gy, "must be > 0 Gy")
    dose = float(
        dose_for_bed_mono(
            target_bed_gy, alpha_beta_gy=alpha_beta_gy, t_repair_h=t_rep_h, t_eff_h=t_eff_h
        )
    )
    return activity_for_target_dose_gbq(
        dose, coefficient_gy_per_gbq, max_activity_gbq=max_activity_gbq
    )


@dataclass(frozen=True)
class DoseResponse:
    """Per-cycle DLT probability as a function of organ absorbed dose (logistic NTCP form).

    P(D) = 1 / (1 + (D50/D)^(4 γ50)). Used only to *simulate* designs; defaults are labelled
    assumptions in ``data/escalation/dosimetry_defaults.yaml``.
    """

    d50_gy: float
    gamma50: float

    @classmethod
    def default(cls) -> DoseResponse:
        dr = dosimetry_defaults()["dose_response"]
        return cls(float(value(dr["d50_gy"])), float(value(dr["gamma50"])))

    def __call__(self, dose_gy: npt.ArrayLike) -> FloatArray:
        d = np.maximum(np.asarray(dose_gy, dtype=np.float64), 1e-12)
        out: FloatArray = 1.0 / (1.0 + (self.d50_gy / d) ** (4.0 * self.gamma50))
        return out


def sample_coefficients(
    n: int | tuple[int, ...], *, mean: float, sd: float, rng: np.random.Generator
) -> FloatArray:
    """Lognormal absorbed-dose coefficients with the given arithmetic mean and SD (Gy/GBq)."""
    s2 = math.log(1.0 + (sd / mean) ** 2)
    out: FloatArray = rng.lognormal(math.log(mean) - s2 / 2, math.sqrt(s2), size=n)
    return out


class DosimetryGuidedDesign(BoinDesign):
    """BOIN on levels of target organ dose, with dosimetric safety rules.

    Parameters
    ----------
    target : float
        Target DLT rate.
    dose_levels_gy : sequence of float
        Target organ absorbed dose (or BED) per cycle of each level, increasing (Gy).
    dose_event_gy : float, optional
        A patient whose realised organ dose exceeds this counts as a DLT-equivalent event.
    cumulative_limit_gy : float, optional
        Organ limit over ``n_cycles``; levels with n_cycles · dose > limit are never entered.
    n_cycles : int
        Planned cycles per patient.
    max_activity_gbq : float, optional
        Activity ceiling of the protocol.
    **boin : passed to :class:`BoinDesign`.
    """

    def __init__(
        self,
        target: float,
        dose_levels_gy: list[float] | tuple[float, ...],
        *,
        dose_event_gy: float | None = None,
        cumulative_limit_gy: float | None = None,
        n_cycles: int = 1,
        max_activity_gbq: float | None = None,
        **boin: Any,
    ) -> None:
        levels = np.asarray(dose_levels_gy, dtype=np.float64)
        if (
            levels.ndim != 1
            or levels.size == 0
            or np.any(levels <= 0)
            or np.any(np.diff(levels) <= 0)
        ):
            raise ValidationError(
                "dose_levels_gy", list(dose_levels_gy), "must be increasing positive doses (Gy)"
            )
        super().__init__(target, levels.size, name="dosimetry-guided BOIN", **boin)
        for name, val in (
            ("dose_event_gy", dose_event_gy),
            ("cumulative_limit_gy", cumulative_limit_gy),
            ("max_activity_gbq", max_activity_gbq),
        ):
            if val is not None and not (math.isfinite(val) and val > 0):
                raise ValidationError(name, val, "must be a finite number > 0")
        self.dose_levels_gy = levels
        self.dose_event_gy = dose_event_gy
        self.cumulative_limit_gy = cumulative_limit_gy
        self.n_cycles = check_positive_int(n_cycles, name="n_cycles")
        self.max_activity_gbq = max_activity_gbq
        if cumulative_limit_gy is not None:
            over = np.flatnonzero(levels * n_cycles > cumulative_limit_gy)
            if over.size and over[0] <= self.start_level:
                raise ValidationError(
                    "cumulative_limit_gy",
                    cumulative_limit_gy,
                    f"{n_cycles} cycles at the starting level "
                    f"({levels[self.start_level]:g} Gy each) already exceed it",
                )
            self.highest_allowed = int(over[0]) - 1 if over.size else self.n_levels - 1
        else:
            self.highest_allowed = self.n_levels - 1

    def step(self, d, n, y, k, elim):  # type: ignore[no-untyped-def]
        res = super().step(d, n, y, k, elim)
        cap = self.highest_allowed
        blocked = (res.action == ESCALATE) & (res.next_level > cap)
        res.action[blocked] = STAY
        res.next_level[blocked] = d[blocked]
        return res

    def patient_activity_gbq(self, level: int, coefficient_gy_per_gbq: float) -> float:
        """Activity (GBq) for a patient at 1-based ``level`` given their coefficient."""
        return float(
            activity_for_target_dose_gbq(
                float(self.dose_levels_gy[level - 1]),
                coefficient_gy_per_gbq,
                max_activity_gbq=self.max_activity_gbq,
            )
        )

    def decide(self, state: TrialState) -> Decision:
        """BOIN decision where dosimetric events count as DLTs; adds the activity rule."""
        if self.dose_event_gy is not None:
            from dataclasses import replace

            pts = tuple(
                replace(p, dlt=True)
                if p.organ_dose_gy is not None
                and p.organ_dose_gy > self.dose_event_gy
                and p.dlt is not None
                else p
                for p in state.patients
            )
            state = TrialState(state.levels, pts, state.cohorts)
        dec = super().decide(state)
        if dec.next_level is not None:
            dose = float(self.dose_levels_gy[dec.next_level - 1])
            extra = {
                "next_dose_gy": dose,
                "activity_rule": f"A_i = {dose:g} Gy / c_i (Gy/GBq)"
                + (f", at most {self.max_activity_gbq:g} GBq" if self.max_activity_gbq else ""),
            }
            reason = dec.reason
            if (
                self.highest_allowed < self.n_levels - 1
                and dec.next_level - 1 == self.highest_allowed
            ):
                reason += (
                    f"; levels above {self.highest_allowed + 1} exceed the cumulative organ limit"
                )
            return Decision(
                dec.design, dec.action, dec.next_level, reason, dec.mtd, dec.details | extra
            )
        return dec


def compare_activity_and_dosimetry_designs(
    *,
    target: float,
    activity_levels_gbq: list[float],
    dose_levels_gy: list[float],
    coefficient_mean: float,
    coefficient_sd: float,
    dose_response: DoseResponse,
    max_activity_gbq: float | None = None,
    dose_event_gy: float | None = None,
    cumulative_limit_gy: float | None = None,
    n_cycles: int = 1,
    prediction_cv: float = 0.0,
    cohort_size: int = 3,
    max_cohorts: int = 10,
    n_trials: int = 4000,
    seed: int = 1,
) -> dict[str, Any]:
    """Simulate BOIN on activity levels against the dosimetry-guided design, same patients.

    Patients' true coefficients c and tolerances U are drawn once and shared by both designs
    (common random numbers). At activity A a patient's organ dose is c·A. The dosimetry-guided
    design (:class:`DosimetryGuidedDesign`, with its cumulative limit and dose-event rule) plans
    A = D_k / ĉ, capped at ``max_activity_gbq``, from a predicted coefficient ĉ = c·ε with ε
    lognormal of mean 1 and coefficient of variation ``prediction_cv`` (0: the coefficient is
    known exactly), so the realised dose is c·A. A patient has a DLT iff U < P(realised dose);
    under the dosimetry design a realised dose above ``dose_event_gy`` also counts as a
    DLT-equivalent event in its decisions.

    Returns
    -------
    dict
        ``activity`` and ``dosimetry`` operating characteristics (dicts; ``mean_dlt`` counts
        true DLTs) with, for each, the mean realised organ dose, the percentage of patients
        above the 30%-DLT dose and, for the dosimetry design, the mean number of dosimetric
        events and of events its decisions counted (DLT or dosimetric event).
    """
    if not prediction_cv >= 0:
        raise ValidationError("prediction_cv", prediction_cv, "must be >= 0")
    rng = np.random.default_rng(seed)
    npts = cohort_size * max_cohorts
    c = sample_coefficients((n_trials, npts), mean=coefficient_mean, sd=coefficient_sd, rng=rng)
    eps = (
        sample_coefficients((n_trials, npts), mean=1.0, sd=prediction_cv, rng=rng)
        if prediction_cv > 0
        else np.ones_like(c)
    )
    u = tolerances(n_trials, npts, seed + 1)
    a_lv = np.asarray(activity_levels_gbq, dtype=np.float64)
    d_lv = np.asarray(dose_levels_gy, dtype=np.float64)
    cap = np.inf if max_activity_gbq is None else max_activity_gbq
    dose_act = c[:, :, None] * a_lv[None, None, :]
    planned = np.minimum(d_lv[None, None, :] / (c * eps)[:, :, None], cap)
    dose_dos = c[:, :, None] * planned
    designs: dict[str, tuple[BoinDesign, FloatArray, npt.NDArray[np.bool_] | None]] = {
        "activity": (
            BoinDesign(
                target,
                a_lv.size,
                cohort_size=cohort_size,
                max_cohorts=max_cohorts,
                name="BOIN on activity levels",
            ),
            dose_act,
            None,
        ),
        "dosimetry": (
            DosimetryGuidedDesign(
                target,
                list(d_lv),
                dose_event_gy=dose_event_gy,
                cumulative_limit_gy=cumulative_limit_gy,
                n_cycles=n_cycles,
                max_activity_gbq=max_activity_gbq,
                cohort_size=cohort_size,
                max_cohorts=max_cohorts,
            ),
            dose_dos,
            None if dose_event_gy is None else dose_dos > dose_event_gy,
        ),
    }
    d30 = dose_response.d50_gy * (0.3 / 0.7) ** (1.0 / (4.0 * dose_response.gamma50))
    out: dict[str, Any] = {}
    for key, (design, dose, events) in designs.items():
        ptox = dose_response(dose)
        trials = run_trials(design, ptox, u, events=events)
        treated = trials.levels >= 0
        lv = np.where(treated, trials.levels, 0)
        realised = np.take_along_axis(dose, lv[:, :, None], axis=2)[:, :, 0]
        p_real = np.take_along_axis(ptox, lv[:, :, None], axis=2)[:, :, 0]
        true_dlt = treated & (u[:, : lv.shape[1]] < p_real)
        y_true = np.zeros_like(trials.y)
        rows = np.repeat(np.arange(lv.shape[0]), lv.shape[1])
        np.add.at(y_true, (rows, lv.ravel()), true_dlt.ravel())
        counted = SimulatedTrials(trials.selected, trials.n, y_true, trials.levels, true_dlt)
        oc: OperatingCharacteristics = summarise(
            design.name, np.full(design.n_levels, np.nan), counted, seed=seed
        )
        res = oc.to_dict()
        res.pop("truth")
        res["mean_organ_dose_gy"] = float(realised[treated].mean())
        res["pct_patients_above_d30"] = float(100 * (realised[treated] > d30).mean())
        res["dose_at_30pct_dlt_gy"] = float(d30)
        if isinstance(design, DosimetryGuidedDesign):
            ev = treated & (realised > dose_event_gy) if dose_event_gy is not None else ~treated
            res["mean_dosimetric_events"] = float(ev.sum(axis=1).mean())
            res["mean_counted_events"] = float(trials.y.sum(axis=1).mean())
            res["highest_allowed_level"] = design.highest_allowed + 1
        out[key] = res
    return out
