"""What the web layer needs from the services layer, as typed ports.

The web app never persists trial or identity data itself: it calls these ports, which the
services layer (``radiotrial.services``) implements over the registry. Keeping the boundary as
``Protocol`` classes lets the portal be tested with an in-memory implementation
(:mod:`radiotrial.web._memory`) and served on the real registry without change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "Backend",
    "MailKind",
    "OutboundMail",
    "Outbox",
    "PortalRequest",
    "Receipt",
    "RequestIntake",
    "RequestKind",
    "RequesterType",
]

RequestKind = Literal["prescreening", "consultation"]
RequesterType = Literal["patient", "relative", "physician"]
MailKind = Literal["investigator_notice", "requester_confirmation"]


@dataclass(frozen=True)
class PortalRequest:
    """A pre-screening or consultation request as submitted on the public portal.

    Attributes
    ----------
    kind : {"prescreening", "consultation"}
    requester_type : {"patient", "relative", "physician"}
    language : {"zh", "en"}
        Language of the portal the person used; replies are written in it.
    identity : mapping of str to str
        Identifying data of the requester (``full_name``, ``email``, ``phone``) and, when a
        relative or physician gives them, of the patient (``patient_name``, ``patient_email``,
        ``patient_phone``). It goes to the identity vault only and never into trial tables,
        logs or notices.
    answers : mapping of str to str
        Structured, non-identifying answers (the minimal medical questions, each possibly
        ``"not_sure"``; requester type; country of residence; travel; interpreter need;
        contact channel and time; time zone; consultation topic).
    consents : mapping of str to bool
        Each separate consent as given: ``contact``, ``storage``, ``cross_border`` (asked only
        when the person lives outside the trial country), ``other_trials`` (optional).
    submitted_at : datetime
        Time zone-aware submission time.
    idempotency_key : str
        Unique per rendered form; a repeated submission with the same key returns the first
        receipt instead of filing a second request.
    """

    kind: RequestKind
    requester_type: RequesterType
    language: Literal["zh", "en"]
    identity: Mapping[str, str]
    answers: Mapping[str, str]
    consents: Mapping[str, bool]
    submitted_at: datetime
    idempotency_key: str


@dataclass(frozen=True)
class Receipt:
    """What the requester is told: the reference number, and whether this call filed it."""

    reference: str
    created: bool
    submitted_at: datetime


@dataclass(frozen=True)
class OutboundMail:
    """A plain-text e-mail: the investigator's notice or the requester's confirmation."""

    kind: MailKind
    to: tuple[str, ...]
    subject: str
    body: str
    language: Literal["zh", "en"]
    reference: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class RequestIntake(Protocol):
    """Files portal requests into the staff queue (identity to the vault), one transaction."""

    def submit_request(self, request: PortalRequest) -> Receipt: ...


@runtime_checkable
class Outbox(Protocol):
    """Keeps e-mails that could not be (or are not to be) sent by SMTP, with the reason."""

    def store_mails(self, mails: Sequence[tuple[OutboundMail, str]]) -> None: ...


@runtime_checkable
class Backend(RequestIntake, Outbox, Protocol):
    """Everything the public portal needs."""
