"""JSON API (``/api/v1``) on the services layer, with bearer-token authentication.

A client exchanges a user name and password for a signed token (``POST /api/v1/token``, same
Argon2id check and login throttling as the staff sign-in) and sends it as
``Authorization: Bearer …``. A token is refused as soon as the account's password or role
changes or the account is deactivated (its ``auth_epoch``: :func:`radiotrial.web._auth.
live_account`). Each endpoint names the permission it needs (``data/roles.yaml``), the same as
the staff page doing the same thing; the OpenAPI schema is at ``/api/openapi.json``.

This module holds the authentication and what the endpoint modules share (:func:`api_router`,
:func:`require`, :func:`services`); the endpoints are grouped like the staff application:
``_api_subjects`` (subjects, screening, eligibility decision, enrolment), ``_api_safety``
(adverse events, DLT adjudication), ``_api_review`` (dosimetry review, escalation),
``_api_requests`` (the portal request queue), ``_api_records`` (audit trail, exports, outbox).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from radiotrial.registry import Actor, AuthenticationError
from radiotrial.services import ServiceContext, sign_in
from radiotrial.web._auth import TokenSigner, allowed, live_account
from radiotrial.web._context import client_address, context_of
from radiotrial.web._staff import StaffState

__all__ = ["Code", "api_router", "auth_router", "jsonable", "require", "services"]


class Problem(BaseModel):
    """An error: a sentence, or the list of invalid fields for a malformed request."""

    detail: str | list[dict[str, Any]]


def _problem(text: str) -> dict[str, Any]:
    return {"model": Problem, "description": text}


_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _problem("Missing, invalid or expired bearer token, or wrong password"),
    403: _problem(
        "The role does not grant this action (data/roles.yaml), or an e-signature password is wrong"
    ),
    404: _problem("No such subject, request or record"),
    409: _problem("A concurrent change won; retry"),
    422: _problem("Invalid input or a refused workflow step (the message names the field)"),
    429: _problem("Too many failed sign-ins; wait for the Retry-After seconds"),
}


def api_router(tag: str) -> APIRouter:
    """A router under ``/api/v1`` with the documented error responses."""
    return APIRouter(prefix="/api/v1", tags=[tag], responses=_RESPONSES)


auth_router = api_router("auth")
_bearer = HTTPBearer(auto_error=False)

Code = Annotated[str, Field(pattern=r"^[A-Z]{2}-[0-9A-Z]{4,12}$", max_length=32)]


def jsonable(data: Any) -> Any:
    """``data`` with dates as ISO 8601 strings (what the services return, as JSON)."""
    return json.loads(
        json.dumps(data, default=lambda o: o.isoformat() if hasattr(o, "isoformat") else str(o))
    )


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class Me(BaseModel):
    username: str
    role: str
    full_name: str


def _state(request: Request) -> StaffState:
    state: StaffState | None = getattr(request.app.state, "staff", None)
    if state is None:
        raise HTTPException(503, "the services layer is not configured")
    return state


def services(request: Request) -> ServiceContext:
    """The services layer the app runs on."""
    return _state(request).services


def _signer(request: Request) -> TokenSigner:
    signer: TokenSigner = request.app.state.token_signer
    return signer


def require(action: str) -> Any:
    """Dependency: the bearer token's actor, whose role grants ``action``."""

    def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    ) -> Actor:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HTTPException(401, headers={"WWW-Authenticate": "Bearer"})
        signed = _signer(request).verify(credentials.credentials)
        # refused once the password or role changed or the account was deactivated
        if signed is None or live_account(_state(request).services, *signed) is None:
            raise HTTPException(401, headers={"WWW-Authenticate": "Bearer"})
        actor = signed[0]
        if not allowed(actor, action):
            raise HTTPException(403)
        return actor

    dependency.__name__ = f"require_{action.replace('.', '_')}"
    dependency.action = action  # type: ignore[attr-defined]
    return Depends(dependency)


@auth_router.post("/token", response_model=TokenResponse)
async def token(request: Request, body: TokenRequest) -> TokenResponse:
    """Exchange a user name and password for a bearer token."""
    state = _state(request)
    ip = client_address(request, context_of(request).settings.trust_forwarded_for)
    keys = (f"user:{body.username.casefold()}", f"ip:{ip}")
    if any(state.login_limiter.blocked_for(k) for k in keys):
        raise HTTPException(429, headers={"Retry-After": str(int(state.login_limiter.window_s))})
    try:
        account = await run_in_threadpool(sign_in, state.services, body.username, body.password)
    except AuthenticationError:
        for key in keys:
            state.login_limiter.hit(key)
        raise HTTPException(401, headers={"WWW-Authenticate": "Bearer"}) from None
    state.login_limiter.reset(keys[0])
    if account.password_change_required:
        # a one-time password opens nothing but the password change page
        raise HTTPException(403, "change the one-time password at /staff/password first")
    signer = _signer(request)
    return TokenResponse(
        access_token=signer.issue(account.actor, account.auth_epoch),
        expires_in=int(signer.max_age_s),
    )


@auth_router.get("/me", response_model=Me)
def me(actor: Annotated[Actor, require("trial.read")]) -> Me:
    """Who the token belongs to."""
    return Me(username=actor.username, role=actor.role, full_name=actor.full_name)
