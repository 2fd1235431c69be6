"""SDTM adverse events and DLT adjudication against the bundled protocol's DLT definition."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from radiotrial.errors import ValidationError
from radiotrial.protocol import DltDefinition, bundled_protocol
from radiotrial.safety import (
    AdverseEvent,
    SubjectSafety,
    adjudicate_dlt,
    dlt_outcomes,
    event_category,
    parse_adverse_event,
    parse_iso_date,
)

DOSE = date(2025, 6, 16)  # cycle 1 administration; 42-day window closes on 2025-07-28
DLT = bundled_protocol().dlt


def ae(seq: int = 1, **kw: Any) -> dict[str, Any]:
    base = {
        "USUBJID": "S1",
        "AESEQ": seq,
        "AETERM": "low platelets",
        "AEDECOD": "Platelet count decreased",
        "AETOXGR": 4,
        "AESER": "N",
        "AEREL": "POSSIBLY RELATED",
        "AESTDTC": "2025-07-10",
        "AEENDTC": "2025-07-18",
        "AEOUT": "RECOVERED/RESOLVED",
        "AEACN": "NOT APPLICABLE",
    }
    base.update(kw)
    return base


def adj(events: list[dict[str, Any]], as_of: date = date(2025, 8, 1), **kw: Any):  # type: ignore[no-untyped-def]
    return adjudicate_dlt(
        events,
        definition=kw.pop("definition", DLT),
        administrations={1: DOSE},
        as_of=as_of,
        subject_id="S1",
        **kw,
    )


def test_sdtm_record_parsing() -> None:
    a = parse_adverse_event(ae(AETOXGR="3", AEREL="NOT RELATED"))
    assert (a.AETOXGR, a.AEREL) == (3, "unrelated")
    assert event_category(a) == "haematologic"
    nh = parse_adverse_event(ae(AEDECOD="Nausea", AEBODSYS="Gastrointestinal disorders"))
    assert event_category(nh) == "non_haematologic"
    assert (
        event_category(
            parse_adverse_event(
                ae(AEDECOD="Pancytopenia", AEBODSYS="Blood and lymphatic system disorders")
            )
        )
        == "haematologic"
    )
    with pytest.raises(ValidationError, match="AETOXGR=6"):
        parse_adverse_event(ae(AETOXGR=6))
    with pytest.raises(ValidationError, match="AESTDTC='2025-02-30'.*impossible"):
        parse_adverse_event(ae(AESTDTC="2025-02-30"))
    with pytest.raises(ValidationError, match="before AESTDTC"):
        parse_adverse_event(ae(AEENDTC="2025-07-01"))
    with pytest.raises(ValidationError, match="FATAL"):
        parse_adverse_event(ae(AETOXGR=5, AEOUT="RECOVERED/RESOLVED"))
    with pytest.raises(ValidationError, match="AEOUT"):
        parse_adverse_event(ae(AEOUT="BETTER"))
    with pytest.raises(ValidationError, match="AESER.*missing"):
        parse_adverse_event({k: v for k, v in ae().items() if k != "AESER"})


def test_partial_iso_dates() -> None:
    assert parse_iso_date("2024-02", field="x").latest == date(2024, 2, 29)  # leap year
    assert parse_iso_date("2025", field="x").earliest == date(2025, 1, 1)
    assert parse_iso_date("2025-07-10T14:30+08:00", field="x").complete
    with pytest.raises(ValidationError, match="ISO 8601"):
        parse_iso_date("10/07/2025", field="AESTDTC")


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({}, "dlt"),  # related grade 4 haematologic in window (DLT-H)
        ({"AETOXGR": 3}, "not_dlt"),  # grade 3 haematologic is below DLT-H
        ({"AEREL": "UNLIKELY RELATED"}, "not_dlt"),  # attribution not possible/probable/definite
        ({"AEDECOD": "Fatigue", "AETOXGR": 3}, "dlt"),  # related grade 3 non-haematologic (DLT-NH)
        ({"AEDECOD": "Fatigue", "AETOXGR": 2}, "not_dlt"),
        (
            {"AESTDTC": "2025-07-27", "AEENDTC": None, "AEOUT": None},
            "dlt",
        ),  # day 41: last day in window
        (
            {"AESTDTC": "2025-07-28", "AEENDTC": None, "AEOUT": None},
            "not_dlt",
        ),  # day 42: window closed
        ({"AESTDTC": "2025-06-15", "AEENDTC": "2025-06-20"}, "not_dlt"),  # before administration
    ],
)
def test_event_rules(changes: dict[str, Any], status: str) -> None:
    out = adj([ae(**changes)])
    assert out.status == status, out.reason
    assert out.events[0].status == ("dlt" if status == "dlt" else "not_dlt")


def test_window_open_closed_and_followup() -> None:
    open_ = adj([ae(AETOXGR=2)], as_of=date(2025, 7, 20))
    assert open_.status == "pending" and open_.dlt is None and open_.followup_d == 34.0
    assert open_.windows == ((1, DOSE, date(2025, 7, 28)),)
    closed = adj([ae(AETOXGR=2)], as_of=date(2025, 7, 28))
    assert closed.status == "not_dlt" and closed.dlt is False and closed.followup_d == 42.0
    dlt = adj([ae(AESTDTC="2025-07-10")], as_of=date(2025, 7, 11))  # DLT before the window closes
    assert dlt.status == "dlt" and dlt.time_to_dlt_d == 24.0
    assert dlt.escalation_fields() == {"level": None, "dlt": True, "followup": 24.0}


def test_partial_onset_date_straddling_window_is_pending() -> None:
    out = adj([ae(AESTDTC="2025-07", AEENDTC=None, AEOUT=None)], as_of=date(2025, 8, 30))
    assert out.status == "pending" and "straddles" in out.events[0].reason
    inside = adj(
        [ae(AESTDTC="2025-07", AEENDTC=None, AEOUT=None)],
        definition=DltDefinition.model_validate(
            {**DLT.model_dump(), "window": {"value": 60, "unit": "d", "source": "test window"}}
        ),
        as_of=date(2025, 8, 30),
    )
    assert inside.status == "dlt"


def test_duration_rule() -> None:
    rules = [
        {
            "id": "DLT-H7",
            "category": "haematologic",
            "min_grade": 4,
            "attribution": ["possible", "probable", "definite"],
            "min_duration_days": 7,
            "text": "grade 4 haematologic lasting >= 7 days",
            "source": "test protocol",
        }
    ]
    d = DltDefinition.model_validate(
        {"window": {"value": 42, "unit": "d", "source": "test"}, "rules": rules}
    )
    short = adj([ae(AESTDTC="2025-07-10", AEENDTC="2025-07-15")], definition=d)
    assert short.status == "not_dlt" and "lasted 5 d" in short.events[0].reason
    long = adj([ae(AESTDTC="2025-07-10", AEENDTC="2025-07-17")], definition=d)
    assert long.status == "dlt"
    ongoing = adj(
        [ae(AESTDTC="2025-07-10", AEENDTC=None, AEOUT="NOT RECOVERED/NOT RESOLVED")],
        definition=d,
        as_of=date(2025, 7, 13),
    )
    assert ongoing.status == "pending" and "ongoing for 3 d" in ongoing.events[0].reason
    later = adj(
        [ae(AESTDTC="2025-07-10", AEENDTC=None, AEOUT=None)], definition=d, as_of=date(2025, 7, 30)
    )
    assert later.status == "dlt"


def test_not_evaluable_and_errors() -> None:
    out = adj([], as_of=date(2025, 8, 1), off_study=date(2025, 7, 1))
    assert out.status == "not_evaluable" and not out.evaluable and out.followup_d == 15.0
    with pytest.raises(ValidationError, match="USUBJID"):
        adj([ae(USUBJID="S9")])
    with pytest.raises(ValidationError, match="AESTDTC.*after the adjudication date"):
        adj([ae(AESTDTC="2025-08-05", AEENDTC=None)], as_of=date(2025, 8, 1))
    with pytest.raises(ValidationError, match="administration"):
        adjudicate_dlt(
            [], definition=DLT, administrations={}, as_of=date(2025, 8, 1), subject_id="S1"
        )


def test_trial_state_outcomes() -> None:
    subjects = [
        SubjectSafety("S1", {1: DOSE}, [ae()], dose_level=2),
        SubjectSafety("S2", {1: DOSE + timedelta(days=7)}, [], dose_level=2),
        SubjectSafety(
            "S3",
            {1: DOSE - timedelta(days=60)},
            [AdverseEvent.model_validate(ae(USUBJID="S3", AEDECOD="Nausea", AETOXGR=2))],
            dose_level=1,
        ),
    ]
    res = dlt_outcomes(subjects, bundled_protocol(), as_of=date(2025, 8, 1))
    assert [(r.subject_id, r.status, r.dose_level) for r in res] == [
        ("S1", "dlt", 2),
        ("S2", "pending", 2),
        ("S3", "not_dlt", 1),
    ]
    assert res[1].escalation_fields() == {"level": 2, "dlt": None, "followup": 39.0}
    assert res[0].to_dict()["events"][0]["rule_id"] == "DLT-H"


def test_rule_fit_terms_case_insensitive_and_stated_category() -> None:
    from radiotrial.safety import dlt_windows, onset_in_window, rule_fit

    rule = DltDefinition.model_validate(
        {
            "window": {"value": 42, "unit": "d", "source": "test"},
            "rules": [
                {
                    "id": "DLT-PLT",
                    "category": "any",
                    "min_grade": 4,
                    "attribution": ["possible", "probable", "definite"],
                    "terms": ["Platelet count decreased"],
                    "text": "t",
                    "source": "test",
                }
            ],
        }
    ).rules[0]
    a = parse_adverse_event(ae(AEDECOD="PLATELET COUNT DECREASED"))
    assert rule_fit(rule, a, as_of=date(2025, 8, 1))[0] is True
    other = parse_adverse_event(ae(AEDECOD="Anaemia"))
    fits, why = rule_fit(rule, other, as_of=date(2025, 8, 1))
    assert fits is False and "not one of the rule's terms" in why
    # the registry's stated category wins over the CTCAE one
    nh = DLT.rules[0]
    assert nh.category == "non_haematologic"
    assert rule_fit(nh, a, as_of=date(2025, 8, 1))[0] is False
    assert rule_fit(nh, a, as_of=date(2025, 8, 1), category="non_haematologic")[0] is True
    # the window: day 0 and day 41 in, day 42 (the closing day) out, by calendar day
    windows = dlt_windows(DLT, {1: DOSE})
    assert windows == ((1, DOSE, DOSE + timedelta(days=42)),)
    days = [onset_in_window(DOSE + timedelta(days=d), windows) for d in (-1, 0, 41, 42)]
    assert days == [False, True, True, False]
