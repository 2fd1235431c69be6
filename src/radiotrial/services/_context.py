"""What every use case needs: the registry, the protocol, the vault key and a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from radiotrial.protocol import Protocol, bundled_protocol
from radiotrial.registry import (
    Actor,
    Identity,
    RecordNotFoundError,
    Registry,
    Subject,
    Vault,
    check_transition,
    utcnow,
)
from radiotrial.registry._audit import audited_create, audited_update
from radiotrial.registry._models import Milestone
from radiotrial.units import check_aware

__all__ = ["PORTAL", "ServiceContext", "get_subject", "set_status"]

PORTAL = "portal"


@dataclass
class ServiceContext:
    """Dependencies of the use cases (built once by the CLI or the web app).

    Parameters
    ----------
    registry : Registry
        The database.
    protocol : Protocol
        The trial protocol (default: the bundled [177Lu]Lu-NeoB protocol).
    vault : Vault, optional
        Identity vault; default from ``$RADIOTRIAL_VAULT_KEY`` / ``_FILE`` on first use.
    clock : callable
        Returns the current timezone-aware time (injectable for tests and replays).
    """

    registry: Registry
    protocol: Protocol = field(default_factory=bundled_protocol)
    vault: Vault | None = None
    clock: Callable[[], datetime] = utcnow

    def get_vault(self) -> Vault:
        if self.vault is None:
            self.vault = Vault.from_environment()
        return self.vault

    def now(self) -> datetime:
        return check_aware("clock()", self.clock())


def get_subject(session: Session, code: str, *, lock: bool = False) -> Subject:
    """The subject with pseudonymous ``code`` (raises :class:`RecordNotFoundError`)."""
    stmt = sa.select(Subject).where(Subject.code == code)
    if lock:
        stmt = stmt.with_for_update()
    subject = session.execute(stmt).scalar_one_or_none()
    if subject is None:
        raise RecordNotFoundError("subject", code)
    return subject


def set_status(
    session: Session,
    actor: Actor,
    subject: Subject,
    new_status: str,
    *,
    at: datetime,
    reason: str | None,
    kind: str = "status",
) -> None:
    """Check and apply a status transition; audit it and record the milestone."""
    check_transition(subject.code, subject.status, new_status)
    old = subject.status
    audited_update(
        session,
        actor,
        subject,
        {"status": new_status, "status_at": at},
        reason=reason or f"status {old} → {new_status}",
        subject_code=subject.code,
    )
    audited_create(
        session,
        actor,
        Milestone(
            subject_id=subject.id,
            kind=kind,
            from_status=old,
            to_status=new_status,
            at=at,
            recorded_by=actor.username,
            note=reason,
        ),
        subject_code=subject.code,
    )


def identity_of(session: Session, subject: Subject) -> Identity | None:
    return session.execute(
        sa.select(Identity).where(Identity.subject_id == subject.id)
    ).scalar_one_or_none()
