"""Append-only, hash-chained audit trail (21 CFR Part 11 §11.10(e)).

Every create, update and delete of trial data, and every read of identity data, appends one
:class:`~radiotrial.registry.AuditEntry` in the same transaction as the change: who (user and
role), when (UTC), what (table, record, old → new values), and why (a reason, required for every
change after initial entry). Entries are chained: each stores the previous entry's hash and

    hash_n = SHA-256( canonical_json({seq, at, actor, role, action, table_name, record_id,
                                      subject_code, old, new, reason, prev_hash = hash_{n-1}}) )

with hash_0 = 64 zeros, so altering, removing or reordering any entry breaks every later link,
and the ``audit_head`` row (last seq and hash) exposes a removed tail. Database triggers refuse
UPDATE and DELETE on the table, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from radiotrial.errors import ValidationError
from radiotrial.registry._models import AuditEntry, AuditHead, Base
from radiotrial.registry._roles import Actor
from radiotrial.registry._types import canonical_json, sha256_hex, to_jsonable, utcnow

__all__ = [
    "GENESIS_HASH",
    "AuditProblem",
    "AuditReport",
    "append_audit",
    "audited_create",
    "audited_create_all",
    "audited_delete",
    "audited_update",
    "entry_hash",
    "require_reason",
    "snapshot",
    "verify_chain",
]

GENESIS_HASH = "0" * 64

# never copied into the audit trail (a password hash is a secret even when salted; a row's
# audit key blinds its keyed hashes, see snapshot)
_REDACTED = frozenset({"password_hash", "audit_key"})

Action = Literal[
    "create",
    "update",
    "delete",
    "read",
    "purge",
    "sign",
    "override",
    "login",
    "migrate",
    "export",
]


def _blind(key: bytes, value: str) -> str:
    return "hmac:" + hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def snapshot(obj: Base) -> dict[str, Any]:
    """Column values of a mapped object as JSON-ready data (ciphertext as its SHA-256).

    A model's ``AUDIT_BLINDED`` columns (the vault's keyed hashes) appear as HMAC-SHA256 under
    the row's own ``audit_key``: comparable between entries and checkable against the live row,
    unmatchable once the row, and with it the key, is deleted (crypto-shredding), even by
    someone holding the vault key.

    A model that lists columns in ``audit_digest`` (and has an ``audit_salt`` column) has them
    replaced by one ``content_sha256`` = SHA-256 of the salt and their canonical JSON: the trail
    verifies the values while the row exists, and holds nothing that can be read back (or
    guessed: the salt is random and leaves with the row) once retention deletes it.
    """
    mapper = sa_inspect(type(obj))
    blinded: tuple[str, ...] = getattr(type(obj), "AUDIT_BLINDED", ())
    digested: tuple[str, ...] = getattr(type(obj), "audit_digest", ())
    data: dict[str, Any] = {}
    for col in mapper.column_attrs:
        if col.key in ("created_at", "audit_salt") or col.key in digested:
            continue
        value = getattr(obj, col.key)
        if col.key in _REDACTED:
            data[col.key] = "***"
        elif col.key in blinded and value is not None:
            data[col.key] = _blind(obj.audit_key, value)  # type: ignore[attr-defined]
        else:
            data[col.key] = to_jsonable(value)
    if digested:
        content = canonical_json({k: getattr(obj, k) for k in digested})
        salt = getattr(obj, "audit_salt")  # noqa: B009 (models without digests have none)
        data["content_sha256"] = sha256_hex(f"{salt}|{content}")
    return data


def entry_hash(entry: AuditEntry | sa.Row[Any]) -> str:
    """Recompute an entry's hash from its columns (see the module notes)."""
    payload = {
        "seq": entry.seq,
        "at": entry.at,
        "actor": entry.actor,
        "role": entry.role,
        "action": entry.action,
        "table_name": entry.table_name,
        "record_id": entry.record_id,
        "subject_code": entry.subject_code,
        "old": entry.old,
        "new": entry.new,
        "reason": entry.reason,
        "prev_hash": entry.prev_hash,
    }
    return sha256_hex(canonical_json(payload))


def require_reason(reason: str | None, what: str) -> str:
    """A non-empty reason, as Part 11 requires for any change after initial entry."""
    if reason is None or not reason.strip():
        raise ValidationError("reason", reason, f"a reason is required to {what}")
    return reason.strip()


def append_audit(
    session: Session,
    actor: Actor,
    *,
    action: Action,
    table_name: str,
    record_id: object | None = None,
    subject_code: str | None = None,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEntry:
    """Append one entry to the chain inside the caller's (write) transaction."""
    entry = _chain(
        session, _head(session), actor, action=action, table_name=table_name,
        record_id=record_id, subject_code=subject_code, old=old, new=new, reason=reason,
    )  # fmt: skip
    session.flush()
    return entry


def _head(session: Session) -> AuditHead:
    return session.execute(
        sa.select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one()


def _chain(
    session: Session,
    head: AuditHead,
    actor: Actor,
    *,
    action: Action,
    table_name: str,
    record_id: object | None,
    subject_code: str | None,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    reason: str | None,
) -> AuditEntry:
    """The next entry after ``head`` (added to the session; ``head`` moves to it)."""
    entry = AuditEntry(
        seq=head.last_seq + 1,
        at=to_jsonable(utcnow()),
        actor=actor.username,
        role=actor.role,
        action=action,
        table_name=table_name,
        record_id=None if record_id is None else str(record_id),
        subject_code=subject_code,
        old=None if old is None else canonical_json(old),
        new=None if new is None else canonical_json(new),
        reason=reason,
        prev_hash=head.last_hash,
    )
    entry.hash = entry_hash(entry)
    session.add(entry)
    head.last_seq = entry.seq
    head.last_hash = entry.hash
    return entry


def audited_create(
    session: Session,
    actor: Actor,
    obj: Base,
    *,
    subject_code: str | None = None,
    reason: str | None = None,
) -> Base:
    """Insert ``obj`` and audit it (``new`` = all its columns)."""
    session.add(obj)
    session.flush()
    identity = sa_inspect(obj).identity
    append_audit(
        session, actor, action="create", table_name=obj.__tablename__,
        record_id=identity[0] if identity else None, subject_code=subject_code,
        new=snapshot(obj), reason=reason,
    )  # fmt: skip
    return obj


def audited_create_all(
    session: Session,
    actor: Actor,
    objs: Sequence[Base],
    *,
    subject_code: str | None = None,
    reason: str | None = None,
) -> None:
    """Insert ``objs`` in one flush and audit each, in order (one entry per object).

    The chain's head is read once for the whole batch: filing a record with its parts costs
    one round trip instead of one per part, with the same entries as one by one.
    """
    session.add_all(objs)
    session.flush()
    head = _head(session)
    for obj in objs:
        identity = sa_inspect(obj).identity
        _chain(
            session, head, actor, action="create", table_name=obj.__tablename__,
            record_id=identity[0] if identity else None, subject_code=subject_code,
            old=None, new=snapshot(obj), reason=reason,
        )  # fmt: skip
    session.flush()


def audited_update(
    session: Session,
    actor: Actor,
    obj: Base,
    changes: dict[str, Any],
    *,
    reason: str | None,
    subject_code: str | None = None,
    reason_required: bool = True,
) -> dict[str, tuple[Any, Any]]:
    """Apply ``changes`` to ``obj`` and audit old → new of the fields that changed.

    Returns the changed fields as ``{name: (old, new)}`` (empty when nothing changed; then no
    entry is written and the version is not bumped).
    """
    if reason_required:
        reason = require_reason(reason, f"change {obj.__tablename__}")
    before = snapshot(obj)
    for key, value in changes.items():
        if key not in before:
            raise ValidationError(key, value, f"{obj.__tablename__} has no field {key!r}")
        setattr(obj, key, value)
    session.flush()
    after = snapshot(obj)
    changed = {k: (before[k], after[k]) for k in after if before.get(k) != after[k]}
    if not changed or set(changed) == {"version"}:
        return {}
    append_audit(
        session,
        actor,
        action="update",
        table_name=obj.__tablename__,
        record_id=after.get("id"),
        subject_code=subject_code,
        old={k: v[0] for k, v in changed.items()},
        new={k: v[1] for k, v in changed.items()},
        reason=reason,
    )
    return changed


def audited_delete(
    session: Session,
    actor: Actor,
    obj: Base,
    *,
    reason: str | None,
    subject_code: str | None = None,
    action: Action = "delete",
    old: dict[str, Any] | None = None,
) -> None:
    """Delete ``obj``, keeping its last values in the audit entry (or ``old`` if given)."""
    reason = require_reason(reason, f"delete from {obj.__tablename__}")
    before = snapshot(obj) if old is None else old
    session.delete(obj)
    session.flush()
    append_audit(
        session,
        actor,
        action=action,
        table_name=obj.__tablename__,
        record_id=snapshot(obj).get("id"),
        subject_code=subject_code,
        old=before,
        reason=reason,
    )


ProblemKind = Literal["altered", "removed", "reordered", "truncated", "head"]


@dataclass(frozen=True)
class AuditProblem:
    """One break of the chain: where (seq), what kind, and the evidence in words."""

    seq: int | None
    kind: ProblemKind
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "detail": self.detail}


@dataclass(frozen=True)
class AuditReport:
    """Result of :func:`verify_chain`."""

    n_entries: int
    last_seq: int
    last_hash: str
    problems: list[AuditProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "n_entries": self.n_entries,
            "last_seq": self.last_seq,
            "last_hash": self.last_hash,
            "problems": [p.to_dict() for p in self.problems],
        }


def verify_chain(session: Session) -> AuditReport:
    """Check the whole chain; report every altered, removed or reordered entry.

    Notes
    -----
    Entries are read in ``seq`` order. For each: the recomputed hash must equal the stored one
    (else *altered*); ``seq`` must follow its predecessor's by one (a gap is *removed*); the
    stored ``prev_hash`` must equal the predecessor's stored hash (if it equals the hash of some
    other entry, the entries were *reordered*, otherwise the predecessor was *removed* or
    altered). The last entry must match ``audit_head`` (else the tail was *truncated*).
    """
    # plain rows, not ORM objects: verification reads the whole table
    entries = list(
        session.execute(sa.select(*AuditEntry.__table__.columns).order_by(AuditEntry.seq))
    )
    head = session.get(AuditHead, 1)
    problems: list[AuditProblem] = []
    all_hashes = {e.hash: e.seq for e in entries}
    prev_hash, prev_seq = GENESIS_HASH, 0
    for e in entries:
        recomputed = entry_hash(e)
        if recomputed != e.hash:
            problems.append(
                AuditProblem(e.seq, "altered", "content does not match its stored hash")
            )
        if e.seq > prev_seq + 1:
            missing = e.seq - prev_seq - 1
            problems.append(
                AuditProblem(
                    e.seq,
                    "removed",
                    f"{missing} entr{'y' if missing == 1 else 'ies'} missing before seq "
                    f"{e.seq} (previous is {prev_seq})",
                )
            )
        if e.prev_hash != prev_hash:
            other = all_hashes.get(e.prev_hash)
            if other is not None and other != prev_seq:
                problems.append(
                    AuditProblem(
                        e.seq,
                        "reordered",
                        f"links to entry {other}, but follows entry {prev_seq}",
                    )
                )
            elif e.prev_hash == GENESIS_HASH and prev_seq != 0:
                problems.append(AuditProblem(e.seq, "reordered", "links to the start of the chain"))
            elif not any(p.seq == e.seq and p.kind == "removed" for p in problems):
                # contiguous seq but a foreign link: the predecessor was altered and re-hashed
                problems.append(
                    AuditProblem(
                        prev_seq,
                        "altered",
                        f"entry {e.seq} does not link to it: altered and re-hashed",
                    )
                )
        prev_hash, prev_seq = e.hash, e.seq
    if head is None:
        problems.append(AuditProblem(None, "head", "audit_head row is missing"))
    elif head.last_seq != prev_seq or head.last_hash != prev_hash:
        kind: ProblemKind = "truncated" if head.last_seq > prev_seq else "head"
        problems.append(
            AuditProblem(
                head.last_seq,
                kind,
                f"audit_head records seq {head.last_seq}, the chain ends at seq {prev_seq}",
            )
        )
    return AuditReport(len(entries), prev_seq, prev_hash, problems)
