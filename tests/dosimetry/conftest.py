"""Shared virtual patient (seed 7, the protocol's schedule) and its dosimetry."""

from __future__ import annotations

import pytest

from radiotrial.dosimetry import DosimetryResult, Study, study_from_virtual_patient
from radiotrial.phantom import VirtualPatient
from tests.dosimetry._virtual import PROTOCOL_TIMES_H, virtual_patient, virtual_result


@pytest.fixture(scope="session")
def patient() -> VirtualPatient:
    return virtual_patient(7, PROTOCOL_TIMES_H)


@pytest.fixture(scope="session")
def study(patient: VirtualPatient) -> Study:
    return study_from_virtual_patient(patient)


@pytest.fixture(scope="session")
def result() -> DosimetryResult:
    return virtual_result(7, PROTOCOL_TIMES_H)
