"""Read-side helper the staff pages need that the services layer does not offer yet:
:func:`list_subjects`, the queue and subject list (pseudonymous columns only); it checks
``trial.read`` and only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from radiotrial.registry import (
    Actor,
    Subject,
    require_permission,
)
from radiotrial.services import ServiceContext

__all__ = ["SubjectRow", "list_subjects"]


@dataclass(frozen=True)
class SubjectRow:
    code: str
    status: str
    status_at: datetime
    source: str
    dose_level: int | None


def list_subjects(
    ctx: ServiceContext, actor: Actor, *, statuses: tuple[str, ...] = (), limit: int = 500
) -> list[SubjectRow]:
    """Subjects, newest status change first, optionally only in ``statuses``."""
    require_permission(actor, "trial.read")
    stmt = sa.select(Subject).order_by(Subject.status_at.desc()).limit(limit)
    if statuses:
        stmt = stmt.where(Subject.status.in_(statuses))
    with ctx.registry.read() as session:
        return [
            SubjectRow(s.code, s.status, s.status_at, s.source, s.dose_level)
            for s in session.execute(stmt).scalars()
        ]
