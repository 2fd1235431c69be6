"""From images to activities: calibration, registration of sessions, partial-volume correction.

Notes
-----
Calibration. A SPECT image in counts acquired for T seconds from t₀ holds
C = S ∫₀ᵀ A(t₀) e^{−λt} dt = S T d̄ A(t₀) with d̄ = (1 − e^{−λT}) / (λT), so the activity at the
start of the acquisition is A(t₀) = C / (S T d̄) (S in cps/Bq).

Partial-volume correction by the geometric transfer matrix (GTM; Rousset et al., J Nucl Med
1998;39:904). With a shift-invariant Gaussian system response G (FWHM from the study) and
piecewise-uniform concentration c_j in each label j, the activity observed in label i is
O_i = Σ_j W_ij c_j with W_ij = Σ_{v∈i} (G * 1_j)(v). Solving W c = O gives the true concentration
of every label, hence its true activity N_j c_j, free of spill-out and spill-in between labels.

Count statistics. Where the images are in counts, each label's observed activity O_i carries
the Poisson variance of its counts, var(O_i) = O_i/k (k counts per Bq, attenuation-corrected
counts taken as Poisson: an under-estimate by the inverse transmission). The correction is
linear, c = W⁻¹O, so a region's corrected activity Σ_j N_j c_j has the variance
Σ_i (Σ_j N_j (W⁻¹)_ji)² var(O_i): small regions beside hot neighbours inherit the neighbours'
noise. These variances weight the region fits.

Recovery uncertainty. The correction rests on the assumed FWHM. The GTM is solved a second
time with the FWHM scaled by (1 + u_FWHM) (``data/dosimetry.yaml``); the relative change of a
region's corrected activity is the sensitivity-weighted recovery uncertainty of that region
(Gear et al., EJNMMI 2018;45:2456: a recovery coefficient shared by every session scales the
whole curve, fully correlated between sessions, so it adds to the TIA's relative SD in
quadrature and is not put into the fit weights).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from radiotrial.dosimetry._data import value
from radiotrial.dosimetry._study import Session, Study
from radiotrial.errors import ValidationError
from radiotrial.imaging import Volume
from radiotrial.nuclides import get_nuclide

__all__ = ["Quantified", "calibrate", "gtm_matrix", "quantify", "register_sessions"]

F64 = npt.NDArray[np.float64]
FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))


def calibrate(study: Study, session: Session) -> Volume:
    """Activity per voxel (Bq) at the start of the session's acquisition."""
    img = session.spect
    if img.units == "Bq":
        return img
    if img.units == "Bq/mL":
        return img.with_array(
            np.asarray(img.array, dtype=np.float64) * img.voxel_volume_ml, units="Bq"
        )
    if img.units == "counts":
        lam = get_nuclide(study.nuclide).decay_constant_per_s
        t_acq = study.acquisition_s
        mean_decay = -math.expm1(-lam * t_acq) / (lam * t_acq)
        s_cps_per_bq = study.sensitivity_cps_per_mbq * 1e-6
        scale = 1.0 / (s_cps_per_bq * t_acq * mean_decay)
        return img.with_array(np.asarray(img.array, dtype=np.float64) * scale, units="Bq")
    raise ValidationError(
        "spect.units", img.units, "SPECT must be in counts, Bq or Bq/mL for quantification"
    )


def register_sessions(study: Study, activities: list[Volume]) -> tuple[list[Volume], list[str]]:
    """Bring every session into the first session's frame (rigid then B-spline on the CTs;
    the B-spline is kept only when it improves the CT match, :func:`radiotrial.imaging.register`).

    Sessions whose CT is identical to the reference CT are taken as they are. Activity is warped
    as a concentration and converted back, so that totals are preserved up to interpolation.
    """
    from radiotrial.imaging import register, resample

    ref_ct = study.sessions[0].ct
    out = [activities[0]]
    notes: list[str] = []
    for session, act in zip(study.sessions[1:], activities[1:], strict=True):
        ct = session.ct
        if ct.same_grid(ref_ct) and np.array_equal(np.asarray(ct.array), np.asarray(ref_ct.array)):
            if not act.same_grid(activities[0]):
                # same frame (identical CT), another SPECT grid: resample, conserving activity
                act = resample(act, activities[0], method="conserve")
                notes.append(
                    f"session {session.time_h:g} h: SPECT on another grid than "
                    f"{study.sessions[0].time_h:g} h, resampled (same CT frame)"
                )
            out.append(act)
            continue
        ref_grid = ref_ct if ref_ct.same_grid(act) else resample(ref_ct, act, method="linear")
        mov_grid = ct if ct.same_grid(act) else resample(ct, act, method="linear")
        reg = register(ref_grid, mov_grid, deformable=True)
        conc = act.with_array(np.asarray(act.array) / act.voxel_volume_ml, units="Bq/mL")
        warped = reg.warp(conc, study.sessions[0].spect)
        moved = warped.with_array(
            np.clip(np.asarray(warped.array), 0.0, None) * warped.voxel_volume_ml, units="Bq"
        )
        how = " + ".join(reg.stages)
        if reg.deformable_rejected:
            how += ", B-spline tried and rejected: it did not improve the CT match"
        notes.append(
            f"session {session.time_h:g} h registered to {study.sessions[0].time_h:g} h "
            f"({how}); activity {act.total():.4g} → {moved.total():.4g} Bq"
        )
        out.append(moved)
    return out, notes


def gtm_matrix(
    labels: npt.NDArray[np.integer], sigma_vox: tuple[float, float, float]
) -> tuple[F64, npt.NDArray[np.int64]]:
    """Geometric transfer matrix over the labels present (0 = outside, excluded).

    Returns
    -------
    W : (L, L) ndarray
        ``W[i, j]`` = activity seen in label i per unit concentration in label j.
    present : (L,) int ndarray
        The label values, in the order of W's rows.
    """
    lab = np.asarray(labels)
    present = np.unique(lab)
    present = present[present > 0].astype(np.int64)
    index = np.zeros(lab.max() + 1, dtype=np.int64) - 1
    index[present] = np.arange(present.size)
    w = np.zeros((present.size, present.size))
    margin = [math.ceil(4.0 * s) + 1 for s in sigma_vox]
    objects = ndimage.find_objects(lab)
    for j, label in enumerate(present):
        box = objects[label - 1]
        assert box is not None
        sl = tuple(
            slice(max(b.start - m, 0), min(b.stop + m, n))
            for b, m, n in zip(box, margin, lab.shape, strict=True)
        )
        crop = lab[sl]
        blurred = ndimage.gaussian_filter(
            (crop == label).astype(np.float64), sigma_vox, mode="constant"
        )
        inside = crop > 0
        w[:, j] = np.bincount(index[crop[inside]], weights=blurred[inside], minlength=present.size)
    return w, present


@dataclass(frozen=True, eq=False)
class Quantified:
    """Activities of every session on the reference grid.

    Attributes
    ----------
    activity : list of Volume
        Calibrated, registered activity per voxel (Bq) at each session's start.
    label_values : (L,) int ndarray
    observed_bq, corrected_bq : (T, L) ndarray
        Activity in each label before and after GTM partial-volume correction.
    notes : list of str
    corrected_fwhm_bq : (T, L) ndarray, optional
        The correction with the FWHM scaled by 1 + u_FWHM (for the recovery uncertainty).
    counts_per_bq : float, optional
        Counts per Bq of the images (count statistics), where they are in counts.
    gtm_inverse : (L, L) ndarray, optional
        W⁻¹ with the label voxel counts folded in (corrected activity = ``gtm_inverse @ O``).
    """

    activity: list[Volume]
    label_values: npt.NDArray[np.int64]
    observed_bq: F64
    corrected_bq: F64
    notes: list[str]
    corrected_fwhm_bq: F64 | None = None
    counts_per_bq: float | None = None
    gtm_inverse: F64 | None = None

    def count_variance_bq2(self, labels: tuple[int, ...]) -> F64 | None:
        """(T,) Poisson variance (Bq²) of the corrected activity of ``labels`` per session."""
        if self.counts_per_bq is None:
            return None
        var_obs = np.clip(self.observed_bq, 0.0, None) / self.counts_per_bq  # (T, L)
        cols = np.isin(self.label_values, labels)
        if self.gtm_inverse is None:
            out: F64 = var_obs[:, cols].sum(axis=1)
            return out
        m = self.gtm_inverse[cols].sum(axis=0)  # (L,): d(region activity)/d O_i
        out = var_obs @ (m**2)
        return out

    def recovery_rsd(self, labels: tuple[int, ...]) -> float:
        """Relative SD of the corrected activity of ``labels`` from the FWHM uncertainty."""
        if self.corrected_fwhm_bq is None:
            return 0.0
        cols = np.isin(self.label_values, labels)
        base = float(self.corrected_bq[:, cols].sum())
        shifted = float(self.corrected_fwhm_bq[:, cols].sum())
        return abs(shifted - base) / base if base > 0 else 0.0


def quantify(study: Study, *, pvc: bool = True) -> Quantified:
    """Calibrate, register and (optionally) partial-volume correct every session."""
    activities = [calibrate(study, s) for s in study.sessions]
    activities, notes = register_sessions(study, activities)
    lab = np.asarray(study.labels.array).astype(np.int64)
    present = np.unique(lab)
    present = present[present > 0]
    observed: F64 = np.stack(
        [
            np.bincount(lab.ravel(), weights=np.asarray(a.array).ravel(), minlength=lab.max() + 1)[
                present
            ]
            for a in activities
        ]
    ).astype(np.float64)
    shifted = inverse = None
    if pvc and study.fwhm_mm > 0:
        counts = np.bincount(lab.ravel(), minlength=lab.max() + 1)[present].astype(np.float64)

        def gtm(fwhm_mm: float) -> F64:
            sigma_vox = tuple(fwhm_mm * FWHM_TO_SIGMA / s for s in study.labels.spacing_mm)
            w, _ = gtm_matrix(lab, sigma_vox)  # type: ignore[arg-type]
            out: F64 = np.linalg.inv(w) * counts[:, None]
            return out

        inverse = gtm(study.fwhm_mm)
        corrected = np.clip(observed @ inverse.T, 0.0, None)
        u_fwhm = value("uncertainty", "fwhm_rsd")
        shifted = np.clip(observed @ gtm(study.fwhm_mm * (1.0 + u_fwhm)).T, 0.0, None)
        ratio = corrected.sum(axis=1) / np.maximum(observed.sum(axis=1), 1e-300)
        notes.append(
            f"GTM partial-volume correction over {present.size} labels "
            f"(FWHM {study.fwhm_mm:.3g} mm ± {u_fwhm:.0%} for the recovery uncertainty); "
            f"total activity ×{ratio.min():.3f}–{ratio.max():.3f}"
        )
    else:
        corrected = observed.copy()
        notes.append("no partial-volume correction (no recovery uncertainty)")
    k = None
    if all(sess.spect.units == "counts" for sess in study.sessions):
        lam = get_nuclide(study.nuclide).decay_constant_per_s
        t_acq = study.acquisition_s
        k = (
            study.sensitivity_cps_per_mbq
            * 1e-6
            * t_acq
            * (-math.expm1(-lam * t_acq))
            / (lam * t_acq)
        )
    return Quantified(
        activities, present.astype(np.int64), observed, corrected, notes, shifted, k, inverse
    )
