"""A virtual patient and its dosimetry, made once per test session at a reduced grid."""

from __future__ import annotations

import pytest

from radiotrial.dosimetry import DosimetryResult, Study, run_dosimetry, study_from_virtual_patient
from radiotrial.phantom import VirtualPatient, make_patient
from radiotrial.protocol import bundled_protocol

# 9.6 mm voxels keep the suite fast; tumours of >= 10 mL still span several voxels
SPACING_MM = 9.6
TIMES_H = (1.0, 4.0, 24.0, 48.0, 168.0)


@pytest.fixture(scope="session")
def patient() -> VirtualPatient:
    return make_patient(
        seed=7, spacing_mm=SPACING_MM, tumours="liver:40,breast:30,bone:12", time_points_h=TIMES_H
    )


@pytest.fixture(scope="session")
def study(patient: VirtualPatient) -> Study:
    return study_from_virtual_patient(patient)


@pytest.fixture(scope="session")
def result(study: Study) -> DosimetryResult:
    return run_dosimetry(study, engine="kernel", protocol=bundled_protocol())
