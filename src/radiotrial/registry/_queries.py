"""Shared registry queries: one subject's rows of a table."""

from __future__ import annotations

from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from radiotrial.registry._models import (
    Administration,
    AdverseEvent,
    EligibilityDecision,
    Evidence,
    Milestone,
)

__all__ = ["subject_rows"]

SubjectRow = TypeVar(
    "SubjectRow", Administration, AdverseEvent, EligibilityDecision, Evidence, Milestone
)


def subject_rows(
    session: Session, model: type[SubjectRow], subject_id: int, *, order_by: Any = None
) -> list[SubjectRow]:
    """Rows of ``model`` that belong to subject ``subject_id``, in ``order_by`` order.

    ``order_by`` is a column of ``model`` (default: its primary key, i.e. insertion order).
    """
    order = model.id if order_by is None else order_by
    stmt = sa.select(model).where(model.subject_id == subject_id).order_by(order)
    return list(session.execute(stmt).scalars().all())
