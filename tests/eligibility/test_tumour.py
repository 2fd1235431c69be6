"""HER2 (ASCO/CAP 2018), RECIST 1.1 measurability and the 68Ga-NeoB PET rule."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radiotrial.eligibility import (
    Measurability,
    her2_status,
    ish_group,
    lesion_measurability,
    neob_pet_positive,
)
from radiotrial.errors import ValidationError


@pytest.mark.parametrize(
    ("ratio", "copies", "group"),
    [
        (2.0, 4.0, 1),  # boundaries are inclusive (">= 2.0", ">= 4.0")
        (3.5, 8.0, 1),
        (2.0, 3.9, 2),
        (1.99, 6.0, 3),
        (1.5, 5.99, 4),
        (1.5, 4.0, 4),
        (1.2, 3.99, 5),
    ],
)
def test_ish_groups_wolff_2018(ratio: float, copies: float, group: int) -> None:
    assert ish_group(ratio, copies) == group


@pytest.mark.parametrize(
    ("ihc", "ratio", "copies", "result", "expected"),
    [
        # IHC alone (Wolff 2018, Fig. 1): 0/1+ negative, 3+ positive, 2+ equivocal
        ("0", None, None, None, "negative"),
        ("1+", None, None, None, "negative"),
        ("3+", None, None, None, "positive"),
        ("2+", None, None, None, None),
        # dual-probe ISH with concurrent IHC (Wolff 2018, Figs. 3-6)
        ("2+", 2.2, 5.0, None, "positive"),  # group 1
        ("2+", 2.4, 3.0, None, "negative"),  # group 2, IHC 2+
        ("3+", 2.4, 3.0, None, "positive"),  # group 2, IHC 3+
        ("2+", 1.4, 7.0, None, "positive"),  # group 3, IHC 2+
        ("1+", 1.4, 7.0, None, "negative"),  # group 3, IHC 1+
        ("2+", 1.4, 5.0, None, "negative"),  # group 4, IHC 2+
        ("3+", 1.4, 5.0, None, "positive"),  # group 4, IHC 3+
        ("2+", 1.1, 2.0, None, "negative"),  # group 5
        (None, 1.4, 7.0, None, None),  # group 3 needs the concurrent IHC
        ("2+", None, None, "negative", "negative"),
        ("2+", None, None, "positive", "positive"),
        ("3+", None, None, "negative", None),  # discordant: pathologist review
    ],
)
def test_her2_status_asco_cap_2018(ihc, ratio, copies, result, expected) -> None:  # type: ignore[no-untyped-def]
    status, reason = her2_status(
        ihc, ish_ratio=ratio, ish_copies_per_cell=copies, ish_result=result
    )
    assert status == expected
    assert reason


def test_ish_group_rejects_impossible_values() -> None:
    with pytest.raises(ValidationError, match="ish_ratio"):
        ish_group(0.0, 3.0)


@pytest.mark.parametrize(
    ("kind", "method", "long_mm", "short_mm", "slice_mm", "expected"),
    [
        ("non_nodal", "CT", 10.0, None, 5.0, True),  # Eisenhauer 2009 §3.1.1: >= 10 mm
        ("non_nodal", "CT", 9.9, None, 5.0, False),
        ("non_nodal", "CT", 15.0, None, 8.0, False),  # slices > 5 mm: >= 2 x slice = 16 mm
        ("non_nodal", "CT", 16.0, None, 8.0, True),
        ("non_nodal", "caliper", 10.0, None, None, True),
        ("non_nodal", "chest_xray", 19.0, None, None, False),  # chest X-ray: >= 20 mm
        ("lymph_node", "CT", 20.0, 15.0, 5.0, True),  # node short axis >= 15 mm
        ("lymph_node", "CT", 20.0, 14.9, 5.0, False),
        ("bone_soft_tissue", "MRI", 12.0, None, 3.0, True),
        ("bone_blastic", "CT", 30.0, None, 5.0, False),
        ("non_nodal", "PET", 30.0, None, None, False),
    ],
)
def test_recist_measurability(kind, method, long_mm, short_mm, slice_mm, expected) -> None:  # type: ignore[no-untyped-def]
    m = lesion_measurability(
        "L1",
        kind,
        method=method,
        long_axis_mm=long_mm,
        short_axis_mm=short_mm,
        slice_thickness_mm=slice_mm,
    )
    assert m.measurable is expected
    assert "L1" in m.reason


def test_recist_previously_irradiated() -> None:
    kw = {"method": "CT", "long_axis_mm": 30.0}
    assert not lesion_measurability("L", "non_nodal", previously_irradiated=True, **kw).measurable  # type: ignore[arg-type]
    assert lesion_measurability(
        "L",
        "non_nodal",
        previously_irradiated=True,
        progressed_after_irradiation=True,
        **kw,  # type: ignore[arg-type]
    ).measurable


def _m(i: int, measurable: bool) -> Measurability:
    return Measurability(f"L{i}", measurable, "")


def test_pet_rule_neoray() -> None:
    lesions = [_m(1, True), _m(2, False), _m(3, False), _m(4, True)]
    # 3/4 avid incl. measurable L1 -> positive
    assert neob_pet_positive(lesions, {"L1": True, "L2": True, "L3": True, "L4": False})[0] is True
    # exactly 50 % avid is not "> 50 %"
    assert (
        neob_pet_positive(lesions, {"L1": True, "L2": True, "L3": False, "L4": False})[0] is False
    )
    # > 50 % avid but no measurable avid lesion
    assert (
        neob_pet_positive(lesions, {"L1": False, "L2": True, "L3": True, "L4": False})[0] is False
    )
    # undecided while lesions are unread, decided once the unread cannot change it
    assert neob_pet_positive(lesions, {"L1": True, "L2": True})[0] is None
    assert neob_pet_positive(lesions, {"L1": True, "L2": True, "L3": True})[0] is True
    assert neob_pet_positive(lesions, {"L1": False, "L2": False, "L4": False})[0] is False


@given(
    st.lists(st.tuples(st.booleans(), st.sampled_from([True, False, None])), min_size=1, max_size=7)
)
def test_pet_rule_three_valued_logic_is_sound(spec: list[tuple[bool, bool | None]]) -> None:
    # Whenever the rule decides with unread lesions, every completion of the unread lesions
    # gives that same answer; when it is undecided, two completions disagree.
    lesions = [_m(i, meas) for i, (meas, _) in enumerate(spec)]
    avid = {f"L{i}": a for i, (_, a) in enumerate(spec) if a is not None}
    verdict = neob_pet_positive(lesions, avid)[0]
    unknown = [f"L{i}" for i, (_, a) in enumerate(spec) if a is None]
    outcomes = set()
    for combo in itertools.product([True, False], repeat=len(unknown)):
        full = dict(avid) | dict(zip(unknown, combo, strict=True))
        outcomes.add(neob_pet_positive(lesions, full)[0])
    assert None not in outcomes
    if verdict is None:
        assert outcomes == {True, False}
    else:
        assert outcomes == {verdict}
