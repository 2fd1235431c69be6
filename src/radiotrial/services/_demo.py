"""Seed a registry with a small synthetic phase 1 trial (the demo study).

:func:`seed_demo_trial` creates the staff accounts and then plays a trial forward in simulated
time through the public use cases of :mod:`radiotrial.services` only (every write audited, every
decision e-signed): virtual candidates are pre-screened, taken forward, screened with patient
records in the documented eligibility format, judged by the eligibility engine and signed off by
the investigator; eligible subjects are enrolled in cohorts at the level the protocol's
escalation design recommends; administrations are recorded from dose-calibrator readings,
followed by post-therapy SPECT/CT sessions, dosimetry results, adverse events drawn from a
stated toxicity model, rule-based DLT proposals and signed adjudications; after each cohort's
DLT window the design's decision is read back from :func:`trial_status`.

The scenario (toxicity model, screen-failure mix, calibrator practice, population dose
coefficients) is data: ``radiotrial/data/demo_trial.yaml``, every value flagged as a simulation
assumption. Nothing here is clinical data.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import json
import os
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from functools import cache, partial
from importlib import resources
from typing import Any, Literal

import numpy as np
import yaml

from radiotrial.errors import ValidationError
from radiotrial.registry import Actor, AuthenticationError, ConflictError
from radiotrial.services._context import ServiceContext
from radiotrial.services._eligibility import (
    CriterionDecision,
    decide_eligibility,
    evaluate_subject,
    record_patient_record,
)
from radiotrial.services._enrolment import enrol, trial_status
from radiotrial.services._reports import verify_audit
from radiotrial.services._safety import adjudicate_dlt, propose_dlt, report_adverse_event
from radiotrial.services._subjects import (
    change_status,
    open_screening,
    register_prescreen,
    take_forward,
)
from radiotrial.services._treatment import record_administration, record_dosimetry, record_imaging
from radiotrial.services._users import create_user
from radiotrial.units import Activity, check_aware

__all__ = [
    "DEMO_STAFF",
    "DemoCandidate",
    "DemoCohort",
    "DemoTrialSummary",
    "demo_scenario",
    "seed_demo_trial",
]

#: Site time of the FUSCC trial (China Standard Time, UTC+8, no daylight saving).
SITE_TZ = timezone(timedelta(hours=8), "CST")
#: Demo staff: role → (username, full name). Every account gets the same demo staff password.
DEMO_STAFF: dict[str, tuple[str, str]] = {
    "coordinator": ("coordinator", "Demo Trial Coordinator"),
    "investigator": ("investigator", "Demo Investigator (physician)"),
    "physicist": ("physicist", "Demo Medical Physicist"),
    "statistician": ("statistician", "Demo Trial Statistician"),
    "monitor": ("monitor", "Demo Monitor"),
}
ADMIN_PASSWORD_ENV = "RADIOTRIAL_ADMIN_PASSWORD"
STAFF_PASSWORD_ENV = "RADIOTRIAL_DEMO_PASSWORD"

# Schedule of one cohort, in days after its first pre-screening request (09:00 site time).
_TAKE_FORWARD_D = 1
_OPEN_SCREENING_D = 2
_ASSESSMENT_D = 3  # the patient record's assessment date (labs, imaging reads)
_EVIDENCE_D = 4
_DECISION_D = 5
_ENROL_D = 6
_FIRST_DOSE_D = 8  # cycle 1 of the first subject at 10:00; the others one day apart
_REVIEW_AFTER_DOSE_D = 43  # the DLT window (42 d) has closed; the design decides
_CYCLE_GAP_D = 43  # later cycles: the protocol's 6-week interval plus one day
_OPEN_COHORT_TAIL_D = 12  # the open cohort's last cycle-1 injection lies this long before the end

DosimetryMode = Literal["image", "population"]
CandidatePath = Literal["eligible", "ineligible", "pending", "not-taken-forward"]


@cache
def demo_scenario() -> dict[str, Any]:
    """The demo scenario (``radiotrial/data/demo_trial.yaml``), loaded once."""
    ref = resources.files("radiotrial.data").joinpath("demo_trial.yaml")
    data: dict[str, Any] = yaml.safe_load(ref.read_text("utf-8"))
    return data


@cache
def _template() -> dict[str, Any]:
    ref = resources.files("radiotrial.eligibility").joinpath("examples", "patient-eligible.json")
    data: dict[str, Any] = json.loads(ref.read_text("utf-8"))
    return data


# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DemoCandidate:
    """One virtual person of the demo: pseudonymous code and the path through screening.

    ``criteria`` names the criteria the eligibility engine found failing (ineligible) or
    pending (pending); ``cohort`` is set for enrolled subjects.
    """

    code: str
    path: CandidatePath
    expatriate: bool
    criteria: tuple[str, ...] = ()
    cohort: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.code,
            "path": self.path,
            "expatriate": self.expatriate,
            "criteria": list(self.criteria),
            "cohort": self.cohort,
        }


@dataclass(frozen=True)
class DemoCohort:
    """A cohort of the demo trial and the design's decision once its DLT window closed.

    ``opened_by`` is the decision stored with the cohort when it opened; ``decision`` the
    design's recommendation after the cohort (``None`` while its DLT window is open).
    """

    number: int
    dose_level: int
    activity_gbq: float
    subjects: tuple[str, ...]
    n_dlt: int
    opened_by: dict[str, Any]
    decision: dict[str, Any] | None
    reference_subject: str | None = None
    kidney_gy_per_gbq: float | None = None

    @property
    def complete(self) -> bool:
        return self.decision is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "cohort": self.number,
            "dose_level": self.dose_level,
            "activity_gbq": self.activity_gbq,
            "subjects": list(self.subjects),
            "n_dlt": self.n_dlt,
            "complete": self.complete,
            "opened_by": self.opened_by,
            "decision": self.decision,
            "reference_subject": self.reference_subject,
            "kidney_gy_per_gbq": self.kidney_gy_per_gbq,
        }


@dataclass(frozen=True)
class DemoTrialSummary:
    """What :func:`seed_demo_trial` did.

    Passwords are ``None`` when they came from the environment (the caller knows them);
    a generated one is shown here once and never stored in clear anywhere.
    """

    protocol_id: str
    design: str
    seed: int
    started_at: datetime
    ended_at: datetime
    admin_username: str
    admin_password: str | None
    staff: dict[str, str]
    staff_password: str | None
    dosimetry_method: str
    candidates: tuple[DemoCandidate, ...]
    cohorts: tuple[DemoCohort, ...]
    patients_per_level: dict[int, int]
    dlts_per_level: dict[int, int]
    outcomes: str
    recommendation: dict[str, Any]
    counts: dict[str, int]
    audit_entries: int
    audit_ok: bool
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self, *, include_secrets: bool = False) -> dict[str, Any]:
        """JSON-ready summary; passwords only with ``include_secrets``."""
        paths: dict[str, int] = {}
        for c in self.candidates:
            paths[c.path] = paths.get(c.path, 0) + 1
        out = {
            "protocol": self.protocol_id,
            "design": self.design,
            "seed": self.seed,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat(),
            "admin": self.admin_username,
            "staff": self.staff,
            "dosimetry_method": self.dosimetry_method,
            "screening": {
                **paths,
                "expatriates": sum(c.expatriate for c in self.candidates),
                "total": len(self.candidates),
            },
            "candidates": [c.to_dict() for c in self.candidates],
            "cohorts": [c.to_dict() for c in self.cohorts],
            "patients_per_level": {str(k): v for k, v in self.patients_per_level.items()},
            "dlts_per_level": {str(k): v for k, v in self.dlts_per_level.items()},
            "outcomes": self.outcomes,
            "recommendation": self.recommendation,
            "counts": self.counts,
            "audit": {"entries": self.audit_entries, "ok": self.audit_ok},
            "elapsed_s": self.elapsed_s,
            "notes": self.notes,
        }
        if include_secrets:
            out["admin_password"] = self.admin_password
            out["staff_password"] = self.staff_password
        return out


# --------------------------------------------------------------------------------------------
class _SimClock:
    """The simulated wall clock the use cases read through ``ServiceContext.clock``."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@dataclass
class _Candidate:
    index: int
    cohort: int
    path: CandidatePath
    expatriate: bool
    criteria: tuple[str, ...]
    identity: dict[str, Any]
    record: dict[str, Any] | None = None
    code: str = ""
    enrolled_cohort: int | None = None
    found: tuple[str, ...] = ()


@dataclass
class _Target:
    """A dosimetry target's per-GBq coefficients from a cohort's reference analysis."""

    name: str
    gy_per_gbq: float
    g_factor: float | None = None
    alpha_beta_gy: float | None = None

    def dose(self, activity_gbq: float) -> tuple[float, float | None]:
        d = self.gy_per_gbq * activity_gbq
        if self.g_factor is None or not self.alpha_beta_gy:
            return d, None
        # BED = D (1 + G D / (α/β)); G depends on the dose-rate shape only, not its scale
        return d, d * (1.0 + self.g_factor * d / self.alpha_beta_gy)


@dataclass
class _CohortLog:
    number: int
    dose_level: int = 0
    activity_gbq: float = 0.0
    opened_by: dict[str, Any] = field(default_factory=dict)
    subjects: list[str] = field(default_factory=list)
    start: datetime | None = None
    decision: dict[str, Any] | None = None
    reference: str | None = None
    targets: list[_Target] = field(default_factory=list)


_FAMILY = [
    ("Wang", "王"),
    ("Li", "李"),
    ("Zhang", "张"),
    ("Liu", "刘"),
    ("Chen", "陈"),
    ("Yang", "杨"),
    ("Huang", "黄"),
    ("Zhao", "赵"),
    ("Wu", "吴"),
    ("Zhou", "周"),
    ("Xu", "徐"),
    ("Sun", "孙"),
    ("Ma", "马"),
    ("Zhu", "朱"),
    ("Hu", "胡"),
]
_GIVEN = [
    ("Fang", "芳"),
    ("Min", "敏"),
    ("Jing", "静"),
    ("Li", "丽"),
    ("Yan", "燕"),
    ("Xia", "霞"),
    ("Hong", "红"),
    ("Mei", "梅"),
    ("Ying", "英"),
    ("Hui", "慧"),
    ("Lan", "兰"),
    ("Qing", "青"),
    ("Yun", "云"),
    ("Lin", "琳"),
    ("Juan", "娟"),
]
# expatriates: (nationality ISO 3166-1 alpha-3, family names, given names, language)
_ABROAD = [
    ("USA", ["Miller", "Johnson", "Brown"], ["Emily", "Sarah", "Laura"], "en"),
    ("GBR", ["Taylor", "Evans", "Walker"], ["Helen", "Claire", "Alice"], "en"),
    ("FRA", ["Martin", "Bernard", "Dubois"], ["Claire", "Sophie", "Camille"], "fr"),
    ("DEU", ["Schmidt", "Fischer", "Weber"], ["Anna", "Julia", "Katrin"], "de"),
    ("AUS", ["Wilson", "Thompson", "White"], ["Olivia", "Grace", "Chloe"], "en"),
    ("KOR", ["Kim", "Park", "Choi"], ["Jiyoung", "Minji", "Soyeon"], "ko"),
]
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _shift_dates(obj: Any, delta: timedelta) -> Any:
    """Shift every ISO date string in a JSON document by ``delta``."""
    if isinstance(obj, dict):
        return {k: _shift_dates(v, delta) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_shift_dates(v, delta) for v in obj]
    if isinstance(obj, str) and _DATE.match(obj):
        return (date.fromisoformat(obj) + delta).isoformat()
    return obj


def _uniform(rng: np.random.Generator, bounds: list[float], digits: int = 1) -> float:
    return round(float(rng.uniform(bounds[0], bounds[1])), digits)


def _local(d: date, hour: int = 8) -> datetime:
    return datetime.combine(d, time(hour, 0), SITE_TZ)


# --------------------------------------------------------------------------------------------
class _Seeder:
    """Discrete-event simulation of the demo trial on a simulated clock."""

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        seed: int,
        n_cohorts: int,
        open_cohort: bool,
        dosimetry: DosimetryMode,
        p_dlt: list[float],
        start: datetime,
        end: datetime,
        password: str,
        staff: dict[str, Actor],
        say: Callable[[str], None],
    ) -> None:
        self.clock = _SimClock(start)
        self.ctx = replace(ctx, vault=ctx.get_vault(), clock=self.clock)
        self.protocol = ctx.protocol
        # independent streams: the trial is the same whichever dosimetry mode runs
        trial_stream, dosimetry_stream = np.random.SeedSequence(seed).spawn(2)
        self.rng = np.random.default_rng(trial_stream)
        self.dosimetry_rng = np.random.default_rng(dosimetry_stream)
        self.seed = seed
        self.n_cohorts = n_cohorts
        self.open_cohort = open_cohort
        self.dosimetry = dosimetry
        self.end = end
        self.password = password
        self.staff = staff
        self.say = say
        self.scenario = demo_scenario()
        self.queue: list[tuple[datetime, int, Callable[[], None]]] = []
        self.seq = itertools.count()
        self.candidates: list[_Candidate] = []
        self.cohorts: dict[int, _CohortLog] = {}
        self.cycle1: dict[str, datetime] = {}
        self.discontinued: set[str] = set()
        self.subject_targets: dict[str, list[_Target]] = {}
        self.subject_cohort: dict[str, int] = {}
        self.counts = {
            "prescreen_requests": 0,
            "eligibility_decisions": 0,
            "enrolments": 0,
            "administrations": 0,
            "imaging_sessions": 0,
            "dosimetry_results": 0,
            "adverse_events": 0,
            "dlt_adjudications": 0,
            "follow_up": 0,
        }
        self.names: set[tuple[str, str, date]] = set()
        self.dropped = 0
        self.stopped: dict[str, Any] | None = None
        self.p_dlt = p_dlt
        self.max_gbq = max(self.protocol.dose_levels.activity_gbq)

    # -- event queue ----------------------------------------------------------------------
    def at(self, when: datetime, action: Callable[[], None]) -> None:
        if when < self.clock.now:
            raise RuntimeError(f"demo schedule goes back in time: {when} < {self.clock.now}")
        heapq.heappush(self.queue, (when, next(self.seq), action))

    def run(self) -> None:
        self.at(self.clock.now, lambda: self.start_cohort(1))
        while self.queue:
            when, _, action = heapq.heappop(self.queue)
            if when > self.end:
                self.dropped += 1  # lies after the data cut-off: it has not happened yet
                continue
            self.clock.now = when
            action()
        self.clock.now = self.end

    # -- actors ---------------------------------------------------------------------------
    @property
    def coord(self) -> Actor:
        return self.staff["coordinator"]

    @property
    def inv(self) -> Actor:
        return self.staff["investigator"]

    @property
    def phys(self) -> Actor:
        return self.staff["physicist"]

    # -- cohorts --------------------------------------------------------------------------
    def start_cohort(self, number: int) -> None:
        rec = trial_status(self.ctx, self.staff["statistician"])["recommendation"]
        if rec.get("next_level") is None and rec.get("action") == "stop":
            self.stopped = rec
            return
        log = _CohortLog(number, start=self.clock.now)
        self.cohorts[number] = log
        self.say(f"cohort {number}: screening")
        size = self.protocol.escalation.cohort_size
        sc = self.scenario["screening"]
        p_ntf, p_inel, p_pend = (
            float(sc[k]["value"]) for k in ("not_taken_forward", "ineligible", "pending")
        )
        eligible: list[_Candidate] = []
        i = 0
        while len(eligible) < size:
            u = self.rng.random()
            path: CandidatePath = "eligible"
            if u < p_ntf:
                path = "not-taken-forward"
            elif u < p_ntf + p_inel:
                path = "ineligible"
            elif u < p_ntf + p_inel + p_pend:
                path = "pending"
            cand = self.new_candidate(number, path)
            self.schedule_screening(cand, i)
            if path == "eligible":
                eligible.append(cand)
            i += 1
        start = log.start
        assert start is not None
        for j, cand in enumerate(eligible):
            self.at(start + timedelta(days=_ENROL_D, hours=j), partial(self.enrol, cand, j))

    def new_candidate(self, cohort: int, path: CandidatePath) -> _Candidate:
        sc = self.scenario["screening"]
        expatriate = bool(self.rng.random() < float(sc["expatriate"]["value"]))
        criteria: tuple[str, ...] = ()
        if path in ("ineligible", "pending"):
            weights = sc["ineligible_criteria" if path == "ineligible" else "pending_criteria"]
            ids = list(weights["weights"])
            p = np.array([float(weights["weights"][k]) for k in ids])
            criteria = (ids[int(self.rng.choice(len(ids), p=p / p.sum()))],)
        lo, hi = (int(v) for v in sc["ranges"]["age_y"])
        age = int(self.rng.integers(lo, hi, endpoint=True))
        cand = _Candidate(
            len(self.candidates), cohort, path, expatriate, criteria, self.identity(expatriate, age)
        )
        self.candidates.append(cand)
        return cand

    def identity(self, expatriate: bool, age: int) -> dict[str, Any]:
        rng = self.rng
        n = len(self.candidates) + 1
        while True:
            start = self.clock.now.date()
            dob = start - timedelta(days=int(age * 365.25 + rng.integers(0, 365)))
            if expatriate:
                nat, fams, givs, lang = _ABROAD[int(rng.integers(len(_ABROAD)))]
                fam, giv = fams[int(rng.integers(len(fams)))], givs[int(rng.integers(len(givs)))]
                native = None
            else:
                (fam, fam_n), (giv, giv_n) = (
                    _FAMILY[int(rng.integers(len(_FAMILY)))],
                    _GIVEN[int(rng.integers(len(_GIVEN)))],
                )
                nat, lang, native = "CHN", "zh", fam_n + giv_n
            if (fam, giv, dob) not in self.names:
                self.names.add((fam, giv, dob))
                break
        return {
            "family_name": fam,
            "given_name": giv,
            "name_native": native,
            "date_of_birth": dob,
            "email": f"{giv}.{fam}.{n:03d}@example.org".lower(),
            "phone": f"+86 21 5550 {n:04d}" if not expatriate else f"+1 555 010 {n:04d}",
            "document_type": "passport" if expatriate else "national_id",
            "document_number": f"DEMO{n:04d}{int(rng.integers(10**6)):06d}",
            "document_country": nat,
            "nationality": nat,
            "preferred_language": lang,
        }

    # -- screening ------------------------------------------------------------------------
    def schedule_screening(self, cand: _Candidate, i: int) -> None:
        s = self.clock.now
        self.at(s + timedelta(minutes=30 * i), lambda: self.prescreen(cand))
        if cand.path == "not-taken-forward":
            return  # stays a contact request; the retention rule purges it later
        self.at(
            s + timedelta(days=_TAKE_FORWARD_D, minutes=i),
            lambda: take_forward(self.ctx, self.coord, cand.code, note="contacted by phone"),
        )
        self.at(
            s + timedelta(days=_OPEN_SCREENING_D, minutes=i),
            lambda: open_screening(self.ctx, self.coord, cand.code, note="consented"),
        )
        self.at(s + timedelta(days=_EVIDENCE_D, hours=1, minutes=i), lambda: self.evidence(cand))
        self.at(s + timedelta(days=_DECISION_D, minutes=i), lambda: self.decide(cand))

    def prescreen(self, cand: _Candidate) -> None:
        receipt = register_prescreen(
            self.ctx,
            cand.identity,
            consents={
                "contact": True,
                "health_data": True,
                "cross_border_transfer": cand.expatriate,
            },
        )
        cand.code = receipt.reference
        self.counts["prescreen_requests"] += 1

    def evidence(self, cand: _Candidate) -> None:
        """The coordinator files the screening record: the engine's derived observations."""
        assessment = (self.cohorts[cand.cohort].start or self.clock.now).date()
        assessment += timedelta(days=_ASSESSMENT_D)
        cand.record = self.patient_record(cand, assessment)
        record_patient_record(self.ctx, self.coord, cand.code, cand.record)

    def decide(self, cand: _Candidate) -> None:
        """The investigator reviews the engine's evaluation of the recorded evidence, confirms
        every criterion and signs."""
        result = evaluate_subject(self.ctx, self.inv, cand.code)
        overall = result.overall
        expected = {"eligible": "eligible", "ineligible": "ineligible", "pending": "pending"}
        if overall != expected[cand.path]:
            raise RuntimeError(
                f"demo record generator: {cand.code} meant to be {cand.path}, engine says "
                f"{overall} (failed {result.failed}, pending {result.pending})"
            )
        cand.found = tuple(result.failed if overall == "ineligible" else result.pending)
        if overall == "pending":
            return  # the investigator waits for the missing results
        if overall == "eligible":
            reason = "All criteria reviewed against the source documents: eligible"
        else:
            why = "; ".join(f"{c.id}: {c.reason}" for c in result.criteria if c.outcome == "fail")
            reason = f"Ineligible. {why}"[:2000]
        decide_eligibility(
            self.ctx,
            self.inv,
            cand.code,
            overall=overall,
            decisions=[
                CriterionDecision(c.id, "confirm", content_sha256=c.content_sha256)
                for c in result.criteria
            ],
            reason=reason,
            password=self.password,
        )
        self.counts["eligibility_decisions"] += 1

    def patient_record(self, cand: _Candidate, assessment: date) -> dict[str, Any]:
        """A screening record in the documented format (docs/patient-record.schema.json)."""
        rng = self.rng
        r = self.scenario["screening"]["ranges"]
        tpl = _template()
        rec: dict[str, Any] = _shift_dates(
            copy.deepcopy(tpl), assessment - date.fromisoformat(tpl["assessment_date"])
        )
        iso = assessment.isoformat
        rec["subject_id"] = cand.code
        rec["assessment_date"] = iso()
        dob: date = cand.identity["date_of_birth"]
        rec["demographics"].update(
            birth_date=dob.isoformat(),
            residency="expatriate" if cand.expatriate else "resident",
            source="Screening CRF, visit 1" + (" (passport checked)" if cand.expatriate else ""),
        )
        rec["weight"]["value"] = _uniform(rng, r["weight_kg"])
        rec["height"]["value"] = _uniform(rng, r["height_cm"], 0)
        rec["receptors"]["er"]["percent"] = int(_uniform(rng, r["er_percent"], 0))
        rec["ecog"]["score"] = int(rng.integers(0, 2))
        draws = {
            "haemoglobin": (_uniform(rng, r["haemoglobin_g_dl"]), "g/dL"),
            "platelets": (_uniform(rng, r["platelets_1e9_l"], 0), "10^9/L"),
            "wbc": (_uniform(rng, r["wbc_1e9_l"]), "10^9/L"),
            "anc": (_uniform(rng, r["anc_1e9_l"]), "10^9/L"),
            "creatinine": (_uniform(rng, r["creatinine_mg_dl"], 2), "mg/dL"),
            "albumin": (_uniform(rng, r["albumin_g_dl"]), "g/dL"),
            "bilirubin": (_uniform(rng, r["bilirubin_mg_dl"]), "mg/dL"),
            "alt": (_uniform(rng, r["alt_u_l"], 0), "U/L"),
            "ast": (_uniform(rng, r["ast_u_l"], 0), "U/L"),
        }
        crit = cand.criteria[0] if cand.criteria else None
        if cand.path == "ineligible" and crit == "I-PLT":
            draws["platelets"] = (float(rng.integers(55, 95)), "10^9/L")
        if cand.path == "ineligible" and crit == "I-EGFR":
            draws["creatinine"] = (_uniform(rng, [1.8, 2.4], 2), "mg/dL")
        lab_day = (assessment - timedelta(days=2)).isoformat()
        report = f"L{assessment:%Y%m%d}-{cand.index:03d}"
        for lab in rec["labs"]:
            value, unit = draws[lab["test"]]
            lab.update(value=value, date=lab_day, source=f"Lab report {report}")
            if cand.expatriate:
                self._to_si(lab, value, unit)
        rec["pregnancy"] = self._pregnancy(dob, assessment)
        if cand.path == "ineligible":
            self._make_ineligible(rec, crit, assessment)
        elif cand.path == "pending":
            self._make_pending(rec, crit)
        return rec

    @staticmethod
    def _to_si(lab: dict[str, Any], value: float, unit: str) -> None:
        """Home-country labs of an expatriate in SI units (the engine converts them back)."""
        from radiotrial.eligibility import convert_lab

        si = {
            "haemoglobin": "g/L",
            "platelets": "/uL",
            "wbc": "/uL",
            "anc": "/uL",
            "creatinine": "umol/L",
            "albumin": "g/L",
            "bilirubin": "umol/L",
            "alt": "ukat/L",
            "ast": "ukat/L",
        }[lab["test"]]
        conv: dict[str, Any] = {
            k: round(
                convert_lab(
                    float(lab[k]) if k != "value" else value, unit, si, analyte=lab["test"]
                ),
                3,
            )
            for k in ("value", "lln", "uln")
            if k in lab
        }
        lab.update(conv, unit=si, source=lab["source"].replace("Lab report", "Home-country lab"))

    @staticmethod
    def _pregnancy(dob: date, assessment: date) -> dict[str, Any]:
        if (assessment - dob).days / 365.25 < 50:
            return {
                "childbearing_potential": True,
                "test_result": "negative",
                "test_date": (assessment - timedelta(days=1)).isoformat(),
                "breastfeeding": False,
                "date": assessment.isoformat(),
                "source": "Serum beta-hCG, screening lab",
            }
        return {
            "childbearing_potential": False,
            "breastfeeding": False,
            "date": assessment.isoformat(),
            "source": "Investigator assessment, visit 1 (post-menopausal)",
        }

    @staticmethod
    def _make_ineligible(rec: dict[str, Any], crit: str | None, assessment: date) -> None:
        if crit == "I-HER2":
            rec["receptors"]["her2"] = {
                "ihc": "3+",
                "date": rec["receptors"]["her2"]["date"],
                "source": "Pathology report (HER2 IHC 4B5)",
            }
        elif crit == "I-PET":
            rec["neob_pet"]["avid"] = {k: False for k in rec["neob_pet"]["avid"]}
        elif crit == "I-ECOG":
            rec["ecog"]["score"] = 2
        elif crit == "E-SYST":
            rec["treatment_history"]["therapies"].append(
                {
                    "name": "capecitabine",
                    "category": "chemotherapy",
                    "setting": "metastatic",
                    "line": 3,
                    "start_date": (assessment - timedelta(days=60)).isoformat(),
                    "end_date": (assessment - timedelta(days=12)).isoformat(),
                    "source": "Oncology letter",
                }
            )
        # I-PLT and I-EGFR are drawn into the labs directly

    @staticmethod
    def _make_pending(rec: dict[str, Any], crit: str | None) -> None:
        if crit == "I-PET":
            del rec["neob_pet"]  # [68Ga]Ga-NeoB PET booked, not yet read
        elif crit == "I-HER2":
            her2 = rec["receptors"]["her2"]
            rec["receptors"]["her2"] = {
                "ihc": "2+",
                "date": her2["date"],
                "source": "Pathology report (reflex ISH requested)",
            }

    # -- treatment ------------------------------------------------------------------------
    def enrol(self, cand: _Candidate, j: int) -> None:
        res = enrol(self.ctx, self.coord, cand.code)
        cand.enrolled_cohort = res.cohort
        self.counts["enrolments"] += 1
        log = self.cohorts[cand.cohort]
        if res.cohort != cand.cohort:
            raise RuntimeError(f"{cand.code} enrolled in cohort {res.cohort}, not {cand.cohort}")
        log.dose_level, log.activity_gbq, log.opened_by = (
            res.dose_level,
            res.activity_gbq,
            res.decision,
        )
        log.subjects.append(cand.code)
        self.subject_cohort[cand.code] = res.cohort
        if j == 0:
            self.say(f"cohort {res.cohort}: level {res.dose_level} ({res.activity_gbq:g} GBq)")
        assert log.start is not None
        dose_at = log.start + timedelta(days=_FIRST_DOSE_D + j, hours=1)
        self.at(dose_at, lambda: self.administer(cand.code, 1, res.activity_gbq))
        if j == self.protocol.escalation.cohort_size - 1:
            review = dose_at + timedelta(days=_REVIEW_AFTER_DOSE_D, hours=-1)
            self.at(review, lambda: self.review(res.cohort))

    def readings(self, prescribed_mbq: float, t_adm: datetime) -> dict[str, Any]:
        """Dose-calibrator readings (syringe before, residual after) around an injection."""
        a = self.scenario["administration"]
        nuclide = self.protocol.radiopharmaceutical.nuclide
        net = prescribed_mbq * (1.0 + float(a["net_activity_cv"]["value"]) * self.rng.normal())
        frac = float(self.rng.uniform(*a["residual_fraction"]["value"]))
        t_pre = t_adm - timedelta(minutes=float(a["pre_reading_min_before"]["value"]))
        t_res = t_adm + timedelta(minutes=float(a["residual_reading_min_after"]["value"]))
        syringe_at_adm = net / (1.0 - frac)
        pre = Activity.from_value(syringe_at_adm, "MBq", t_adm, nuclide).at(t_pre).mbq
        res = Activity.from_value(syringe_at_adm * frac, "MBq", t_adm, nuclide).at(t_res).mbq
        return {
            "pre_activity_mbq": round(pre, 1),
            "pre_measured_at": t_pre,
            "residual_activity_mbq": round(res, 1),
            "residual_measured_at": t_res,
            "administered_at": t_adm,
        }

    def administer(self, code: str, cycle: int, activity_gbq: float) -> None:
        t_adm = self.clock.now
        if code in self.discontinued:
            return
        # the residual is read after the injection: the physicist enters it then
        readings = self.readings(activity_gbq * 1e3, t_adm)
        self.at(
            readings["residual_measured_at"] + timedelta(minutes=5),
            lambda: self._record_administration(code, cycle, activity_gbq, readings),
        )

    def _record_administration(
        self, code: str, cycle: int, activity_gbq: float, readings: dict[str, Any]
    ) -> None:
        res = record_administration(
            self.ctx, self.phys, code, calibrator="Capintec CRC-55tR", **readings
        )
        self.counts["administrations"] += 1
        t_adm: datetime = readings["administered_at"]
        net_gbq = res.net_activity_mbq / 1e3
        if cycle == 1:
            self.cycle1[code] = t_adm
            times_h = list(self.protocol.imaging_schedule.timepoints_h)
        else:
            times_h = [24.0]  # later cycles: one SPECT/CT, kinetics of cycle 1 assumed
        for h in times_h:
            acq = t_adm + timedelta(hours=float(h))
            self.at(acq + timedelta(hours=1), partial(self._imaging, code, cycle, acq))
        self.at(
            t_adm + timedelta(hours=float(max(times_h)) + 24),
            lambda: self.record_doses(code, cycle, net_gbq, t_adm),
        )
        self.draw_adverse_events(code, cycle, t_adm, net_gbq)
        max_cycles = int(self.protocol.treatment.max_cycles.value)
        nxt = t_adm + timedelta(days=_CYCLE_GAP_D)
        if cycle < max_cycles:
            self.at(nxt, lambda: self.next_cycle(code, cycle + 1, activity_gbq))
        else:
            self.at(nxt, lambda: self.follow_up(code, f"{max_cycles} cycles completed"))

    def _imaging(self, code: str, cycle: int, acquired_at: datetime) -> None:
        record_imaging(
            self.ctx, self.phys, code, cycle=cycle, acquired_at=acquired_at, modality="SPECT/CT"
        )
        self.counts["imaging_sessions"] += 1

    def next_cycle(self, code: str, cycle: int, activity_gbq: float) -> None:
        if code in self.discontinued:
            self.follow_up(code, "treatment discontinued after a dose-limiting toxicity")
            return
        self.at(self.clock.now, lambda: self.administer(code, cycle, activity_gbq))

    def follow_up(self, code: str, reason: str) -> None:
        change_status(self.ctx, self.coord, code, "follow-up", reason=reason)
        self.counts["follow_up"] += 1

    # -- dosimetry ------------------------------------------------------------------------
    def record_doses(self, code: str, cycle: int, net_gbq: float, t_adm: datetime) -> None:
        cohort = self.cohorts[self.subject_cohort[code]]
        if cycle == 1:
            if not cohort.targets:
                cohort.targets = self.reference_analysis(code, net_gbq, t_adm)
                cohort.reference = code
                method = (
                    f"voxel LED dosimetry of {len(self.protocol.imaging_schedule.timepoints_h)} "
                    f"SPECT/CT sessions (virtual patient, {self._voxel_mm():g} mm)"
                    if self.dosimetry == "image"
                    else "population mean Gy/GBq (NeoRay, PMID 41344852) x activity"
                )
            else:
                method = (
                    f"Gy/GBq of cohort {cohort.number} reference {cohort.reference} x activity"
                    if self.dosimetry == "image"
                    else "population mean Gy/GBq (NeoRay, PMID 41344852) x activity"
                )
            self.subject_targets[code] = cohort.targets
        else:
            method = "Gy/GBq of this subject's cycle 1 x activity (kinetics of cycle 1 assumed)"
        ref = f"demo seed {self.seed}; cohort {cohort.number}; reference {cohort.reference}"
        for target in self.subject_targets[code]:
            dose, bed = target.dose(net_gbq)
            record_dosimetry(
                self.ctx,
                self.phys,
                code,
                cycle=cycle,
                target=target.name,
                absorbed_dose_gy=dose,
                bed_gy=bed,
                method=method[:200],
                analysis_ref=ref,
            )
            self.counts["dosimetry_results"] += 1

    def _voxel_mm(self) -> float:
        return float(self.scenario["dosimetry"]["voxel_mm"]["value"])

    def reference_analysis(self, code: str, net_gbq: float, t_adm: datetime) -> list[_Target]:
        """Per-GBq coefficients of a cohort's reference subject.

        ``image``: a virtual patient (:func:`radiotrial.phantom.make_patient`) injected with
        this subject's net activity at this time, imaged at the protocol's time points on a
        coarse grid and analysed end to end by :func:`radiotrial.dosimetry.run_dosimetry`
        (local energy deposition). ``population``: NeoRay's published mean coefficients.
        """
        if self.dosimetry == "population":
            pop = self.scenario["dosimetry"]["population_gy_per_gbq"]
            out = [_Target(k, float(v[0])) for k, v in pop["organs"].items()]
            out.append(_Target("red_marrow", float(pop["red_marrow"]["value"][0])))
            return out
        from radiotrial.dosimetry import planning_marrow, run_dosimetry, study_from_virtual_patient
        from radiotrial.phantom import make_patient

        self.say(f"dosimetry of {code} (virtual patient, {self._voxel_mm():g} mm grid)")
        patient = make_patient(
            seed=int(self.dosimetry_rng.integers(2**31)),
            activity_gbq=net_gbq,
            injection_time=t_adm,
            time_points_h=self.protocol.imaging_schedule.timepoints_h,
            spacing_mm=self._voxel_mm(),
        )
        result = run_dosimetry(
            study_from_virtual_patient(patient),
            engine="led",
            protocol=self.protocol,
            validate=False,
        )
        keep = ("kidneys", "pancreas", "liver", "spleen", "salivary_glands")
        out = [
            _Target(r.name, r.dose_per_gbq_gy, r.bed_g_factor, r.alpha_beta_gy)
            for r in result.regions
            if r.name in keep or r.kind == "tumour"
        ]
        marrow = planning_marrow(result.marrow)
        if marrow is not None:
            out.append(_Target("red_marrow", marrow.dose_gy / net_gbq))
        return out

    # -- safety ---------------------------------------------------------------------------
    def draw_adverse_events(self, code: str, cycle: int, t_adm: datetime, net_gbq: float) -> None:
        tox = self.scenario["toxicity"]
        rng = self.rng
        level = self.cohorts[self.subject_cohort[code]].dose_level
        window_d = self.protocol.dlt.window.to("d")
        events: list[tuple[dict[str, Any], int, float]] = []
        if cycle in self.protocol.dlt.evaluated_cycles and rng.random() < self.p_dlt[level - 1]:
            kinds = tox["dlt_events"]["events"]
            w = np.array([float(k["weight"]) for k in kinds])
            kind = kinds[int(rng.choice(len(kinds), p=w / w.sum()))]
            events.append((kind, int(kind["grade"]), float(rng.uniform(5, window_d - 6))))
        scale = net_gbq / self.max_gbq
        for kind in tox["background_events"]["events"]:
            if rng.random() < float(kind["probability"]) * scale:
                grades = {int(g): float(p) for g, p in kind["grades"].items()}
                g = list(grades)
                p = np.array(list(grades.values()))
                grade = g[int(rng.choice(len(g), p=p / p.sum()))]
                events.append((kind, grade, float(rng.uniform(2, window_d - 6))))
        # events of an evaluated cycle start inside its DLT window and are adjudicated; later
        # cycles' events are reported only (they cannot count for escalation)
        adjudicate = cycle in self.protocol.dlt.evaluated_cycles
        for kind, grade, onset_d in sorted(events, key=lambda e: e[2]):
            onset = t_adm + timedelta(days=onset_d)
            self.at(
                onset + timedelta(days=1),
                partial(self.report_ae, code, kind, grade, onset, adjudicate),
            )

    def report_ae(
        self, code: str, kind: dict[str, Any], grade: int, onset: datetime, adjudicate: bool
    ) -> None:
        aespid = report_adverse_event(
            self.ctx,
            self.coord,
            code,
            aeterm=kind["term"],
            aetoxgr=grade,
            aestdtc=onset,
            aerel=kind["attribution"],
            aebodsys=kind.get("soc"),
            aeser="Y" if grade >= 4 else "N",  # life-threatening: serious by definition
        )
        self.counts["adverse_events"] += 1
        if adjudicate:
            self.at(self.clock.now + timedelta(days=2), lambda: self.adjudicate(code, aespid))

    def adjudicate(self, code: str, aespid: int) -> None:
        """The investigator reviews the rule-based proposal and signs the adjudication."""
        proposal = propose_dlt(self.ctx, self.inv, code)
        verdict = next((e for e in proposal["events"] if e["AESEQ"] == aespid), None)
        if verdict is None or verdict["status"] == "pending":
            self.at(self.clock.now + timedelta(days=3), lambda: self.adjudicate(code, aespid))
            return
        is_dlt = verdict["status"] == "dlt"
        adjudicate_dlt(
            self.ctx,
            self.inv,
            code,
            aespid,
            is_dlt=is_dlt,
            rule_id=verdict["rule_id"] if is_dlt else None,
            rationale=f"Reviewed; rule-based proposal confirmed: {verdict['reason']}",
            password=self.password,
        )
        self.counts["dlt_adjudications"] += 1
        if is_dlt:
            self.discontinued.add(code)

    def review(self, number: int) -> None:
        """The cohort's DLT windows have closed: read the design's decision."""
        status = trial_status(self.ctx, self.staff["statistician"])
        rec = status["recommendation"]
        self.cohorts[number].decision = rec
        self.say(f"cohort {number}: {rec['action']} — {rec['reason']}")
        if number < self.n_cohorts or (self.open_cohort and number == self.n_cohorts):
            self.at(self.clock.now, lambda: self.start_cohort(number + 1))

    # -- summary --------------------------------------------------------------------------
    def dlts_of(self, log: _CohortLog) -> int:
        return sum(1 for c in log.subjects if c in self.discontinued)


# --------------------------------------------------------------------------------------------
def _create_staff(
    ctx: ServiceContext,
    admin: Actor | None,
    admin_password: str,
    staff_password: str,
    *,
    one_time: tuple[bool, bool],
) -> tuple[Actor, dict[str, Actor]]:
    """The admin (unless given) and one account per demo role; ``one_time`` marks the admin's
    and the staff's passwords as generated (to be changed at the first sign-in)."""
    if admin is None:
        try:
            admin = create_user(
                ctx,
                None,
                username="admin",
                full_name="Administrator",
                role="admin",
                password=admin_password,
                one_time=one_time[0],
            )
        except AuthenticationError:
            raise ConflictError(
                "the registry already has accounts: pass the acting admin (admin=...) to seed "
                "the demo trial into it"
            ) from None
    elif admin.role != "admin":
        raise ValidationError("admin", admin.username, f"role is {admin.role}, not admin")
    subjects = trial_status(ctx, admin)["subjects_by_status"]
    if subjects:
        raise ConflictError(
            f"the registry already holds {sum(subjects.values())} subject(s): the demo trial "
            "is seeded into an empty registry only"
        )
    staff = {
        role: create_user(
            ctx,
            admin,
            username=user,
            full_name=name,
            role=role,
            password=staff_password,
            one_time=one_time[1],
        )
        for role, (user, name) in DEMO_STAFF.items()
    }
    return admin, staff


def _dlt_curve(ctx: ServiceContext, given: Sequence[float] | None) -> list[float]:
    n_levels = len(ctx.protocol.dose_levels.activity_gbq)
    name = "dlt_probability"
    if given is None:
        name = "demo_trial.yaml toxicity.dlt_probability"
        given = demo_scenario()["toxicity"]["dlt_probability"]["values"][:n_levels]
    values = [float(p) for p in given]
    if len(values) != n_levels or not all(0.0 <= p <= 1.0 for p in values):
        raise ValidationError(
            name, list(given), f"needs one probability in [0, 1] per dose level ({n_levels})"
        )
    return values


def seed_demo_trial(
    ctx: ServiceContext,
    *,
    seed: int = 2025,
    n_cohorts: int = 5,
    open_cohort: bool = True,
    dosimetry: DosimetryMode = "image",
    dlt_probability: Sequence[float] | None = None,
    admin: Actor | None = None,
    end: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoTrialSummary:
    """Create demo staff accounts and play a small synthetic trial into an empty registry.

    Parameters
    ----------
    ctx : ServiceContext
        A registry with the current schema and no subjects; its vault key is used for the
        virtual identities (from the environment unless ``ctx.vault`` is set).
    seed : int
        Seed of every random draw (candidates, labs, readings, toxicity, virtual patients).
    n_cohorts : int
        Cohorts played to the end of their DLT window, each followed by the design's decision
        (fewer when the design stops the trial earlier).
    open_cohort : bool
        Also screen and enrol the next cohort and stop the clock inside its DLT window (the
        state a running trial is in).
    dosimetry : {"image", "population"}
        ``image``: once per cohort, a virtual patient with the reference subject's net activity
        is imaged at the protocol's time points on a 9.6 mm grid and analysed end to end with
        :func:`radiotrial.dosimetry.run_dosimetry` (``engine="led"``); the cohort's other
        subjects, and later cycles, get those Gy/GBq times their own activity (BED rescaled with
        the Lea–Catcheside G of the reference). ``population``: NeoRay's published mean
        coefficients times activity (no image analysis, fast).
    dlt_probability : sequence of float, optional
        True probability of a cycle-1 DLT per dose level, lowest first (default: the
        scenario's ``toxicity.dlt_probability``), to play another dose-toxicity curve.
    admin : Actor, optional
        An existing admin account to act as; by default the first account ``admin`` is created,
        with the password from ``$RADIOTRIAL_ADMIN_PASSWORD`` or a generated one-time password.
    end : datetime, optional
        The data cut-off: the simulated trial is placed so that it ends here (default
        ``ctx.now()``); events after it have not happened yet.
    progress : callable, optional
        Called with a short description at each milestone.

    Returns
    -------
    DemoTrialSummary

    Raises
    ------
    ConflictError
        The registry already holds subjects, or accounts exist and no ``admin`` is given.

    Notes
    -----
    The clock of the use cases is simulated: the trial starts
    ``n_cohorts · (8 + (cohort_size − 1) + 43) d`` (+ the open cohort) before ``end``; each
    cohort screens, decides eligibility, enrols and injects within 8–10 days, and the next one
    opens only after its DLT window (``protocol.dlt.window``) has closed and every adverse event
    in it is adjudicated — the rule :func:`radiotrial.services.enrol` enforces. The toxicity
    model and screening mix come from ``radiotrial/data/demo_trial.yaml`` (assumptions).
    """
    import time as _time

    t0 = _time.perf_counter()
    if dosimetry not in ("image", "population"):
        raise ValidationError("dosimetry", dosimetry, "image or population")
    if isinstance(n_cohorts, bool) or not isinstance(n_cohorts, int) or n_cohorts < 1:
        raise ValidationError("n_cohorts", n_cohorts, "a positive number of cohorts")
    size = ctx.protocol.escalation.cohort_size
    max_cohorts = ctx.protocol.escalation.max_sample_size // size
    if n_cohorts + int(open_cohort) > max_cohorts:
        raise ValidationError(
            "n_cohorts",
            n_cohorts,
            f"the protocol allows {max_cohorts} cohorts of {size} (open cohort included)",
        )
    p_dlt = _dlt_curve(ctx, dlt_probability)
    say = progress or (lambda _m: None)
    end = check_aware("end", end) if end is not None else ctx.now()
    admin_given = os.environ.get(ADMIN_PASSWORD_ENV)
    admin_password = admin_given or secrets.token_urlsafe(12)
    staff_given = os.environ.get(STAFF_PASSWORD_ENV)
    staff_password = staff_given or secrets.token_urlsafe(12)
    # accounts are created now, at the real time of seeding
    admin_actor, staff = _create_staff(
        ctx, admin, admin_password, staff_password,
        one_time=(not admin_given, not staff_given),
    )  # fmt: skip
    staff = {**staff, "admin": admin_actor}

    cohort_d = _FIRST_DOSE_D + (size - 1) + _REVIEW_AFTER_DOSE_D
    span = timedelta(days=n_cohorts * cohort_d)
    if open_cohort:
        span += timedelta(days=_FIRST_DOSE_D + (size - 1) + _OPEN_COHORT_TAIL_D)
    else:
        span += timedelta(days=1)
    first = (end - span).astimezone(SITE_TZ)
    start = datetime.combine(first.date(), time(9, 0), SITE_TZ)
    seeder = _Seeder(
        ctx,
        seed=seed,
        n_cohorts=n_cohorts,
        open_cohort=open_cohort,
        dosimetry=dosimetry,
        p_dlt=p_dlt,
        start=start,
        end=end,
        password=staff_password,
        staff=staff,
        say=say,
    )
    seeder.run()
    status = trial_status(seeder.ctx, staff["statistician"])
    report = verify_audit(seeder.ctx, admin_actor)
    cohorts = tuple(
        DemoCohort(
            number=log.number,
            dose_level=log.dose_level,
            activity_gbq=log.activity_gbq,
            subjects=tuple(log.subjects),
            n_dlt=seeder.dlts_of(log),
            opened_by=log.opened_by,
            decision=log.decision,
            reference_subject=log.reference,
            kidney_gy_per_gbq=next(
                (t.gy_per_gbq for t in log.targets if t.name == "kidneys"), None
            ),
        )
        for log in sorted(seeder.cohorts.values(), key=lambda c: c.number)
        if log.subjects
    )
    notes = []
    if seeder.stopped is not None:
        notes.append(f"the design stopped the trial: {seeder.stopped['reason']}")
    if seeder.dropped:
        notes.append(f"{seeder.dropped} scheduled events lie after the data cut-off")
    return DemoTrialSummary(
        protocol_id=ctx.protocol.id,
        design=status["design"],
        seed=seed,
        started_at=start,
        ended_at=end,
        admin_username=admin_actor.username,
        admin_password=None if (admin is not None or admin_given) else admin_password,
        staff={role: a.username for role, a in staff.items() if role != "admin"},
        staff_password=None if staff_given else staff_password,
        dosimetry_method=dosimetry,
        candidates=tuple(
            DemoCandidate(
                c.code,
                c.path,
                c.expatriate,
                c.found,
                c.enrolled_cohort,
            )
            for c in seeder.candidates
        ),
        cohorts=cohorts,
        patients_per_level={d["level"]: d["n_evaluated"] for d in status["dose_levels"]},
        dlts_per_level={d["level"]: d["n_dlt"] for d in status["dose_levels"]},
        outcomes=status["outcomes"],
        recommendation=status["recommendation"],
        counts=dict(seeder.counts),
        audit_entries=report.n_entries,
        audit_ok=report.ok,
        elapsed_s=_time.perf_counter() - t0,
        notes=notes,
    )
