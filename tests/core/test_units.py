"""Unit conversions: exact definitions (SI brochure 9th ed.; 1 Ci = 3.7e10 Bq)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from radiotrial.errors import UnitError, ValidationError
from radiotrial.units import Activity, convert, dimension_of, get_unit, known_units

T0 = datetime(2025, 4, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))


@pytest.mark.parametrize(
    ("value", "src", "dst", "expected"),
    [
        (7.4, "GBq", "mCi", 200.0),  # 1 mCi = 37 MBq exactly
        (1.0, "Ci", "GBq", 37.0),
        (1.0, "d", "h", 24.0),
        (1.0, "MeV", "J", 1.602176634e-13),  # exact since the 2019 SI revision
        (1.2, "g/dL", "g/L", 12.0),
        (1.5, "10^9/L", "/uL", 1500.0),
        (1500.0, "/µL", "×10⁹/L", 1.5),
        (2.0, "Gy", "mGy", 2000.0),
        (1.0, "cps/MBq", "cps/MBq", 1.0),
        (1.0, "lb", "kg", 0.45359237),  # international pound (1959), exact
        (154.0, "lbs", "g", 69_853.22498),
        (1.0, "µkat/L", "U/L", 60.0),  # 1 U = 1 µmol/min, 1 kat = 1 mol/s
        (0.58, "ukat/L", "IU/L", 34.8),
    ],
)
def test_exact_conversions(value: float, src: str, dst: str, expected: float) -> None:
    assert convert(value, src, dst) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("src", "dst"),
    [("GBq", "Gy"), ("g/dL", "10^9/L"), ("h", "mL"), ("umol/L", "mg/dL"), ("U/L", "umol/L")],
)
def test_mixing_dimensions_is_an_error(src: str, dst: str) -> None:
    with pytest.raises(UnitError, match="cannot convert"):
        convert(1.0, src, dst)


def test_unknown_unit_lists_valid_ones() -> None:
    with pytest.raises(UnitError, match="valid units: Bq"):
        get_unit("furlongs")


def test_array_conversion() -> None:
    out = convert(np.array([1.0, 2.0]), "GBq", "MBq")
    np.testing.assert_allclose(out, [1000.0, 2000.0])


def test_dimension_lookup() -> None:
    assert dimension_of("mL/min/1.73 m²") == "normalised_clearance"
    assert "GBq" in known_units("activity") and "Gy" not in known_units("activity")


@given(st.floats(min_value=1e-6, max_value=1e6), st.sampled_from(known_units("activity")))
def test_round_trip(value: float, unit: str) -> None:
    assert convert(convert(value, unit, "MBq"), "MBq", unit) == pytest.approx(value, rel=1e-9)


def test_activity_carries_reference_time_and_decays() -> None:
    a = Activity.from_value(7.4, "GBq", T0, "177Lu")
    assert a.nuclide == "Lu-177" and a.gbq == pytest.approx(7.4)
    later = a.at(T0 + timedelta(days=2 * 6.647))
    assert later.gbq == pytest.approx(7.4 / 4, rel=1e-12)
    assert later.reference_time == T0 + timedelta(days=2 * 6.647)
    assert a.to("mCi") == pytest.approx(200.0)


def test_activity_arithmetic_decay_corrects() -> None:
    syringe = Activity.from_value(7.6, "GBq", T0, "Lu-177")
    residual = Activity.from_value(0.2, "GBq", T0 + timedelta(days=6.647), "Lu-177")
    net = syringe - residual  # residual back-corrected to syringe time: 0.4 GBq
    assert net.gbq == pytest.approx(7.2, rel=1e-12)
    assert (net + residual).gbq == pytest.approx(7.6, rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"bq": -1.0, "reference_time": T0, "nuclide": "Lu-177"}, "≥ 0"),
        ({"bq": float("nan"), "reference_time": T0, "nuclide": "Lu-177"}, "finite"),
        (
            {"bq": 1.0, "reference_time": datetime(2025, 1, 1), "nuclide": "Lu-177"},
            "timezone-aware",
        ),
    ],
)
def test_invalid_activity(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        Activity(**kwargs)  # type: ignore[arg-type]


def test_activity_refuses_non_activity_unit_and_mixed_nuclides() -> None:
    with pytest.raises(UnitError, match="activity unit"):
        Activity.from_value(1.0, "Gy", T0, "Lu-177")
    with pytest.raises(ValidationError, match="cannot add"):
        _ = Activity(1.0, T0, "Lu-177") + Activity(1.0, T0, "Y-90")


def test_utc_and_local_times_agree() -> None:
    a = Activity(1e9, T0, "Lu-177")
    assert a.at(T0.astimezone(UTC)).bq == pytest.approx(1e9, rel=1e-15)
