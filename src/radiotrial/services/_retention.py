"""Retention: purge pre-screen contact data that were not taken forward (China PIPL Art. 19)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from radiotrial.registry import Actor, Identity, Subject, append_audit, require_permission
from radiotrial.services._context import ServiceContext, set_status

__all__ = ["PurgeResult", "purge_prescreen"]

# statuses of people who were never taken forward into screening
_NOT_TAKEN_FORWARD = ("potential-candidate", "not-registered")


@dataclass(frozen=True)
class PurgeResult:
    purged: list[str]
    retention_days: float
    cutoff: str
    dry_run: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "purged": self.purged,
            "n_purged": len(self.purged),
            "retention_days": self.retention_days,
            "cutoff": self.cutoff,
            "dry_run": self.dry_run,
        }


def purge_prescreen(ctx: ServiceContext, actor: Actor, *, dry_run: bool = False) -> PurgeResult:
    """Delete the vault rows of pre-screen requests older than the retention period.

    A request is purged when the person was never taken forward (status
    ``potential-candidate`` or ``not-registered`` without screening) and the status is older
    than ``protocol.retention.prescreen_contact_data``. The pseudonymous subject row stays (status
    ``not-registered``) so that counts remain right; the audit entry names only the subject code,
    the rule and the fields removed, never their values. The row's ``audit_key`` goes with it, so
    the person's earlier audit entries, whose keyed hashes are blinded under that key, can no
    longer be matched to them. On SQLite the deleted pages are zeroed (``secure_delete``) and the
    WAL is checkpointed; on PostgreSQL dead rows disappear at the next VACUUM, and copies in
    backups expire with the backups' rotation (the identity there is ciphertext under a key that
    is not in the database).
    """
    require_permission(actor, "prescreen.purge")
    days = ctx.protocol.retention.prescreen_contact_data.to("d")
    now = ctx.now()
    cutoff = now - timedelta(days=days)
    purged: list[str] = []
    with ctx.registry.write() as session:
        rows = session.execute(
            sa.select(Subject, Identity)
            .join(Identity, Identity.subject_id == Subject.id)
            .where(Subject.status.in_(_NOT_TAKEN_FORWARD))
            .where(Subject.status_at < cutoff)
            .where(Subject.enrolled_at.is_(None))
            .order_by(Subject.id)
            .with_for_update()
        ).all()
        for subject, identity in rows:
            purged.append(subject.code)
            if dry_run:
                continue
            session.delete(identity)
            session.flush()
            append_audit(
                session,
                actor,
                action="purge",
                table_name="identities",
                record_id=identity.id,
                subject_code=subject.code,
                old={
                    "fields_removed": "identity (names, contacts, documents, nationality, language)"
                },
                reason=(
                    f"retention: pre-screen contact data not taken forward within {days:g} days "
                    f"(status {subject.status} since {subject.status_at.date().isoformat()})"
                ),
            )
            if subject.status != "not-registered":
                set_status(
                    session, actor, subject, "not-registered", at=now,
                    reason="retention period elapsed; contact data purged", kind="purge",
                )  # fmt: skip
    if purged and not dry_run:
        ctx.registry.checkpoint()
    return PurgeResult(purged, days, cutoff.isoformat(), dry_run)
