"""The outbox: e-mail that could not be (or was not to be) sent by SMTP, kept in the registry.

Each message is one :class:`~radiotrial.registry.OutboxMail` row: subject and body as written
(they carry no identity and no answers), the recipients sealed with the vault. Admins see the
queue without the addresses and have it delivered once SMTP works (:func:`deliver_outbox`,
with the web app's SMTP sender); a delivered message is deleted, and retention deletes the
messages of a purged request together with it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from radiotrial.errors import ValidationError
from radiotrial.registry import (
    Actor,
    OutboxMail,
    Request,
    Subject,
    append_audit,
    audited_create_all,
    audited_delete,
    audited_update,
    require_permission,
)
from radiotrial.services._context import PORTAL, ServiceContext

__all__ = [
    "DeliveryReport",
    "OutboxEntry",
    "QueuedMail",
    "deliver_outbox",
    "list_outbox",
    "queue_mails",
]


@dataclass(frozen=True)
class QueuedMail:
    """A plain-text message: recipients, subject, body, language and the request it concerns."""

    kind: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    language: str
    reference: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OutboxEntry:
    """A queued message as admins see it: everything but the recipients."""

    mail_uid: str
    kind: str
    language: str
    reference: str | None
    subject: str
    queued_at: datetime
    reason: str
    attempts: int
    last_attempt_at: datetime | None


@dataclass(frozen=True)
class DeliveryReport:
    sent: list[str]
    failed: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "failed": self.failed}


def queue_mails(
    ctx: ServiceContext, mails: Sequence[tuple[QueuedMail, str]], *, actor: Actor | None = None
) -> list[str]:
    """Keep ``(mail, reason)`` pairs in the outbox (one transaction); returns their ids."""
    actor = actor or Actor(PORTAL, PORTAL)
    require_permission(actor, "outbox.queue")
    if not mails:
        return []
    for i, (mail, _) in enumerate(mails):
        if not mail.recipients or not all(isinstance(a, str) and a for a in mail.recipients):
            raise ValidationError(f"mails[{i}].recipients", ..., "at least one address")
    vault = ctx.get_vault()
    now = ctx.now()
    uids = []
    with ctx.registry.write() as session:
        refs = {m.reference for m, _ in mails if m.reference}
        linked = {
            ref: (rid, code)
            for ref, rid, code in session.execute(
                sa.select(Request.reference, Request.id, Subject.code)
                .join(Subject, Subject.id == Request.subject_id)
                .where(Request.reference.in_(refs))
            ).all()
        }
        rows = []
        for mail, reason in mails:
            uid = secrets.token_hex(16)
            nonce, sealed = vault.seal_recipients(tuple(mail.recipients), uid)
            request_id, _ = linked.get(mail.reference or "", (None, None))
            rows.append(
                OutboxMail(
                    mail_uid=uid, kind=mail.kind, language=mail.language,
                    reference=mail.reference, request_id=request_id, subject=mail.subject[:300],
                    body=mail.body, headers=dict(mail.headers), key_id=vault.key_id,
                    nonce=nonce, recipients=sealed, queued_at=now, reason=reason, attempts=0,
                )
            )  # fmt: skip
            uids.append(uid)
        codes = {code for _, code in linked.values()}
        audited_create_all(
            session, actor, rows, subject_code=codes.pop() if len(codes) == 1 else None
        )
    return uids


def list_outbox(ctx: ServiceContext, actor: Actor, *, limit: int = 500) -> list[OutboxEntry]:
    """The queued messages, oldest first (recipients stay sealed)."""
    require_permission(actor, "outbox.manage")
    with ctx.registry.read() as session:
        rows = session.execute(
            sa.select(OutboxMail).order_by(OutboxMail.queued_at, OutboxMail.id).limit(limit)
        ).scalars()
        return [
            OutboxEntry(
                r.mail_uid,
                r.kind,
                r.language,
                r.reference,
                r.subject,
                r.queued_at,
                r.reason,
                r.attempts,
                r.last_attempt_at,
            )
            for r in rows
        ]


def _subject_code(session: Any, row: OutboxMail) -> str | None:
    if row.request_id is None:
        return None
    code: str | None = session.execute(
        sa.select(Subject.code)
        .join(Request, Request.subject_id == Subject.id)
        .where(Request.id == row.request_id)
    ).scalar_one_or_none()
    return code


def deliver_outbox(
    ctx: ServiceContext,
    actor: Actor,
    send: Callable[[QueuedMail], None],
    *,
    limit: int = 200,
) -> DeliveryReport:
    """Try to send every queued message with ``send`` (which raises when delivery fails).

    The recipients are decrypted only to hand them to ``send``; each attempt is one write
    transaction afterwards: a delivered message is deleted, a failed one keeps the new reason
    and its attempt count; the decryption is audited with the outcome. Delivery is at least
    once: a crash between sending and recording sends that message again next time.
    """
    require_permission(actor, "outbox.manage")
    vault = ctx.get_vault()
    with ctx.registry.read() as session:
        queued = [
            (
                r.id,
                r.mail_uid,
                QueuedMail(
                    kind=r.kind,
                    recipients=vault.open_recipients(r.nonce, r.recipients, r.mail_uid, r.key_id),
                    subject=r.subject,
                    body=r.body,
                    language=r.language,
                    reference=r.reference,
                    headers=dict(r.headers),
                ),
            )
            for r in session.execute(
                sa.select(OutboxMail).order_by(OutboxMail.queued_at, OutboxMail.id).limit(limit)
            ).scalars()
        ]
    sent: list[str] = []
    failed: dict[str, str] = {}
    for row_id, uid, mail in queued:
        try:
            send(mail)
        except Exception as exc:  # the sender's failure is recorded, never fatal
            failed[uid] = f"{type(exc).__name__}: {exc}"
        else:
            sent.append(uid)
        with ctx.registry.write() as session:
            row = session.get(OutboxMail, row_id)
            if row is None:  # purged meanwhile
                continue
            code = _subject_code(session, row)
            append_audit(
                session,
                actor,
                action="read",
                table_name="outbox",
                record_id=row.id,
                subject_code=code,
                reason="deliver queued e-mail",
            )
            if uid in failed:
                audited_update(
                    session,
                    actor,
                    row,
                    {
                        "attempts": row.attempts + 1,
                        "last_attempt_at": ctx.now(),
                        "reason": failed[uid],
                    },
                    reason="delivery attempt failed",
                    subject_code=code,
                )
            else:
                audited_delete(session, actor, row, reason="delivered", subject_code=code)
    return DeliveryReport(sent, failed)
