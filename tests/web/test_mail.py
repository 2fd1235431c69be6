"""Notices by SMTP to a real aiosmtpd server, and the outbox fallback."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from radiotrial.web import MemoryBackend, create_app
from radiotrial.web._mail import Mailer
from radiotrial.web._ports import OutboundMail
from radiotrial.web._settings import SmtpTarget

from .conftest import Mailbox, free_port, reference_of, settings, submit


def test_chinese_request_notifies_investigator_and_confirms_in_chinese(
    mailbox: Mailbox, memory: MemoryBackend
) -> None:
    app = create_app(settings(smtp_url=mailbox.url), backend=memory)
    with TestClient(app) as c:
        r = submit(c, "zh", "prescreening", full_name="王芳", email="wang.fang@example.cn",
                   time_zone="Asia/Tokyo", country="JP", consent_cross_border="yes",
                   q_er_positive="yes", interpreter="yes")  # fmt: skip
        ref = reference_of(r.text)
    assert len(mailbox.messages) == 2  # background tasks ran before the client returned
    (notice,) = [m for rc, m in mailbox.messages if "neob-trial@example.org" in rc]
    (confirm,) = [m for rc, m in mailbox.messages if "wang.fang@example.cn" in rc]
    body = notice.get_content()  # type: ignore[attr-defined]
    assert ref in notice["Subject"] and ref in body
    assert "预筛查申请" in notice["Subject"]
    # the notice carries no identity and no answers: e-mail is not an encrypted channel
    assert "王芳" not in body and "wang.fang" not in body and "6417" not in body
    for answer in ("不确定", "日本", "Asia/Tokyo", "雌激素", "翻译"):
        assert answer not in body, answer
    # what it does carry: reference, kind, portal language, site time, the staff link
    assert "预筛查申请" in body and "网站语言：中文" in body and "(Asia/Shanghai)" in body
    assert f"/staff/requests/{ref}" in body
    text = confirm.get_content()  # type: ignore[attr-defined]
    assert confirm["Content-Language"] == "zh-Hans"
    assert ref in text and "接下来会怎样" in text and "180天" in text
    assert confirm["Reply-To"] == "neob-trial@example.org"
    assert memory.outbox == []


def test_english_consultation_confirmation_is_in_english(
    mailbox: Mailbox, memory: MemoryBackend
) -> None:
    app = create_app(settings(smtp_url=mailbox.url), backend=memory)
    with TestClient(app) as c:
        ref = reference_of(
            submit(
                c,
                "en",
                "consultation",
                country="GB",
                time_zone="Europe/London",
                consent_cross_border="yes",
            ).text
        )
    (confirm,) = [m for rc, m in mailbox.messages if "li.hua@example.com" in rc]
    text = confirm.get_content()  # type: ignore[attr-defined]
    assert f"Your reference number: {ref}" in text
    assert "What happens next" in text and "deleted 180 days after your last request" in text


def test_no_email_no_confirmation(mailbox: Mailbox, memory: MemoryBackend) -> None:
    app = create_app(settings(smtp_url=mailbox.url), backend=memory)
    with TestClient(app) as c:
        submit(c, "en", contact_channel="phone", email="")
    assert [rc for rc, _ in mailbox.messages] == [("neob-trial@example.org",)]


def test_without_smtp_messages_go_to_outbox_and_log(
    memory: MemoryBackend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "radiotrial.web.mail")
    with TestClient(create_app(settings(), backend=memory)) as c:
        ref = reference_of(submit(c, "en").text)
    kinds = sorted(m.kind for m, _ in memory.outbox)
    assert kinds == ["investigator_notice", "requester_confirmation"]
    assert all("no SMTP server configured" in reason for _, reason in memory.outbox)
    assert f"outbox: investigator_notice for {ref}" in caplog.text
    assert "li.hua" not in caplog.text and "李华" not in caplog.text


def test_smtp_failure_falls_back_to_outbox(memory: MemoryBackend) -> None:
    dead = SmtpTarget(f"smtp://127.0.0.1:{free_port()}")  # nothing listens there
    mailer = Mailer(dead, "radiotrial@localhost", memory, timeout_s=2)
    mail = OutboundMail("investigator_notice", ("pi@example.org",), "s", "b", "en", "PS-1")
    delivery = mailer.send(mail)
    assert delivery.channel == "outbox"
    assert memory.outbox[0][0] is mail
    assert "ConnectionRefusedError" in memory.outbox[0][1]


@pytest.mark.parametrize(
    "url", ["http://x", "smtp://", "smtp://host:notaport", "ftp://mail.example.org"]
)
def test_bad_smtp_url_is_refused(url: str) -> None:
    from radiotrial.errors import ValidationError

    with pytest.raises(ValidationError, match="SMTP_URL"):
        settings(smtp_url=url)


def test_smtp_target_hides_password() -> None:
    target = SmtpTarget("smtp://user:s3cret@mail.example.org:587")
    assert (target.host, target.port, target.username) == ("mail.example.org", 587, "user")
    assert "s3cret" not in repr(target)
