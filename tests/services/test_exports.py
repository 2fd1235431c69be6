"""Pseudonymous CSV and CDISC ODM 1.3.2 exports (schema-validated), and the CLI on top."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from radiotrial.cli import main
from radiotrial.errors import InputFileError
from radiotrial.registry import PermissionDeniedError, head_revision, validate_odm
from radiotrial.services import (
    ServiceContext,
    enrol,
    export_data,
    record_administration,
    record_dosimetry,
    report_adverse_event,
)
from tests.registry._fixtures import PASSWORD, Clock, Staff
from tests.services._helpers import ELIGIBLE, make_eligible

ODM = "{http://www.cdisc.org/ns/odm/v1.3}"


def _small_trial(ctx: ServiceContext, staff: Staff, clock: Clock) -> list[str]:
    codes = [make_eligible(ctx, staff.coordinator, staff.investigator, 300 + i) for i in range(2)]
    for c in codes:
        enrol(ctx, staff.coordinator, c)
        t = clock.now
        clock.advance(minutes=15)
        record_administration(
            ctx,
            staff.physicist,
            c,
            pre_activity_mbq=1900.0,
            pre_measured_at=t - timedelta(minutes=15),
            residual_activity_mbq=30.0,
            residual_measured_at=t + timedelta(minutes=15),
            administered_at=t,
        )
        record_dosimetry(
            ctx, staff.physicist, c, cycle=1, target="kidneys", absorbed_dose_gy=0.18, method="MIRD"
        )
    clock.advance(days=2)
    report_adverse_event(
        ctx,
        staff.coordinator,
        codes[0],
        aeterm="Nausea",
        aetoxgr=1,
        aestdtc=clock.now - timedelta(days=1),
        aerel="possible",
        haematologic=False,
    )
    return codes


def test_csv_and_odm_exports(
    ctx: ServiceContext, staff: Staff, clock: Clock, tmp_path: Path
) -> None:
    codes = _small_trial(ctx, staff, clock)
    with pytest.raises(PermissionDeniedError):
        export_data(ctx, staff.coordinator, "csv", tmp_path)
    res = export_data(ctx, staff.statistician, "csv", tmp_path / "csv")
    assert "adverse_events.csv" in res.files and res.n_subjects == 2
    blob = "".join(p.read_text("utf-8") for p in (tmp_path / "csv").glob("*.csv"))
    for leak in ("Zhang300", "E00000300", "patient300@example.org", "张伟"):
        assert leak not in blob
    with open(tmp_path / "csv" / "adverse_events.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["USUBJID"] == codes[0] and rows[0]["AETERM"] == "Nausea"
    assert rows[0]["DOMAIN"] == "AE" and rows[0]["AETOXGR"] == "1"
    assert rows[0]["STUDYID"] == ctx.protocol.id
    assert not list((tmp_path / "csv").glob(".export-*"))  # temporary directory removed

    res = export_data(ctx, staff.monitor, "odm", tmp_path / "odm")
    path = tmp_path / "odm" / res.files[0]
    validate_odm(path)  # CDISC ODM 1.3.2 XSD (odmlib's copy), validated again here
    doc = etree.parse(str(path))
    assert doc.getroot().get("ODMVersion") == "1.3.2"
    keys = [e.get("SubjectKey") for e in doc.iter(f"{ODM}SubjectData")]
    assert set(codes) <= set(keys)
    net = [
        e.get("Value")
        for e in doc.iter(f"{ODM}ItemData")
        if e.get("ItemOID") == "IT.ADMIN.NET_ACTIVITY_MBQ"
    ]
    assert len(net) == 2
    # a schema-breaking change is caught
    root = doc.getroot()
    del root.attrib["FileOID"]
    bad = tmp_path / "bad.xml"
    doc.write(str(bad))
    with pytest.raises(InputFileError, match="FileOID"):
        validate_odm(bad)


def test_cli_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    from radiotrial.registry import generate_key

    monkeypatch.setenv("RADIOTRIAL_VAULT_KEY", generate_key())
    monkeypatch.setenv("RADIOTRIAL_PASSWORD", PASSWORD)
    monkeypatch.setenv("RADIOTRIAL_NEW_PASSWORD", PASSWORD)

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as info:
            main(list(args))
        out = capsys.readouterr()
        return int(info.value.code or 0), out.out, out.err

    code, out, _ = run("db", "init", "--url", url, "--admin", "root", "--json")
    assert code == 0 and json.loads(out)["revision"] == head_revision()
    assert json.loads(run("db", "status", "--url", url, "--json")[1])["up_to_date"] is True
    code, out, err = run(
        "user",
        "add",
        "coord",
        "--role",
        "coordinator",
        "--name",
        "C",
        "--user",
        "root",
        "--url",
        url,
    )
    assert code == 0, err
    person = tmp_path / "person.json"
    person.write_text(
        json.dumps({"family_name": "Li", "email": "li@example.org", "consents": {"contact": True}})
    )
    code, out, err = run(
        "subject", "prescreen", str(person), "--user", "coord", "--url", url, "--json"
    )
    assert code == 0, err
    ref = json.loads(out)["reference"]
    code, out, _ = run("subject", "screen", ref, "--user", "coord", "--url", url, "--json")
    assert json.loads(out)["status"] == "screening"
    # an illegal step: one line on stderr, exit status 2
    code, out, err = run("subject", "enrol", ref, "--user", "coord", "--url", url)
    assert code == 2 and "only an eligible subject" in err and err.count("\n") == 1
    code, out, err = run("subject", "enrol", ref, "--user", "coord", "--url", url + "x")
    assert code == 2
    code, out, _ = run("trial", "status", "--user", "coord", "--url", url, "--json")
    assert json.loads(out)["recommendation"]["next_level"] == 1
    # screening evidence, engine evaluation and signed decision, enrolment, a cycle, an AE
    now = datetime.now(UTC)
    day = (now - timedelta(days=1)).isoformat()
    items = [
        {
            "variable": v,
            "value": val,
            "unit": u,
            "observed_at": day,
            "test_id": t,
            "source_document": "report",
        }
        for v, val, u, t in ELIGIBLE
    ]
    items[[i["variable"] for i in items].index("ecog")]["value"] = 2  # I-ECOG not met
    (tmp_path / "ev.json").write_text(json.dumps(items))
    code, out, err = run(
        "subject", "evidence", ref, str(tmp_path / "ev.json"), "--user", "coord", "--url", url,
        "--json",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["recorded"] == len(ELIGIBLE), err
    for name, role in (("inv", "investigator"), ("phys", "physicist")):
        assert (
            run(
                "user", "add", name, "--role", role, "--name", name, "--user", "root", "--url", url
            )[0]
            == 0
        )
    inv = ("--user", "inv", "--url", url)
    code, out, _ = run("subject", "evaluate", ref, *inv, "--json")
    engine = json.loads(out)
    assert engine["overall"] == "ineligible" and engine["failed"] == ["I-ECOG"]
    # no criterion is signed unseen: without a decision for each, nothing is written
    code, out, err = run("subject", "decide", ref, "--reason", "reviewed", *inv)
    assert code == 2 and "undecided" in err and "I-AGE" in err
    code, out, err = run("subject", "decide", ref, "--reason", "reviewed", "--confirm", "all",
                         "--overall", "eligible", *inv)  # fmt: skip
    assert code == 2 and "failing: I-ECOG" in err
    code, out, err = run("subject", "decide", ref, "--reason", "reviewed", "--confirm", "all",
                         "--override", "I-ECOG=met", *inv)  # fmt: skip
    assert code == 2 and "needs a reason" in err
    code, out, err = run(
        "subject", "decide", ref, "--reason", "reviewed", "--confirm", "all",
        "--override", "I-ECOG=met:ECOG 1 at the second visit (clinic note N-3)", *inv, "--json",
    )  # fmt: skip
    assert code == 0, err
    status = json.loads(out)
    assert status["status"] == "eligible"
    assert status["eligibility"][0]["overrides"][0]["criterion"] == "I-ECOG"
    assert "I-ECOG" in err and "engine says ineligible" in err  # the table shown before signing
    code, out, err = run("subject", "enrol", ref, "--user", "coord", "--url", url, "--json")
    assert code == 0 and json.loads(out)["dose_level"] == 1, err
    t = datetime.now(UTC)  # after the enrolment, not in the future
    code, out, err = run(
        "subject",
        "administer",
        ref,
        "--pre-mbq",
        "1900",
        "--pre-at",
        (t - timedelta(minutes=20)).isoformat(),
        "--residual-mbq",
        "40",
        "--residual-at",
        t.isoformat(),
        "--at",
        t.isoformat(),
        "--user",
        "phys",
        "--url",
        url,
        "--json",
    )
    assert code == 0 and 1855 < json.loads(out)["net_activity_mbq"] < 1860, err
    code, out, err = run(
        "subject",
        "ae",
        ref,
        "--term",
        "Nausea",
        "--grade",
        "1",
        "--start",
        (now - timedelta(minutes=5)).isoformat(),
        "--attribution",
        "possible",
        "--non-haematologic",
        "--user",
        "coord",
        "--url",
        url,
        "--json",
    )
    assert code == 0 and json.loads(out)["AESPID"] == 1, err
    code, out, _ = run("subject", "dlt-proposal", ref, "--user", "inv", "--url", url, "--json")
    assert json.loads(out)["events"][0]["status"] == "not_dlt"
    code, out, err = run(
        "subject",
        "dlt",
        ref,
        "1",
        "--no-dlt",
        "--rationale",
        "grade 1",
        "--user",
        "inv",
        "--url",
        url,
        "--json",
    )
    assert code == 0 and json.loads(out)["is_dlt"] is False, err
    code, out, _ = run(
        "subject",
        "identity",
        ref,
        "--reason",
        "phone call",
        "--user",
        "coord",
        "--url",
        url,
        "--json",
    )
    assert json.loads(out)["family_name"] == "Li"
    code, out, err = run("export", "odm", str(tmp_path / "odm"), "--user", "root", "--url", url)
    assert code == 2 and "export.data" in err  # admin may not export clinical data
    code, out, _ = run("audit", "verify", "--user", "root", "--url", url, "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    code, out, err = run("audit", "verify", "--user", "coord", "--url", url)
    assert code == 2 and "audit.verify" in err
    code, out, _ = run("registry", "purge", "--dry-run", "--user", "root", "--url", url, "--json")
    assert json.loads(out)["purged"] == []
    monkeypatch.setenv("RADIOTRIAL_PASSWORD", "wrong password")
    code, out, err = run("trial", "status", "--user", "coord", "--url", url)
    assert code == 2 and "wrong password" in err
