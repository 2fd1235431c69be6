"""Virtual patients and their dosimetry at a reduced grid, each made once per test session."""

from __future__ import annotations

from functools import cache

from radiotrial.dosimetry import DosimetryResult, run_dosimetry, study_from_virtual_patient
from radiotrial.phantom import VirtualPatient, make_patient
from radiotrial.protocol import bundled_protocol

# 9.6 mm voxels keep the suite fast; tumours of >= 10 mL still span several voxels
SPACING_MM = 9.6
TUMOURS = "liver:40,breast:30,bone:12"
#: the protocol's imaging schedule (first scan at 4 h)
PROTOCOL_TIMES_H = tuple(float(t) for t in bundled_protocol().imaging_schedule.timepoints_h)
#: four scans of which two sample the fast early phase (docs/dosimetry.md)
EARLY_TIMES_H = (2.0, 6.0, 24.0, 96.0)
#: blood samples as drawn for the blood-based red marrow (EANM 2010: minutes to days)
BLOOD_SAMPLES_H = (0.25, 0.5, 1.0, 2.0, 4.0, 24.0, 48.0, 168.0)


@cache
def virtual_patient(seed: int, times_h: tuple[float, ...]) -> VirtualPatient:
    return make_patient(seed=seed, spacing_mm=SPACING_MM, tumours=TUMOURS, time_points_h=times_h)


@cache
def virtual_result(
    seed: int, times_h: tuple[float, ...], blood_samples_h: tuple[float, ...] = ()
) -> DosimetryResult:
    """Kernel-engine dosimetry of one virtual patient, validated against its ground truth."""
    study = study_from_virtual_patient(
        virtual_patient(seed, times_h), blood_sample_times_h=blood_samples_h
    )
    return run_dosimetry(study, engine="kernel", protocol=bundled_protocol())
