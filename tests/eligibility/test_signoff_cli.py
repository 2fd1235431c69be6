"""Investigator confirmation/override and the ``radiotrial eligibility`` command."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from radiotrial.cli import main
from radiotrial.eligibility import (
    apply_decisions,
    evaluate_eligibility,
    example_record,
    sign_criterion,
)
from radiotrial.errors import ValidationError
from radiotrial.protocol import bundled_protocol

REPO = Path(__file__).resolve().parents[2]
SHANGHAI = timezone(timedelta(hours=8))
WHEN = datetime(2025, 6, 10, 15, 30, tzinfo=SHANGHAI)


def test_override_recomputes_overall_and_keeps_engine_status() -> None:
    res = evaluate_eligibility(example_record("ineligible"), bundled_protocol())
    decisions = [
        sign_criterion(
            res,
            cid,
            action="override",
            status="met" if cid.startswith("I-") else "not_met",
            signer_id="u17",
            signer_name="Dr Li",
            signed_at=WHEN,
            reason="repeat test on 2025-06-09 reviewed in the source record",
        )
        for cid in res.failed
    ]
    out = apply_decisions(res, decisions)
    assert out.overall == "eligible" and res.overall == "ineligible"
    c = out.criterion("I-PLT")
    assert (c.engine_status, c.status, c.outcome) == ("not_met", "met", "pass")
    d = c.to_dict()["decision"]
    assert d["signer_name"] == "Dr Li" and d["signed_at"] == "2025-06-10T15:30:00+08:00"
    assert len(d["content_sha256"]) == 64 and "override" in d["meaning"]
    assert not out.fully_confirmed


def test_confirm_all_and_latest_decision_wins() -> None:
    res = evaluate_eligibility(example_record("eligible"), bundled_protocol())
    confirms = [
        sign_criterion(
            res, c.id, action="confirm", signer_id="u1", signer_name="Dr Wang", signed_at=WHEN
        )
        for c in res.criteria
    ]
    out = apply_decisions(res, confirms)
    assert out.fully_confirmed and out.overall == "eligible"
    later = sign_criterion(
        res,
        "I-ECOG",
        action="override",
        status="not_met",
        reason="ECOG 2 at visit 2",
        signer_id="u1",
        signer_name="Dr Wang",
        signed_at=WHEN + timedelta(hours=1),
    )
    assert apply_decisions(res, [*confirms, later]).overall == "ineligible"


def test_signature_rules() -> None:
    res = evaluate_eligibility(example_record("eligible"), bundled_protocol())
    kw = {"signer_id": "u1", "signer_name": "Dr Wang", "signed_at": WHEN}
    with pytest.raises(ValidationError, match="reason"):
        sign_criterion(res, "I-PLT", action="override", status="not_met", **kw)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="status"):
        sign_criterion(res, "I-PLT", action="override", status="pending", reason="x", **kw)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="confirm"):
        sign_criterion(res, "I-PLT", action="override", status="met", reason="x", **kw)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="no such criterion"):
        sign_criterion(res, "I-XYZ", action="confirm", **kw)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="timezone"):
        sign_criterion(
            res,
            "I-PLT",
            action="confirm",
            signer_id="u1",
            signer_name="Dr Wang",
            signed_at=datetime(2025, 6, 10, 15, 30),
        )


def test_stale_signature_is_refused() -> None:
    res = evaluate_eligibility(example_record("eligible"), bundled_protocol())
    d = sign_criterion(
        res, "I-PLT", action="confirm", signer_id="u1", signer_name="Dr Wang", signed_at=WHEN
    )
    changed = res.with_criteria(
        [replace(c, reason=c.reason + " (edited)") if c.id == "I-PLT" else c for c in res.criteria]
    )
    with pytest.raises(ValidationError, match="different version"):
        apply_decisions(changed, [d])
    other = evaluate_eligibility(example_record("expatriate"), bundled_protocol())
    with pytest.raises(ValidationError, match="another evaluation"):
        apply_decisions(other, [d])


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0), out.out, out.err


def test_cli_check_json(capsys: pytest.CaptureFixture[str]) -> None:
    rec = REPO / "docs" / "examples" / "patient-pending.json"
    code, out, _ = run(
        capsys,
        "eligibility",
        "check",
        str(rec),
        "--protocol",
        str(REPO / "protocols" / "lu177-neob-er-her2-mbc-phase1.yaml"),
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["overall"] == "pending" and data["as_of"] == "2025-06-10"
    hb = next(c for c in data["criteria"] if c["id"] == "I-HB")
    assert hb["status"] == "pending" and hb["evidence"][0]["source"] == "Lab report L20250510-042"
    assert "screening window" in hb["reason"]


def test_cli_check_table_and_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(
        capsys, "eligibility", "check", str(REPO / "docs/examples/patient-ineligible.json")
    )
    assert code == 0 and "INELIGIBLE" in out and "I-PLT" in out
    code, out, err = run(
        capsys,
        "eligibility",
        "check",
        str(REPO / "docs/examples/patient-eligible.json"),
        "--as-of",
        "2999-01-01",
    )
    assert code == 2 and "--as-of" in err and "future" in err and out == ""
    bad = json.loads((REPO / "docs/examples/patient-eligible.json").read_text("utf-8"))
    bad["receptors"]["er"]["percent"] = 150
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(bad), encoding="utf-8")
    code, _, err = run(capsys, "eligibility", "check", str(f))
    assert code == 2 and "receptors.er.percent=150" in err and err.count("\n") == 1


def test_cli_schema_and_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "eligibility", "schema")
    assert code == 0 and json.loads(out)["title"].startswith("radiotrial patient record")
    code, out, _ = run(capsys, "eligibility", "example", "expatriate")
    assert code == 0 and json.loads(out)["demographics"]["residency"] == "expatriate"
