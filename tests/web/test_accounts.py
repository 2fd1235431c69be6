"""Staff accounts on the web: sign-in CSRF, Secure cookies in production, password change,
the forced change after a one-time password, and sessions and tokens ending with a password
change, a role change or deactivation."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from radiotrial.registry import Actor, AuditEntry, User, generate_key
from radiotrial.services import (
    authenticate,
    change_role,
    create_user,
    deactivate_user,
    password_change_required,
)
from radiotrial.web import create_app
from radiotrial.web._auth import TokenSigner

from .conftest import (
    PASSWORD,
    SECRET,
    api_token,
    change_password,
    csrf_token,
    login,
    login_form,
    settings,
)

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


def _live(c: TestClient, headers: dict[str, str]) -> int:
    """Status of an API call and of a staff page with the client's token and session."""
    api = c.get("/api/v1/me", headers=headers).status_code
    page = c.get("/staff/subjects", follow_redirects=False)
    assert api in (200, 401) and page.status_code in (200, 303)
    return (api == 200) + (page.status_code == 200)


def test_tokens_and_sessions_end_with_password_role_or_account(staff_app: Any) -> None:
    """A token or session signed in before a password change, a role change or deactivation
    is refused at the next request, not when it expires."""
    ctx = staff_app.state.services
    admin = authenticate(ctx, "admin", PASSWORD)
    with TestClient(staff_app) as c, TestClient(staff_app) as other:
        login(c, "coordinator")
        token = api_token(c, "coordinator")
        assert _live(c, token) == 2
        # the owner changes the password in another browser: this one and the token end
        csrf = login(other, "coordinator")
        assert change_password(other, csrf, PASSWORD, NEW_PASSWORD).status_code == 303
        assert _live(c, token) == 0
        r = c.get("/staff/subjects", follow_redirects=False)
        assert r.headers["location"] == "/staff/login"
        assert other.get("/staff/subjects").status_code == 200  # the changing session goes on
    with TestClient(staff_app) as c:
        login(c, "physicist")
        token = api_token(c, "physicist")
        change_role(ctx, admin, "physicist", "monitor", reason="moved to monitoring")
        assert _live(c, token) == 0  # it was granted the physicist's permissions
        login(c, "physicist")
        me = c.get("/api/v1/me", headers=api_token(c, "physicist")).json()
        assert me["role"] == "monitor"
    with TestClient(staff_app) as c:
        login(c, "statistician")
        token = api_token(c, "statistician")
        deactivate_user(ctx, admin, "statistician", reason="left the trial")
        assert _live(c, token) == 0
    with ctx.registry.read() as s:
        epochs = dict(s.execute(sa.select(User.username, User.auth_epoch)).all())
    assert epochs == {"admin": 0, "coordinator": 1, "investigator": 0, "physicist": 1,
                      "statistician": 1, "monitor": 0}  # fmt: skip


def test_a_token_from_before_the_epoch_column_is_refused(staff_app: Any) -> None:
    """Tokens carry the epoch; one signed without it (an older format) is not accepted."""
    from itsdangerous import URLSafeTimedSerializer

    old = URLSafeTimedSerializer(SECRET, salt="radiotrial.api-token").dumps(
        ["monitor", "monitor", "Monitor"]
    )
    signer = TokenSigner(SECRET, max_age_s=60)
    assert signer.verify(old) is None
    assert signer.verify(signer.issue(Actor("monitor", "monitor", "Monitor"), 3)) == (
        Actor("monitor", "monitor", "Monitor"),
        3,
    )
    with TestClient(staff_app) as c:
        assert c.get("/api/v1/me", headers={"Authorization": f"Bearer {old}"}).status_code == 401
        # a well-signed token of a later epoch than the account's is refused as well
        ahead = signer.issue(Actor("monitor", "monitor", "Monitor"), 1)
        assert c.get("/api/v1/me", headers={"Authorization": f"Bearer {ahead}"}).status_code == 401
