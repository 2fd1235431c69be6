"""Shared, module-cached phantoms (anatomy building dominates the test time)."""

from __future__ import annotations

import pytest

from radiotrial.phantom import Anatomy, VirtualPatient, make_anatomy, make_patient


@pytest.fixture(scope="session")
def female() -> Anatomy:
    return make_anatomy(sex="female", spacing_mm=4.8)


@pytest.fixture(scope="session")
def male() -> Anatomy:
    return make_anatomy(sex="male", spacing_mm=4.8)


@pytest.fixture(scope="session")
def small_patient() -> VirtualPatient:
    # 9.6 mm voxels and two sessions keep the integration tests fast
    return make_patient(
        seed=11, spacing_mm=9.6, time_points_h=[4, 48], tumours="liver:20,bone:5,lung:2"
    )
