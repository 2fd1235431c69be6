"""Retention: purge pre-screen contact data that were not taken forward (China PIPL Art. 19)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from radiotrial.registry import (
    Actor,
    Identity,
    IdentityKey,
    OutboxMail,
    Request,
    RequestContact,
    Subject,
    WorkflowError,
    append_audit,
    require_permission,
    require_reason,
)
from radiotrial.services._context import ServiceContext, get_subject, set_status

__all__ = ["PurgeResult", "erase_request_data", "purge_prescreen"]

# statuses of people who were never taken forward into screening
_NOT_TAKEN_FORWARD = ("potential-candidate", "not-registered")


@dataclass(frozen=True)
class PurgeResult:
    purged: list[str]
    retention_days: float
    cutoff: str
    dry_run: bool
    requests: int = 0
    outbox: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "purged": self.purged,
            "n_purged": len(self.purged),
            "requests_removed": self.requests,
            "outbox_removed": self.outbox,
            "retention_days": self.retention_days,
            "cutoff": self.cutoff,
            "dry_run": self.dry_run,
        }


def _purge(
    session: Session, actor: Actor, subject: Subject, *, reason: str, now: datetime
) -> tuple[int, int]:
    """Delete everything identifying or answered about ``subject``; one audit entry per row.

    The entries name the table, the record id, the subject code, the request reference and the
    kind of data removed, never their values. Returns (requests, outbox messages) removed.
    """

    def purge_entry(table: str, record_id: int, removed: str, **extra: str) -> None:
        append_audit(
            session,
            actor,
            action="purge",
            table_name=table,
            record_id=record_id,
            subject_code=subject.code,
            old={"fields_removed": removed, **extra},
            reason=reason,
        )

    requests = (
        session.execute(
            sa.select(Request).where(Request.subject_id == subject.id).order_by(Request.id)
        )
        .scalars()
        .all()
    )
    n_mail = 0
    for request in requests:
        mails = (
            session.execute(sa.select(OutboxMail).where(OutboxMail.request_id == request.id))
            .scalars()
            .all()
        )
        contact = session.execute(
            sa.select(RequestContact).where(RequestContact.request_id == request.id)
        ).scalar_one_or_none()
        for mail in mails:
            session.delete(mail)
            purge_entry(
                "outbox",
                mail.id,
                "unsent e-mail (recipients, subject, body)",
                reference=request.reference,
            )
        n_mail += len(mails)
        if contact is not None:
            session.delete(contact)
            purge_entry(
                "request_contacts",
                contact.id,
                "requester's and patient's names and contacts",
                reference=request.reference,
            )
        session.flush()
        session.delete(request)
        purge_entry(
            "requests",
            request.id,
            "answers, logistics and consents of the request",
            reference=request.reference,
        )
    identity = session.execute(
        sa.select(Identity).where(Identity.subject_id == subject.id)
    ).scalar_one_or_none()
    if identity is not None:
        session.delete(identity)
        purge_entry(
            "identities",
            identity.id,
            "identity (names, contacts, documents, nationality, language)",
        )
    keys = (
        session.execute(sa.select(IdentityKey).where(IdentityKey.subject_id == subject.id))
        .scalars()
        .all()
    )
    for key in keys:
        session.delete(key)
        purge_entry("identity_keys", key.id, "keyed hash for duplicate detection")
    session.flush()
    if subject.status != "not-registered":
        set_status(
            session,
            actor,
            subject,
            "not-registered",
            at=now,
            reason=f"{reason}; contact data purged",
            kind="purge",
        )
    return len(requests), n_mail


def _has_data() -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.exists().where(Identity.subject_id == Subject.id),
        sa.exists().where(Request.subject_id == Subject.id),
        sa.exists().where(IdentityKey.subject_id == Subject.id),
    )


def purge_prescreen(ctx: ServiceContext, actor: Actor, *, dry_run: bool = False) -> PurgeResult:
    """Delete the contact data and requests of people not taken forward within the period.

    A person is purged when never taken forward (status ``potential-candidate`` or
    ``not-registered``, never enrolled) and both the status and their newest request are older
    than ``protocol.retention.prescreen_contact_data``. Removed: the vault identity, the identity
    keys, every request (answers, logistics, consents), its sealed contact and its unsent
    e-mail. The pseudonymous subject row stays (status ``not-registered``) so that counts remain
    right; each audit entry names only the code, the rule and the kind of data removed. The
    audit trail never held the answers (a salted digest, see ``registry.snapshot``), and held
    the keyed hashes only blinded under each key row's ``audit_key``, which goes with the row:
    the person's earlier audit entries can no longer be matched to them. On SQLite the deleted
    pages are zeroed (``secure_delete``) and the WAL is checkpointed; on PostgreSQL dead rows
    disappear at the next VACUUM, and copies in backups expire with the backups' rotation
    (identities and contacts there are ciphertext under a key that is not in the database).
    """
    require_permission(actor, "prescreen.purge")
    days = ctx.protocol.retention.prescreen_contact_data.to("d")
    now = ctx.now()
    cutoff = now - timedelta(days=days)
    latest = (
        sa.select(sa.func.max(Request.received_at))
        .where(Request.subject_id == Subject.id)
        .scalar_subquery()
    )
    purged: list[str] = []
    n_requests = n_mail = 0
    with ctx.registry.write() as session:
        subjects = (
            session.execute(
                sa.select(Subject)
                .where(Subject.status.in_(_NOT_TAKEN_FORWARD))
                .where(Subject.status_at < cutoff)
                .where(Subject.enrolled_at.is_(None))
                .where(sa.or_(latest.is_(None), latest < cutoff))
                .where(_has_data())
                .order_by(Subject.id)
                .with_for_update()
            )
            .scalars()
            .all()
        )
        reason = f"retention: pre-screen contact data not taken forward within {days:g} days"
        for subject in subjects:
            purged.append(subject.code)
            if dry_run:
                n_requests += session.execute(
                    sa.select(sa.func.count(Request.id)).where(Request.subject_id == subject.id)
                ).scalar_one()
                continue
            since = f" (status {subject.status} since {subject.status_at.date().isoformat()})"
            r, m = _purge(session, actor, subject, reason=reason + since, now=now)
            n_requests += r
            n_mail += m
    if purged and not dry_run:
        ctx.registry.checkpoint()
    return PurgeResult(purged, days, cutoff.isoformat(), dry_run, n_requests, n_mail)


def erase_request_data(ctx: ServiceContext, actor: Actor, code: str, *, reason: str) -> None:
    """Erase at the person's request what :func:`purge_prescreen` would erase, now.

    Only for people not taken forward (the trial record of a screened or enrolled subject
    follows the trial's own retention rules); the reason is audited.
    """
    require_permission(actor, "prescreen.purge")
    reason = require_reason(reason, "erase a person's request data")
    with ctx.registry.write() as session:
        subject = get_subject(session, code, lock=True)
        if subject.status not in _NOT_TAKEN_FORWARD or subject.enrolled_at is not None:
            raise WorkflowError(
                f"subject {code} status",
                subject.status,
                "only data of people not taken forward are erased on request",
            )
        _purge(session, actor, subject, reason=f"erasure on request: {reason}", now=ctx.now())
    ctx.registry.checkpoint()
