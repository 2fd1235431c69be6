"""The staff side of portal requests: queue, request page, match resolution, handling,
erasure on request, and the outbox delivered once SMTP works."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from radiotrial.registry import AuditEntry, OutboxMail, Request, Subject
from radiotrial.web import create_app

from .conftest import Mailbox, login, reference_of, settings, submit


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _row(html: str, reference: str) -> str:
    match = re.search(rf'<tr id="request-{reference}".*?</tr>', html, re.S)
    assert match, f"{reference} not in the queue"
    return _text(match.group(0))


def _expat_consultation(client: TestClient) -> str:
    return reference_of(
        submit(
            client,
            "en",
            "consultation",
            requester_type="physician",
            full_name="Dr Meyer",
            email="meyer@example.de",
            phone="+49 89 555 0100",
            country="DE",
            time_zone="Europe/Berlin",
            interpreter="yes",
            preferred_language="en",
            travel="not_sure",
            contact_channel="phone",
            contact_time="afternoon",
            consent_cross_border="yes",
            consent_other_trials="yes",
            topic="referral",
        ).text
    )


def test_queue_shows_every_answer_and_the_logistics(staff_app: Any) -> None:
    with TestClient(staff_app) as public:
        pre = reference_of(
            submit(
                public,
                "zh",
                requester_type="relative",
                full_name="周丽",
                q_er_positive="yes",
                q_her2_negative="no",
                q_adult="yes",
                interpreter="no",
            ).text
        )
        cons = _expat_consultation(public)
    with TestClient(staff_app) as c:
        login(c, "coordinator")
        queue = c.get("/staff/").text
        row = _row(queue, pre)
        for shown in (
            "Pre-screening",
            "a relative or friend",
            "portal: Chinese",
            "prefers: Chinese",
            "interpreter: No",
            "China",
            "can travel: Yes",
            "E-mail, Morning",
            "Asia/Shanghai",
            "ER-positive: Yes",
            "HER2-negative: No",
            "Adult: Yes",
            "Self-care: Not sure",
            "new",
        ):
            assert shown in row, (shown, row)
        row = _row(queue, cons)
        for shown in (
            "Consultation",
            "a referring physician",
            "interpreter: Yes",
            "Germany",
            "can travel: Not sure",
            "Telephone, Afternoon",
            "Europe/Berlin",
            "Referring a patient",
        ):
            assert shown in row, (shown, row)
        assert "Referring a patient yes new" in _row(queue, cons)  # other trials: yes
        assert "周丽" not in queue and "meyer@" not in queue  # no identity in the queue
        # the same queue in Chinese
        c.get("/staff/language/zh")
        zh = c.get("/staff/").text
        row = _row(zh, pre)
        for shown in (
            "预筛查",
            "亲属或朋友",
            "网站：中文",
            "需要翻译：否",
            "中国",
            "ER阳性：是",
            "HER2阴性：否",
            "电子邮件",
        ):
            assert shown in row, (shown, row)
        assert "德国" in _row(zh, cons) and "转诊患者" in _row(zh, cons)


def test_request_page_answers_consents_and_audited_contact(staff_app: Any) -> None:
    with TestClient(staff_app) as public:
        ref = _expat_consultation(public)
    with TestClient(staff_app) as c:
        csrf = login(c, "investigator")
        page = _text(c.get(f"/staff/requests/{ref}").text)
        for shown in (
            "Consultation request",
            "a referring physician",
            "Germany (DE)",
            "Europe/Berlin",
            "Referring a patient",
            "Cross-border exchange",
            "Told about other trials (optional) given",
        ):
            assert shown in page, shown
        assert "Dr Meyer" not in page
        r = c.post(f"/staff/requests/{ref}/contact", data={"csrf_token": csrf, "reason": ""})
        assert r.status_code == 422 and "Dr Meyer" not in r.text
        r = c.post(
            f"/staff/requests/{ref}/contact",
            data={"csrf_token": csrf, "reason": "call back the referring doctor"},
        )
        assert "Dr Meyer" in r.text and "+49 89 555 0100" in r.text
    with TestClient(staff_app) as mon:
        login(mon, "monitor")
        assert "Show contact details" not in mon.get(f"/staff/requests/{ref}").text
    ctx = staff_app.state.services
    with ctx.registry.read() as s:
        read = s.execute(
            sa.select(AuditEntry).where(
                AuditEntry.action == "read", AuditEntry.table_name == "request_contacts"
            )
        ).scalar_one()
        assert (read.actor, read.reason) == ("investigator", "call back the referring doctor")


def test_possible_match_is_resolved_by_staff(staff_app: Any) -> None:
    with TestClient(staff_app) as public:
        first = reference_of(
            submit(
                public, "zh", full_name="王芳", email="w1@example.cn", phone="+86 21 1111 0000"
            ).text
        )
        same = reference_of(
            submit(
                public, "zh", full_name="王芳", email="w2@example.cn", phone="+86 21 2222 0000"
            ).text
        )
        other = reference_of(
            submit(
                public, "zh", full_name="王芳", email="w3@example.cn", phone="+86 21 3333 0000"
            ).text
        )
    ctx = staff_app.state.services

    def subject_of(ref: str) -> Subject:
        with ctx.registry.read() as s:
            subject = s.execute(
                sa.select(Subject).join(Request).where(Request.reference == ref)
            ).scalar_one()
            s.expunge_all()
            return subject

    target = subject_of(first)
    provisional = subject_of(same)
    with TestClient(staff_app) as c:
        csrf = login(c, "coordinator")
        page = c.get(f"/staff/requests/{same}").text
        assert "Possible match" in page and target.code in page
        r = c.post(
            f"/staff/requests/{same}/match",
            data={"csrf_token": csrf, "same_as": target.code, "reason": ""},
        )
        assert r.status_code == 422  # a reason is required
        r = c.post(
            f"/staff/requests/{same}/match",
            data={
                "csrf_token": csrf,
                "same_as": target.code,
                "reason": "same date of birth on the phone",
            },
        )
        assert "the same person" in r.text
        r = c.post(
            f"/staff/requests/{other}/match",
            data={
                "csrf_token": csrf,
                "same_as": "different",
                "reason": "different person, born 1980",
            },
        )
        assert "a different person" in r.text
        r = c.post(
            f"/staff/requests/{other}/match",
            data={"csrf_token": csrf, "same_as": "different", "reason": "again"},
        )
        assert r.status_code == 422  # resolved once
    assert subject_of(same).code == target.code  # the request moved to the known person
    with ctx.registry.read() as s:
        closed = s.get(Subject, provisional.id)
        assert closed is not None and closed.status == "not-registered"
    assert subject_of(other).code not in (target.code, provisional.code)


def test_handled_requests_leave_the_queue(staff_app: Any) -> None:
    with TestClient(staff_app) as public:
        ref = reference_of(submit(public, "en").text)
    with TestClient(staff_app) as c:
        csrf = login(c, "investigator")
        r = c.post(f"/staff/requests/{ref}/handled", data={"csrf_token": csrf, "note": ""})
        assert r.status_code == 422
        r = c.post(
            f"/staff/requests/{ref}/handled",
            data={"csrf_token": csrf, "note": "called back, answered the question"},
        )
        assert "called back, answered the question" in r.text
        assert f'id="request-{ref}"' not in c.get("/staff/").text
        assert f'id="request-{ref}"' in c.get("/staff/requests").text


def test_erasure_on_request(staff_app: Any) -> None:
    with TestClient(staff_app) as public:
        ref = reference_of(
            submit(public, "en", full_name="Erase Me", email="erase@example.org").text
        )
    with TestClient(staff_app) as c:
        csrf = login(c, "coordinator")
        r = c.post(
            f"/staff/requests/{ref}/erase",
            data={"csrf_token": csrf, "reason": "the person asked by e-mail"},
        )
        assert r.status_code == 200 and "not-registered" in r.text
        assert c.get(f"/staff/requests/{ref}").status_code == 404
    with staff_app.state.services.registry.read() as s:
        assert s.execute(sa.select(sa.func.count(Request.id))).scalar_one() == 0
        assert s.execute(sa.select(sa.func.count(OutboxMail.id))).scalar_one() == 0


def test_outbox_is_shown_to_admins_and_sent_when_smtp_works(
    staff_app: Any, mailbox: Mailbox, db_url: str, vault_key: str
) -> None:
    with TestClient(staff_app) as public:  # no SMTP configured: both messages wait
        ref = reference_of(submit(public, "en", email="waiting@example.org").text)
    with TestClient(staff_app) as c:
        login(c, "admin")
        page = c.get("/staff/outbox").text
        assert page.count(f'href="/staff/requests/{ref}"') == 2
        assert "waiting@example.org" not in page and "neob-trial@" not in page
        assert "No SMTP server is configured" in page
    with TestClient(staff_app) as c:
        login(c, "coordinator")
        assert c.get("/staff/outbox").status_code == 403
    # the next start has SMTP: the admin has the waiting mail delivered
    app = create_app(settings(db_url=db_url, vault_key=vault_key, smtp_url=mailbox.url))
    with TestClient(app) as c:
        csrf = login(c, "admin")
        r = c.post("/staff/outbox/send", data={"csrf_token": csrf})
        assert "2 sent, 0 still waiting" in r.text and "The outbox is empty." in r.text
    received = {rcpt: msg for rcpt, msg in mailbox.messages}
    assert set(received) == {("neob-trial@example.org",), ("waiting@example.org",)}
    assert ref in received[("waiting@example.org",)]["Subject"]
    with app.state.services.registry.read() as s:
        assert s.execute(sa.select(sa.func.count(OutboxMail.id))).scalar_one() == 0
