"""The JSON API covers the staff application: the request queue to enrolment, adverse events
and signed DLT adjudication, dosimetry review, escalation, audit, exports and the outbox —
each with the same role as the page (the route-table walk in test_staff.py checks refusals on
every endpoint; here each use case is carried out through the API alone)."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ._trial import treated_subject, write_run
from .conftest import PASSWORD, api_token, reference_of, submit
from .test_staff import _evidence


def test_request_queue_to_enrolment_through_the_api(staff_app: Any) -> None:
    protocol = staff_app.state.services.protocol
    with TestClient(staff_app) as public:
        req = reference_of(submit(public, "en", full_name="Maria Rossi").text)
    with TestClient(staff_app) as c:
        coord = api_token(c, "coordinator")
        queue = c.get("/api/v1/requests", headers=coord).json()
        (row,) = [r for r in queue if r["reference"] == req]
        assert row["answers"]["q_adult"] == "not_sure" and row["match"] == "new"
        assert row["match_open"] is False
        assert "Maria" not in str(row)  # the queue is pseudonymous
        code = row["subject"]
        r = c.post(f"/api/v1/requests/{req}/contact", json={"reason": ""}, headers=coord)
        assert r.status_code == 422  # a read of identity data needs its reason
        r = c.post(f"/api/v1/requests/{req}/contact", json={"reason": "call back"}, headers=coord)
        assert r.status_code == 200 and r.json()["requester"]["full_name"] == "Maria Rossi"
        r = c.post(f"/api/v1/subjects/{code}/screening", json={}, headers=coord)
        assert r.status_code == 204
        r = c.post(f"/api/v1/subjects/{code}/evidence", headers=coord,
                   json=_evidence(datetime.now(UTC) - timedelta(days=1)))  # fmt: skip
        assert r.status_code == 201, r.text
        screening = c.get(f"/api/v1/subjects/{code}/screening", headers=coord).json()
        assert screening["overall"] == "eligible"
        # every criterion confirmed as reviewed (its judgement's digest)
        confirmed = [
            {"criterion_id": k["id"], "action": "confirm", "content_sha256": k["content_sha256"]}
            for k in screening["criteria"]
        ]
        decision = {"overall": "eligible", "reason": "all criteria met", "password": PASSWORD,
                    "decisions": confirmed}  # fmt: skip
        r = c.post(f"/api/v1/subjects/{code}/eligibility", json=decision, headers=coord)
        assert r.status_code == 403  # the investigator decides
        inv = api_token(c, "investigator")
        r = c.post(f"/api/v1/subjects/{code}/eligibility", headers=inv,
                   json={**decision, "password": "not my password"})  # fmt: skip
        assert r.status_code == 403  # the e-signature re-checks the signer's password
        r = c.post(f"/api/v1/subjects/{code}/eligibility", headers=inv,
                   json={**decision, "decisions": confirmed[1:]})  # fmt: skip
        assert r.status_code == 422  # none is signed blindly: every criterion decided
        stale = [{**confirmed[0], "content_sha256": "0" * 64}, *confirmed[1:]]
        r = c.post(f"/api/v1/subjects/{code}/eligibility", headers=inv,
                   json={**decision, "decisions": stale})  # fmt: skip
        assert r.status_code == 422  # a judgement other than the one reviewed
        r = c.post(f"/api/v1/subjects/{code}/eligibility", json=decision, headers=inv)
        assert r.status_code == 201 and r.json()["decision_id"] >= 1
        r = c.post(f"/api/v1/subjects/{code}/enrolment", headers=inv)
        assert r.status_code == 201, r.text
        enrolled = r.json()
        assert (enrolled["cohort"], enrolled["slot"], enrolled["dose_level"]) == (1, 1, 1)
        assert enrolled["activity_gbq"] == protocol.dose_levels.activity_gbq[0]
        assert c.get(f"/api/v1/subjects/{code}", headers=inv).json()["status"] == "on-study"
        # handled: off the open queue, still in the full list
        r = c.post(f"/api/v1/requests/{req}/handled", json={"note": "enrolled"}, headers=inv)
        assert r.status_code == 204
        assert req not in {r["reference"] for r in c.get("/api/v1/requests", headers=inv).json()}
        every = c.get("/api/v1/requests?include_handled=true", headers=inv).json()
        assert next(r for r in every if r["reference"] == req)["handled_by"] == "investigator"
        # escalation: a subject in the DLT window keeps the design waiting
        esc = c.get("/api/v1/escalation?cohorts=1", headers=inv).json()
        assert esc["trial"]["recommendation"]["action"] == "wait"
        assert esc["pending_cohorts_left_out"] == 1 and esc["pathway_root"] == ""
        oc = esc["oc"]  # exact OCs: selection over the levels plus stopping is 100 %
        assert sum(oc["selection_pct"]) + oc["stop_pct"] == pytest.approx(100.0, abs=1e-9)
        assert c.get("/api/v1/escalation?truth=0.1,0.2", headers=inv).status_code == 422
        mon = api_token(c, "monitor")
        assert c.get("/api/v1/audit/verify", headers=mon).json()["ok"] is True
        entries = c.get(f"/api/v1/audit?subject={code}&limit=500", headers=mon).json()
        assert {"subjects", "eligibility_decisions"} <= {e["table"] for e in entries}
        assert [e["seq"] for e in entries] == sorted((e["seq"] for e in entries), reverse=True)
        r = c.post("/api/v1/exports", json={"format": "csv"}, headers=mon)
        assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
        assert code in zipfile.ZipFile(io.BytesIO(r.content)).read("subjects.csv").decode()
        # no SMTP configured: the notices wait in the outbox, which only admins manage
        assert c.get("/api/v1/outbox", headers=mon).status_code == 403
        admin = api_token(c, "admin")
        waiting = c.get("/api/v1/outbox", headers=admin).json()
        assert waiting and {m["reference"] for m in waiting} == {req}
        assert "recipients" not in waiting[0] and "to" not in waiting[0]
        report = c.post("/api/v1/outbox/delivery", headers=admin).json()
        assert report["sent"] == [] and set(report["failed"]) == {m["mail_uid"] for m in waiting}


def test_safety_and_dosimetry_review_through_the_api(trial: Any) -> None:
    ctx, clock, root = trial.state.services, trial.state.clock, trial.state.dose_root
    code, mbq = treated_subject(ctx, clock, 5)
    gbq = mbq / 1e3
    write_run(root / "vp5" / "c1", cycle=1, activity_gbq=gbq)
    clock.advance(days=20)
    ae = f"/api/v1/subjects/{code}/adverse-events"
    start = "2025-05-20T09:00:00+08:00"
    with TestClient(trial) as c:
        coord = api_token(c, "coordinator")
        lab = {"ctcae_term": "Platelet count decreased", "lln": 150, "AESTDTC": start,
               "AEREL": "possible"}  # fmt: skip
        # CTCAE v5.0 platelets: < 75-50 grade 2, < 50-25 grade 3, < 25 grade 4 (x10^9/L)
        got = [c.post(ae, json={**lab, "value": v}, headers=coord).json() for v in (50, 20)]
        assert [(g["AESPID"], g["AETOXGR"]) for g in got] == [(1, 2), (2, 4)]
        assert got[1]["AEDECOD"] == "Platelet count decreased" and got[1]["grading_rule"]
        for bad in ({**lab, "value": 210}, {**lab, "value": 20, "AETOXGR": 1},
                    {"AETERM": "Fatigue", "AESTDTC": start, "AEREL": "possible"},
                    {**lab, "value": 20, "AESTDTC": "2025-05-20T09:00:00"}):  # fmt: skip
            # grade 0 is no event; a typed grade beside a value; no grade; a time without zone
            assert c.post(ae, json=bad, headers=coord).status_code == 422, bad
        r = c.post(ae, json={"AETERM": "Fatigue", "AETOXGR": 2, "AESTDTC": start,
                             "AEREL": "unlikely"}, headers=coord)  # fmt: skip
        assert r.json()["AETOXGR"] == 2 and r.json()["grading_rule"] is None
        proposal = c.get(f"/api/v1/subjects/{code}/dlt-proposal", headers=coord).json()
        # the rules' proposal: grade 2 is below DLT-H's grade 4, fatigue below DLT-NH's 3
        assert [(e["AESEQ"], e["status"], e["rule_id"]) for e in proposal["events"]] == [
            (1, "not_dlt", None), (2, "dlt", "DLT-H"), (3, "not_dlt", None)
        ]  # fmt: skip
        verdict = {"is_dlt": True, "rule_id": "DLT-H", "rationale": "G4 thrombocytopenia",
                   "password": PASSWORD}  # fmt: skip
        assert c.post(f"{ae}/2/adjudication", json=verdict, headers=coord).status_code == 403
        inv = api_token(c, "investigator")
        r = c.post(f"{ae}/2/adjudication", json={**verdict, "rule_id": "DLT-NH"}, headers=inv)
        assert r.status_code == 422  # grade-4 haematologic is not the non-haematologic rule
        r = c.post(f"{ae}/2/adjudication", json=verdict, headers=inv)
        assert r.status_code == 201 and r.json()["is_dlt"] and r.json()["in_window"]
        assert c.get("/api/v1/trial/status", headers=inv).json()["outcomes"] == "1T"
        # a change of the event voids the adjudication: the outcome is pending again
        r = c.post(
            f"{ae}/2", json={"AEOUT": "RECOVERING/RESOLVING", "reason": "follow-up"}, headers=inv
        )
        assert r.status_code == 204
        assert c.post(f"{ae}/2", json={"reason": "nothing"}, headers=inv).status_code == 422
        status = c.get(f"/api/v1/subjects/{code}", headers=inv).json()
        event = next(e for e in status["adverse_events"] if e["AESPID"] == 2)
        assert event["dlt"] is not None and event["dlt"]["current"] is False
        # dosimetry: linked by the physicist, reviewed by anyone with trial.read
        url = f"/api/v1/subjects/{code}/cycles/1/dosimetry"
        assert c.get(url, headers=inv).json() is None  # nothing linked yet
        assert c.post(url, json={"analysis_ref": "vp5/c1"}, headers=inv).status_code == 403
        phys = api_token(c, "physicist")
        r = c.post(url, json={"analysis_ref": "../registry.db"}, headers=phys)
        assert r.status_code == 422  # outside the dosimetry root
        assert c.post(url, json={"analysis_ref": "vp5/c1"}, headers=phys).status_code == 201
        review = c.get(url, headers=inv).json()
        assert review["run"]["analysis_ref"] == "vp5/c1" and "folder" not in review["run"]
        kidneys = next(r for r in review["regions"] if r["name"] == "kidneys")
        assert kidneys["dose_gy"] == pytest.approx(0.10 * gbq, rel=1e-12)
        # A_max = (L - D_cum) / d: red marrow, 2 Gy at 0.018 Gy/GBq (image-based estimate)
        plan = review["plan"]
        assert plan["limiting_organ"] == "red_marrow"
        assert plan["max_activity_gbq"] == pytest.approx((2.0 - 0.018 * gbq) / 0.018, rel=1e-9)
        assert c.get(url.replace("/1/", "/2/"), headers=inv).status_code == 422  # no cycle 2
