"""Shared synthetic data for the imaging tests (seeded, small)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from radiotrial.imaging import DicomStudy, Volume

SHANGHAI = timezone(timedelta(hours=8))
T_INJ = datetime(2025, 4, 1, 9, 0, tzinfo=SHANGHAI)


def oblique_direction() -> np.ndarray:
    """A right-handed rotation (10° about z then 5° about x): orthonormal by construction."""
    a, b = np.deg2rad(10.0), np.deg2rad(5.0)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    return rz @ rx


@pytest.fixture
def study() -> DicomStudy:
    return DicomStudy(patient_id="NEOB-001", patient_sex="F", study_datetime=T_INJ)


@pytest.fixture
def labels_ct() -> tuple[Volume, np.ndarray]:
    """CT (HU) with a sphere 'liver' and a ring 'tumour', on an oblique grid."""
    z, y, x = np.mgrid[0:8, 0:20, 0:24]
    lab = np.zeros((8, 20, 24), np.int32)
    lab[((x - 8) ** 2 + (y - 10) ** 2 + 4 * (z - 4) ** 2) < 30] = 1
    lab[((x - 17) ** 2 + (y - 10) ** 2) < 12] = 2
    lab[((x - 17) ** 2 + (y - 10) ** 2) < 3] = 0  # a hole: inner contour on RTSTRUCT
    ct = Volume(
        np.where(lab > 0, 60.0, -1000.0) + lab,
        spacing_mm=(3.0, 1.5, 2.0),
        origin_mm=(-10.0, 20.0, 30.0),
        direction=oblique_direction(),
        units="HU",
        acquisition_time=T_INJ + timedelta(hours=24),
    )
    return ct, lab


def run_dciodvfy(path: Path) -> str:
    """dciodvfy's report; the test fails on any 'Error' line."""
    exe = shutil.which("dciodvfy")
    if exe is None:
        pytest.skip("dciodvfy (Debian package dicom3tools) is not installed")
    res = subprocess.run([exe, str(path)], capture_output=True, text=True, timeout=60)
    return res.stdout + res.stderr
