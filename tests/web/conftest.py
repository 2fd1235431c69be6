"""Fixtures of the web tests: apps on an in-memory or a real SQLite backend, a real SMTP server."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from radiotrial.registry import generate_key, upgrade
from radiotrial.web import MemoryBackend, ServicesBackend, create_app, load_settings
from radiotrial.web._forms import MEDICAL_QUESTIONS

SECRET = "test-secret-key-" + "k" * 32


def settings(**overrides: Any) -> Any:
    base: dict[str, Any] = {
        "secret_key": SECRET,
        "form_rate_limit": 1000,
        "smtp_url": None,
    }
    base.update(overrides)
    return load_settings(**base)


@pytest.fixture
def memory() -> MemoryBackend:
    return MemoryBackend()


@pytest.fixture
def client(memory: MemoryBackend) -> Iterator[TestClient]:
    with TestClient(create_app(settings(), backend=memory)) as c:
        yield c


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "form has no CSRF token"
    return match.group(1)


def valid_answers(kind: str = "prescreening", **overrides: str) -> dict[str, str]:
    data = {
        "requester_type": "patient",
        "full_name": "李华",
        "contact_channel": "email",
        "email": "li.hua@example.com",
        "phone": "+86 21 6417 5590",
        "contact_time": "morning",
        "time_zone": "Asia/Shanghai",
        "preferred_language": "zh",
        "interpreter": "no",
        "country": "CN",
        "travel": "yes",
        "consent_contact": "yes",
        "consent_storage": "yes",
    }
    if kind == "prescreening":
        data.update({q.name: "not_sure" for q in MEDICAL_QUESTIONS})
    else:
        data["topic"] = "trial_question"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def submit(
    client: TestClient, lang: str = "zh", kind: str = "prescreening", **overrides: str
) -> Any:
    page = client.get(f"/{lang}/{kind}")
    assert page.status_code == 200
    data = {"csrf_token": csrf_token(page.text), **valid_answers(kind, **overrides)}
    return client.post(f"/{lang}/{kind}", data=data)


def reference_of(html: str) -> str:
    match = re.search(r'id="reference">([A-Z0-9-]+)<', html)
    assert match, "confirmation without a reference number"
    return match.group(1)


@dataclass
class Mailbox:
    """Messages received by the aiosmtpd test server."""

    host: str
    port: int
    messages: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        import email
        from email import policy

        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((tuple(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox("127.0.0.1", free_port())
    controller = Controller(box, hostname=box.host, port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def vault_key(monkeypatch: pytest.MonkeyPatch) -> str:
    key = generate_key()
    monkeypatch.setenv("RADIOTRIAL_VAULT_KEY", key)
    return key


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    upgrade(url)
    return url


@pytest.fixture
def services_app(db_url: str, vault_key: str, tmp_path: Path) -> Any:
    app = create_app(settings(db_url=db_url, vault_key=vault_key))
    assert isinstance(app.state.web.backend, ServicesBackend)
    return app


PASSWORD = "correct horse battery staple 7"
ROLES = ("admin", "coordinator", "investigator", "physicist", "statistician", "monitor")


@pytest.fixture
def staff_app(services_app: Any) -> Any:
    """The services app with one account per role (user name = role name)."""
    from radiotrial.registry import Actor
    from radiotrial.services import create_user

    ctx = services_app.state.services
    admin = create_user(
        ctx, None, username="admin", full_name="Admin", role="admin", password=PASSWORD
    )
    for role in ROLES[1:]:
        create_user(ctx, admin, username=role, full_name=role.title(), role=role, password=PASSWORD)
    assert isinstance(admin, Actor)
    return services_app


@pytest.fixture
def trial(tmp_path: Path) -> Any:
    """An app on a fresh SQLite registry, one account per role, a controllable clock
    (``app.state.clock``) and a dosimetry root (``app.state.dose_root``)."""
    from radiotrial.services import create_user

    from ._trial import Clock  # _trial imports this module

    url = f"sqlite:///{tmp_path / 'registry.db'}"
    upgrade(url)
    app = create_app(settings(db_url=url, vault_key=generate_key(),
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


def login_form(client: TestClient) -> dict[str, str]:
    """The sign-in form's CSRF token (its cookie is now in ``client``)."""
    return {"csrf_token": csrf_token(client.get("/staff/login").text)}


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; return the session's CSRF token."""
    r = client.post(
        "/staff/login",
        data={**login_form(client), "username": username, "password": password},
        follow_redirects=True,
    )
    assert r.status_code == 200, r.text[:500]
    match = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert match
    return match.group(1)


def change_password(client: TestClient, csrf: str, current: str, new: str) -> Any:
    """Post the password change form of the signed-in session."""
    return client.post(
        "/staff/password",
        data={"csrf_token": csrf, "current_password": current, "new_password": new,
              "repeat_password": new},
        follow_redirects=False,
    )  # fmt: skip


def api_token(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/token", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
