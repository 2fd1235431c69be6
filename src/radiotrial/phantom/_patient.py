"""Virtual patients: anatomy + kinetics + serial quantitative SPECT/CT with known ground truth."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from radiotrial.errors import ValidationError
from radiotrial.imaging import Volume
from radiotrial.nuclides import get_nuclide
from radiotrial.phantom._anatomy import REMAINDER_LABEL, Anatomy, Sex, make_anatomy
from radiotrial.phantom._data import load_data, value_of
from radiotrial.phantom._kinetics import PatientKinetics, sample_kinetics
from radiotrial.phantom._spect import (
    AcquisitionSettings,
    Motion,
    acquisition_settings,
    mean_transmission,
    sample_motion,
    simulate_counts,
    warp_labels,
)
from radiotrial.phantom._tissues import list_tissues, lookup, mu_per_cm
from radiotrial.units import Activity

__all__ = ["DEFAULT_INJECTION_TIME", "MotionKind", "TimePoint", "VirtualPatient", "make_patient"]

F64 = npt.NDArray[np.float64]
MotionKind = str  # "none" | "rigid" | "nonrigid"
_MOTIONS: Final = ("none", "rigid", "nonrigid")
#: default injection: the trial's site (Shanghai, UTC+8), a weekday morning
DEFAULT_INJECTION_TIME: Final = datetime(2025, 4, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))
DEFAULT_ACTIVITY_GBQ: Final = 7.4  # 200 mCi, a middle level of NCT05870579 (REFERENCE.md)


@dataclass(frozen=True, eq=False)
class TimePoint:
    """One simulated SPECT/CT session.

    Attributes
    ----------
    time_h : float
        Acquisition start, hours after injection.
    spect : Volume
        Calibrated, attenuation-corrected SPECT, Bq/mL at acquisition start.
    counts : Volume
        The same image in attenuation-corrected counts (before calibration).
    ct : Volume
        CT of this session (HU), in the session's (possibly moved) frame.
    labels : Volume
        True label map of this session.
    true_activity : Volume
        True activity per voxel at acquisition start (Bq), in this session's frame.
    motion : Motion or None
        True motion relative to the first session (``None`` for the reference session).
    expected_detected_counts : float
        :math:`S T \\bar d \\sum_v A_v τ_v`, the mean of the detected primary counts.
    detected_counts : float
        The Poisson draw of the total detected counts.
    """

    time_h: float
    spect: Volume
    counts: Volume
    ct: Volume
    labels: Volume
    true_activity: Volume
    motion: Motion | None
    expected_detected_counts: float
    detected_counts: float

    @property
    def acquisition_time(self) -> datetime:
        """Acquisition start (timezone-aware)."""
        assert self.spect.acquisition_time is not None
        return self.spect.acquisition_time


@dataclass(frozen=True, eq=False)
class VirtualPatient:
    """A virtual patient with its complete ground truth.

    Attributes
    ----------
    seed : int or None
        The seed that reproduces this patient exactly.
    anatomy : Anatomy
        Reference-frame anatomy (first session's frame).
    kinetics : PatientKinetics
        True biokinetics of every region.
    administered : Activity
        Injected activity at the injection time.
    settings : AcquisitionSettings
        SPECT calibration, duration and resolution.
    time_points : tuple of TimePoint
        Simulated sessions.
    tia_voxel : Volume
        True time-integrated activity per voxel (Bq·s), reference frame, 0 → ∞.
    label_shares : dict of str to dict of int to float
        Kinetic region → {label: share of the region's activity in that label}; the rest is out
        of the imaged field.
    """

    seed: int | None
    anatomy: Anatomy
    kinetics: PatientKinetics
    administered: Activity
    settings: AcquisitionSettings
    time_points: tuple[TimePoint, ...]
    tia_voxel: Volume
    label_shares: dict[str, dict[int, float]]

    @property
    def injection_time(self) -> datetime:
        """Injection datetime (timezone-aware)."""
        return self.administered.reference_time

    def region_tia_bq_s(self, *, in_field: bool = False) -> dict[str, float]:
        """True TIA (Bq·s) of every kinetic region, whole region or only its in-field part."""
        a0 = self.administered.bq
        out = {}
        for name, tia_h in self.kinetics.tia_h().items():
            share = sum(self.label_shares[name].values()) if in_field else 1.0
            out[name] = a0 * tia_h * 3600.0 * share
        return out

    def region_activity_bq(
        self, times_h: Sequence[float] | F64, *, in_field: bool = True
    ) -> dict[str, F64]:
        """True activity (Bq) of every kinetic region at ``times_h`` (h after injection)."""
        lam = self.kinetics.decay_per_h
        a0 = self.administered.bq
        return {
            n: a0
            * k.fraction_at(times_h, lam)
            * (sum(self.label_shares[n].values()) if in_field else 1.0)
            for n, k in self.kinetics.regions.items()
        }

    def blood_bq_per_ml(self, times_h: Sequence[float] | F64) -> F64:
        """True blood activity concentration (Bq/mL) at ``times_h``: the blood pool (heart).

        What well-counter blood samples would read (no measurement noise is added).
        """
        heart = self.region_activity_bq(times_h)["heart"]
        out: F64 = heart / self.anatomy.region_volumes_ml()["heart"]
        return out

    def truth(self) -> dict[str, Any]:
        """JSON-ready ground truth: regions, masses, kinetics, TIAs, sessions and motion."""
        masses = self.anatomy.region_masses_g()
        vols = self.anatomy.region_volumes_ml()
        tia_total = self.region_tia_bq_s()
        tia_in = self.region_tia_bq_s(in_field=True)
        times = [tp.time_h for tp in self.time_points]
        act = self.region_activity_bq(times)
        by_label = {r.label: r for r in self.anatomy.regions}
        return {
            "format": "radiotrial virtual patient ground truth",
            "version": 1,
            "seed": self.seed,
            "sex": self.anatomy.size.sex,
            "height_cm": self.anatomy.size.height_cm,
            "weight_kg": self.anatomy.size.weight_kg,
            "nuclide": self.administered.nuclide,
            "administered_activity_mbq": self.administered.mbq,
            "injection_time": self.injection_time.isoformat(),
            "acquisition": self.settings.to_dict(),
            "labels": {
                str(r.label): {
                    "name": r.name,
                    "kind": r.kind,
                    "tissue": r.tissue,
                    "mass_g": masses[r.name],
                    "volume_ml": vols[r.name],
                    "target_mass_g": r.target_mass_g,
                    "red_marrow_mass_g": r.red_marrow_mass_g,
                    "site": r.site,
                    "nominal_volume_ml": r.nominal_volume_ml,
                }
                for r in self.anatomy.regions
            },
            "kinetics": self.kinetics.to_dict(),
            "regions": {
                name: {
                    "labels": {str(lb): share for lb, share in self.label_shares[name].items()},
                    "label_names": [by_label[lb].name for lb in self.label_shares[name]],
                    "tia_bq_s": tia_total[name],
                    "tia_in_field_bq_s": tia_in[name],
                    "activity_in_field_bq": dict(
                        zip([f"{t:g}h" for t in times], act[name].tolist(), strict=True)
                    ),
                }
                for name in self.kinetics.regions
            },
            "time_points": [
                {
                    "time_h": tp.time_h,
                    "acquisition_time": tp.acquisition_time.isoformat(),
                    "true_activity_in_field_bq": tp.true_activity.total(),
                    "expected_detected_counts": tp.expected_detected_counts,
                    "detected_counts": tp.detected_counts,
                    "motion": None if tp.motion is None else tp.motion.to_dict(),
                }
                for tp in self.time_points
            ],
        }


def _label_shares(anatomy: Anatomy, kinetics: PatientKinetics) -> dict[str, dict[int, float]]:
    data = load_data("kinetics_lu177_neob.yaml")["regions"]
    masses_ref = load_data("anatomy.yaml")["masses_g"]
    size = anatomy.size
    vols = anatomy.region_volumes_ml()
    masses = anatomy.region_masses_g()
    present = {r.name: r for r in anatomy.regions}
    shares: dict[str, dict[int, float]] = {}
    # remainder: whole-body soft tissue outside the modelled organs, bones and lesions
    organ_total = sum(r.target_mass_g or 0.0 for r in anatomy.regions if r.kind != "remainder")
    skeleton = float(masses_ref["skeleton"][size.sex]) * size.organ_mass_factor
    in_field_bone = sum(masses[r.name] for r in anatomy.regions if r.kind == "bone")
    remainder_total = size.weight_kg * 1000.0 - organ_total - max(skeleton, in_field_bone)
    shares["remainder"] = {
        REMAINDER_LABEL: min(1.0, masses["remainder"] / max(remainder_total, 1.0))
    }
    for name in kinetics.regions:
        if name == "remainder":
            continue
        if name.startswith("tumour_"):
            shares[name] = {present[name].label: 1.0}
            continue
        labels = [lb for lb in data[name]["labels"] if lb in present]
        if name == "red_marrow":
            # share of the whole-body red marrow in each in-field bone site (Cristy 1981)
            rm_total = float(masses_ref["red_marrow"][size.sex]) * size.organ_mass_factor
            shares[name] = {
                present[lb].label: present[lb].red_marrow_mass_g / rm_total for lb in labels
            }
            continue
        total = sum(vols[lb] for lb in labels)
        shares[name] = {present[lb].label: vols[lb] / total for lb in labels} if total > 0 else {}
    return shares


def _activity_lut(
    shares: dict[str, dict[int, float]], fractions: dict[str, float], counts: F64, a0_bq: float
) -> F64:
    """Activity per voxel (Bq) of each label: A_region · share / voxels of the label."""
    lut = np.zeros(counts.size, dtype=np.float64)
    for name, by_label in shares.items():
        for label, share in by_label.items():
            if counts[label] > 0:
                lut[label] += a0_bq * fractions[name] * share / counts[label]
    return lut


def make_patient(
    seed: int | None = 0,
    *,
    sex: Sex = "female",
    height_cm: float | None = None,
    weight_kg: float | None = None,
    tumours: str | list[tuple[str, float]] | None = "liver:20,bone:5,breast:10",
    activity_gbq: float = DEFAULT_ACTIVITY_GBQ,
    injection_time: datetime = DEFAULT_INJECTION_TIME,
    time_points_h: Sequence[float] | None = None,
    spacing_mm: float = 4.8,
    ct_spacing_mm: float | None = None,
    motion: MotionKind = "none",
    variability: bool = True,
    organ_size_cv: float = 0.0,
    settings: AcquisitionSettings | None = None,
    noise: bool = True,
    progress: Callable[[str], None] | None = None,
) -> VirtualPatient:
    """Generate one virtual patient: anatomy, 177Lu-NeoB kinetics and serial SPECT/CT.

    Parameters
    ----------
    seed : int or None, default 0
        One seed, one patient: tumour placement, kinetics, motion and noise are drawn from
        independent streams spawned from it. ``None`` draws fresh entropy.
    sex : {"female", "male"}, default "female"
        ICRP-89 reference layout (the trial's population is female).
    height_cm, weight_kg : float, optional
        Body size (default the ICRP reference individual).
    tumours : str or list of (site, mL), default "liver:20,bone:5,breast:10"
        Lesions (see :func:`parse_tumour_spec`); ``None`` or ``""`` for none.
    activity_gbq : float, default 7.4
        Injected activity, GBq, at ``injection_time``.
    injection_time : datetime, default 2025-04-01 09:00 +08:00
        Timezone-aware injection time.
    time_points_h : sequence of float, optional
        Imaging times after injection, h (default 4, 24, 48, 168 from ``spect.yaml``).
    spacing_mm : float, default 4.8
        Isotropic voxel size of the SPECT grid (and of the CT unless ``ct_spacing_mm``), mm.
    ct_spacing_mm : float, optional
        A finer CT grid, e.g. 2.4 or 1.2 mm for 4.8 mm SPECT: ``spacing_mm`` must be a whole
        multiple of it, so that the CT covers exactly the SPECT's physical extent (see
        :func:`make_anatomy`). Labels, truth and attenuation stay on the SPECT grid.
    motion : {"none", "rigid", "nonrigid"}, default "none"
        Patient motion between sessions relative to the first one (non-rigid adds a small
        smooth deformation to the rigid motion).
    variability : bool, default True
        Draw inter-patient kinetic variability (False: nominal kinetics).
    organ_size_cv : float, default 0
        Coefficient of variation of organ masses (0: ICRP reference masses).
    settings : AcquisitionSettings, optional
        Calibration/duration/resolution (default :func:`acquisition_settings`).
    noise : bool, default True
        Poisson noise (False: the noise-free expectation).
    progress : callable, optional
        Called with a short description after each step (for progress bars).

    Returns
    -------
    VirtualPatient

    Raises
    ------
    ValidationError
        Bad activity, time points, motion kind or any anatomy argument.
    """
    say = progress or (lambda _msg: None)
    if not (math.isfinite(activity_gbq) and 0 < activity_gbq <= 100):
        raise ValidationError(
            "activity_gbq", activity_gbq, "injected activity must be within 0-100 GBq"
        )
    if motion not in _MOTIONS:
        raise ValidationError("motion", motion, f"use one of {', '.join(_MOTIONS)}")
    times = (
        [float(t) for t in value_of(load_data("spect.yaml")["time_points_h"])]
        if time_points_h is None
        else [float(t) for t in time_points_h]
    )
    if (
        not times
        or any(not (math.isfinite(t) and 0 < t <= 2000) for t in times)
        or len(set(times)) != len(times)
    ):
        raise ValidationError(
            "time_points_h", time_points_h, "need distinct times within (0, 2000] h"
        )
    times.sort()
    settings = settings or acquisition_settings()
    administered = Activity(activity_gbq * 1e9, injection_time, "Lu-177")
    ss = np.random.SeedSequence(seed)
    s_anat, s_kin, s_motion, s_noise = (int(c.generate_state(1)[0]) for c in ss.spawn(4))

    anatomy = make_anatomy(
        sex=sex,
        height_cm=height_cm,
        weight_kg=weight_kg,
        spacing_mm=spacing_mm,
        tumours=tumours or None,
        seed=s_anat,
        organ_size_cv=organ_size_cv,
        ct_spacing_mm=ct_spacing_mm,
    )
    say("anatomy")
    tumour_ml = {r.name: anatomy.region_volumes_ml()[r.name] for r in anatomy.tumours}
    targets = {r.name: r.target_mass_g or 0.0 for r in anatomy.regions}
    breasts_g = targets.get("breast_left", 0.0) + targets.get("breast_right", 0.0)
    # the red marrow is blood-borne: its curve follows the blood pool (heart) per mL
    rm_entry = load_data("kinetics_lu177_neob.yaml")["regions"]["red_marrow"]["blood_borne"]
    rm_ml = (
        float(load_data("anatomy.yaml")["masses_g"]["red_marrow"][anatomy.size.sex])
        * anatomy.size.organ_mass_factor
        / float(value_of(rm_entry["marrow_density_g_cm3"]))
    )
    kinetics = sample_kinetics(
        tumour_ml,
        seed=s_kin,
        variability=variability,
        region_masses_g={"breasts": breasts_g},
        blood_pool_ml=anatomy.region_volumes_ml()["heart"],
        red_marrow_ml=rm_ml,
    )
    shares = _label_shares(anatomy, kinetics)
    say("kinetics")

    nuc = get_nuclide(administered.nuclide)
    lam_h = kinetics.decay_per_h
    a0 = administered.bq
    labels_ref = anatomy.labels.array
    n_labels = int(labels_ref.max()) + 1
    spacing, origin = anatomy.labels.spacing_mm, anatomy.labels.origin_mm
    tia = {n: k.tia_h(lam_h) * 3600.0 for n, k in kinetics.regions.items()}
    counts_ref = np.bincount(labels_ref.ravel(), minlength=n_labels).astype(np.float64)
    tia_voxel = _activity_lut(shares, tia, counts_ref, a0)[labels_ref]

    tissues = list_tissues()
    e_kev = float(value_of(load_data("spect.yaml")["photopeak_kev"]))
    mu_lut = lookup({t: mu_per_cm(t, e_kev) for t in tissues})
    mu_lut[tissues.index("air")] = 0.0  # air around the patient: < 1 % over the whole orbit
    ct_grid = anatomy.ct_tissue if anatomy.ct_tissue is not None else anatomy.tissue

    motion_rng = np.random.default_rng(s_motion)
    noise_rng = np.random.default_rng(s_noise)
    body = labels_ref > 0
    centre = np.array([0.0, 0.0, float(np.mean(np.nonzero(body)[0])) * spacing[0] + origin[2]])
    tau_ref: npt.NDArray[np.float32] | None = None
    sessions: list[TimePoint] = []
    for idx, t_h in enumerate(times):
        mot: Motion | None = None
        labels_t, tissue_t, ct_tissue_t = labels_ref, anatomy.tissue.array, ct_grid.array
        if motion != "none" and idx > 0:
            mot = sample_motion(
                motion_rng,
                anatomy.labels.shape,
                spacing,
                origin,
                nonrigid=motion == "nonrigid",
                centre_mm=centre,
            )
            labels_t = warp_labels(labels_ref, mot, spacing, origin)
            tissue_t = warp_labels(tissue_t, mot, spacing, origin)
            ct_tissue_t = (
                tissue_t
                if anatomy.ct_tissue is None
                else warp_labels(
                    ct_grid.array,
                    mot,
                    ct_grid.spacing_mm,
                    ct_grid.origin_mm,
                    field_spacing_mm=spacing,
                    field_origin_mm=origin,
                )
            )
        if mot is None and tau_ref is not None:
            tau = tau_ref
        else:
            tau = mean_transmission(
                mu_lut[tissue_t], spacing, n_angles=settings.n_attenuation_angles
            )
            if mot is None:
                tau_ref = tau
        fractions = {n: float(k.fraction_at(t_h, lam_h)) for n, k in kinetics.regions.items()}
        counts_t = np.bincount(labels_t.ravel(), minlength=n_labels).astype(np.float64)
        act = _activity_lut(shares, fractions, counts_t, a0)[labels_t]
        when = injection_time + timedelta(hours=t_h)
        if noise:
            corrected, detected, per_bq = simulate_counts(
                act,
                tau,
                spacing,
                settings,
                decay_per_s=nuc.decay_constant_per_s,
                rng=noise_rng,
            )
        else:
            corrected, detected, per_bq = simulate_counts(
                act,
                tau,
                spacing,
                settings,
                decay_per_s=nuc.decay_constant_per_s,
                rng=_NoNoise(),  # type: ignore[arg-type]
            )
        voxel_ml = anatomy.labels.voxel_volume_ml
        spect = (corrected / per_bq / voxel_ml).astype(np.float32)
        sessions.append(
            TimePoint(
                time_h=t_h,
                spect=Volume(
                    spect,
                    units="Bq/mL",
                    acquisition_time=when,
                    spacing_mm=spacing,
                    origin_mm=origin,
                ),
                counts=Volume(
                    corrected.astype(np.float32),
                    units="counts",
                    acquisition_time=when,
                    spacing_mm=spacing,
                    origin_mm=origin,
                ),
                ct=anatomy.ct_on_ct_grid(ct_tissue_t).with_time(when),
                labels=Volume(
                    labels_t,
                    units="label",
                    acquisition_time=when,
                    spacing_mm=spacing,
                    origin_mm=origin,
                ),
                true_activity=Volume(
                    act, units="Bq", acquisition_time=when, spacing_mm=spacing, origin_mm=origin
                ),
                motion=mot,
                expected_detected_counts=float(np.sum(act * tau) * per_bq),
                detected_counts=float(detected.sum()),
            )
        )
        say(f"SPECT {t_h:g} h")
    return VirtualPatient(
        seed=seed,
        anatomy=anatomy,
        kinetics=kinetics,
        administered=administered,
        settings=settings,
        time_points=tuple(sessions),
        tia_voxel=Volume(tia_voxel, units="Bq*s", spacing_mm=spacing, origin_mm=origin),
        label_shares=shares,
    )


class _NoNoise:
    """Stand-in generator whose 'Poisson draw' is the mean (noise-free images)."""

    def poisson(self, lam: F64) -> F64:
        return np.asarray(lam, dtype=np.float64)
