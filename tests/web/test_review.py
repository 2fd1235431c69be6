"""Staff review pages: dosimetry per cycle, adverse events and DLTs, escalation, audit, exports."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from radiotrial.services import subject_status

from ._trial import INVESTIGATOR, treated_subject, write_run
from .conftest import PASSWORD, login


def _number(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert match, element_id
    return match.group(1)


def test_dosimetry_review_links_a_run_and_plans_the_next_cycle(trial: Any) -> None:
    ctx, root = trial.state.services, trial.state.dose_root
    code, mbq = treated_subject(ctx, trial.state.clock, 1)
    gbq = mbq / 1e3
    write_run(root / "vp1" / "c1", cycle=1, activity_gbq=gbq)
    write_run(root / "vp1" / "wrong-cycle", cycle=2, activity_gbq=gbq)
    url = f"/staff/subjects/{code}/cycles/1/dosimetry"
    with TestClient(trial) as c:
        csrf = login(c, "physicist")
        page = c.get(url)
        assert 'id="no-dosimetry"' in page.text and "vp1/c1" in page.text  # offered in the form
        # a run of another cycle, a path out of the root: refused, nothing recorded
        for ref in ("vp1/wrong-cycle", "../registry.db", "/etc", "vp1/../../x", "missing"):
            r = c.post(url, data={"csrf_token": csrf, "analysis_ref": ref})
            assert r.status_code == 422, ref
        assert subject_status(ctx, INVESTIGATOR, code)["cycles"][0]["dosimetry"] == []
        r = c.post(url, data={"csrf_token": csrf, "analysis_ref": "vp1/c1"})
        assert r.status_code == 200
        html = r.text
    recorded = subject_status(ctx, INVESTIGATOR, code)["cycles"][0]["dosimetry"]
    # every organ and the image-based marrow estimate (the remainder is not a target)
    assert {d["target"] for d in recorded} == {
        "kidneys", "pancreas", "liver", "red_marrow", "red_marrow (image region)"
    }  # fmt: skip
    kidney = next(d for d in recorded if d["target"] == "kidneys")
    assert kidney["absorbed_dose_gy"] == pytest.approx(0.10 * gbq, rel=1e-12)
    # plan against the protocol's limits, by hand (absorbed-dose limits: A = (L - D_c) / d):
    # red marrow 2 Gy at 0.018 Gy/GBq (the image-based estimate, not the imaged bone region),
    # kidneys 23 Gy at 0.10 Gy/GBq -> marrow limits
    marrow_max = (2.0 - 0.018 * gbq) / 0.018
    assert _number(html, "limiting-organ") == "red_marrow"
    assert _number(html, "max-activity") == f"{marrow_max:.3g} GBq"
    row = re.search(r'id="region-kidneys">(.*?)</tr>', html, re.S)
    assert row and f"{0.10 * gbq:.3g} ± {0.01 * gbq:.2g}" in row.group(1)
    assert "absorbed dose" in row.group(1) and "/ 23 Gy" in row.group(1)
    assert "/ 28 Gy" in row.group(1)  # the stricter BED limit (risk factors) by default
    with TestClient(trial) as c:
        login(c, "monitor")  # read-only roles see the review, not the link form
        page = c.get(url + "?kidney_risk_factors=no&axis=axial")
        assert "/ 40 Gy" in page.text and 'id="link-form"' not in page.text
        png = c.get(f"/staff/subjects/{code}/cycles/1/dosimetry/plots/tac_kidneys.png")
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
        assert png.headers["content-type"] == "image/png"
        # only files the run lists, never another path
        for name in ("results.json", "..%2F..%2Fregistry.db", "tac_liver.png"):
            got = c.get(f"/staff/subjects/{code}/cycles/1/dosimetry/plots/{name}")
            assert got.status_code == 404, name
        # the slice through the maximum by default; refused outside the volume
        assert 'index=3"' in page.text  # axial slice 3 holds the maximum of the test volume
        img = c.get(f"/staff/subjects/{code}/cycles/1/dosimetry/slice.png?axis=axial&index=3")
        assert img.status_code == 200 and img.content.startswith(b"\x89PNG")
        bad = c.get(f"/staff/subjects/{code}/cycles/1/dosimetry/slice.png?axis=axial&index=6")
        assert bad.status_code == 422
        assert c.get(f"/staff/subjects/{code}/cycles/2/dosimetry").status_code == 422


def test_cumulative_dose_adds_linked_cycles(trial: Any) -> None:
    """Two cycles: cumulative = sum, and the plan uses the room left after both."""
    from datetime import timedelta

    from radiotrial.services import record_administration

    ctx, root, clock = trial.state.services, trial.state.dose_root, trial.state.clock
    code, mbq1 = treated_subject(ctx, clock, 2)
    clock.advance(days=43)
    t0 = clock.now - timedelta(hours=1)
    mbq2 = record_administration(
        ctx, INVESTIGATOR, code, pre_activity_mbq=3000.0, pre_measured_at=t0,
        residual_activity_mbq=30.0, residual_measured_at=t0 + timedelta(minutes=20),
        administered_at=t0 + timedelta(minutes=10),
    ).net_activity_mbq  # fmt: skip
    write_run(root / "c1", cycle=1, activity_gbq=mbq1 / 1e3, plots=False)
    write_run(root / "c2", cycle=2, activity_gbq=mbq2 / 1e3, plots=False)
    with TestClient(trial) as c:
        csrf = login(c, "physicist")
        for cycle in (1, 2):
            r = c.post(f"/staff/subjects/{code}/cycles/{cycle}/dosimetry",
                       data={"csrf_token": csrf, "analysis_ref": f"c{cycle}"})  # fmt: skip
            assert r.status_code == 200
        html = r.text
        first = c.get(f"/staff/subjects/{code}/cycles/1/dosimetry").text
    total_gbq = (mbq1 + mbq2) / 1e3
    row = re.search(r'id="region-kidneys">(.*?)</tr>', html, re.S)
    assert row and f"{0.10 * total_gbq:.3g}" in row.group(1)
    expected = (2.0 - 0.018 * total_gbq) / 0.018
    assert _number(html, "max-activity") == f"{expected:.3g} GBq"
    # reviewing cycle 1 later shows what was planned for cycle 2 (history up to cycle 1)
    assert _number(first, "max-activity") == f"{(2.0 - 0.018 * mbq1 / 1e3) / 0.018:.3g} GBq"


def _note(html: str) -> str:
    return _number(html, "note")


def test_adverse_events_dlt_escalation_audit_and_exports(trial: Any, tmp_path: Path) -> None:
    import io
    import zipfile

    from radiotrial.registry import validate_odm

    ctx, clock = trial.state.services, trial.state.clock
    code, _ = treated_subject(ctx, clock, 3)
    clock.advance(days=20)
    ae_url = f"/staff/subjects/{code}/adverse-events"
    base = {"aerel": "possible", "aeser": "N", "aestdtc": "2025-05-20T09:00"}
    with TestClient(trial) as c:
        csrf = login(c, "coordinator")
        # CTCAE v5.0 grades from the value; boundaries are strict (50 x10^9/L is grade 2)
        for value, grade in (("50", 2), ("20", 4)):
            r = c.post(ae_url, data={**base, "csrf_token": csrf, "value": value, "lln": "150",
                                     "ctcae_term": "Platelet count decreased"})  # fmt: skip
            assert r.status_code == 200
            assert f"graded {grade} from the value" in _note(r.text)
        # within the normal range: grade 0 is not an adverse event; nothing recorded
        r = c.post(ae_url, data={**base, "csrf_token": csrf, "value": "210", "lln": "150",
                                 "ctcae_term": "Platelet count decreased"})  # fmt: skip
        assert r.status_code == 422 and "grade 0" in r.text
        r = c.post(ae_url, data={**base, "csrf_token": csrf, "aeterm": "Fatigue", "aetoxgr": "2"})
        assert "Fatigue, grade 2 as reported" in _note(r.text)
        assert re.search(r'id="ae-3">.*?Fatigue</td><td>2<', r.text, re.S)
        # a coordinator reports but does not adjudicate
        r = c.post(f"{ae_url}/2/adjudicate", data={"csrf_token": csrf, "is_dlt": "yes",
                   "rule_id": "DLT-H", "rationale": "x", "password": PASSWORD})  # fmt: skip
        assert r.status_code == 403
    with TestClient(trial) as c:
        csrf = login(c, "investigator")
        adj = {"csrf_token": csrf, "is_dlt": "yes", "rationale": "G4 thrombocytopenia"}
        r = c.post(f"{ae_url}/2/adjudicate", data={**adj, "rule_id": "DLT-H", "password": "no"})
        assert r.status_code == 403  # the signature needs the signer's password
        # the protocol rule must fit: grade-4 haematologic is not DLT-NH
        r = c.post(f"{ae_url}/2/adjudicate", data={**adj, "rule_id": "DLT-NH",
                                                  "password": PASSWORD})  # fmt: skip
        assert r.status_code == 422
        r = c.post(f"{ae_url}/2/adjudicate", data={**adj, "rule_id": "DLT-H",
                                                  "password": PASSWORD})  # fmt: skip
        assert "adjudicated a DLT (inside the DLT window), signed" in _note(r.text)
        assert _number(r.text, "dlt-outcome") == "DLT"
        assert "signature of Investigator" in r.text and ">valid<" in r.text
        # an upgrade of the event voids the signature; the outcome is pending again
        r = c.post(f"{ae_url}/2/update", data={"csrf_token": csrf, "aeout": "recovering",
                                               "reason": "follow-up lab"})  # fmt: skip
        assert r.status_code == 422 and "AEOUT" in r.text  # not a CDISC OUT term
        r = c.post(f"{ae_url}/2/update", data={"csrf_token": csrf,
                                               "aeout": "RECOVERING/RESOLVING",
                                               "reason": "follow-up lab"})  # fmt: skip
        assert "void: the event changed" in r.text
        # the signature bound the event too: it reads void, not valid
        ae_table = re.search(r'<table id="ae-table">.*?</table>', r.text, re.S)
        assert ae_table and ">void<" in ae_table.group() and ">valid<" not in ae_table.group()
        assert _number(r.text, "dlt-outcome") == "pending"
        r = c.post(f"{ae_url}/2/adjudicate", data={**adj, "rule_id": "DLT-H",
                                                  "password": PASSWORD})  # fmt: skip
        assert _number(r.text, "dlt-outcome") == "DLT"
        # the first signature was bound to the earlier version of the adjudication
        assert ">void<" in r.text and ">valid<" in r.text
        # escalation: BOIN (target 0.3) de-escalation boundary 0.359 (Liu & Yuan 2015, Table 1)
        esc = c.get("/staff/escalation").text
        assert re.search(r"<tr><td>1</td><td>1\.85</td><td>1</td><td>1</td>", esc)
        assert "λd=0.359" in esc
        # pathways from the decided state (this DLT) and the next cohort of 3
        assert _number(esc, "pathway-root") == "1T"
        # exact OCs: selection % over levels plus stopping % is 100 %
        oc = re.search(r'<table id="oc">(.*?)</tbody>(.*?)</table>', esc, re.S)
        assert oc
        selected = [float(x) for x in re.findall(r"</td><td>[0-9.]+</td><td>([0-9.]+)</td>",
                                                 oc.group(1))]  # fmt: skip
        stop = re.search(r"Stopped without MTD: ([0-9.]+)", oc.group(2))
        assert stop
        assert len(selected) == 5 and sum(selected) + float(stop.group(1)) == pytest.approx(
            100.0, abs=0.3
        )
        for png in ("path.png", "pathways.png?cohorts=1", "oc.png?truth=0.1,0.2,0.3,0.4,0.5"):
            r = c.get(f"/staff/escalation/{png}")
            assert r.status_code == 200 and r.content.startswith(b"\x89PNG"), png
        assert c.get("/staff/escalation?truth=0.1,0.2").status_code == 422
        assert c.get("/staff/escalation?cohorts=9").status_code == 422
        # an investigator reads the audit trail but does not verify the chain
        audit = c.get(f"/staff/audit?subject={code}&table=dlt_adjudications").text
        assert 'id="audit-result"' not in audit
        assert audit.count("<td>dlt_adjudications") == 2  # created, then re-adjudicated
        assert c.get("/staff/audit?subject=<script>").status_code == 422
    with TestClient(trial) as c:
        csrf = login(c, "monitor")
        assert "Hash chain intact" in c.get("/staff/audit").text
        r = c.post("/staff/exports", data={"csrf_token": csrf, "format": "odm"})
        assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(r.content))
        (odm,) = archive.namelist()
        archive.extract(odm, tmp_path)
        validate_odm(tmp_path / odm)  # CDISC ODM 1.3.2 schema
        r = c.post("/staff/exports", data={"csrf_token": csrf, "format": "csv"})
        aes = zipfile.ZipFile(io.BytesIO(r.content)).read("adverse_events.csv").decode()
        assert code in aes and "Platelet count decreased" in aes
        assert (
            c.post("/staff/exports", data={"csrf_token": csrf, "format": "xls"}).status_code == 422
        )
        assert "export" in c.get("/staff/audit?table=*").text  # the export is audited
