"""Outcome strings, dosimetry-guided design, pathways, plots and the CLI JSON contract."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from radiotrial.cli import app
from radiotrial.cli._output import run_app
from radiotrial.errors import ValidationError
from radiotrial.escalation import BoinDesign, parse_outcomes
from radiotrial.escalation._dosimetry import (
    DoseResponse,
    DosimetryGuidedDesign,
    activity_for_target_bed_gbq,
    compare_activity_and_dosimetry_designs,
)
from radiotrial.escalation._pathways import dose_transition_pathways
from radiotrial.radiobiology import bed_mono


def test_parse_outcomes() -> None:
    s = parse_outcomes("1NNN 2NTT 2P", 3)
    n, y = s.counts()
    assert n.tolist() == [3, 3, 0] and y.tolist() == [0, 2, 0]
    assert s.n_pending == 1 and s.outcome_string() == "1NNN 2NTT 2P"
    for bad in ("0NNN", "4N", "1NXN", "NNN"):
        with pytest.raises(ValidationError, match="history"):
            parse_outcomes(bad, 3)


def test_bed_reference_value() -> None:
    # REFERENCE.md check: D = 10 Gy, α/β 2.6, T_rep 2.8 h, T_eff 50 h → BED 12.040 Gy
    assert float(bed_mono(10.0, t_eff_h=50, alpha_beta_gy=2.6, t_repair_h=2.8)) == pytest.approx(
        12.040, abs=5e-4
    )
    a = activity_for_target_bed_gbq(12.0396, [0.1, 0.2], t_eff_h=50, alpha_beta_gy=2.6, t_rep_h=2.8)
    assert a == pytest.approx([100.0, 50.0], rel=1e-4)


def test_dosimetry_design_caps_at_cumulative_limit() -> None:
    d = DosimetryGuidedDesign(0.3, [2, 4, 6, 8], cumulative_limit_gy=25, n_cycles=4)
    dec = d.decide(parse_outcomes("1NNN 2NNN", 4))
    assert dec.next_level == 3 and dec.details["next_dose_gy"] == 6
    dec = d.decide(parse_outcomes("1NNN 2NNN 3NNN", 4))  # level 4: 32 Gy > 25 Gy
    assert dec.next_level == 3
    assert d.patient_activity_gbq(2, 0.1) == pytest.approx(40.0)
    ev = DosimetryGuidedDesign(0.3, [2, 4, 6], dose_event_gy=5.0)
    from radiotrial.escalation import Patient, TrialState

    st = TrialState(
        parse_outcomes("", 3).levels,
        tuple(Patient(1, False, organ_dose_gy=6.0) for _ in range(3)),
        ((0, 1, 2),),
    )
    assert ev.decide(st).action == "stop"  # 3 dosimetric events at level 1 eliminate it


def test_dosimetry_comparison_removes_dose_spread() -> None:
    res = compare_activity_and_dosimetry_designs(
        target=0.3,
        activity_levels_gbq=[6, 9, 12, 15, 18],
        dose_levels_gy=[0.6, 0.9, 1.2, 1.5, 1.8],
        coefficient_mean=0.1,
        coefficient_sd=0.056,
        dose_response=DoseResponse(1.6, 1.5),
        n_trials=400,
        seed=3,
    )
    for key in ("activity", "dosimetry"):
        assert sum(res[key]["selection_pct"]) + res[key]["stop_pct"] == pytest.approx(100)
    assert res["dosimetry"]["mean_organ_dose_gy"] <= 1.8 + 1e-12


def test_pathways_enumerate_all_outcomes() -> None:
    nodes = dose_transition_pathways(BoinDesign(0.3, 5), parse_outcomes("1NNN", 5), 2)
    assert len(nodes) == 1 + 4 + 16
    assert nodes[1].history == "1NNN 2NNN" and nodes[1].next_level == 3


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = run_app(app, args)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli_json_contract(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out, _ = _run(["design", "boundaries", "--target", "0.3", "--json"], capsys)
    data = json.loads(out)
    assert rc == 0 and {"lambda_e", "lambda_d", "table"} <= data.keys()
    rc, out, _ = _run(
        [
            "design",
            "next",
            "--design",
            "boin",
            "--target",
            "0.3",
            "--levels",
            "5",
            "--history",
            "1NNN 2NTT",
            "--json",
        ],
        capsys,
    )
    data = json.loads(out)
    assert data["next_level"] == 1 and "reason" in data
    rc, out, _ = _run(
        ["design", "next", "--design", "crm", "--levels", "5", "--history", "1NNN", "--json"],
        capsys,
    )
    data = json.loads(out)
    assert {"a_hat", "p_hat", "next_level"} <= data.keys()
    rc, out, _ = _run(
        [
            "design",
            "mtd",
            "--design",
            "boin",
            "--target",
            "0.3",
            "--n",
            "3,3,15,9,0",
            "--y",
            "0,0,4,4,0",
            "--json",
        ],
        capsys,
    )
    assert json.loads(out)["mtd"] == 3
    png = tmp_path / "oc.png"
    rc, out, _ = _run(
        [
            "design",
            "oc",
            "--design",
            "boin",
            "--target",
            "0.3",
            "--truth",
            "0.05,0.15,0.30,0.45,0.60",
            "--trials",
            "500",
            "--seed",
            "1",
            "--plot",
            str(png),
            "--json",
        ],
        capsys,
    )
    data = json.loads(out)
    for key in (
        "selection_pct",
        "stop_pct",
        "mean_n",
        "mean_total_n",
        "mean_dlt",
        "selection_pct_se",
        "mean_n_se",
    ):
        assert key in data
    assert png.stat().st_size > 1000
    rc, out, _ = _run(
        [
            "design",
            "oc",
            "--design",
            "3+3",
            "--truth",
            "0.05,0.15,0.30,0.45,0.60",
            "--exact",
            "--json",
        ],
        capsys,
    )
    assert json.loads(out)["method"] == "exact"


def test_cli_errors_name_the_argument(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(["design", "boundaries", "--target", "0.7"], capsys)
    assert rc == 2 and "target" in err
    rc, _, err = _run(["design", "oc", "--truth", "0.1,1.2"], capsys)
    assert rc == 2 and "truth" in err
    rc, _, err = _run(["design", "next", "--levels", "3", "--history", "1NNN 5NNN"], capsys)
    assert rc == 2 and "history" in err
    rc, _, err = _run(
        [
            "design",
            "next",
            "--design",
            "crm",
            "--levels",
            "3",
            "--history",
            "1NNN",
            "--skeleton",
            "0.3,0.2,0.4",
        ],
        capsys,
    )
    assert rc == 2 and "skeleton" in err


def test_plots_written(tmp_path: Path) -> None:
    from radiotrial.escalation._plots import plot_escalation_path, plot_pathways

    s = parse_outcomes("1NNN 2NTN 2NNN 3TTN", 5)
    p1 = plot_escalation_path(s, tmp_path / "path.png")
    nodes = dose_transition_pathways(BoinDesign(0.3, 5), s, 1)
    p2 = plot_pathways(nodes, tmp_path / "pw.png", n_levels=5)
    assert p1.stat().st_size > 1000 and p2.stat().st_size > 1000
    assert not list(tmp_path.glob("tmp*"))
    assert np.isfinite(0.0)


def test_cli_protocol_option(capsys: pytest.CaptureFixture[str]) -> None:
    proto = Path(__file__).parents[2] / "protocols" / "lu177-neob-er-her2-mbc-phase1.yaml"
    if not proto.exists():
        pytest.skip("bundled protocol not present")
    rc, out, _ = _run(
        ["design", "next", "--protocol", str(proto), "--history", "1NNN", "--json"], capsys
    )
    data = json.loads(out)
    assert rc == 0 and data["next_level"] == 2 and "next_activity_gbq" in data


def test_dosimetry_comparison_runs_the_designs_own_rules() -> None:
    from radiotrial.escalation._dosimetry import DosimetryGuidedDesign
    from radiotrial.escalation._engine import run_trials, tolerances

    dr = DoseResponse(1.6, 1.5)
    common = dict(
        target=0.3,
        activity_levels_gbq=[6, 9, 12, 15, 18],
        dose_levels_gy=[0.6, 0.9, 1.2, 1.5, 1.8],
        coefficient_mean=0.1,
        coefficient_sd=0.056,
        dose_response=dr,
        n_trials=600,
        seed=4,
    )
    # identity: a known coefficient and no activity cap give every patient exactly D_k, so the
    # comparison must reproduce DosimetryGuidedDesign on P(D_k) with the same tolerances
    res = compare_activity_and_dosimetry_designs(**common)  # type: ignore[arg-type]
    design = DosimetryGuidedDesign(0.3, [0.6, 0.9, 1.2, 1.5, 1.8])
    u = tolerances(600, 30, 4 + 1)
    ref = run_trials(design, dr(np.array([0.6, 0.9, 1.2, 1.5, 1.8])), u)
    sel = np.bincount(ref.selected[ref.selected >= 0], minlength=5) / 600
    assert res["dosimetry"]["selection_pct"] == pytest.approx(100 * sel, abs=1e-9)
    assert res["dosimetry"]["mean_n"] == pytest.approx(ref.n.mean(axis=0), abs=1e-12)
    # cumulative limit: 4 cycles of 1.8 Gy exceed 6 Gy, so level 5 is never entered
    capped = compare_activity_and_dosimetry_designs(
        **common,
        cumulative_limit_gy=6.0,
        n_cycles=4,  # type: ignore[arg-type]
    )
    assert capped["dosimetry"]["highest_allowed_level"] == 4
    assert capped["dosimetry"]["mean_n"][4] == 0.0 and capped["activity"]["mean_n"][4] > 0
    # dose events: with planning error some realised doses exceed 1.6 Gy and count as DLTs
    ev = compare_activity_and_dosimetry_designs(
        **common,
        dose_event_gy=1.6,
        prediction_cv=0.3,  # type: ignore[arg-type]
    )
    d = ev["dosimetry"]
    assert d["mean_dosimetric_events"] > 0
    assert d["mean_counted_events"] >= d["mean_total_dlt"] + 1e-9
    assert d["mean_counted_events"] <= d["mean_total_dlt"] + d["mean_dosimetric_events"] + 1e-9


def test_dosimetry_design_refuses_impossible_settings() -> None:
    with pytest.raises(ValidationError, match="cumulative_limit_gy"):
        DosimetryGuidedDesign(0.3, [2, 4], cumulative_limit_gy=5, n_cycles=4)
    with pytest.raises(ValidationError, match="dose_event_gy"):
        DosimetryGuidedDesign(0.3, [2, 4], dose_event_gy=-1.0)


def test_cli_pathways_getprior_dosimetry(capsys: pytest.CaptureFixture[str]) -> None:
    from radiotrial.escalation import getprior

    rc, out, _ = _run(
        ["design", "pathways", "--levels", "5", "--history", "1NNN", "--next-cohorts", "2",
         "--json"],
        capsys,
    )  # fmt: skip
    data = json.loads(out)
    ref = dose_transition_pathways(BoinDesign(0.3, 5), parse_outcomes("1NNN", 5), 2)
    assert rc == 0 and [n["next_level"] for n in data["pathways"]] == [r.next_level for r in ref]
    rc, out, _ = _run(
        ["design", "getprior", "--halfwidth", "0.05", "--target", "0.25", "--nu", "3",
         "--levels", "5", "--json"],
        capsys,
    )  # fmt: skip
    assert json.loads(out)["skeleton"] == pytest.approx(getprior(0.05, 0.25, 3, 5).tolist())
    rc, out, _ = _run(
        ["design", "dosimetry", "--trials", "300", "--cycles", "4", "--cumulative-limit-gy", "6",
         "--dose-event-gy", "1.6", "--prediction-cv", "0.3", "--json"],
        capsys,
    )  # fmt: skip
    data = json.loads(out)
    assert rc == 0 and data["settings"]["cumulative_limit_gy"] == 6
    assert data["dosimetry"]["highest_allowed_level"] == 4
    assert data["dosimetry"]["mean_n"][4] == 0.0


def test_cli_dosimetry_next_and_oc(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    csv = tmp_path / "patients.csv"
    csv.write_text(
        "level,dlt,followup,organ_dose_gy\n1,0,42,6.0\n1,0,42,6.0\n1,0,42,6.0\n",
        encoding="utf-8",
    )
    base = ["design", "next", "--design", "dosimetry", "--dose-levels-gy", "2,4,6"]
    rc, out, _ = _run([*base, "--patients", str(csv), "--json"], capsys)
    assert rc == 0 and json.loads(out)["next_level"] == 2  # organ doses ignored without a rule
    rc, out, _ = _run([*base, "--patients", str(csv), "--dose-event-gy", "5", "--json"], capsys)
    assert json.loads(out)["action"] == "stop"  # three dosimetric events eliminate level 1
    rc, out, _ = _run(
        ["design", "oc", "--design", "dosimetry", "--dose-levels-gy", "0.6,0.9,1.2",
         "--cumulative-limit-gy", "4", "--cycles", "4", "--truth", "0.1,0.3,0.5", "--exact",
         "--json"],
        capsys,
    )  # fmt: skip
    data = json.loads(out)
    assert rc == 0 and data["mean_n"][2] == 0.0 and data["selection_pct"][2] == 0.0


def test_cli_scenario_target_and_common_random_numbers(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from radiotrial.escalation import _data, exact_oc, simulate_oc
    from radiotrial.escalation._engine import tolerances
    from radiotrial.escalation._threeplusthree import ThreePlusThree

    sc = {"t20": {"truth": [0.05, 0.2, 0.35, 0.5], "target": 0.2, "source": "test"}}
    monkeypatch.setattr(_data, "scenarios", lambda: sc)
    rc, out, _ = _run(["design", "oc", "--scenario", "t20", "--exact", "--json"], capsys)
    data = json.loads(out)
    assert rc == 0 and data["target"] == 0.2
    ex = exact_oc(BoinDesign(0.2, 4), [0.05, 0.2, 0.35, 0.5])
    assert data["selection_pct"] == pytest.approx(100 * ex.selection_prob, abs=1e-9)
    # two designs on the same simulated patients (common random numbers, one seed)
    rc, out, _ = _run(
        ["design", "oc", "--design", "boin,3+3", "--truth", "0.05,0.15,0.3,0.45,0.6",
         "--trials", "400", "--seed", "7", "--json"],
        capsys,
    )  # fmt: skip
    both = json.loads(out)["designs"]
    b, t = BoinDesign(0.3, 5), ThreePlusThree(5)
    u = tolerances(400, max(b.max_patients, t.max_patients), 7)
    p = [0.05, 0.15, 0.3, 0.45, 0.6]
    for got, design in zip(both, (b, t), strict=True):
        ref = simulate_oc(design, p, u=u)
        assert got["selection_pct"] == pytest.approx(100 * ref.selection_prob, abs=1e-12)


def test_common_random_numbers_define_each_patients_outcome() -> None:
    from radiotrial.escalation._engine import run_trials, tolerances
    from radiotrial.escalation._threeplusthree import ThreePlusThree

    p = np.array([0.05, 0.15, 0.3, 0.45, 0.6])
    u = tolerances(500, 30, 9)
    for design in (BoinDesign(0.3, 5), ThreePlusThree(5)):
        tr = run_trials(design, p, u)
        seen = tr.levels >= 0
        width = tr.levels.shape[1]
        # patient i of trial t has a DLT at level j exactly when U[t, i] < p_j, in every design
        expected = u[:, :width] < p[np.where(seen, tr.levels, 0)]
        assert np.array_equal(tr.dlt[seen], expected[seen])


def test_cli_tite_crm_adaptive_and_bad_target(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(
        ["design", "next", "--design", "tite-crm", "--levels", "5", "--history", "1NNT 2NNP",
         "--cohort-size", "3", "--scheme", "adaptive", "--json"],
        capsys,
    )  # fmt: skip
    data = json.loads(out)
    assert rc == 0 and "adaptive" in data["design"] and "accrual_suspended" in data
    rc, _, err = _run(
        ["design", "oc", "--design", "3+3", "--target", "0.9", "--truth", "0.1,0.2", "--exact"],
        capsys,
    )
    assert rc == 2 and "target=0.9" in err
