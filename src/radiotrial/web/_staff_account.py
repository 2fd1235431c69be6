"""Staff sign-in, sign-out and password change.

The sign-in form carries a CSRF token like the public forms (signed double submit on the
``rt_csrf`` cookie, purpose ``staff-login``), so another site cannot sign a browser in to an
account of its choosing (login CSRF). An account created with a one-time password is sent to
the password change page after signing in, and every other staff route redirects there until
the new password is set (:func:`radiotrial.services.change_password`, Argon2id).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from radiotrial.errors import ValidationError
from radiotrial.registry import AuthenticationError, account_settings
from radiotrial.services import change_password, sign_in
from radiotrial.web._auth import SESSION_COOKIE, StaffSession
from radiotrial.web._context import client_address, context_of
from radiotrial.web._forms import N_
from radiotrial.web._portal import _read_form
from radiotrial.web._security import CSRF_COOKIE, CsrfError
from radiotrial.web._staff import _checked_form, _page, _state, require

__all__ = ["account_router"]

log = logging.getLogger("radiotrial.web.staff")
account_router = APIRouter(prefix="/staff", include_in_schema=False)
LOGIN_PURPOSE = "staff-login"
Signed = Annotated[StaffSession, require("trial.read", during_password_change=True)]


def _login_page(request: Request, error: str | None, status_code: int = 200) -> Response:
    """The sign-in form with a fresh CSRF token (and the cookie it is bound to, if new)."""
    web = context_of(request)
    cookie = request.cookies.get(CSRF_COOKIE)
    new_cookie = cookie is None or len(cookie) > 128
    if new_cookie:
        cookie = web.csrf.new_cookie_value()
    assert cookie is not None
    response = _page(
        request,
        None,
        "staff/login.html",
        error=error,
        csrf_token=web.csrf.issue(cookie, LOGIN_PURPOSE),
    )
    response.status_code = status_code
    if new_cookie:
        response.set_cookie(
            CSRF_COOKIE,
            cookie,
            max_age=int(web.settings.csrf_max_age_s),
            httponly=True,
            secure=web.settings.cookies_secure,
            samesite="strict",
            path="/",
        )
    return response


@account_router.get("/login")
def login_page(request: Request) -> Response:
    return _login_page(request, None)


@account_router.post("/login")
async def login(request: Request) -> Response:
    state = _state(request)
    web = context_of(request)
    data = await _read_form(request)
    try:
        web.csrf.verify(data.get("csrf_token"), request.cookies.get(CSRF_COOKIE), LOGIN_PURPOSE)
    except CsrfError as exc:
        log.warning("refused staff sign-in form: %s", exc)
        return _login_page(
            request, N_("The sign-in form had expired. Please sign in again."), status_code=403
        )
    username = data.get("username", "")[:64]
    ip = client_address(request, web.settings.trust_forwarded_for)
    keys = (f"user:{username.casefold()}", f"ip:{ip}")
    if any(state.login_limiter.blocked_for(k) for k in keys):
        raise HTTPException(429, headers={"Retry-After": str(int(state.login_limiter.window_s))})
    try:
        account = await run_in_threadpool(
            sign_in, state.services, username, data.get("password", "")
        )
    except AuthenticationError:
        for key in keys:
            state.login_limiter.hit(key)
        log.warning("failed staff login for %r from %s", username, ip)
        return _login_page(request, N_("Wrong user name or password."), status_code=401)
    state.login_limiter.reset(keys[0])
    must_change = account.password_change_required
    session = state.sessions.create(
        account.actor, account.auth_epoch, must_change_password=must_change
    )
    target = "/staff/password" if must_change else "/staff/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session.id,
        httponly=True,
        samesite="strict",
        secure=web.settings.cookies_secure,
        path="/staff",
    )
    return response


@account_router.post("/logout")
async def logout(request: Request, session: Signed) -> Response:
    await _checked_form(request, session)
    _state(request).sessions.end(session.id)
    response = RedirectResponse("/staff/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/staff")
    return response


@account_router.get("/password")
def password_page(request: Request, session: Signed) -> Response:
    return _page(request, session, "staff/password.html", error=None, min_length=_min_length())


def _min_length() -> int:
    return int(account_settings()["min_password_length"]["value"])


@account_router.post("/password")
async def password_change(request: Request, session: Signed) -> Response:
    data = await _checked_form(request, session)
    new = data.get("new_password", "")
    error: str | None = None
    if new != data.get("repeat_password", ""):
        error = N_("The two new passwords differ.")
    else:
        try:
            # this session goes on in the new epoch; every other one of the account ends
            session.auth_epoch = await run_in_threadpool(
                lambda: change_password(
                    _state(request).services,
                    session.actor,
                    current_password=data.get("current_password", ""),
                    new_password=new,
                )
            )
        except AuthenticationError:
            error = N_("The current password is wrong.")
        except ValidationError:
            error = N_(
                "The new password needs at least %(n)s characters and must differ from the "
                "current one."
            )
    if error is not None:
        response = _page(
            request, session, "staff/password.html", error=error, min_length=_min_length()
        )
        response.status_code = 422
        return response
    session.must_change_password = False
    log.info("%s changed their password", session.actor.username)
    return RedirectResponse("/staff/?note=password-changed", status_code=303)
