"""Staff accounts on the web: sign-in CSRF, Secure cookies in production, password change,
and the forced change after a one-time password."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from radiotrial.registry import AuditEntry, generate_key
from radiotrial.services import authenticate, create_user, password_change_required
from radiotrial.web import create_app

from .conftest import PASSWORD, SECRET, change_password, csrf_token, login, login_form, settings

NEW_PASSWORD = "a much longer new passphrase 9"


def test_sign_in_needs_the_forms_csrf_token(staff_app: Any) -> None:
    with TestClient(staff_app) as c:
        r = c.post(
            "/staff/login",
            data={"username": "monitor", "password": PASSWORD},
            follow_redirects=False,
        )
        assert r.status_code == 403 and "rt_session" not in r.headers.get("set-cookie", "")
        form = login_form(c)
        forged = {"csrf_token": form["csrf_token"][:-2] + "xx"}
        r = c.post(
            "/staff/login",
            data={**forged, "username": "monitor", "password": PASSWORD},
            follow_redirects=False,
        )
        assert r.status_code == 403
        # a token of the public form is not a sign-in token
        public = csrf_token(c.get("/en/prescreening").text)
        r = c.post(
            "/staff/login",
            data={"csrf_token": public, "username": "monitor", "password": PASSWORD},
            follow_redirects=False,
        )
        assert r.status_code == 403
        r = c.post(
            "/staff/login",
            data={**form, "username": "monitor", "password": PASSWORD},
            follow_redirects=False,
        )
        assert (r.status_code, r.headers["location"]) == (303, "/staff/")


def test_session_cookie_is_secure_in_production(db_url: str) -> None:
    key = generate_key()
    app = create_app(settings(mode="production", secret_key=SECRET, vault_key=key, db_url=db_url))
    assert app.state.settings.cookies_secure
    ctx = app.state.services
    create_user(ctx, None, username="admin", full_name="Admin", role="admin", password=PASSWORD)
    # Secure cookies travel over HTTPS only, as behind the production reverse proxy
    with TestClient(app, base_url="https://testserver") as c:
        page = c.get("/staff/login")
        assert "Secure" in page.headers["set-cookie"]  # the sign-in form's CSRF cookie
        assert "max-age=" in page.headers["strict-transport-security"]
        r = c.post(
            "/staff/login",
            data={"csrf_token": csrf_token(page.text), "username": "admin", "password": PASSWORD},
            follow_redirects=False,
        )
        assert r.status_code == 303
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("rt_session=")
        flags = {part.strip().lower() for part in cookie.split(";")}
        assert {"secure", "httponly", "samesite=strict", "path=/staff"} <= flags


def test_password_change(staff_app: Any) -> None:
    ctx = staff_app.state.services
    with TestClient(staff_app) as c:
        csrf = login(c, "coordinator")
        assert "Change password" in c.get("/staff/password").text
        r = change_password(c, csrf, "not my password 123", NEW_PASSWORD)
        assert r.status_code == 422 and "The current password is wrong." in r.text
        r = change_password(c, csrf, PASSWORD, "short")
        assert r.status_code == 422 and "at least 12 characters" in r.text
        r = change_password(c, csrf, PASSWORD, PASSWORD)
        assert r.status_code == 422  # must differ
        r = c.post(
            "/staff/password",
            data={
                "csrf_token": csrf,
                "current_password": PASSWORD,
                "new_password": NEW_PASSWORD,
                "repeat_password": NEW_PASSWORD + "x",
            },
        )
        assert r.status_code == 422 and "The two new passwords differ." in r.text
        r = change_password(c, "forged", PASSWORD, NEW_PASSWORD)
        assert r.status_code == 403
        r = change_password(c, csrf, PASSWORD, NEW_PASSWORD)
        assert (r.status_code, r.headers["location"]) == (303, "/staff/?note=password-changed")
    assert authenticate(ctx, "coordinator", NEW_PASSWORD).username == "coordinator"
    with TestClient(staff_app) as c:
        r = c.post(
            "/staff/login", data={**login_form(c), "username": "coordinator", "password": PASSWORD}
        )
        assert r.status_code == 401  # the old password no longer works
    with ctx.registry.read() as s:
        entry = s.execute(
            sa.select(AuditEntry).where(
                AuditEntry.table_name == "users", AuditEntry.action == "update"
            )
        ).scalar_one()
        assert entry.actor == "coordinator" and "$argon2" not in f"{entry.old}{entry.new}"


def test_one_time_password_must_be_changed_first(staff_app: Any) -> None:
    ctx = staff_app.state.services
    admin = authenticate(ctx, "admin", PASSWORD)
    create_user(
        ctx,
        admin,
        username="newcomer",
        full_name="New Coordinator",
        role="coordinator",
        password="one-time pw 4711",
        one_time=True,
    )
    with TestClient(staff_app) as c:
        r = c.post(
            "/staff/login",
            data={**login_form(c), "username": "newcomer", "password": "one-time pw 4711"},
            follow_redirects=False,
        )
        assert r.headers["location"] == "/staff/password"
        page = c.get("/staff/password").text
        assert 'id="must-change"' in page and "Request queue" not in page
        csrf = csrf_token(page)
        for path in ("/staff/", "/staff/subjects", "/staff/requests", "/staff/escalation"):
            r = c.get(path, follow_redirects=False)
            assert (r.status_code, r.headers["location"]) == (303, "/staff/password"), path
        # nor does the API hand it a token
        r = c.post("/api/v1/token", json={"username": "newcomer", "password": "one-time pw 4711"})
        assert r.status_code == 403
        assert change_password(c, csrf, "one-time pw 4711", NEW_PASSWORD).status_code == 303
        assert c.get("/staff/", follow_redirects=False).status_code == 200
    assert not password_change_required(ctx, "newcomer")
