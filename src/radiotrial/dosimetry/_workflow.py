"""The patient-dosimetry workflow: images → activities → TIA → dose → BED → limits → plan."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from radiotrial.dosimetry._absorbed import RegionDose, bed_map, region_doses
from radiotrial.dosimetry._data import value
from radiotrial.dosimetry._marrow import (
    MarrowDose,
    planning_marrow,
    red_marrow_blood_based,
    red_marrow_image_based,
    self_dose_gy,
)
from radiotrial.dosimetry._mird import (
    mird_label_dose_sds,
    mird_label_doses,
    phantom_s_matrix,
    sphere_dose_gy,
)
from radiotrial.dosimetry._planning import CycleDose, Plan, plan_next_cycle, therapeutic_index
from radiotrial.dosimetry._quantify import Quantified, quantify
from radiotrial.dosimetry._study import Study
from radiotrial.dosimetry._tia import RegionKinetics, VoxelTia, fit_regions, voxel_tia
from radiotrial.errors import InputFileError, ValidationError
from radiotrial.imaging import Volume
from radiotrial.protocol import Protocol
from radiotrial.transport import DoseResult, PhantomSMatrix, compute_dose

__all__ = ["DosimetryResult", "Engine", "run_dosimetry"]

Engine = Literal["led", "kernel", "mc"]

#: reporting regions whose results feed the organ-limit plan (red marrow comes from _marrow)
_PLANNED_ORGANS = frozenset({"kidneys", "pancreas", "salivary_glands", "liver"})


@dataclass(frozen=True, eq=False)
class DosimetryResult:
    """Everything one cycle's dosimetry produced."""

    study: Study
    engine: str
    quantified: Quantified
    kinetics: dict[str, RegionKinetics]
    voxels: VoxelTia
    dose: DoseResult
    dose_map: Volume
    bed_map: Volume
    density: Volume
    regions: list[RegionDose]
    marrow: list[MarrowDose]
    plan: Plan | None
    therapeutic_index: dict[str, dict[str, float]]
    validation: dict[str, Any] | None
    timings_s: dict[str, float]
    organ_level: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def region(self, name: str) -> RegionDose:
        for r in self.regions:
            if r.name == name:
                return r
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        s = self.study
        return {
            "patient_id": s.patient_id,
            "cycle": s.cycle,
            "nuclide": s.nuclide,
            "administered_activity_gbq": s.administered.gbq,
            "injection_time": s.injection_time.isoformat(),
            "session_times_h": s.times_h.tolist(),
            "engine": self.engine,
            "regions": [r.as_dict() for r in self.regions],
            "red_marrow": [m.as_dict() for m in self.marrow],
            "red_marrow_for_planning": None
            if (rm := planning_marrow(self.marrow)) is None
            else rm.method,
            "plan": None if self.plan is None else self.plan.as_dict(),
            "therapeutic_index": self.therapeutic_index,
            "organ_level": self.organ_level,
            "voxel_fit_fraction": self.voxels.fraction_own_fit,
            "validation": self.validation,
            "timings_s": self.timings_s,
            "notes": self.notes,
            "warnings": self.warnings,
        }

    @property
    def warnings(self) -> list[str]:
        """Every region's schedule warning (see :mod:`radiotrial.dosimetry._tia`)."""
        return [w for r in self.regions for w in r.warnings]

    def cycle_doses(self) -> list[CycleDose]:
        """This cycle's organ results in the form :func:`plan_next_cycle` takes."""
        out = [
            CycleDose(
                r.name,
                self.study.cycle,
                self.study.administered.gbq,
                r.dose_gy,
                r.bed_gy,
                r.bed_g_factor,
                r.alpha_beta_gy,
            )
            for r in self.regions
            if r.name in _PLANNED_ORGANS
        ]
        marrow = planning_marrow(self.marrow)
        if marrow is not None:
            out.append(
                CycleDose(
                    "red_marrow", self.study.cycle, self.study.administered.gbq, marrow.dose_gy
                )
            )
        return out


def _density(study: Study) -> Volume:
    if study.density is not None:
        return study.density
    from radiotrial.transport import ct_to_materials

    ct = study.sessions[0].ct
    if not ct.same_grid(study.labels):
        from radiotrial.imaging import resample

        ct = resample(ct, study.labels, method="linear")
    _, rho, _ = ct_to_materials(np.asarray(ct.array, dtype=np.float64))
    return ct.with_array(rho.astype(np.float64), units="g/cm3")


def _marrow(
    study: Study,
    q: Quantified,
    regions: list[RegionDose],
    notes: list[str],
) -> list[MarrowDose]:
    out: list[MarrowDose] = []
    truth = study.truth or {}
    sex = truth.get("sex", "female")
    total_g = value("red_marrow", "total_mass_g", sex)
    heart = next((r for r in study.regions if r.name == "heart"), None)
    if len(study.blood_samples) >= 2:
        t, c = np.asarray(study.blood_samples, dtype=np.float64).T
        out.append(
            red_marrow_blood_based(
                t,
                c,
                nuclide=study.nuclide,
                marrow_mass_g=total_g,
                source=f"{t.size} blood samples ({t[0]:g}–{t[-1]:g} h)",
            )
        )
    elif heart is not None:
        col = {int(v): i for i, v in enumerate(q.label_values)}
        lab = np.asarray(study.labels.array)
        vol_ml = float(np.isin(lab, heart.labels).sum()) * study.labels.voxel_volume_ml
        act = q.corrected_bq[:, [col[lb] for lb in heart.labels if lb in col]].sum(axis=1)
        blood = act / vol_ml
        # a late blood-pool value can be corrected down to zero by the partial-volume correction:
        # such scans are left out of the blood curve, never the whole method silently
        ok = blood > 0
        times_h = np.asarray(study.times_h, dtype=np.float64)
        if ok.sum() >= 2:
            source = "image-derived blood pool (heart); no blood samples"
            if not ok.all():
                left_out = ", ".join(f"{t:g}" for t in times_h[~ok])
                source += f"; scans at {left_out} h left out (blood-pool activity ≤ 0 after PVC)"
            out.append(
                red_marrow_blood_based(
                    times_h[ok],
                    blood[ok],
                    nuclide=study.nuclide,
                    marrow_mass_g=total_g,
                    image_derived=True,
                    calibration_rel_sd=value("uncertainty", "calibration_rsd"),
                    recovery_rel_sd=q.recovery_rsd(heart.labels),
                    source=source,
                )
            )
            first = float(times_h[ok][0])
            notes.append(
                f"blood-based red marrow from the image-derived blood pool: the blood curve "
                f"before {first:g} h (the distribution phase) is not seen; blood samples "
                "from minutes after injection measure it (study.json blood_samples)"
            )
        else:
            notes.append(
                "blood-based red marrow not computed: no blood samples and fewer than two "
                "scans with blood-pool activity > 0 after PVC"
            )
    sites = next((r for r in study.regions if r.kind == "bone"), None)
    labels_meta = truth.get("labels", {})
    if sites is not None and labels_meta:
        m_sites = sum(
            float(labels_meta[str(lb)].get("red_marrow_mass_g") or 0.0) for lb in sites.labels
        )
        dose = next((r for r in regions if r.name == sites.name), None)
        if m_sites > 0 and dose is not None:
            out.append(
                red_marrow_image_based(
                    dose.tia_bq_s,
                    dose.tia_sd_bq_s,
                    nuclide=study.nuclide,
                    sites_marrow_mass_g=m_sites,
                    marrow_mass_g=total_g,
                    first_scan_h=float(study.times_h[0]),
                )
            )
    elif sites is not None:
        notes.append("image-based red marrow needs the marrow content of the imaged bone sites")
    return out


def _organ_level(
    study: Study,
    voxels: VoxelTia,
    density: Volume,
    regions: list[RegionDose],
    s_table: PhantomSMatrix | None,
    notes: list[str],
) -> dict[str, dict[str, Any]]:
    """Organ-level MIRD doses (S matrix) for organs and sphere-model doses for tumours."""
    if not study.label_names:
        notes.append("organ-level MIRD skipped: the label map has no organ names")
        return {}
    lab = np.asarray(study.labels.array).astype(np.int64)
    voxel_mass = np.asarray(density.array) * study.labels.voxel_volume_ml
    mass = np.bincount(lab.ravel(), weights=voxel_mass.ravel())
    names = study.label_names
    tia = {names[lb]: t for lb, t in voxels.label_tia_bq_s.items() if lb in names}
    masses = {names[lb]: float(mass[lb]) for lb in voxels.label_tia_bq_s if lb in names}
    sex = (study.truth or {}).get("sex", "female")
    try:
        s = s_table or phantom_s_matrix(sex, study.nuclide)
    except InputFileError as exc:
        notes.append(f"organ-level MIRD skipped: {exc}")
        return {}
    label_dose = mird_label_doses(tia, masses, s)
    spec = {x.name: x for x in study.regions}
    # a label's TIA carries its reporting region's relative SD (TIA components only)
    region_of = {lb: r.name for r in study.regions for lb in r.labels}
    rel = {r.name: r.tia_sd_bq_s / r.tia_bq_s for r in regions if r.tia_bq_s > 0}
    tia_sd = {
        names[lb]: t * rel[region_of[lb]]
        for lb, t in voxels.label_tia_bq_s.items()
        if lb in names and region_of.get(lb) in rel
    }
    label_sd = mird_label_dose_sds(tia_sd, masses, s)
    method = (
        f"MIRD S matrix (user table {s.metadata.get('source', '')}; self-doses mass-scaled "
        "where it gives target_mass_g)"
        if s.sex == "custom"
        else f"MIRD S matrix ({s.sex} reference phantom, mass-scaled)"
    )
    out: dict[str, dict[str, Any]] = {}
    for r in regions:
        u_v = r.components_rsd["volume"]
        if r.kind == "tumour":
            rho = r.mass_g / r.volume_ml if r.volume_ml > 0 else 1.0
            d = sphere_dose_gy(study.nuclide, r.tia_bq_s, r.mass_g, rho)
            u_tia = r.tia_sd_bq_s / r.tia_bq_s if r.tia_bq_s > 0 else 0.0
            out[r.name] = {
                "dose_gy": d,
                "dose_sd_gy": d * math.hypot(u_tia, u_v),
                "method": "sphere model",
            }
            continue
        lbs = [names[lb] for lb in spec[r.name].labels if names.get(lb) in label_dose]
        m = sum(masses.get(n, 0.0) for n in lbs)
        if lbs and m > 0:
            d = sum(label_dose[n] * masses[n] for n in lbs) / m
            # the labels of one region share its errors: their SDs add linearly
            sd_tia = sum(label_sd[n] * masses[n] for n in lbs) / m
            out[r.name] = {
                "dose_gy": d,
                "dose_sd_gy": math.hypot(sd_tia, d * u_v),
                "method": method,
            }
    missing = sorted(n for n in set(tia) - set(s.regions) if not n.startswith("tumour"))
    if missing:
        notes.append(f"organ-level MIRD: no S-values for {', '.join(missing)}")
    return out


def run_dosimetry(
    study: Study,
    *,
    engine: Engine = "kernel",
    pvc: bool = True,
    protocol: Protocol | None = None,
    history: list[CycleDose] | None = None,
    kidney_risk_factors: bool = True,
    mc_histories: int = 2_000_000,
    s_table: PhantomSMatrix | None = None,
    validate: bool = True,
    progress: Callable[[str], None] | None = None,
) -> DosimetryResult:
    """Run one cycle's dosimetry for a study.

    Parameters
    ----------
    study : Study
    engine : {"led", "kernel", "mc"}
        Voxel dose engine (:func:`radiotrial.transport.compute_dose`).
    pvc : bool
        Geometric-transfer-matrix partial-volume correction of label activities.
    protocol : Protocol, optional
        For organ limits, LQ overrides and the next-cycle plan.
    history : list of CycleDose, optional
        Earlier cycles' organ results (cumulative dose and BED).
    s_table : PhantomSMatrix, optional
        S-values for the organ-level MIRD estimate (default: radiotrial's reference phantom of
        the patient's sex, mass-scaled; see :func:`load_s_table_csv` for a user's table).
    validate : bool
        With a virtual patient's ground truth, also compute the dose from the true TIA with the
        same engine and report the recovery of TIA and dose per region.
    """
    if engine not in ("led", "kernel", "mc"):
        raise ValidationError("engine", engine, "use one of led, kernel, mc")
    say = progress or (lambda _m: None)
    timings: dict[str, float] = {}
    notes: list[str] = []

    def timed(name: str, t0: float) -> None:
        timings[name] = time.perf_counter() - t0
        say(name)

    t0 = time.perf_counter()
    q = quantify(study, pvc=pvc)
    notes += q.notes
    timed("quantify", t0)
    t0 = time.perf_counter()
    kinetics = fit_regions(study, q, notes)
    timed("region fits", t0)
    t0 = time.perf_counter()
    voxels = voxel_tia(study, q)
    notes += voxels.notes
    timed("voxel TIA", t0)
    t0 = time.perf_counter()
    ct = study.sessions[0].ct
    ct_on_grid = ct if ct.same_grid(study.labels) else None
    dose = compute_dose(
        voxels.tia,
        nuclide=study.nuclide,
        ct_hu=ct_on_grid,
        method=engine,
        labels=study.labels,
        n_histories=mc_histories,
    )
    timed("dose", t0)
    density = _density(study)
    dose_map = study.labels.with_array(dose.dose_gy, units="Gy")
    lq = None
    if protocol is not None:
        lq = {
            t: (p.alpha_beta.to("Gy"), p.t_repair.to("h")) for t, p in protocol.radiobiology.items()
        }
        lq = {("kidney" if k == "kidneys" else k): v for k, v in lq.items()}
    regions = region_doses(
        study, dose, density, kinetics, quantified=q, tia=voxels.tia, lq_overrides=lq
    )
    marrow = _marrow(study, q, regions, notes)
    organ_level = _organ_level(study, voxels, density, regions, s_table, notes)
    tumours = {r.name: r.dose_gy for r in regions if r.kind == "tumour"}
    organs = {r.name: r.dose_gy for r in regions if r.name in _PLANNED_ORGANS}
    rm = planning_marrow(marrow)
    if rm is not None:
        organs["red_marrow"] = rm.dose_gy
    result = DosimetryResult(
        study=study,
        engine=engine,
        quantified=q,
        kinetics=kinetics,
        voxels=voxels,
        dose=dose,
        dose_map=dose_map,
        bed_map=study.labels.with_array(bed_map(study, dose.dose_gy, regions), units="Gy"),
        density=density,
        regions=regions,
        marrow=marrow,
        plan=None,
        therapeutic_index=therapeutic_index(tumours, organs),
        validation=None,
        timings_s=timings,
        notes=notes,
        organ_level=organ_level,
    )
    plan = None
    if protocol is not None:
        plan = plan_next_cycle(
            [*(history or []), *result.cycle_doses()],
            protocol,
            kidney_risk_factors=kidney_risk_factors,
        )
    validation = (
        _validate(study, result, engine, mc_histories) if validate and study.truth else None
    )
    return DosimetryResult(**{**result.__dict__, "plan": plan, "validation": validation})


def _validate(
    study: Study, result: DosimetryResult, engine: Engine, mc_histories: int
) -> dict[str, Any]:
    """Recovery of TIA and dose against a virtual patient's ground truth."""
    assert study.truth is not None and study.truth_tia is not None
    ct = study.sessions[0].ct
    true_dose = compute_dose(
        study.truth_tia,
        nuclide=study.nuclide,
        ct_hu=ct if ct.same_grid(study.labels) else None,
        method=engine,
        labels=study.labels,
        n_histories=mc_histories,
    )
    lab = np.asarray(study.labels.array).astype(np.int64)
    mass = np.asarray(result.density.array) * study.labels.voxel_volume_ml
    e_true = np.bincount(lab.ravel(), weights=(true_dose.dose_gy * mass).ravel())
    m_lab = np.bincount(lab.ravel(), weights=mass.ravel())
    out: dict[str, Any] = {"reference": f"dose from the true TIA map with the {engine} engine"}
    for r in result.regions:
        truth = study.truth["regions"].get(r.name, {})
        tia_true = truth.get("tia_in_field_bq_s")
        region = next(x for x in study.regions if x.name == r.name)
        d_true = float(e_true[list(region.labels)].sum() / m_lab[list(region.labels)].sum())
        out[r.name] = {
            "tia_ratio": None if not tia_true else r.tia_bq_s / tia_true,
            "dose_ratio": r.dose_gy / d_true if d_true > 0 else None,
            "true_dose_gy": d_true,
        }
    # red marrow: the whole-body marrow TIA of the ground truth and its self-dose with the
    # methods' own dose model (sphere S-value of the marrow mass)
    rm_true = study.truth["regions"].get("red_marrow", {}).get("tia_bq_s")
    if rm_true and result.marrow:
        rm_mass_g = result.marrow[0].mass_g
        d_true = self_dose_gy(study.nuclide, float(rm_true), rm_mass_g)
        out["red_marrow_methods"] = {
            m.method: {
                "tia_ratio": m.tia_bq_s / rm_true,
                "dose_ratio": m.dose_gy / d_true,
                "true_dose_gy": d_true,
                "z": (m.tia_bq_s - rm_true) / m.tia_sd_bq_s if m.tia_sd_bq_s > 0 else None,
            }
            for m in result.marrow
        }
    return out
