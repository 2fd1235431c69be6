"""The seeded demo trial is a consistent trial record, recomputed independently from the rows.

One seeding (image-based dosimetry, 3 complete cohorts and an open one) is shared by the module;
every check reads the database itself and recomputes what it asserts: the BOIN decisions by the
published rule (Liu & Yuan, JRSS-C 2015; boundaries from the closed form in REFERENCE.md) and by
:mod:`radiotrial.escalation` on the outcome history rebuilt from the adjudications, the decay
correction of every administration analytically, the DLT counts from the signed adjudications.
SQLite only: the use cases it calls are tested on both backends in test_workflow.py.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from scipy import stats

from radiotrial.escalation import BoinDesign, parse_outcomes
from radiotrial.registry import (
    Actor,
    Administration,
    AdverseEvent,
    AuditEntry,
    Base,
    Cohort,
    ConflictError,
    DltAdjudication,
    DosimetryResult,
    EligibilityDecision,
    Identity,
    ImagingSession,
    Registry,
    Signature,
    Subject,
    Vault,
    upgrade,
    verify_chain,
)
from radiotrial.services import (
    DemoTrialSummary,
    ServiceContext,
    authenticate,
    seed_demo_trial,
    subject_status,
)

END = datetime(2025, 11, 20, 8, 0, tzinfo=UTC)  # data cut-off of the seeded trial
N_COHORTS = 3
CURVE = [0.15, 0.3, 0.45, 0.6, 0.7]  # steeper than the scenario's, so DLTs occur early


@dataclass
class Seeded:
    ctx: ServiceContext
    vault: Vault
    summary: DemoTrialSummary


def _fresh_context(path: Path) -> tuple[ServiceContext, Vault]:
    url = f"sqlite:///{path}"
    upgrade(url)
    vault = Vault(secrets.token_bytes(32))
    return ServiceContext(Registry(url), vault=vault, clock=lambda: END), vault


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    ctx, vault = _fresh_context(tmp_path_factory.mktemp("demo") / "demo.db")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("RADIOTRIAL_ADMIN_PASSWORD", raising=False)
        mp.delenv("RADIOTRIAL_DEMO_PASSWORD", raising=False)
        summary = seed_demo_trial(
            ctx,
            seed=6,
            n_cohorts=N_COHORTS,
            dosimetry="image",
            dlt_probability=CURVE,
            end=END,
        )
    yield Seeded(ctx, vault, summary)
    ctx.registry.dispose()


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _history(ctx: ServiceContext) -> list[tuple[int, str]]:
    """(level, outcome letters) per cohort, rebuilt from the rows: T = a signed in-window DLT
    adjudication of the event's current version, N = DLT window closed by the cut-off without
    one, P = window still open."""
    window = timedelta(days=ctx.protocol.dlt.window.to("d"))
    out = []
    with ctx.registry.read() as s:
        for cohort in s.execute(sa.select(Cohort).order_by(Cohort.number)).scalars():
            letters = ""
            for subj in sorted(cohort.subjects, key=lambda x: x.slot or 0):
                dlt = s.execute(
                    sa.select(sa.func.count())
                    .select_from(DltAdjudication)
                    .join(AdverseEvent, AdverseEvent.id == DltAdjudication.adverse_event_id)
                    .where(AdverseEvent.subject_id == subj.id)
                    .where(DltAdjudication.is_dlt, DltAdjudication.in_window)
                    .where(DltAdjudication.adverse_event_version == AdverseEvent.version)
                ).scalar_one()
                first = s.execute(
                    sa.select(sa.func.min(Administration.administered_at)).where(
                        Administration.subject_id == subj.id, Administration.cycle == 1
                    )
                ).scalar_one()
                closed = first is not None and _aware(first) + window <= END
                letters += "T" if dlt else ("N" if closed else "P")
            out.append((cohort.dose_level, letters))
    return out


def _boin_by_hand(
    history: list[tuple[int, str]], target: float, n_levels: int, max_n: int
) -> dict[str, Any]:
    """BOIN's next step from the published rule, written out independently of the package.

    λe = ln((1−φ1)/(1−φ)) / ln(φ(1−φ1)/(φ1(1−φ))), λd = ln((1−φ)/(1−φ2)) / ln(φ2(1−φ)/(φ(1−φ2)))
    with φ1 = 0.6φ, φ2 = 1.4φ; escalate if p̂ ≤ λe, de-escalate if p̂ > λd, else stay; a level
    (and all above) is eliminated when n ≥ 3 and Pr(p > φ | Beta(y+1, n−y+1)) > 0.95.
    """
    phi, phi1, phi2 = target, 0.6 * target, 1.4 * target
    lam_e = math.log((1 - phi1) / (1 - phi)) / math.log(phi * (1 - phi1) / (phi1 * (1 - phi)))
    lam_d = math.log((1 - phi) / (1 - phi2)) / math.log(phi2 * (1 - phi) / (phi * (1 - phi2)))
    n = [0] * (n_levels + 1)
    y = [0] * (n_levels + 1)
    for level, letters in history:
        n[level] += sum(c in "NT" for c in letters)
        y[level] += letters.count("T")
    eliminated = n_levels + 1
    for lv in range(1, n_levels + 1):
        if n[lv] >= 3 and stats.beta.sf(phi, y[lv] + 1, n[lv] - y[lv] + 1) > 0.95:
            eliminated = min(eliminated, lv)
    d = history[-1][0]
    p_hat = y[d] / n[d]
    if eliminated <= d:
        nxt: int | None = None if eliminated == 1 else eliminated - 1
        action = "stop" if nxt is None else "de-escalate"
    elif p_hat <= lam_e and d < n_levels and d + 1 < eliminated:
        action, nxt = "escalate", d + 1
    elif p_hat > lam_d and d > 1:
        action, nxt = "de-escalate", d - 1
    else:
        action, nxt = "stay", d
    if nxt is not None and sum(n) + 3 > max_n:
        action, nxt = "stop", None
    return {"action": action, "next_level": nxt, "lambda_e": lam_e, "lambda_d": lam_d}


def test_audit_chain_verifies_and_counts(seeded: Seeded) -> None:
    with seeded.ctx.registry.read() as s:
        report = verify_chain(s)
        n_audit = s.execute(sa.select(sa.func.count(AuditEntry.seq))).scalar_one()
        n_admin = s.execute(sa.select(sa.func.count(Administration.id))).scalar_one()
        n_img = s.execute(sa.select(sa.func.count(ImagingSession.id))).scalar_one()
        n_dos = s.execute(sa.select(sa.func.count(DosimetryResult.id))).scalar_one()
        n_ae = s.execute(sa.select(sa.func.count(AdverseEvent.id))).scalar_one()
    assert report.ok and report.n_entries == n_audit == seeded.summary.audit_entries
    counts = seeded.summary.counts
    assert (n_admin, n_img, n_dos, n_ae) == (
        counts["administrations"],
        counts["imaging_sessions"],
        counts["dosimetry_results"],
        counts["adverse_events"],
    )
    assert seeded.summary.audit_ok


def test_no_identity_data_outside_the_vault(seeded: Seeded) -> None:
    needles: set[str] = set()
    with seeded.ctx.registry.read() as s:
        rows = list(s.execute(sa.select(Identity, Subject.code).join(Subject)).all())
        assert len(rows) == len(seeded.summary.candidates)
        for ident, code in rows:
            rec = seeded.vault.open(ident.nonce, ident.ciphertext, code, ident.key_id)
            needles |= {
                f"{rec.given_name} {rec.family_name}",
                f"{rec.family_name} {rec.given_name}",
                str(rec.email),
                str(rec.phone),
                str(rec.document_number),
            }
            if rec.name_native:
                needles.add(rec.name_native)
            if rec.date_of_birth is not None:  # signed eligibility evidence holds the age only
                needles.add(rec.date_of_birth.isoformat())
        texts = []
        for table in Base.metadata.sorted_tables:
            if table.name == "identities":
                continue
            for row in s.execute(sa.select(table)).all():
                texts.append(" ".join(map(str, row)))
    haystack = "\n".join(texts) + json.dumps(seeded.summary.to_dict(), default=str)
    leaks = sorted(n for n in needles if n in haystack)
    assert not leaks, f"identity data outside the vault: {leaks[:5]}"


def _check_decisions(ctx: ServiceContext, summary: DemoTrialSummary) -> list[tuple[int, str]]:
    history = _history(ctx)
    assert " ".join(f"{lv}{letters}" for lv, letters in history) == summary.outcomes
    complete = [c for c in summary.cohorts if c.complete]
    # the protocol's design, built here from its published parameters (not via design_for)
    target, n_levels, size, max_n = 0.3, 5, 3, 24
    assert ctx.protocol.escalation.max_sample_size == max_n
    boin = BoinDesign(target, n_levels, cohort_size=size, max_cohorts=max_n // size)
    with ctx.registry.read() as s:
        stored = {c.number: c for c in s.execute(sa.select(Cohort)).scalars()}
        assert stored[1].dose_level == ctx.protocol.dose_levels.starting_level
        for k, cohort in enumerate(complete, start=1):
            prefix = history[:k]
            hand = _boin_by_hand(prefix, target, n_levels, max_n)
            pkg = boin.decide(parse_outcomes(" ".join(f"{a}{b}" for a, b in prefix), n_levels))
            assert cohort.decision is not None
            assert (pkg.action, pkg.next_level) == (hand["action"], hand["next_level"])
            assert cohort.decision["action"] == hand["action"]
            assert cohort.decision["next_level"] == hand["next_level"]
            # λe = 0.2365, λd = 0.3585 for φ = 0.3 (Liu & Yuan 2015, Table 1): 1e-3 abs
            assert cohort.decision["lambda_e"] == pytest.approx(hand["lambda_e"], abs=1e-3)
            assert hand["lambda_e"] == pytest.approx(0.2365, abs=1e-3)
            assert hand["lambda_d"] == pytest.approx(0.3585, abs=1e-3)
            if hand["next_level"] is None:
                assert k + 1 not in stored  # the design stopped: no further cohort
                continue
            # the next cohort opened where the design pointed, with that decision stored
            nxt = stored[k + 1]
            assert nxt.dose_level == hand["next_level"]
            assert nxt.decision["action"] == hand["action"]
            assert nxt.activity_gbq == ctx.protocol.dose_levels.activity_gbq[nxt.dose_level - 1]
    per_level = {lv: 0 for lv in range(1, n_levels + 1)}
    for lv, letters in history:
        per_level[lv] += sum(c in "NT" for c in letters)
    assert summary.patients_per_level == per_level
    return history


def test_escalation_decisions_recomputed(seeded: Seeded) -> None:
    summary = seeded.summary
    _check_decisions(seeded.ctx, summary)
    complete = [c for c in summary.cohorts if c.complete]
    assert len(complete) == N_COHORTS and len(summary.cohorts) == N_COHORTS + 1
    assert summary.cohorts[-1].decision is None  # the open cohort is inside its window
    # this seed and curve were chosen so that the three BOIN moves all occur (stay; escalate;
    # de-escalate after 3/3 DLTs eliminate level 2)
    assert [c.decision["action"] for c in complete if c.decision] == [
        "stay",
        "escalate",
        "de-escalate",
    ]
    assert summary.recommendation["action"] == "wait"


def test_dlt_counts_match_signed_adjudications(seeded: Seeded) -> None:
    ctx, summary = seeded.ctx, seeded.summary
    rules = {r.id: r for r in ctx.protocol.dlt.rules}
    per_level = {lv: 0 for lv in summary.dlts_per_level}
    with ctx.registry.read() as s:
        adjudications = s.execute(
            sa.select(DltAdjudication, AdverseEvent, Subject)
            .join(AdverseEvent, AdverseEvent.id == DltAdjudication.adverse_event_id)
            .join(Subject, Subject.id == AdverseEvent.subject_id)
        ).all()
        signed = {
            rid
            for (rid,) in s.execute(
                sa.select(Signature.record_id).where(
                    Signature.table_name == "dlt_adjudications",
                    Signature.meaning == "responsibility",
                )
            ).all()
        }
        subjects_with_dlt: set[int] = set()
        for adj, ae, subj in adjudications:
            assert adj.id in signed  # every adjudication carries the investigator's signature
            if adj.is_dlt:
                assert adj.rule_id is not None and subj.dose_level is not None
                rule = rules[adj.rule_id]
                assert ae.aetoxgr >= rule.min_grade and ae.aerel in rule.attribution
                assert ae.haematologic == (rule.category == "haematologic")
                if adj.in_window and subj.id not in subjects_with_dlt:
                    subjects_with_dlt.add(subj.id)
                    per_level[subj.dose_level] += 1
            else:
                # a non-DLT verdict: no rule of the protocol fits the event
                assert not any(
                    ae.aetoxgr >= r.min_grade
                    and ae.aerel in r.attribution
                    and ae.haematologic == (r.category == "haematologic")
                    for r in rules.values()
                )
        n_adj = len(adjudications)
    assert per_level == summary.dlts_per_level
    assert sum(c.n_dlt for c in summary.cohorts) == sum(per_level.values())
    assert n_adj == summary.counts["dlt_adjudications"]


def test_screening_paths_and_signed_decisions(seeded: Seeded) -> None:
    ctx, summary = seeded.ctx, seeded.summary
    paths = {c.path for c in summary.candidates}
    assert {"eligible", "ineligible"} <= paths
    assert any(c.expatriate for c in summary.candidates)
    with ctx.registry.read() as s:
        for cand in summary.candidates:
            subj = s.execute(sa.select(Subject).where(Subject.code == cand.code)).scalar_one()
            decisions = list(
                s.execute(
                    sa.select(EligibilityDecision).where(EligibilityDecision.subject_id == subj.id)
                ).scalars()
            )
            if cand.path == "not-taken-forward":
                assert subj.status == "potential-candidate" and not decisions
            elif cand.path == "pending":
                assert subj.status == "screening" and not decisions and cand.criteria
            elif cand.path == "ineligible":
                assert subj.status == "ineligible" and decisions[0].overall == "ineligible"
                failed = [
                    r["id"] for r in decisions[0].criteria["results"] if r["outcome"] == "fail"
                ]
                assert failed == list(cand.criteria)
            else:
                assert decisions[0].overall == "eligible"
            assert subj.consents["cross_border_transfer"] == cand.expatriate
    st = subject_status(ctx, Actor("monitor", "monitor"), summary.cohorts[0].subjects[0])
    assert st["eligibility"][0]["signatures"][0]["status"] == "valid"


def test_administrations_decay_correction_and_imaging(seeded: Seeded) -> None:
    ctx = seeded.ctx
    half_life_h = 6.647 * 24  # Lu-177, ICRP-107
    with ctx.registry.read() as s:
        for adm in s.execute(sa.select(Administration)).scalars():
            t_adm = _aware(adm.administered_at)
            dt_pre = (t_adm - _aware(adm.pre_measured_at)).total_seconds() / 3600
            dt_res = (_aware(adm.residual_measured_at) - t_adm).total_seconds() / 3600
            assert dt_pre > 0 and dt_res > 0
            net = adm.pre_activity_mbq * 2 ** (-dt_pre / half_life_h)
            net -= adm.residual_activity_mbq * 2 ** (dt_res / half_life_h)
            # 1e-4: ICRP-107 half-life to 4 significant figures
            assert adm.net_activity_mbq == pytest.approx(net, rel=1e-4)
            # net activity within 5 SD (2 % CV, demo_trial.yaml) of the prescribed activity
            assert adm.prescribed_activity_mbq is not None
            assert abs(adm.net_activity_mbq / adm.prescribed_activity_mbq - 1) < 0.10
            hours = sorted(
                i.hours_post_injection
                for i in s.execute(
                    sa.select(ImagingSession).where(ImagingSession.administration_id == adm.id)
                ).scalars()
            )
            if hours and adm.cycle == 1:
                expected = list(ctx.protocol.imaging_schedule.timepoints_h)
                assert hours == pytest.approx(expected[: len(hours)], abs=1e-6)


def test_dosimetry_is_per_gbq_consistent(seeded: Seeded) -> None:
    ctx, summary = seeded.ctx, seeded.summary
    with ctx.registry.read() as s:
        rows = s.execute(
            sa.select(DosimetryResult, Administration, Subject)
            .join(Administration, Administration.id == DosimetryResult.administration_id)
            .join(Subject, Subject.id == Administration.subject_id)
        ).all()
        by_cohort: dict[tuple[int | None, str], list[float]] = {}
        for res, adm, subj in rows:
            assert res.absorbed_dose_gy > 0
            if res.bed_gy is not None:
                assert res.bed_gy >= res.absorbed_dose_gy  # BED = D (1 + G D/(α/β)) ≥ D
            coefficient = res.absorbed_dose_gy / (adm.net_activity_mbq / 1e3)
            by_cohort.setdefault((subj.cohort_id, res.target), []).append(coefficient)
    assert by_cohort
    for values in by_cohort.values():
        # one reference analysis per cohort, scaled by activity: identical Gy/GBq (float noise)
        assert max(values) == pytest.approx(min(values), rel=1e-9)
    for cohort in summary.cohorts:
        if cohort.kidney_gy_per_gbq is not None:
            # NeoRay kidneys 0.10 ± 0.056 Gy/GBq (PMID 41344852): within 3 SD of the mean
            assert abs(cohort.kidney_gy_per_gbq - 0.10) < 3 * 0.056


def test_accounts_and_refusal_to_reseed(seeded: Seeded) -> None:
    ctx, summary = seeded.ctx, seeded.summary
    assert summary.admin_password is not None and summary.staff_password is not None
    assert authenticate(ctx, "admin", summary.admin_password).role == "admin"
    assert authenticate(ctx, "investigator", summary.staff_password).role == "investigator"
    assert "admin_password" not in summary.to_dict()
    with ctx.registry.read() as s:
        before = s.execute(sa.select(sa.func.count(AuditEntry.seq))).scalar_one()
    with pytest.raises(ConflictError, match="already has accounts"):
        seed_demo_trial(ctx, n_cohorts=1, dosimetry="population", end=END)
    admin = authenticate(ctx, "admin", summary.admin_password)
    with pytest.raises(ConflictError, match="empty registry"):
        seed_demo_trial(ctx, n_cohorts=1, dosimetry="population", admin=admin, end=END)
    with ctx.registry.read() as s:
        after = s.execute(sa.select(sa.func.count(AuditEntry.seq))).scalar_one()
    assert after == before


def test_passwords_from_environment_and_a_stopped_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, _vault = _fresh_context(tmp_path / "env.db")
    monkeypatch.setenv("RADIOTRIAL_ADMIN_PASSWORD", "admin password from env")
    monkeypatch.setenv("RADIOTRIAL_DEMO_PASSWORD", "staff password from env")
    summary = seed_demo_trial(
        ctx, seed=5, n_cohorts=3, dosimetry="population", dlt_probability=CURVE, end=END
    )
    assert summary.admin_password is None and summary.staff_password is None
    assert authenticate(ctx, "admin", "admin password from env").role == "admin"
    assert authenticate(ctx, "coordinator", "staff password from env").role == "coordinator"
    # this seed puts 5 DLTs in 9 patients at level 1: Pr(p > 0.3 | Beta(6, 5)) > 0.95
    # eliminates level 1 and BOIN stops the trial, so no open cohort follows
    history = _check_decisions(ctx, summary)
    assert all(level == 1 for level, _ in history)
    assert summary.recommendation["action"] == "stop" and summary.cohorts[-1].complete
    assert any("stopped" in note for note in summary.notes)
    ctx.registry.dispose()
