"""JSON API: the portal request queue — the staff pages of :mod:`radiotrial.web._staff_requests`.

Requests are pseudonymous (answers, logistics, consents, match, subject); who sent one is read
from the vault only on demand, with an audited reason (``identity.read``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

from radiotrial.registry import Actor, RequestContactRecord
from radiotrial.services import (
    RequestView,
    erase_request_data,
    list_requests,
    mark_request_handled,
    request_detail,
    resolve_request_match,
    reveal_request_contact,
)
from radiotrial.web._api import Code, api_router, require, services

__all__ = ["requests_router"]

requests_router = api_router("requests")
Reason = Annotated[str, Field(min_length=1, max_length=500)]


Reference = Annotated[str, Field(pattern=r"^(PS|CR)-[0-9A-Z]{4}-[0-9A-Z]{4}$")]


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


class MatchIn(BaseModel):
    """A possible match resolved: the same person as ``same_as`` (one of the matched
    subjects), or a different person (``same_as`` null)."""

    model_config = ConfigDict(extra="forbid")
    same_as: Code | None
    reason: Reason


class HandledIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Reason


@requests_router.get("/requests", response_model=list[RequestView])
def requests(
    request: Request,
    actor: Annotated[Actor, require("trial.read")],
    include_handled: bool = False,
) -> list[RequestView]:
    """Portal requests, newest first: the open ones, or every one with include_handled."""
    rows = list_requests(services(request), actor, open_only=not include_handled)
    return rows


@requests_router.get("/requests/{reference}", response_model=RequestView)
def request_by_reference(
    request: Request, reference: Reference, actor: Annotated[Actor, require("trial.read")]
) -> RequestView:
    """One portal request (answers, logistics, consents, match, subject)."""
    return request_detail(services(request), actor, reference)


@requests_router.post("/requests/{reference}/contact", response_model=RequestContactRecord,
                      response_model_exclude_none=True)  # fmt: skip
def contact(
    request: Request,
    reference: Reference,
    body: ReasonIn,
    actor: Annotated[Actor, require("identity.read")],
) -> RequestContactRecord:
    """Who sent the request (and the patient, where given); the read is audited."""
    return reveal_request_contact(services(request), actor, reference, reason=body.reason)


@requests_router.post("/requests/{reference}/match", status_code=204)
def resolve_match(
    request: Request,
    reference: Reference,
    body: MatchIn,
    actor: Annotated[Actor, require("identity.write")],
) -> None:
    """Resolve a possible match (same person as one matched subject, or a different one)."""
    resolve_request_match(
        services(request), actor, reference, same_as=body.same_as, reason=body.reason
    )


@requests_router.post("/requests/{reference}/handled", status_code=204)
def handled(
    request: Request,
    reference: Reference,
    body: HandledIn,
    actor: Annotated[Actor, require("request.handle")],
) -> None:
    """Take the request off the open queue, with a note."""
    mark_request_handled(services(request), actor, reference, note=body.note)


@requests_router.post("/requests/{reference}/erasure", status_code=204)
def erase(
    request: Request,
    reference: Reference,
    body: ReasonIn,
    actor: Annotated[Actor, require("prescreen.purge")],
) -> None:
    """Erase now, at the person's request, the data of someone not taken forward (the
    request's subject with its identity, keys, requests and unsent e-mail)."""
    ctx = services(request)
    view = request_detail(ctx, actor, reference)
    erase_request_data(ctx, actor, view.subject, reason=body.reason)
