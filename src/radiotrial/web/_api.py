"""JSON API (``/api/v1``) on the services layer, with bearer-token authentication.

A client exchanges a user name and password for a signed token (``POST /api/v1/token``, same
Argon2id check and login throttling as the staff sign-in) and sends it as
``Authorization: Bearer …``. Each endpoint names the permission it needs; the OpenAPI schema
is at ``/api/openapi.json``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from radiotrial.registry import Actor, AuthenticationError
from radiotrial.services import (
    EvidenceItem,
    authenticate,
    evaluate_subject,
    open_screening,
    record_evidence,
    screening_checklist,
    subject_status,
    take_forward,
    trial_status,
    verify_audit,
)
from radiotrial.web._auth import TokenSigner, allowed
from radiotrial.web._context import client_address, context_of
from radiotrial.web._screening import list_subjects
from radiotrial.web._staff import StaffState

__all__ = ["api_router"]


class Problem(BaseModel):
    """An error: a sentence, or the list of invalid fields for a malformed request."""

    detail: str | list[dict[str, Any]]


def _problem(text: str) -> dict[str, Any]:
    return {"model": Problem, "description": text}


api_router = APIRouter(
    prefix="/api/v1",
    tags=["trial"],
    responses={
        401: _problem("Missing, invalid or expired bearer token, or wrong password"),
        403: _problem("The role does not grant this action (data/roles.yaml)"),
        404: _problem("No such subject"),
        409: _problem("A concurrent change won; retry"),
        422: _problem("Invalid input or a refused workflow step (the message names the field)"),
        429: _problem("Too many failed sign-ins; wait for the Retry-After seconds"),
    },
)
_bearer = HTTPBearer(auto_error=False)

Code = Annotated[str, Field(pattern=r"^[A-Z]{2}-[0-9A-Z]{4,12}$", max_length=32)]


def _jsonable(data: Any) -> Any:
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


class SubjectSummary(BaseModel):
    code: str
    status: str
    status_at: datetime
    source: str
    dose_level: int | None


class EvidenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    variable: Annotated[str, Field(min_length=1, max_length=64)]
    value: float | bool | str | None  # None: a date variable's event documented as never
    unit: Annotated[str, Field(max_length=32)] | None = None
    observed_at: datetime
    source_document: Annotated[str, Field(min_length=1, max_length=200)]
    test_id: Annotated[str, Field(max_length=64)] | None = None


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Annotated[str, Field(max_length=500)] | None = None


def _state(request: Request) -> StaffState:
    state: StaffState | None = getattr(request.app.state, "staff", None)
    if state is None:
        raise HTTPException(503, "the services layer is not configured")
    return state


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
        actor = _signer(request).verify(credentials.credentials)
        if actor is None:
            raise HTTPException(401, headers={"WWW-Authenticate": "Bearer"})
        if not allowed(actor, action):
            raise HTTPException(403)
        return actor

    dependency.__name__ = f"require_{action.replace('.', '_')}"
    dependency.action = action  # type: ignore[attr-defined]
    return Depends(dependency)


@api_router.post("/token", response_model=TokenResponse, tags=["auth"])
async def token(request: Request, body: TokenRequest) -> TokenResponse:
    """Exchange a user name and password for a bearer token."""
    state = _state(request)
    ip = client_address(request, context_of(request).settings.trust_forwarded_for)
    keys = (f"user:{body.username.casefold()}", f"ip:{ip}")
    if any(state.login_limiter.blocked_for(k) for k in keys):
        raise HTTPException(429, headers={"Retry-After": str(int(state.login_limiter.window_s))})
    try:
        actor = await run_in_threadpool(authenticate, state.services, body.username, body.password)
    except AuthenticationError:
        for key in keys:
            state.login_limiter.hit(key)
        raise HTTPException(401, headers={"WWW-Authenticate": "Bearer"}) from None
    signer = _signer(request)
    return TokenResponse(access_token=signer.issue(actor), expires_in=int(signer.max_age_s))


@api_router.get("/me", response_model=Me, tags=["auth"])
def me(actor: Annotated[Actor, require("trial.read")]) -> Me:
    """Who the token belongs to."""
    return Me(username=actor.username, role=actor.role, full_name=actor.full_name)


@api_router.get("/subjects", response_model=list[SubjectSummary])
def subjects(
    request: Request,
    actor: Annotated[Actor, require("trial.read")],
    status: Annotated[str | None, Field(max_length=32)] = None,
) -> list[SubjectSummary]:
    """Subjects (pseudonymous), newest status change first."""
    rows = list_subjects(_state(request).services, actor, statuses=(status,) if status else ())
    return [SubjectSummary(**row.__dict__) for row in rows]


@api_router.get("/subjects/{code}")
def subject(request: Request, code: Code, actor: Annotated[Actor, require("trial.read")]) -> Any:
    """A subject's status, milestones, cycles, adverse events and signatures."""
    return _jsonable(subject_status(_state(request).services, actor, code))


@api_router.get("/subjects/{code}/screening")
def screening(request: Request, code: Code, actor: Annotated[Actor, require("trial.read")]) -> Any:
    """Screening tests with their windows, and the eligibility engine's per-criterion results."""
    ctx = _state(request).services
    result = evaluate_subject(ctx, actor, code).to_dict()
    return _jsonable(
        {
            "checklist": screening_checklist(ctx, actor, code),
            "overall": result["overall"],
            "as_of": result["as_of"],
            "criteria": result["criteria"],
        }
    )


@api_router.post("/subjects/{code}/candidate", status_code=204)
def to_candidate(
    request: Request,
    code: Code,
    body: TransitionIn,
    actor: Annotated[Actor, require("screening.open")],
) -> None:
    """Potential candidate → candidate."""
    take_forward(_state(request).services, actor, code, note=body.note)


@api_router.post("/subjects/{code}/screening", status_code=204)
def to_screening(
    request: Request,
    code: Code,
    body: TransitionIn,
    actor: Annotated[Actor, require("screening.open")],
) -> None:
    """Open screening."""
    open_screening(_state(request).services, actor, code, note=body.note)


@api_router.post("/subjects/{code}/evidence", status_code=201)
def evidence(
    request: Request,
    code: Code,
    items: Annotated[list[EvidenceIn], Field(min_length=1, max_length=100)],
    actor: Annotated[Actor, require("evidence.record")],
) -> dict[str, list[int]]:
    """Record screening observations (all or none)."""
    ids = record_evidence(
        _state(request).services,
        actor,
        code,
        [EvidenceItem(**item.model_dump()) for item in items],
    )
    return {"ids": ids}


@api_router.get("/trial/status")
def status(request: Request, actor: Annotated[Actor, require("trial.read")]) -> Any:
    """Dose levels, cohorts, DLTs and the escalation design's current recommendation."""
    return _jsonable(trial_status(_state(request).services, actor))


@api_router.get("/audit/verify")
def audit(request: Request, actor: Annotated[Actor, require("audit.verify")]) -> Any:
    """Verify the audit trail's hash chain."""
    return verify_audit(_state(request).services, actor).to_dict()
