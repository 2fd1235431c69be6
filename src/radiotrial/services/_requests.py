"""Portal requests: filing them, the staff queue, the contact behind one, match resolution.

Every pre-screening or consultation request is stored as a :class:`~radiotrial.registry.Request`
with its own public reference (the same form whatever the registry holds) and linked to a
subject: the known person it matched by a strong keyed hash, or a new pseudonymous subject in
status ``potential-candidate``. The answers, logistics and consents are pseudonymous trial
data; the requester's and (where given) the patient's name and contacts are sealed in the vault
(:class:`~radiotrial.registry.RequestContact`, and the subject's identity row when the request
identifies the patient). A request that only shares a name with a subject is a *possible
match*: it gets its own subject, and staff resolve it (same person or not).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from typing import Any, Final, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from radiotrial.errors import ValidationError
from radiotrial.registry import (
    Actor,
    Base,
    IdentityKey,
    IdentityRecord,
    Milestone,
    RecordNotFoundError,
    Request,
    RequestContact,
    RequestContactRecord,
    Subject,
    WorkflowError,
    append_audit,
    audited_create_all,
    audited_delete,
    audited_update,
    require_permission,
    require_reason,
)
from radiotrial.services._context import PORTAL, ServiceContext, get_subject, set_status
from radiotrial.services._persons import PersonMatch, identity_row, key_rows, match_person
from radiotrial.services._subjects import CONSENT_KEYS, _new_code
from radiotrial.units import check_aware

__all__ = [
    "REQUEST_CHOICES",
    "REQUEST_CONSENTS",
    "RequestReceipt",
    "RequestSubmission",
    "RequestView",
    "file_request",
    "list_requests",
    "mark_request_handled",
    "new_reference",
    "request_detail",
    "resolve_request_match",
    "reveal_request_contact",
]

RequestKind = Literal["prescreening", "consultation"]

# the coded values a request may hold (the portal attaches labels in each language)
REQUEST_CHOICES: Final[dict[str, tuple[str, ...]]] = {
    "kind": ("prescreening", "consultation"),
    "requester_type": ("patient", "relative", "physician"),
    "language": ("zh", "en"),
    "travel": ("yes", "no", "not_sure"),
    "interpreter": ("yes", "no", "not_sure"),
    "preferred_language": ("zh", "en", "other"),
    "contact_channel": ("email", "phone", "wechat", "whatsapp"),
    "contact_time": ("any", "morning", "afternoon", "evening"),
}
# contact and health-data storage are required; cross-border transfer is asked (and then
# required) only of people living outside the trial country, None when not asked
REQUEST_CONSENTS: Final = ("contact", "health_data", "cross_border_transfer", "other_trials")
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_MAX_ANSWERS: Final = 24
# Crockford base 32 without I, L, O, U: readable over the phone
_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PREFIX: Final[dict[str, str]] = {"prescreening": "PS", "consultation": "CR"}


def new_reference(kind: RequestKind) -> str:
    """A random reference such as ``PS-7K3F-9QXA`` (40 bits), the same form for every request."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{_PREFIX[kind]}-{chars[:4]}-{chars[4:]}"


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@dataclass(frozen=True)
class RequestSubmission:
    """A request as the portal (or a coordinator) received it.

    ``contact`` holds who sent it and, for a relative or physician, the patient where given
    (:class:`~radiotrial.registry.RequestContactRecord`; it goes to the vault only). ``answers``
    are coded answers (``{"q_er_positive": "not_sure", ...}`` or ``{"topic": ...}``);
    ``form_key`` identifies one rendered form, so a repeated post files nothing new.
    """

    kind: str
    requester_type: str
    language: str
    contact: RequestContactRecord | Mapping[str, Any]
    answers: Mapping[str, str]
    country: str
    travel: str
    interpreter: str
    preferred_language: str
    contact_channel: str
    contact_time: str
    time_zone: str
    consents: Mapping[str, bool | None]
    received_at: datetime | None = None
    form_key: str | None = None


@dataclass(frozen=True)
class RequestReceipt:
    """The filed request: its reference, whether this call filed it, and where it went."""

    reference: str
    created: bool
    received_at: datetime
    subject: str
    match: str


@dataclass(frozen=True)
class RequestView:
    """A request as staff see it (pseudonymous: no names, no contacts)."""

    reference: str
    kind: str
    requester_type: str
    language: str
    received_at: datetime
    answers: dict[str, str]
    country: str
    travel: str
    interpreter: str
    preferred_language: str
    contact_channel: str
    contact_time: str
    time_zone: str
    consents: dict[str, bool | None]
    match: str
    match_codes: list[str]
    resolution: str | None
    resolved_by: str | None
    subject: str
    subject_status: str
    handled_at: datetime | None
    handled_by: str | None
    handling_note: str | None
    #: a possible match that nobody has resolved yet
    match_open: bool
    other_requests: list[str] = field(default_factory=list)


def _check(sub: RequestSubmission) -> RequestContactRecord:
    for name, allowed in REQUEST_CHOICES.items():
        value = getattr(sub, name)
        if value not in allowed:
            raise ValidationError(f"request.{name}", value, f"one of {', '.join(allowed)}")
    if not isinstance(sub.country, str) or not _COUNTRY.match(sub.country):
        raise ValidationError("request.country", sub.country, "an ISO 3166-1 alpha-2 code")
    if sub.time_zone not in _time_zones():
        raise ValidationError("request.time_zone", sub.time_zone, "an IANA time zone name")
    if len(sub.answers) > _MAX_ANSWERS:
        raise ValidationError("request.answers", len(sub.answers), f"at most {_MAX_ANSWERS}")
    for key, value in sub.answers.items():
        if not (isinstance(key, str) and _CODE.match(key)):
            raise ValidationError("request.answers", key, "keys are lower-case codes")
        if not (isinstance(value, str) and _CODE.match(value)):
            raise ValidationError(f"request.answers.{key}", value, "answers are coded values")
    unknown = sorted(set(sub.consents) - set(REQUEST_CONSENTS))
    if unknown:
        raise ValidationError("request.consents", unknown, f"known: {REQUEST_CONSENTS}")
    for key in REQUEST_CONSENTS:
        value = sub.consents.get(key)
        if value is not None and not isinstance(value, bool):
            raise ValidationError(f"request.consents.{key}", value, "true, false or not asked")
    for key in ("contact", "health_data"):
        if sub.consents.get(key) is not True:
            raise ValidationError(f"request.consents.{key}", sub.consents.get(key), "required")
    if sub.consents.get("cross_border_transfer") is False:
        raise ValidationError(
            "request.consents.cross_border_transfer", False, "required when it is asked"
        )
    if sub.received_at is not None:
        check_aware("request.received_at", sub.received_at)
    contact = sub.contact
    if not isinstance(contact, RequestContactRecord):
        contact = RequestContactRecord.parse(dict(contact))
    if sub.requester_type == "patient" and contact.patient is not None:
        raise ValidationError("contact.patient", ..., "the patient is the requester")
    return contact


def _patient_identity(sub: RequestSubmission, contact: RequestContactRecord) -> Any:
    """The person the request is about, and an identity record when they can be reached."""
    person = contact.requester if sub.requester_type == "patient" else contact.patient
    if person is None or (person.email is None and person.phone is None):
        return person, None
    language = sub.preferred_language if sub.preferred_language != "other" else sub.language
    record = IdentityRecord(
        family_name=person.full_name,
        email=person.email,
        phone=person.phone,
        preferred_language=language,
    )
    return person, record


def _unused_reference(session: Session, kind: RequestKind) -> str:
    while True:
        reference = new_reference(kind)
        taken = session.execute(sa.select(Request.id).where(Request.reference == reference))
        if taken.first() is None:
            return reference


def _receipt(request: Request, subject: Subject, created: bool) -> RequestReceipt:
    return RequestReceipt(
        request.reference, created, request.received_at, subject.code, request.match
    )


def file_request(
    ctx: ServiceContext, submission: RequestSubmission, *, actor: Actor | None = None
) -> RequestReceipt:
    """Store a request and link it to a subject (one transaction, every row audited).

    A strong keyed-hash match to one open subject links the request to that subject (``known``;
    no second subject); otherwise a new subject is registered, flagged ``possible`` when open
    subjects share the patient's name. With ``form_key`` given, a second call for the same
    form returns the first receipt (``created`` false) and writes nothing.
    """
    actor = actor or Actor(PORTAL, PORTAL)
    require_permission(actor, "prescreen.register")
    contact = _check(submission)
    vault = ctx.get_vault()
    person, identity = _patient_identity(submission, contact)
    keys = None if person is None else vault.contact_keys(person)
    form_key = (
        None
        if submission.form_key is None
        else hashlib.sha256(submission.form_key.encode("utf-8")).hexdigest()
    )
    received = submission.received_at or ctx.now()
    kind: RequestKind = "consultation" if submission.kind == "consultation" else "prescreening"
    with ctx.registry.write() as session:
        if form_key is not None:
            earlier = session.execute(
                sa.select(Request, Subject)
                .join(Subject, Subject.id == Request.subject_id)
                .where(Request.form_key == form_key)
            ).first()
            if earlier is not None:
                return _receipt(earlier[0], earlier[1], False)
        match = PersonMatch("new") if keys is None else match_person(session, keys)
        reference = _unused_reference(session, kind)
        parts: list[Base] = []  # written in one flush and one batch of audit entries
        if match.subject is not None:
            subject = match.subject
            why = f"request {reference} from a known person (same {match.basis})"
        else:
            subject = _new_subject(ctx, submission, received)
            parts.append(subject)
            why = None
            if identity is not None:
                parts.append(identity_row(vault, subject, identity))
        if keys is not None:
            parts += key_rows(session, subject, keys, fresh=match.subject is None)
        request = Request(
            reference=reference,
            form_key=form_key,
            subject=subject,
            kind=submission.kind,
            requester_type=submission.requester_type,
            language=submission.language,
            received_at=received,
            answers=dict(submission.answers),
            country=submission.country,
            travel=submission.travel,
            interpreter=submission.interpreter,
            preferred_language=submission.preferred_language,
            contact_channel=submission.contact_channel,
            contact_time=submission.contact_time,
            time_zone=submission.time_zone,
            consents={k: submission.consents.get(k) for k in REQUEST_CONSENTS},
            match=match.kind,
            match_codes=list(match.codes),
            audit_salt=secrets.token_hex(16),
        )
        nonce, ciphertext = vault.seal_contact(contact, reference)
        parts += [
            request,
            RequestContact(request=request, key_id=vault.key_id, nonce=nonce,
                           ciphertext=ciphertext),
            Milestone(
                subject=subject,
                kind=f"{'prescreen' if kind == 'prescreening' else 'consultation'}-request",
                from_status=None,
                to_status=None if match.subject is not None else "potential-candidate",
                at=received,
                recorded_by=actor.username,
                note=reference,
            ),
        ]  # fmt: skip
        audited_create_all(session, actor, parts, subject_code=subject.code, reason=why)
        return _receipt(request, subject, True)


def _new_subject(ctx: ServiceContext, submission: RequestSubmission, at: datetime) -> Subject:
    return Subject(
        code=_new_code(),
        protocol_id=ctx.protocol.id,
        status="potential-candidate",
        status_at=at,
        source="referral" if submission.requester_type == "physician" else "portal",
        consents={k: bool(submission.consents.get(k)) for k in CONSENT_KEYS},
    )


def _views(session: Session, stmt: sa.Select[Request, Subject]) -> list[RequestView]:
    rows = session.execute(stmt).all()
    out = []
    for r, subject in rows:
        out.append(
            RequestView(
                reference=r.reference,
                kind=r.kind,
                requester_type=r.requester_type,
                language=r.language,
                received_at=r.received_at,
                answers=dict(r.answers),
                country=r.country,
                travel=r.travel,
                interpreter=r.interpreter,
                preferred_language=r.preferred_language,
                contact_channel=r.contact_channel,
                contact_time=r.contact_time,
                time_zone=r.time_zone,
                consents=dict(r.consents),
                match=r.match,
                match_codes=list(r.match_codes),
                resolution=r.resolution,
                resolved_by=r.resolved_by,
                match_open=r.match == "possible" and r.resolution is None,
                subject=subject.code,
                subject_status=subject.status,
                handled_at=r.handled_at,
                handled_by=r.handled_by,
                handling_note=r.handling_note,
            )
        )
    return out


def _select() -> sa.Select[Request, Subject]:
    return sa.select(Request, Subject).join(Subject, Subject.id == Request.subject_id)


def list_requests(
    ctx: ServiceContext,
    actor: Actor,
    *,
    open_only: bool = True,
    subject: str | None = None,
    limit: int = 500,
) -> list[RequestView]:
    """Requests, newest first: the open ones (not yet handled) or all, or one subject's."""
    require_permission(actor, "trial.read")
    stmt = _select().order_by(Request.received_at.desc(), Request.id.desc()).limit(limit)
    if open_only:
        stmt = stmt.where(Request.handled_at.is_(None))
    if subject is not None:
        stmt = stmt.where(Subject.code == subject)
    with ctx.registry.read() as session:
        return _views(session, stmt)


def _get_request(session: Session, reference: str, *, lock: bool = False) -> Request:
    stmt = sa.select(Request).where(Request.reference == reference)
    if lock:
        stmt = stmt.with_for_update()
    request = session.execute(stmt).scalar_one_or_none()
    if request is None:
        raise RecordNotFoundError("request", reference)
    return request


def request_detail(ctx: ServiceContext, actor: Actor, reference: str) -> RequestView:
    """One request, with the references of the subject's other requests."""
    require_permission(actor, "trial.read")
    with ctx.registry.read() as session:
        views = _views(session, _select().where(Request.reference == reference))
        if not views:
            raise RecordNotFoundError("request", reference)
        view = views[0]
        others = session.execute(
            sa.select(Request.reference)
            .join(Subject, Subject.id == Request.subject_id)
            .where(Subject.code == view.subject, Request.reference != reference)
            .order_by(Request.received_at)
        ).scalars()
        return replace(view, other_requests=list(others))


def reveal_request_contact(
    ctx: ServiceContext, actor: Actor, reference: str, *, reason: str
) -> RequestContactRecord:
    """Decrypt who sent a request (and the patient, where given); the read is audited."""
    require_permission(actor, "identity.read")
    reason = require_reason(reason, "read a request's contact details")
    vault = ctx.get_vault()
    with ctx.registry.write() as session:
        request = _get_request(session, reference)
        row = session.execute(
            sa.select(RequestContact).where(RequestContact.request_id == request.id)
        ).scalar_one_or_none()
        if row is None:
            raise ValidationError("request", reference, "no contact details (purged)")
        record = vault.open_contact(row.nonce, row.ciphertext, reference, row.key_id)
        subject = session.get(Subject, request.subject_id)
        append_audit(
            session,
            actor,
            action="read",
            table_name="request_contacts",
            record_id=row.id,
            subject_code=None if subject is None else subject.code,
            reason=reason,
        )
        return record


def resolve_request_match(
    ctx: ServiceContext, actor: Actor, reference: str, *, same_as: str | None, reason: str
) -> None:
    """Resolve a possible match: ``same_as`` one of the matched subjects, or None (different).

    Same person: the request moves to that subject together with the keys its own subject got
    from it, and that provisional subject, when it holds no other request and was not taken
    forward, becomes ``not-registered`` (retention purges its identity copy).
    """
    require_permission(actor, "identity.write")
    reason = require_reason(reason, "resolve a possible match")
    now = ctx.now()
    with ctx.registry.write() as session:
        request = _get_request(session, reference, lock=True)
        if request.match != "possible" or request.resolution is not None:
            raise WorkflowError(
                f"request {reference}", request.match, "only an open possible match is resolved"
            )
        provisional = session.get(Subject, request.subject_id)
        assert provisional is not None  # FK
        if same_as is None:
            audited_update(
                session,
                actor,
                request,
                {"resolution": "different", "resolved_by": actor.username, "resolved_at": now},
                reason=reason,
                subject_code=provisional.code,
            )
            return
        if same_as not in request.match_codes:
            raise ValidationError("same_as", same_as, f"one of {request.match_codes}")
        target = get_subject(session, same_as, lock=True)
        if target.status == "not-registered":
            raise WorkflowError(f"subject {same_as}", target.status, "is closed")
        audited_update(
            session,
            actor,
            request,
            {
                "subject_id": target.id,
                "resolution": "same",
                "resolved_by": actor.username,
                "resolved_at": now,
            },
            reason=f"{reason} (same person as {same_as})",
            subject_code=target.code,
        )
        others = session.execute(
            sa.select(sa.func.count(Request.id)).where(Request.subject_id == provisional.id)
        ).scalar_one()
        if others == 0 and provisional.status == "potential-candidate":
            why = f"same person as {same_as} (request {reference})"
            held = set(
                session.execute(
                    sa.select(IdentityKey.key_hash).where(IdentityKey.subject_id == target.id)
                ).scalars()
            )
            for key in (
                session.execute(
                    sa.select(IdentityKey).where(IdentityKey.subject_id == provisional.id)
                )
                .scalars()
                .all()
            ):
                if key.key_hash in held:
                    audited_delete(session, actor, key, reason=why, subject_code=provisional.code)
                else:
                    audited_update(
                        session,
                        actor,
                        key,
                        {"subject_id": target.id},
                        reason=why,
                        subject_code=target.code,
                    )
            set_status(
                session,
                actor,
                provisional,
                "not-registered",
                at=now,
                reason=f"same person as {same_as} (request {reference}): {reason}",
            )


def mark_request_handled(ctx: ServiceContext, actor: Actor, reference: str, *, note: str) -> None:
    """Take a request off the open queue (answered, called back, taken forward), with a note."""
    require_permission(actor, "request.handle")
    note = require_reason(note, "mark a request as handled")
    with ctx.registry.write() as session:
        request = _get_request(session, reference, lock=True)
        if request.handled_at is not None:
            raise WorkflowError(f"request {reference}", "handled", "is handled already")
        subject = session.get(Subject, request.subject_id)
        audited_update(
            session,
            actor,
            request,
            {"handled_at": ctx.now(), "handled_by": actor.username, "handling_note": note},
            reason=note,
            subject_code=None if subject is None else subject.code,
        )
