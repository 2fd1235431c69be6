"""Time-integrated activity: region fits and voxel TIA maps.

Notes
-----
Regions. The partial-volume-corrected activity of each label is fitted over the sessions with
:func:`radiotrial.kinetics.fit_tacs` (automatic model choice, parameter covariance, TIA ± SD);
a reporting region's TAC is the sum over its labels.

Sessions where a curve reads zero (nothing left after the partial-volume correction, e.g. an
emptied bladder) are left out of that curve's fit and named in its notes; a curve seen in one
session only is integrated with physical decay from that scan (no biological clearance: an
upper bound), one seen in none has a TIA of zero. Every fallback is written into the notes.

What the data cannot see (docs/dosimetry.md). The TIA before the first scan is an
extrapolation. Each region reports the fraction of its fitted TIA before the first scan and
after the last one, and how far the first scan lies from the mono-exponential through the
later scans: a first scan well above that curve shows an early phase that is sampled by this
scan alone, whose rate (and so the TIA before the scan) the data do not determine. Either
condition puts a warning into the region's notes. The spread between the fitted area before
the first scan and the area of a linear rise from zero to the first measurement is a
type-B uncertainty (rectangular distribution with the estimate at one end: SD = width/√3).

Fit SD fallback. Where the fit has no residual degrees of freedom its TIA SD is not estimable
from the residuals; the fit is then repeated with absolute activity uncertainties
(:func:`radiotrial.kinetics.random_activity_sd_mbq`: count statistics where the images are in
counts, and the assumed per-scan random uncertainty of ``data/dosimetry.yaml``), as the EANM
guidance does (Gear et al., EJNMMI 2018;45:2456), and the notes say so.

Voxels. Every voxel of an organ, bone or tumour with activity in all sessions is fitted on its
own by the same vectorised routine ("voxel-wise fitting"); voxels of the diffuse remainder of the
body are too noisy for that and keep the region-informed estimate. Where a voxel's own fit is
unreliable (not converged, TIA relative SD above ``max_voxel_rsd``, default 0.5, or a
non-positive value in any session) the voxel falls back to the *region-informed* estimate: the
label's fitted curve shape f(t) with an amplitude fitted to the voxel's own data,
α = Σ A_v(t) f(t) / Σ f(t)² (least squares), so that TIA_v = α ∫f. Only the shape, never the
amplitude, is borrowed from the region. Finally each label's voxel TIAs are scaled so that they
add up to the label's partial-volume-corrected TIA (spill-out returned to its source, spill-in
removed).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from radiotrial.dosimetry._data import value
from radiotrial.dosimetry._quantify import Quantified
from radiotrial.dosimetry._study import Region, Study
from radiotrial.imaging import Volume
from radiotrial.kinetics import (
    FitParameter,
    FitWarning,
    TacFit,
    fit_tac,
    fit_tacs,
    get_model,
    random_activity_sd_mbq,
)
from radiotrial.nuclides import get_nuclide

__all__ = [
    "RegionKinetics",
    "VoxelTia",
    "exponential_terms",
    "fit_regions",
    "fit_rsd",
    "voxel_tia",
]

F64 = npt.NDArray[np.float64]
MBQ_H_TO_BQ_S = 1e6 * 3600.0
LN2 = math.log(2.0)


def exponential_terms(fit: TacFit) -> tuple[F64, F64]:
    """The fitted TAC as Σ aᵢ e^{−λᵢ t} (an uptake phase is a negative term): (a, λ per h)."""
    model = get_model(fit.model)
    v = np.asarray(fit.values, dtype=np.float64)
    n = model.n_terms
    amps, rates = list(v[:n]), list(v[n : 2 * n])
    if model.uptake:
        amps.append(-float(np.sum(v[:n])))
        rates.append(float(v[2 * n]))
    return np.array(amps), np.array(rates)


def _partial_integral(fit: TacFit, t0_h: float, t1_h: float) -> float:
    """∫ of the fitted TAC from ``t0_h`` to ``t1_h`` (∞ allowed), analytic."""
    a, lam = exponential_terms(fit)
    upper = np.zeros_like(lam) if math.isinf(t1_h) else np.exp(-lam * t1_h)
    return float(np.sum(a * (np.exp(-lam * t0_h) - upper) / lam))


@dataclass(frozen=True, eq=False)
class RegionKinetics:
    """Fitted kinetics of one reporting region (activity in MBq, TIA in MBq·h).

    Attributes
    ----------
    region : Region
    fit : TacFit
        The fit (over ``used`` sessions only).
    observed_mbq : (T,) ndarray
        Partial-volume-corrected activity at every session.
    used : (T,) bool ndarray
        Sessions that entered the fit (activity > 0).
    fit_rsd : float
        Relative SD of the TIA from the fit covariance (or its documented fallback).
    extrapolation_rsd : float
        Type-B relative SD of the TIA before the first scan (see module notes).
    before_first_scan_fraction, after_last_scan_fraction : float
        Share of the fitted TIA before the first and after the last used session.
    first_scan_deviation : float or None
        A(t₁)/A_late(t₁) − 1, A_late the mono-exponential through the later sessions (None
        with fewer than three sessions).
    notes : tuple of str
        Fallbacks of the fit and its SD (left-out sessions, SD from assumed uncertainties).
    warnings : tuple of str
        Where the imaging schedule leaves the early kinetics unsampled (module notes).
    """

    region: Region
    fit: TacFit
    observed_mbq: F64
    used: npt.NDArray[np.bool_]
    fit_rsd: float
    extrapolation_rsd: float
    before_first_scan_fraction: float
    after_last_scan_fraction: float
    first_scan_deviation: float | None
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def tia_bq_s(self) -> float:
        return self.fit.tia_mbq_h * MBQ_H_TO_BQ_S

    @property
    def random_rsd(self) -> float:
        """Relative SD of the TIA from the data: fit ⊕ extrapolation before the first scan."""
        return math.hypot(self.fit_rsd, self.extrapolation_rsd)

    @property
    def tia_sd_bq_s(self) -> float:
        """SD of the TIA from the data (:attr:`random_rsd`); calibration and recovery, shared
        by every session, are added by :func:`radiotrial.dosimetry.region_doses`."""
        return self.random_rsd * self.tia_bq_s


def _decay_only(times_h: F64, activity_mbq: F64, nuclide: str, note: str) -> TacFit:
    """Physical decay from the one session with activity (or zero): an upper bound of the TIA."""
    lam = LN2 / get_nuclide(nuclide).half_life("h")
    a0 = float(activity_mbq[0] * math.exp(lam * times_h[0])) if activity_mbq.size else 0.0
    return TacFit(
        model="mono",
        params={
            "A1": FitParameter("A1", a0, math.nan, "MBq", 0.0, math.inf, False),
            "lambda1_per_h": FitParameter("lambda1_per_h", lam, 0.0, "1/h", lam, lam, True),
        },
        covariance=np.full((2, 2), np.nan),
        tia_mbq_h=a0 / lam,
        tia_sd_mbq_h=math.nan,
        times_h=np.array(times_h, dtype=np.float64),
        activity_mbq=np.array(activity_mbq, dtype=np.float64),
        sigma_mbq=np.full(activity_mbq.shape, np.nan),
        weighting="none",
        chi_square=0.0,
        dof=0,
        aicc=math.inf,
        aicc_by_model={},
        converged=True,
        n_iter=0,
        nuclide=nuclide,
        selection_rule="decay-only",
        notes=(note,),
    )


def _fit_curves(
    times_h: F64,
    tacs_mbq: F64,
    nuclide: str,
    names: list[str],
    notes: list[str],
    count_var_mbq2: F64 | None = None,
) -> tuple[list[TacFit], npt.NDArray[np.bool_]]:
    """Fit every curve on its sessions with activity > 0 (see module notes).

    Weights: 1/σ² with σ from :func:`activity_sd_mbq` (count statistics ⊕ per-scan random
    part), scaled by the residuals; so a late value near zero, whose noise is that of its
    neighbours' spill-in rather than a fixed fraction of itself, does not steer the fit.
    Returns the fits and the (B, T) mask of the sessions each fit used; batch-level fit
    warnings are appended to ``notes``, per-curve ones live in each fit's notes.
    """
    used = tacs_mbq > 0
    fits: list[TacFit | None] = [None] * tacs_mbq.shape[0]
    patterns, inverse = np.unique(used, axis=0, return_inverse=True)
    for k, pattern in enumerate(patterns):
        rows = np.flatnonzero(inverse.ravel() == k)
        t, y = times_h[pattern], tacs_mbq[np.ix_(rows, pattern)]
        left_out = ", ".join(f"{s:g}" for s in times_h[~pattern])
        if t.size >= 2:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", FitWarning)
                var = None if count_var_mbq2 is None else count_var_mbq2[np.ix_(rows, pattern)]
                batch = fit_tacs(
                    t, y, nuclide=nuclide, sigma_mbq=activity_sd_mbq(y, var), absolute_sigma=False
                )
            which = ", ".join(names[i] for i in rows[:6]) + ("…" if rows.size > 6 else "")
            notes += [f"TAC fits of {which}: {w.message}" for w in caught]
            for j, i in enumerate(rows):
                fit = batch[j]
                if left_out:
                    extra = f"sessions at {left_out} h read no activity and are left out of the fit"
                    fit = replace(fit, notes=(*fit.notes, extra))
                fits[i] = fit
            continue
        for i in rows:
            if t.size == 1:
                note = (
                    f"activity in one session only ({t[0]:g} h): physical decay from that scan, "
                    "no biological clearance (an upper bound of the TIA)"
                )
                fits[i] = _decay_only(t, tacs_mbq[i, pattern], nuclide, note)
            else:
                note = "no activity in any session: TIA 0"
                fits[i] = _decay_only(times_h[:1], np.zeros(1), nuclide, note)
    return [f for f in fits if f is not None], used


def activity_sd_mbq(activity_mbq: F64, count_var_mbq2: F64 | None) -> F64:
    """Random 1-SD of each activity: count statistics ⊕ the per-scan random uncertainty.

    :func:`radiotrial.kinetics.random_activity_sd_mbq` with the effective counts A²/var(A)
    (after the partial-volume correction); without count information, the per-scan part only.
    """
    counts = None
    if count_var_mbq2 is not None:
        counts = np.where(
            count_var_mbq2 > 0, activity_mbq**2 / np.maximum(count_var_mbq2, 1e-300), 1e300
        )
        counts = np.maximum(counts, 1e-12)
    return random_activity_sd_mbq(
        activity_mbq, counts=counts, other_random_rel_sd=value("uncertainty", "per_scan_random_rsd")
    )


def fit_rsd(fit: TacFit, count_var_mbq2: F64 | None) -> tuple[float, str | None]:
    """TIA relative SD of a fit and the note of its fallback, if one was needed (module notes).

    ``count_var_mbq2`` is the count-statistics variance of each fitted activity, if known.
    """
    if fit.tia_mbq_h <= 0:
        return 0.0, None
    if math.isfinite(fit.tia_sd_mbq_h):
        return fit.tia_sd_mbq_h / fit.tia_mbq_h, None
    u_scan = value("uncertainty", "per_scan_random_rsd")
    if fit.selection_rule != "decay-only":
        sigma = activity_sd_mbq(fit.activity_mbq, count_var_mbq2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)
            again = fit_tac(
                fit.times_h, fit.activity_mbq, model=fit.model, nuclide=fit.nuclide, sigma_mbq=sigma
            )
        if math.isfinite(again.tia_sd_mbq_h) and again.tia_mbq_h > 0:
            return again.tia_sd_mbq_h / again.tia_mbq_h, (
                f"TIA SD from absolute activity uncertainties ({u_scan:.0%} per scan"
                + (" and count statistics" if count_var_mbq2 is not None else "")
                + "): the fit has no residual degrees of freedom"
            )
    return u_scan, (
        f"TIA SD not estimable from the fit: the assumed per-scan uncertainty ({u_scan:.0%}) "
        "is reported instead"
    )


def _deviation(t: F64, a: F64, k: int, nuclide: str) -> float | None:
    """A(t_k)/A_late(t_k) − 1 with A_late the mono-exponential through the scans after k."""
    if t.size - k < 3:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        late = fit_tac(t[k + 1 :], a[k + 1 :], model="mono", nuclide=nuclide)
    return float(a[k] / late.predict(t[k : k + 1])[0] - 1.0)


def _schedule_check(
    name: str, times_h: F64, tac: F64, used: npt.NDArray[np.bool_], fit: TacFit, nuclide: str
) -> tuple[float, float, float, float | None, list[str]]:
    """Extrapolated shares, first-scan deviation and type-B head SD of one region (module notes).

    Returns (before_fraction, after_fraction, extrapolation_rsd, first_scan_deviation, notes).
    """
    tia = fit.tia_mbq_h
    t, a = times_h[used], tac[used]
    if tia <= 0 or t.size < 2:
        return 0.0, 0.0, 0.0, None, []
    head = _partial_integral(fit, 0.0, float(t[0]))
    tail = _partial_integral(fit, float(t[-1]), math.inf)
    before, after = head / tia, tail / tia
    # the head segment between two assumptions: the fitted curve and a linear rise from zero
    extrap = abs(head - float(a[0]) * float(t[0]) / 2.0) / math.sqrt(3.0) / tia
    notes: list[str] = []
    deviation = _deviation(t, a, 0, nuclide)
    limit_dev = value("early_phase", "first_scan_deviation")
    limit_share = value("early_phase", "extrapolated_fraction")
    # the early phase is seen by the second scan too when that one is also off the curve of
    # the scans after it; a first scan below the later curve is an uptake phase, which an
    # uptake model follows
    second = _deviation(t, a, 1, nuclide)
    single = second is None or second <= limit_dev
    unfollowed = deviation is not None and (
        (deviation > limit_dev and single)
        or (deviation < -limit_dev and not get_model(fit.model).uptake)
    )
    if deviation is not None and unfollowed:
        kind = "a faster early phase" if deviation > 0 else "an uptake phase"
        notes.append(
            f"{name}: the first scan ({t[0]:g} h) lies {deviation:+.0%} off the "
            f"mono-exponential through the later scans: {kind} seen at this scan only, which "
            f"the {fit.model} fit cannot resolve; the {before:.0%} of the TIA before {t[0]:g} h "
            "depends on its unmeasured rate and the reported SD does not include that. An "
            "earlier scan samples it (docs/dosimetry.md)."
        )
    elif before > limit_share:
        fastest = min(fit.effective_half_lives_h)
        notes.append(
            f"{name}: {before:.0%} of the TIA lies before the first scan ({t[0]:g} h, "
            f"{fastest:.3g} h effective half-life of the fastest fitted phase): an "
            "extrapolation of the fit; a phase that ended before the first scan is not seen."
        )
    return before, after, extrap, deviation, notes


def _count_variances(q: Quantified, groups: list[tuple[int, ...]]) -> F64 | None:
    """(B, T) count-statistics variance (MBq²) of each group's corrected activity, if known."""
    rows = [q.count_variance_bq2(g) for g in groups]
    if any(r is None for r in rows):
        return None
    out: F64 = np.stack([r for r in rows if r is not None]) * 1e-12
    return out


def fit_regions(
    study: Study, q: Quantified, notes: list[str] | None = None
) -> dict[str, RegionKinetics]:
    """Fit the TAC of every reporting region (partial-volume corrected); see module notes.

    Batch-level fit warnings are appended to ``notes`` when given.
    """
    col = {int(v): i for i, v in enumerate(q.label_values)}
    cols = [[col[lb] for lb in r.labels if lb in col] for r in study.regions]
    tacs_bq = np.stack([q.corrected_bq[:, c].sum(axis=1) for c in cols])
    names = [r.name for r in study.regions]
    sink: list[str] = [] if notes is None else notes
    var = _count_variances(q, [r.labels for r in study.regions])
    fits, used = _fit_curves(study.times_h, tacs_bq * 1e-6, study.nuclide, names, sink, var)
    out: dict[str, RegionKinetics] = {}
    for i, (region, fit) in enumerate(zip(study.regions, fits, strict=True)):
        rsd, fallback = fit_rsd(fit, None if var is None else var[i][used[i]])
        before, after, extrap, dev, warn = _schedule_check(
            region.name, study.times_h, tacs_bq[i] * 1e-6, used[i], fit, study.nuclide
        )
        out[region.name] = RegionKinetics(
            region,
            fit,
            tacs_bq[i] * 1e-6,
            used[i],
            rsd,
            extrap,
            before,
            after,
            dev,
            notes=(*fit.notes, *([fallback] if fallback else [])),
            warnings=tuple(warn),
        )
    return out


@dataclass(frozen=True, eq=False)
class VoxelTia:
    """Voxel TIA map and how each voxel was obtained.

    Attributes
    ----------
    tia : Volume
        TIA per voxel (Bq·s) after label rescaling.
    tia_unscaled : Volume
        Before rescaling to the partial-volume-corrected label totals.
    method : Volume
        1 = own voxel fit, 2 = region-informed fallback, 0 = no activity.
    label_tia_bq_s : dict of int to float
        Partial-volume-corrected TIA per label.
    notes : tuple of str
        How many voxels fell back to the region-informed estimate, and why.
    """

    tia: Volume
    tia_unscaled: Volume
    method: Volume
    label_tia_bq_s: dict[int, float]
    notes: tuple[str, ...] = ()

    @property
    def fraction_own_fit(self) -> float:
        m = np.asarray(self.method.array)
        active = np.count_nonzero(m)
        return float(np.count_nonzero(m == 1) / active) if active else 0.0


def voxel_tia(study: Study, q: Quantified, *, max_voxel_rsd: float = 0.5) -> VoxelTia:
    """Voxel TIA map by voxel-wise fitting with a region-informed fallback (see module notes)."""
    t = study.times_h
    lab = np.asarray(study.labels.array).astype(np.int64)
    inside = lab > 0
    series = np.stack([np.asarray(a.array)[inside] for a in q.activity], axis=1) * 1e-6  # MBq
    lab_in = lab[inside]
    # label fits give the fallback shapes and the totals to rescale to
    col = {int(v): i for i, v in enumerate(q.label_values)}
    notes: list[str] = []
    names = [study.label_names.get(int(v), f"label {int(v)}") for v in q.label_values]
    label_var = _count_variances(q, [(int(v),) for v in q.label_values])
    label_fits, _ = _fit_curves(t, q.corrected_bq.T * 1e-6, study.nuclide, names, notes, label_var)
    label_tia = np.array([f.tia_mbq_h for f in label_fits])
    shapes = np.stack([f.predict(t) for f in label_fits])  # (L, T), MBq
    shape_tia = label_tia  # ∫f for the un-normalised shape
    rows = np.array([col.get(int(v), -1) for v in range(lab.max() + 1)])[lab_in]

    # region-informed estimate for every voxel
    f = shapes[rows]
    denom = np.einsum("vt,vt->v", f, f)
    alpha = np.where(
        denom > 0, np.einsum("vt,vt->v", series, f) / np.where(denom > 0, denom, 1.0), 0.0
    )
    tia = np.clip(alpha, 0.0, None) * shape_tia[rows]
    method = np.where(tia > 0, 2, 0).astype(np.int8)

    # own fits where every session shows activity, in organs, bones and tumours (the diffuse
    # remainder of the body is too noisy voxel by voxel and keeps the region-informed estimate)
    remainder = [lb for r in study.regions if r.kind == "remainder" for lb in r.labels]
    positive = np.all(series > 0, axis=1) & ~np.isin(lab_in, remainder)
    idx = np.flatnonzero(positive)
    if idx.size and t.size >= 2:
        with warnings.catch_warnings():
            # a failed voxel fit falls back to the region-informed estimate (counted below)
            warnings.simplefilter("ignore", FitWarning)
            batch = fit_tacs(t, series[idx], nuclide=study.nuclide)
        own = np.asarray(batch.tia_mbq_h)
        rsd = np.asarray(batch.tia_sd_mbq_h) / np.where(own > 0, own, np.inf)
        conv = np.asarray(batch.converged)
        ok = conv & np.isfinite(own) & (own > 0) & (rsd <= max_voxel_rsd)
        tia[idx[ok]] = own[ok]
        method[idx[ok]] = 1
        fitted = ~np.isin(lab_in, remainder)
        notes.append(
            f"voxel TIA: {int(ok.sum())} of {int(fitted.sum())} organ, bone and tumour voxels "
            f"fitted on their own; the rest region-informed ({int((~conv).sum())} fits not "
            f"converged, {int((conv & ~(rsd <= max_voxel_rsd)).sum())} with TIA relative SD "
            f"above {max_voxel_rsd:g} or not estimable, {int(fitted.sum() - idx.size)} with "
            "a session at zero)"
        )

    # rescale per label to the partial-volume-corrected label TIA
    sums = np.bincount(lab_in, weights=tia, minlength=lab.max() + 1)
    target = np.zeros(lab.max() + 1)
    target[q.label_values] = label_tia
    scale = np.where(sums > 0, target / np.where(sums > 0, sums, 1.0), 0.0)
    scaled = tia * scale[lab_in]

    def to_volume(values: F64, units: str) -> Volume:
        full = np.zeros(lab.shape, dtype=np.float64)
        full[inside] = values
        return study.labels.with_array(full, units=units)

    return VoxelTia(
        tia=to_volume(scaled * MBQ_H_TO_BQ_S, "Bq*s"),
        tia_unscaled=to_volume(tia * MBQ_H_TO_BQ_S, "Bq*s"),
        method=to_volume(method.astype(np.float64), "1"),
        label_tia_bq_s={
            int(v): float(label_tia[i] * MBQ_H_TO_BQ_S) for i, v in enumerate(q.label_values)
        },
        notes=tuple(notes),
    )
