"""CLI: nuclide, protocol and demo commands, JSON contracts, error handling."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from radiotrial.cli import app, main

PROTOCOL = Path(__file__).resolve().parents[2] / "protocols" / "lu177-neob-er-her2-mbc-phase1.yaml"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), out.out, out.err


def test_nuclide_json_reports_icrp107_energies(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "nuclide", "Lu-177", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["nuclide"] == "Lu-177" and data["half_life_d"] == pytest.approx(6.647)
    e = data["energy_per_decay_mev"]
    assert e["beta-"] == pytest.approx(0.1333, rel=5e-4)
    assert e["electrons"] == pytest.approx(0.1479, rel=5e-4)
    assert e["photons"] == pytest.approx(0.03510, rel=5e-4)


def test_nuclide_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "nuclide", "I-131")
    assert code == 0 and "364.49" in out


def test_unknown_nuclide_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "nuclide", "Xx-1")
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and "not an ICRP-107 nuclide" in err
    assert "Traceback" not in err


def test_debug_shows_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--debug", "nuclide", "Xx-1")
    assert code == 2 and "Traceback" in err


def test_protocol_validate_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "protocol", "validate", str(PROTOCOL), "--json")
    assert code == 0 and json.loads(out)["valid"] is True
    code, out, _ = run(capsys, "protocol", "show", str(PROTOCOL), "--json")
    assert code == 0 and json.loads(out)["dose_levels"]["levels"][0]["activity"] == 1.85
    code, out, _ = run(capsys, "protocol", "show", str(PROTOCOL))
    assert code == 0 and "Menda" in out


def test_protocol_show_gives_the_target_with_its_unit(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # the same 30 % target written as a percentage is shown as a rate with its unit, never "30"
    pct = tmp_path / "pct.yaml"
    text = PROTOCOL.read_text(encoding="utf-8")
    old = 'value: 0.3\n    unit: "1"'
    assert old in text
    pct.write_text(text.replace(old, 'value: 30\n    unit: "%"'), encoding="utf-8")
    code, out, _ = run(capsys, "protocol", "show", str(pct))
    assert code == 0 and "target DLT rate 0.3 (30 %)" in " ".join(out.split())


def test_protocol_validate_rejects_bad_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text(
        PROTOCOL.read_text(encoding="utf-8").replace("value: 42", "value: 99"), encoding="utf-8"
    )
    code, _, err = run(capsys, "protocol", "validate", str(bad))
    assert code == 2 and "dlt.window" in err and "p.yaml" in err


# BOIN boundaries for φ = 0.3 (Liu & Yuan, JRSS-C 2015, Table 1; REFERENCE.md closed form)
LAMBDA_E, LAMBDA_D = 0.236, 0.359


def test_demo(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # the synthetic trial with population Gy/GBq (image-based dosimetry of the trial is covered
    # by tests/services/test_demo.py, the virtual-patient panel by tests/dosimetry)
    monkeypatch.delenv("RADIOTRIAL_VAULT_KEY", raising=False)
    monkeypatch.delenv("RADIOTRIAL_VAULT_KEY_FILE", raising=False)
    curve = "0.15,0.3,0.45,0.6,0.7"  # steep, so that DLTs occur in two cohorts
    argv = ["demo", "--no-dosimetry", "--json", "--cohorts", "2", "--seed", "6"]
    code, out, _ = run(capsys, *argv, "--dlt-probability", curve)
    assert code == 0
    data = json.loads(out)
    assert data["nuclide"]["nuclide"] == "Lu-177"
    assert data["protocol"]["dose_levels_gbq"] == [1.85, 3.7, 5.55, 7.4, 9.25]
    assert data["dosimetry"] is None
    esc, trial = data["escalation"], data["trial"]
    assert trial["audit"]["ok"] and trial["vault_key"] == "generated for this run"
    assert "admin_password" not in trial and "generated_vault_key" not in trial
    # each complete cohort's decision, recomputed from the outcome history by the BOIN rule:
    # escalate if p̂ ≤ λe, de-escalate if p̂ > λd, else stay (no elimination below n = 3 + DLTs)
    cohorts = esc["history"].split()
    assert len(cohorts) == 3 and len(esc["cohorts"]) == 3
    n: dict[int, int] = {}
    y: dict[int, int] = {}
    for k, (token, cohort) in enumerate(zip(cohorts[:2], esc["cohorts"][:2], strict=True)):
        level = int(token[0])
        assert cohort["dose_level"] == level and cohort["n_dlt"] == token.count("T")
        n[level] = n.get(level, 0) + 3
        y[level] = y.get(level, 0) + token.count("T")
        p_hat = y[level] / n[level]
        expected = (
            "escalate" if p_hat <= LAMBDA_E else "de-escalate" if p_hat > LAMBDA_D else "stay"
        )
        if expected == "de-escalate" and level == 1:
            expected = "stay"
        assert cohort["action"] == expected, (token, p_hat)
        step = {"escalate": 1, "stay": 0, "de-escalate": -1}[expected]
        # the next cohort (the last one still in its DLT window) opened at that level
        assert cohort["next_level"] == level + step == int(cohorts[k + 1][0])
    assert esc["cohorts"][2]["action"] is None and esc["action"] == "wait"
    # evaluated = known outcomes (a DLT is known before the window closes; P is pending)
    known = sum(t.count("N") + t.count("T") for t in cohorts)
    assert sum(trial["patients_per_level"].values()) == known


def test_demo_keeps_a_database_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("RADIOTRIAL_VAULT_KEY", raising=False)
    monkeypatch.delenv("RADIOTRIAL_VAULT_KEY_FILE", raising=False)
    monkeypatch.delenv("RADIOTRIAL_ADMIN_PASSWORD", raising=False)
    db = tmp_path / "demo.db"
    argv = ["demo", "--no-dosimetry", "--json", "--cohorts", "1", "--db", str(db)]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    trial = json.loads(out)["trial"]
    # a kept study is usable only with its key and passwords, shown once
    assert len(trial["admin_password"]) >= 12 and trial["generated_vault_key"]
    assert str(db) in trial["database"]
    code, _, err = run(capsys, *argv)
    assert code == 2 and "already has accounts" in err


@pytest.mark.slow
def test_demo_dosimetry_path_at_reduced_size(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # the full demo path (image-based dosimetry in the trial and the virtual-patient panel) at
    # 9.6 mm so that it stays a few seconds; the science is tested in tests/dosimetry
    monkeypatch.delenv("RADIOTRIAL_VAULT_KEY", raising=False)
    monkeypatch.delenv("RADIOTRIAL_VAULT_KEY_FILE", raising=False)
    out = tmp_path / "demo"
    argv = ["demo", "--json", "--cohorts", "1", "--seed", "3", "--voxel-mm", "9.6"]
    code, stdout, err = run(capsys, *argv, "--out", str(out))
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["trial"]["dosimetry_method"] != "population"
    dos = doc["dosimetry"]
    assert dos["out"] == str(out) and (out / "results.json").is_file()
    assert (out / "bed.nii.gz").is_file() and (out / "rtdose.dcm").is_file()
    written = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert written["regions"] == dos["regions"]
    kidneys = next(r for r in dos["regions"] if r["region"] == "kidneys")
    assert kidneys["dose_gy"] > 0 and kidneys["dose_sd_gy"] > 0
    # the protocol's first scan at 4 h: the unsampled renal phase is reported, not hidden
    assert kidneys["warnings"] and kidneys["warnings"][0] in dos["warnings"]
    assert dos["plan"]["max_activity_gbq"] > 0
    assert dos["red_marrow_for_planning"] in {m["method"] for m in dos["red_marrow"]}


def _command_paths() -> list[list[str]]:
    """Every command and group of the CLI, as argv prefixes (walked from the click tree)."""
    import typer.main

    paths: list[list[str]] = []

    def walk(cmd: Any, prefix: list[str]) -> None:
        paths.append(prefix)
        # typer ships its own click; a group is whatever holds subcommands
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*prefix, name])

    walk(typer.main.get_command(app), [])
    return paths


COMMANDS = _command_paths()


def test_command_tree_is_complete() -> None:
    # guards the walk itself: the top-level commands the README and issues name are all present
    top = {p[0] for p in COMMANDS if len(p) == 1}
    assert {"nuclide", "protocol", "demo", "serve", "phantom", "imaging", "design"} <= top
    assert len(COMMANDS) > 30


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a) or "radiotrial")
def test_every_command_has_help(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, _ = run(capsys, *argv, "--help")
    assert code == 0 and "Usage" in out
    # a helpful --help: the command says what it does, not only its usage line
    description = out.split("Usage", 1)[1].split("╭", 1)[0].splitlines()[1:]
    assert any(line.strip() for line in description), f"{argv} --help has no description"
