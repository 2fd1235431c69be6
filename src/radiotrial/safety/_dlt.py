"""Dose-limiting toxicity (DLT) adjudication from the protocol's DLT definition and window.

An adverse event is a DLT when any rule of ``protocol.dlt.rules`` holds for it: its category
(haematologic / non-haematologic / any, and the rule's term list if any), CTCAE grade
(AETOXGR ≥ ``min_grade``), attribution (AEREL in ``attribution``), onset inside the DLT window
of an evaluated cycle, and, where the rule has ``min_duration_days``, a duration at least that
long. Each test is three-valued: a partial onset date straddling the window edge, or an ongoing
event not yet long enough, leaves the event *pending*.

Window: the ``window`` days counted by calendar day from the administration of each evaluated
cycle, day 0 (administration) to day ``window − 1``; it closes on day ``window`` (a 42-day window
for a dose on 1 June closes on 13 July, and an event with onset on 13 July is outside it). This
is the protocol's meaning: its DLT window is one cycle (``dlt.window`` = ``cycle_interval`` =
6 weeks in the bundled protocol), and day 42 is the day the next cycle is given, so an event
that day belongs to the next cycle. This module is the one home of the window and of the rule
checks; :mod:`radiotrial.services` calls :func:`dlt_windows`, :func:`onset_in_window` and
:func:`rule_fit`. A patient is

* ``dlt`` as soon as one event is a DLT (even before the window closes);
* ``not_dlt`` once every evaluated window has closed with no DLT and no pending event;
* ``not_evaluable`` when the patient left the study before the window closed without a DLT
  (usually replaced in the cohort);
* ``pending`` otherwise.

Duration is the elapsed time AEENDTC − AESTDTC in days (one AE row per episode at one grade).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from radiotrial.errors import ValidationError
from radiotrial.protocol import DltDefinition, DltRule, Protocol
from radiotrial.safety._ae import (
    AdverseEvent,
    IsoDateInterval,
    event_category,
    parse_adverse_event,
)

__all__ = [
    "DltOutcome",
    "DltStatus",
    "DltWindow",
    "EventAdjudication",
    "SubjectSafety",
    "adjudicate_dlt",
    "dlt_outcomes",
    "dlt_windows",
    "onset_in_window",
    "rule_fit",
]

DltStatus = Literal["dlt", "not_dlt", "pending", "not_evaluable"]
EventStatus = Literal["dlt", "not_dlt", "pending"]
Category = Literal["haematologic", "non_haematologic"]
DltWindow = tuple[int, date, date]  # (cycle, first day, closing day: the first day outside)


@dataclass(frozen=True, slots=True)
class EventAdjudication:
    """The DLT verdict on one adverse event."""

    AESEQ: int
    AEDECOD: str
    AETOXGR: int
    status: EventStatus
    rule_id: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "AESEQ": self.AESEQ,
            "AEDECOD": self.AEDECOD,
            "AETOXGR": self.AETOXGR,
            "status": self.status,
            "rule_id": self.rule_id,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class DltOutcome:
    """Per-patient DLT outcome: the input of the escalation engine's trial state.

    Attributes
    ----------
    followup_d : float
        Days observed in the DLT window(s) so far; for a DLT patient, the time to the first
        DLT onset (what time-to-event designs such as TITE-CRM/TITE-BOIN need).
    """

    subject_id: str
    dose_level: int | None
    status: DltStatus
    window_d: float
    windows: tuple[tuple[int, date, date], ...]  # (cycle, first day, closing day)
    window_closed: bool
    followup_d: float
    time_to_dlt_d: float | None
    events: tuple[EventAdjudication, ...]
    reason: str

    @property
    def dlt(self) -> bool | None:
        """``True`` DLT, ``False`` window completed without DLT, ``None`` pending/not evaluable."""
        return {"dlt": True, "not_dlt": False}.get(self.status)

    @property
    def evaluable(self) -> bool:
        return self.status != "not_evaluable"

    def escalation_fields(self) -> dict[str, Any]:
        """``level``, ``dlt``, ``followup`` as :class:`radiotrial.escalation.Patient` takes them."""
        return {"level": self.dose_level, "dlt": self.dlt, "followup": self.followup_d}

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject_id": self.subject_id,
            "dose_level": self.dose_level,
            "status": self.status,
            "dlt": self.dlt,
            "window_d": self.window_d,
            "windows": [
                {"cycle": c, "first_day": s.isoformat(), "closes_on": e.isoformat()}
                for c, s, e in self.windows
            ],
            "window_closed": self.window_closed,
            "followup_d": self.followup_d,
            "time_to_dlt_d": self.time_to_dlt_d,
            "events": [e.to_dict() for e in self.events],
            "reason": self.reason,
        }


@dataclass(frozen=True)
class SubjectSafety:
    """What DLT adjudication needs about one treated subject."""

    subject_id: str
    administrations: Mapping[int, date]  # cycle number → administration date
    events: Sequence[AdverseEvent | Mapping[str, Any]] = ()
    dose_level: int | None = None
    off_study: date | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _tri_and(*values: bool | None) -> bool | None:
    if any(v is False for v in values):
        return False
    if all(v is True for v in values):
        return True
    return None


def dlt_windows(
    definition: DltDefinition, administrations: Mapping[int, date]
) -> tuple[DltWindow, ...]:
    """The DLT window of each evaluated cycle given so far: (cycle, day 0, closing day)."""
    span = timedelta(days=float(definition.window.to("d")))
    return tuple(
        (c, administrations[c], administrations[c] + span)
        for c in sorted(definition.evaluated_cycles)
        if c in administrations
    )


def onset_in_window(
    onset: AdverseEvent | IsoDateInterval | date, windows: Sequence[DltWindow]
) -> bool | None:
    """Whether an event's onset (AESTDTC) lies in a window (day 0 ≤ onset < closing day);
    ``None`` when a partial onset date straddles a window edge."""
    if isinstance(onset, AdverseEvent):
        s = onset.start
    elif isinstance(onset, date):
        s = IsoDateInterval(onset.isoformat(), onset, onset)
    else:
        s = onset
    if any(w0 <= s.earliest and s.latest < w1 for _, w0, w1 in windows):
        return True
    if all(s.latest < w0 or s.earliest >= w1 for _, w0, w1 in windows):
        return False
    return None


def _duration_ok(ae: AdverseEvent, min_days: float, as_of: date) -> tuple[bool | None, str]:
    s = ae.start
    end = ae.end
    if end is None:
        so_far = (as_of - s.latest).days
        if so_far >= min_days:
            return True, f"ongoing for ≥ {so_far} d (≥ {min_days:g} d)"
        return None, f"ongoing for {so_far} d so far, needs ≥ {min_days:g} d"
    shortest = (end.earliest - s.latest).days
    longest = (end.latest - s.earliest).days
    if shortest >= min_days:
        return True, f"lasted {shortest} d (≥ {min_days:g} d)"
    if longest < min_days:
        return False, f"lasted {longest} d (< {min_days:g} d)"
    return None, f"partial dates: lasted {shortest}–{longest} d, rule needs ≥ {min_days:g} d"


def _misfit(rule: DltRule, ae: AdverseEvent, cat: Category) -> str | None:
    """Why the rule's category, terms, grade or attribution exclude ``ae`` (None: they fit)."""
    if rule.category != "any" and rule.category != cat:
        return f"{cat.replace('_', '-')} event, rule is {rule.category}"
    if rule.terms and ae.AEDECOD.casefold() not in {t.casefold() for t in rule.terms}:
        return f"{ae.AEDECOD} is not one of the rule's terms"
    if rule.min_grade > ae.AETOXGR:
        return f"grade {ae.AETOXGR} < {rule.min_grade}"
    if ae.AEREL not in rule.attribution:
        return f"attribution '{ae.AEREL}' not in {'/'.join(rule.attribution)}"
    return None


def _duration(rule: DltRule, ae: AdverseEvent, as_of: date) -> tuple[bool | None, list[str]]:
    if rule.min_duration_days is None:
        return True, []
    ok, text = _duration_ok(ae, rule.min_duration_days, as_of)
    return ok, [text]


def rule_fit(
    rule: DltRule, ae: AdverseEvent, *, as_of: date, category: Category | None = None
) -> tuple[bool | None, str]:
    """Whether ``ae`` has what ``rule`` asks, apart from the window: category (and the rule's
    terms, matched against AEDECOD case-insensitively), grade, attribution and duration.

    ``category`` replaces :func:`event_category` where the record states it (the registry
    keeps the reporter's haematologic flag). Returns the three-valued verdict (``None``: an
    ongoing event not yet long enough, or partial dates) and its reason.
    """
    cat = category or event_category(ae)
    why = _misfit(rule, ae, cat)
    if why is not None:
        return False, f"{rule.id}: {why}"
    ok, parts = _duration(rule, ae, as_of)
    head = f"{cat.replace('_', '-')} grade {ae.AETOXGR}, {ae.AEREL}"
    return ok, f"{rule.id}: " + "; ".join([head, *parts])


def _rule_verdict(
    rule: DltRule,
    ae: AdverseEvent,
    windows: Sequence[DltWindow],
    as_of: date,
    category: Category | None,
) -> tuple[bool | None, str]:
    cat = category or event_category(ae)
    why = _misfit(rule, ae, cat)
    if why is not None:
        return False, f"{rule.id}: {why}"
    in_win = onset_in_window(ae, windows)
    if in_win is False:
        return False, f"{rule.id}: onset {ae.AESTDTC} outside the DLT window"
    where = (
        f"onset {ae.AESTDTC} in window"
        if in_win
        else f"onset {ae.AESTDTC}: partial date straddles the window edge"
    )
    ok, parts = _duration(rule, ae, as_of)
    head = f"{cat.replace('_', '-')} grade {ae.AETOXGR}, {ae.AEREL}"
    return _tri_and(in_win, ok), f"{rule.id}: " + "; ".join([head, where, *parts])


def _adjudicate_event(
    ae: AdverseEvent,
    definition: DltDefinition,
    windows: Sequence[DltWindow],
    as_of: date,
    category: Category | None,
) -> EventAdjudication:
    reasons_no: list[str] = []
    pending: list[str] = []
    for rule in definition.rules:
        verdict, why = _rule_verdict(rule, ae, windows, as_of, category)
        if verdict is True:
            return EventAdjudication(
                ae.AESEQ, ae.AEDECOD, ae.AETOXGR, "dlt", rule.id, f"DLT by {why}"
            )
        (pending if verdict is None else reasons_no).append(why)
    if pending:
        return EventAdjudication(
            ae.AESEQ, ae.AEDECOD, ae.AETOXGR, "pending", None, "pending: " + " | ".join(pending)
        )
    return EventAdjudication(
        ae.AESEQ, ae.AEDECOD, ae.AETOXGR, "not_dlt", None, "not a DLT: " + " | ".join(reasons_no)
    )


def adjudicate_dlt(
    events: Iterable[AdverseEvent | Mapping[str, Any]],
    *,
    definition: DltDefinition,
    administrations: Mapping[int, date],
    as_of: date,
    subject_id: str,
    dose_level: int | None = None,
    off_study: date | None = None,
    categories: Mapping[int, Category] | None = None,
) -> DltOutcome:
    """Adjudicate one patient's adverse events against the protocol's DLT definition.

    Parameters
    ----------
    events : iterable of AdverseEvent or mapping
        The patient's AE records (SDTM AE variables); mappings are validated.
    definition : DltDefinition
        ``protocol.dlt``: the window and the rules.
    administrations : mapping of int to date
        Administration date per cycle number (at least the first evaluated cycle).
    as_of : date
        Date of the adjudication; no AE may start after it.
    subject_id : str
        USUBJID of the patient; every event must carry it.
    dose_level : int, optional
        1-based dose level given (carried to the escalation trial state).
    off_study : date, optional
        Date the patient left the study (withdrawal, death from progression, ...).
    categories : mapping of int to str, optional
        Haematologic or not per AESEQ where the record states it (default
        :func:`event_category`).

    Returns
    -------
    DltOutcome

    Raises
    ------
    ValidationError
        Events of another subject, onset after ``as_of``, no administration of the first
        evaluated cycle.
    """
    window_d = float(definition.window.to("d"))
    first = min(definition.evaluated_cycles)
    if first not in administrations:
        raise ValidationError(
            "administrations",
            dict(administrations),
            f"no administration date for evaluated cycle {first}",
        )
    windows = dlt_windows(definition, administrations)
    missing_cycles = [c for c in definition.evaluated_cycles if c not in administrations]
    parsed = [parse_adverse_event(e) for e in events]
    for ae in parsed:
        if subject_id != ae.USUBJID:
            raise ValidationError(
                "USUBJID", ae.USUBJID, f"AE {ae.AESEQ} belongs to another subject than {subject_id}"
            )
        if ae.start.earliest > as_of:
            raise ValidationError(
                "AESTDTC", ae.AESTDTC, f"AE {ae.AESEQ} starts after the adjudication date {as_of}"
            )
    cats = categories or {}
    verdicts = tuple(
        _adjudicate_event(ae, definition, windows, as_of, cats.get(ae.AESEQ)) for ae in parsed
    )
    observed_to = as_of if off_study is None else min(as_of, off_study)
    closed = not missing_cycles and all(as_of >= w1 for _, _, w1 in windows)
    followup = float(sum(min(max((observed_to - w0).days, 0), window_d) for _, w0, _ in windows))
    dlts = [(v, ae) for v, ae in zip(verdicts, parsed, strict=True) if v.status == "dlt"]
    if dlts:
        t0 = windows[0][1]
        ttd = float(min((ae.start.earliest - t0).days for _, ae in dlts))
        ids = ", ".join(
            f"AE {v.AESEQ} {v.AEDECOD} (grade {v.AETOXGR}, {v.rule_id})" for v, _ in dlts
        )
        return DltOutcome(
            subject_id,
            dose_level,
            "dlt",
            window_d,
            windows,
            closed,
            ttd,
            ttd,
            verdicts,
            f"DLT: {ids}",
        )
    n_pending = sum(v.status == "pending" for v in verdicts)
    left_early = off_study is not None and (
        missing_cycles or any(off_study < w1 for _, _, w1 in windows)
    )
    if n_pending:
        status: DltStatus = "pending"
        reason = f"{n_pending} event(s) awaiting adjudication data"
    elif left_early:
        status = "not_evaluable"
        reason = f"left the study on {off_study} before the DLT window closed, without a DLT"
    elif closed:
        status = "not_dlt"
        reason = f"DLT window closed on {max(w1 for _, _, w1 in windows)} without a DLT"
    else:
        status = "pending"
        if missing_cycles:
            reason = f"evaluated cycle(s) {missing_cycles} not yet given"
        else:
            closes = max(w1 for _, _, w1 in windows)
            reason = f"DLT window open until {closes} (day {followup:g} of {window_d:g})"
    return DltOutcome(
        subject_id, dose_level, status, window_d, windows, closed, followup, None, verdicts, reason
    )


def dlt_outcomes(
    subjects: Iterable[SubjectSafety], protocol: Protocol | DltDefinition, *, as_of: date
) -> list[DltOutcome]:
    """Per-patient DLT outcomes for the escalation engine's trial state, in the given order."""
    definition = protocol.dlt if isinstance(protocol, Protocol) else protocol
    return [
        adjudicate_dlt(
            s.events,
            definition=definition,
            administrations=s.administrations,
            as_of=as_of,
            subject_id=s.subject_id,
            dose_level=s.dose_level,
            off_study=s.off_study,
        )
        for s in subjects
    ]
