"""Real-browser walk-through: Playwright driving Debian's chromium (no browser download).

A person fills in the pre-screening form in Chinese; the investigator's mailbox (aiosmtpd)
receives the notice; a coordinator signs in, opens screening and records a lab; the
investigator signs the eligibility decision; the coordinator enrols the subject. Screenshots
of the main pages go to ``tmp_path`` (and to ``docs/screenshots/`` when
``RADIOTRIAL_WRITE_SCREENSHOTS=1``).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from .conftest import PASSWORD, Mailbox, free_port, settings
from .test_staff import _evidence

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="chromium missing: run tools/system-deps.sh (chromium:chromium)"
)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def live_server(
    db_url: str, vault_key: str, tmp_path: Path, mailbox: Mailbox
) -> Iterator[tuple[str, Any]]:
    from radiotrial.services import create_user
    from radiotrial.web import create_app

    port = free_port()
    app = create_app(
        settings(
            db_url=db_url,
            vault_key=vault_key,
            smtp_url=mailbox.url,
            outbox_dir=tmp_path / "outbox",
            public_base_url=f"http://127.0.0.1:{port}",
        )
    )
    ctx = app.state.services
    admin = create_user(ctx, None, username="admin", full_name="Admin", role="admin",
                        password=PASSWORD)  # fmt: skip
    create_user(ctx, admin, username="coordinator", full_name="Chen Jing", role="coordinator",
                password=PASSWORD)  # fmt: skip
    create_user(ctx, admin, username="investigator", full_name="Dr Wu", role="investigator",
                password=PASSWORD)  # fmt: skip
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("RADIOTRIAL_WRITE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS / path.name)


def test_prescreening_to_enrolment_in_a_browser(
    live_server: tuple[str, Any], mailbox: Mailbox, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, _app = live_server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            person = browser.new_page(locale="zh-CN", viewport={"width": 1000, "height": 900})
            person.goto(base + "/")
            expect(person).to_have_url(base + "/zh/")  # Accept-Language: zh-CN
            expect(person.locator("h1")).to_contain_text("临床试验")
            _shot(person, tmp_path, "portal-home-zh")
            person.click("text=English")
            expect(person.locator("h1")).to_contain_text("clinical trial")
            _shot(person, tmp_path, "portal-home-en")
            person.goto(base + "/zh/taking-part")
            _shot(person, tmp_path, "portal-taking-part-zh")
            person.goto(base + "/zh/prescreening")
            person.check("input[name=requester_type][value=relative]")
            person.fill("#full_name", "周丽")
            person.select_option("#country", "CN")
            person.check("input[name=travel][value=yes]")
            for q in ("q_advanced", "q_er_positive", "q_prior_endocrine", "q_adult", "q_self_care"):
                person.check(f"input[name={q}][value=yes]")
            person.check("input[name=q_her2_negative][value=not_sure]")
            person.check("input[name=q_prior_radioligand][value=no]")
            person.check("input[name=contact_channel][value=email]")
            person.fill("#email", "zhou.li@example.cn")
            person.check("input[name=contact_time][value=evening]")
            person.select_option("#time_zone", "Asia/Shanghai")
            person.check("input[name=preferred_language][value=zh]")
            person.check("input[name=interpreter][value=no]")
            # the cross-border consent is hidden for residents of the trial country
            expect(person.locator("[data-abroad-only]")).to_be_hidden()
            _shot(person, tmp_path, "portal-prescreening-zh")
            person.click("button[type=submit]")
            expect(person.locator(".banner")).to_contain_text("需要修改")  # consents missing
            person.check("input[name=consent_contact]")
            person.check("input[name=consent_storage]")
            person.click("button[type=submit]")
            expect(person.locator("h1")).to_contain_text("我们已收到您的申请")
            ref = person.inner_text("#reference")
            _shot(person, tmp_path, "portal-confirmation-zh")

            deadline = time.monotonic() + 10
            while len(mailbox.messages) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            notices = [m for rc, m in mailbox.messages if rc == ("neob-trial@example.org",)]
            assert len(notices) == 1 and ref in notices[0]["Subject"]
            confirm = [m for rc, m in mailbox.messages if rc == ("zhou.li@example.cn",)]
            assert ref in confirm[0].get_content()

            staff = browser.new_page(viewport={"width": 1100, "height": 900})
            staff.goto(base + "/staff/")
            expect(staff).to_have_url(base + "/staff/login")
            staff.fill("#username", "coordinator")
            staff.fill("#password", PASSWORD)
            staff.click("button[type=submit]")
            expect(staff.locator("#queue")).to_contain_text(ref)
            _shot(staff, tmp_path, "staff-queue")
            staff.click(f"text={ref}")
            staff.click("#open-screening")
            expect(staff.locator("#status")).to_have_text("screening")
            staff.select_option("#variable", "platelets")
            staff.fill("#value", "62")
            staff.fill("#unit", "10^9/L")
            yesterday = datetime.now(UTC).astimezone() - timedelta(days=1)
            staff.fill("#observed_at", yesterday.strftime("%Y-%m-%dT%H:%M"))
            staff.fill("#source_document", "FUSCC lab report 2025-001")
            staff.select_option("#test_id", "labs")
            staff.click("#evidence-form button[type=submit]")
            row = staff.locator("#criteria tr", has_text="I-PLT")
            expect(row).to_contain_text("not_met")  # 62 < 100 x10^9/L
            # the rest of the screening record arrives from the lab system through the API
            token = httpx.post(
                base + "/api/v1/token", json={"username": "coordinator", "password": PASSWORD}
            ).json()
            r = httpx.post(
                f"{base}/api/v1/subjects/{ref}/evidence",
                json=_evidence(datetime.now(UTC) - timedelta(hours=2)),
                headers={"Authorization": f"Bearer {token['access_token']}"},
            )
            assert r.status_code == 201, r.text
            staff.reload()
            expect(staff.locator("#overall")).to_have_text("eligible")
            _shot(staff, tmp_path, "staff-screening")

            inv = browser.new_page(viewport={"width": 1100, "height": 900})
            inv.goto(base + "/staff/login")
            inv.fill("#username", "investigator")
            inv.fill("#password", PASSWORD)
            inv.click("button[type=submit]")
            inv.goto(f"{base}/staff/subjects/{ref}")
            inv.check("input[name=overall][value=eligible]")
            inv.fill("#decide-reason", "All criteria met on recorded evidence")
            inv.fill("#decide-password", PASSWORD)
            inv.click("#decide-form button[type=submit]")
            expect(inv.locator("#status")).to_have_text("eligible")

            staff.reload()
            staff.click("#enrol")
            expect(staff.locator("#note")).to_contain_text("enrolled-cohort-1-level-1")
            expect(staff.locator("#timeline")).to_contain_text("on-study")
            _shot(staff, tmp_path, "staff-subject-enrolled")
            staff.goto(base + "/staff/escalation")
            _shot(staff, tmp_path, "staff-escalation")
        finally:
            browser.close()
