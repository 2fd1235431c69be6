"""Volume geometry checked against the DICOM PS3.3 C.7.6.2.1.1 equation written out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from radiotrial.errors import UnitError, ValidationError
from radiotrial.imaging import Volume


def _oblique() -> np.ndarray:
    # rotation of 30° about LPS z: orthonormal by construction
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def test_affine_matches_dicom_equation() -> None:
    d = _oblique()
    v = Volume(
        np.zeros((4, 5, 6)), spacing_mm=(3.0, 2.0, 1.5), origin_mm=(10, -20, 30), direction=d
    )
    i, j, k = 5, 4, 3
    # PS3.3 C.7.6.2.1.1: P = S + i Δi X + j Δj Y (+ k Δk Z for the slice stack)
    expected = np.array([10, -20, 30]) + i * 1.5 * d[:, 0] + j * 2.0 * d[:, 1] + k * 3.0 * d[:, 2]
    np.testing.assert_allclose(v.index_to_lps([i, j, k]), expected, atol=1e-12)
    np.testing.assert_allclose(v.affine @ [i, j, k, 1], [*expected, 1], atol=1e-12)
    np.testing.assert_allclose(v.lps_to_index(expected), [i, j, k], atol=1e-12)


def test_immutable_and_copies_input() -> None:
    a = np.ones((2, 2, 2))
    v = Volume(a, spacing_mm=(1, 1, 1), units="Bq")
    a[0, 0, 0] = 5.0
    assert v.array[0, 0, 0] == 1.0
    with pytest.raises(ValueError, match="read-only"):
        v.array[0, 0, 0] = 2.0
    with pytest.raises(AttributeError):
        v.units = "HU"  # type: ignore[misc]


def test_voxel_volume_and_total() -> None:
    v = Volume(np.full((2, 3, 4), 2.0), spacing_mm=(10.0, 10.0, 10.0), units="Bq/mL")
    assert v.voxel_volume_ml == pytest.approx(1.0, rel=1e-15)  # 1000 mm³ = 1 mL exactly
    assert v.total() == pytest.approx(48.0, rel=1e-15)
    assert v.with_array(v.array, units="Bq").total() == pytest.approx(48.0, rel=1e-15)


def test_same_grid_and_with_array() -> None:
    v = Volume(np.zeros((2, 3, 4)), spacing_mm=(1, 1, 1), units="HU")
    w = v.with_array(np.ones((2, 3, 4)), units="g/cm3")
    assert v.same_grid(w)
    assert w.units == "g/cm3"
    moved = Volume(w.array, spacing_mm=(1, 1, 1), origin_mm=(0, 0, 0.5), units="g/cm3")
    assert not v.same_grid(moved)
    with pytest.raises(ValidationError, match="shape"):
        v.with_array(np.zeros((3, 3, 3)))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"spacing_mm": (1, 0, 1)}, "spacing_mm"),
        ({"spacing_mm": (1, 1)}, "spacing_mm"),
        ({"origin_mm": (0, np.nan, 0)}, "origin_mm"),
        ({"direction": [[1, 0, 0], [0, 1, 0], [0, 1, 0]]}, "direction"),
        ({"units": "furlongs"}, "units"),
        ({"acquisition_time": datetime(2025, 4, 1, 9, 0)}, "acquisition_time"),
    ],
)
def test_bad_geometry_refused(kwargs: dict[str, object], match: str) -> None:
    base: dict[str, object] = {"spacing_mm": (1, 1, 1)}
    base.update(kwargs)
    with pytest.raises(ValidationError, match=match):
        Volume(np.zeros((2, 2, 2)), **base)  # type: ignore[arg-type]


def test_unknown_unit_is_unit_error() -> None:
    with pytest.raises(UnitError, match="Bq/mL"):
        Volume(np.zeros((1, 1, 1)), spacing_mm=(1, 1, 1), units="BQML")


def test_acquisition_time_kept() -> None:
    t = datetime(2025, 4, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    v = Volume(np.zeros((1, 1, 1)), spacing_mm=(1, 1, 1), acquisition_time=t)
    assert v.geometry()["acquisition_time"] == "2025-04-01T09:30:00+08:00"
    assert v.with_time(datetime(2025, 4, 2, tzinfo=UTC)).acquisition_time == datetime(
        2025, 4, 2, tzinfo=UTC
    )
