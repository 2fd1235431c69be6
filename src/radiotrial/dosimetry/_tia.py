"""Time-integrated activity: region fits and voxel TIA maps.

Notes
-----
Regions. The partial-volume-corrected activity of each label is fitted over the sessions with
:func:`radiotrial.kinetics.fit_tacs` (automatic model choice, parameter covariance, TIA ± SD);
a reporting region's TAC is the sum over its labels.

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

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from radiotrial.dosimetry._quantify import Quantified
from radiotrial.dosimetry._study import Region, Study
from radiotrial.imaging import Volume
from radiotrial.kinetics import FitWarning, TacFit, fit_tacs

__all__ = ["RegionKinetics", "VoxelTia", "exponential_terms", "fit_regions", "voxel_tia"]

F64 = npt.NDArray[np.float64]
MBQ_H_TO_BQ_S = 1e6 * 3600.0


def exponential_terms(fit: TacFit) -> tuple[F64, F64]:
    """The fitted TAC as Σ aᵢ e^{−λᵢ t} (an uptake phase is a negative term): (a, λ per h)."""
    from radiotrial.kinetics import get_model

    model = get_model(fit.model)
    v = np.asarray(fit.values, dtype=np.float64)
    n = model.n_terms
    amps, rates = list(v[:n]), list(v[n : 2 * n])
    if model.uptake:
        amps.append(-float(np.sum(v[:n])))
        rates.append(float(v[2 * n]))
    return np.array(amps), np.array(rates)


@dataclass(frozen=True, eq=False)
class RegionKinetics:
    """Fitted kinetics of one reporting region (activity in MBq, TIA in MBq·h)."""

    region: Region
    fit: TacFit
    observed_mbq: F64

    @property
    def tia_bq_s(self) -> float:
        return self.fit.tia_mbq_h * MBQ_H_TO_BQ_S

    @property
    def tia_sd_bq_s(self) -> float:
        return self.fit.tia_sd_mbq_h * MBQ_H_TO_BQ_S


def _fit(times_h: F64, activity_mbq: F64, nuclide: str) -> list[TacFit]:
    """Fit curves; all-positive curves only (zero rows get a TIA of zero upstream)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitWarning)
        batch = fit_tacs(times_h, activity_mbq, nuclide=nuclide)
    _ = caught  # non-converged fits are flagged per curve in their notes
    return [batch[i] for i in range(activity_mbq.shape[0])]


def fit_regions(study: Study, q: Quantified) -> dict[str, RegionKinetics]:
    """Fit the TAC of every reporting region (partial-volume corrected)."""
    col = {int(v): i for i, v in enumerate(q.label_values)}
    tacs = (
        np.stack(
            [
                q.corrected_bq[:, [col[lb] for lb in r.labels if lb in col]].sum(axis=1)
                for r in study.regions
            ]
        )
        * 1e-6
    )
    # regions not seen at some session (e.g. an emptied bladder) get a tiny floor so that the
    # fit is defined; their TIA is then dominated by the sessions where they are seen
    floor = max(float(tacs.max()) * 1e-9, 1e-12)
    fits = _fit(study.times_h, np.maximum(tacs, floor), study.nuclide)
    return {
        r.name: RegionKinetics(r, f, tacs[i])
        for i, (r, f) in enumerate(zip(study.regions, fits, strict=True))
    }


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
    """

    tia: Volume
    tia_unscaled: Volume
    method: Volume
    label_tia_bq_s: dict[int, float]

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
    label_tacs = q.corrected_bq.T * 1e-6
    floor = max(float(label_tacs.max()) * 1e-9, 1e-12)
    label_fits = _fit(t, np.maximum(label_tacs, floor), study.nuclide)
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
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always", FitWarning)
            batch = fit_tacs(t, series[idx], nuclide=study.nuclide)
        own = np.asarray(batch.tia_mbq_h)
        rsd = np.asarray(batch.tia_sd_mbq_h) / np.where(own > 0, own, np.inf)
        ok = np.asarray(batch.converged) & np.isfinite(own) & (own > 0) & (rsd <= max_voxel_rsd)
        tia[idx[ok]] = own[ok]
        method[idx[ok]] = 1

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
    )
