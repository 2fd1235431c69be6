"""Staff review pages: dosimetry per cycle, adverse events and DLTs, escalation, audit, exports."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from radiotrial.registry import generate_key, upgrade
from radiotrial.services import create_user, subject_status
from radiotrial.web import create_app

from ._trial import INVESTIGATOR, Clock, treated_subject, write_run
from .conftest import PASSWORD, ROLES, login, settings


@pytest.fixture
def trial(tmp_path: Path) -> Any:
    """An app on a fresh SQLite registry, one account per role, a controllable clock."""
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    upgrade(url)
    app = create_app(settings(db_url=url, vault_key=generate_key(), outbox_dir=tmp_path / "out",
                              dosimetry_dir=tmp_path / "dosimetry"))  # fmt: skip
    ctx = app.state.services
    clock = Clock()
    ctx.clock = clock
    admin = create_user(ctx, None, username="admin", full_name="Admin", role="admin",
                        password=PASSWORD)  # fmt: skip
    for role in ROLES[1:]:
        create_user(ctx, admin, username=role, full_name=role.title(), role=role, password=PASSWORD)
    app.state.clock = clock
    app.state.dose_root = tmp_path / "dosimetry"
    return app


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
    assert {d["target"] for d in recorded} == {"kidneys", "pancreas", "liver", "red_marrow"}
    kidney = next(d for d in recorded if d["target"] == "kidneys")
    assert kidney["absorbed_dose_gy"] == pytest.approx(0.10 * gbq, rel=1e-12)
    # plan against the protocol's limits, by hand (absorbed-dose limits: A = (L - D_c) / d):
    # red marrow 2 Gy at 0.018 Gy/GBq, kidneys 23 Gy at 0.10 Gy/GBq -> marrow limits
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
