"""Electronic signatures bound to one version of one record (21 CFR 11.50, 11.70, 11.200).

A signature stores the signer, the meaning (review, approval, responsibility, authorship), the
time, and ``record_hash`` = SHA-256 of the canonical JSON of the record's columns, its table
and its version, together with the columns of the records it judges (a model's
``SIGNATURE_BINDS``: a DLT adjudication binds its adverse event). Signing requires the
signer's password again (11.200(a)(1)). Validity is recomputed on every read: any later edit of
the record, or of a record it binds, changes the hash, so every signature on the earlier
version reads as *void* while the signature row itself stays (append-only).
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from radiotrial.errors import ValidationError
from radiotrial.registry._audit import append_audit, snapshot
from radiotrial.registry._errors import AuthenticationError
from radiotrial.registry._models import AUDITED_TABLES, Base, Signature, User
from radiotrial.registry._passwords import verify_password
from radiotrial.registry._roles import Actor
from radiotrial.registry._types import canonical_json, sha256_hex, utcnow

__all__ = [
    "SIGNATURE_MEANINGS",
    "record_hash",
    "sign_record",
    "signature_status",
    "signatures_of",
]

SIGNATURE_MEANINGS = ("review", "approval", "responsibility", "authorship")
SignatureStatus = Literal["valid", "void", "record-deleted"]


def record_hash(obj: Base) -> str:
    """SHA-256 over the record's table name and canonical column values (version included),
    and those of every record named in its ``SIGNATURE_BINDS``."""
    content: dict[str, Any] = {"table": obj.__tablename__, "record": snapshot(obj)}
    binds: tuple[str, ...] = getattr(type(obj), "SIGNATURE_BINDS", ())
    if binds:
        content["binds"] = {
            name: {"table": rel.__tablename__, "record": snapshot(rel)}
            for name in binds
            if (rel := getattr(obj, name)) is not None
        }
    return sha256_hex(canonical_json(content))


def sign_record(
    session: Session,
    actor: Actor,
    password: str,
    obj: Base,
    *,
    meaning: str,
    reason: str | None = None,
    subject_code: str | None = None,
) -> Signature:
    """Sign the current version of ``obj`` after re-authenticating the signer."""
    if meaning not in SIGNATURE_MEANINGS:
        raise ValidationError("meaning", meaning, f"must be one of {SIGNATURE_MEANINGS}")
    user = session.execute(
        sa.select(User).where(User.username == actor.username)
    ).scalar_one_or_none()
    if user is None or not user.active or not verify_password(user.password_hash, password):
        raise AuthenticationError(f"signature refused: could not authenticate {actor.username!r}")
    session.flush()
    data = snapshot(obj)
    sig = Signature(
        table_name=obj.__tablename__,
        record_id=int(data["id"]),
        record_version=int(data.get("version", 1)),
        record_hash=record_hash(obj),
        signer=user.username,
        signer_name=user.full_name,
        meaning=meaning,
        reason=reason,
        signed_at=utcnow(),
    )
    session.add(sig)
    session.flush()
    append_audit(
        session,
        actor,
        action="sign",
        table_name="signatures",
        record_id=sig.id,
        subject_code=subject_code,
        new={
            "table_name": sig.table_name,
            "record_id": sig.record_id,
            "record_version": sig.record_version,
            "record_hash": sig.record_hash,
            "meaning": meaning,
            "signer": sig.signer,
        },
        reason=reason,
    )
    return sig


def signature_status(session: Session, sig: Signature) -> SignatureStatus:
    """``valid`` if the record still has the signed hash, else ``void`` or ``record-deleted``."""
    model = AUDITED_TABLES.get(sig.table_name)
    if model is None:
        raise ValidationError("signature.table_name", sig.table_name, "not a signable table")
    obj = session.get(model, sig.record_id, populate_existing=True)
    if obj is None:
        return "record-deleted"
    return "valid" if record_hash(obj) == sig.record_hash else "void"


def signatures_of(session: Session, obj: Base) -> list[dict[str, Any]]:
    """Every signature ever applied to ``obj``, each with its current status."""
    data = snapshot(obj)
    sigs = session.execute(
        sa.select(Signature)
        .where(Signature.table_name == obj.__tablename__, Signature.record_id == data["id"])
        .order_by(Signature.id)
    ).scalars()
    current = record_hash(obj)
    return [
        {
            "signer": s.signer,
            "signer_name": s.signer_name,
            "meaning": s.meaning,
            "signed_at": s.signed_at,
            "record_version": s.record_version,
            "status": "valid" if s.record_hash == current else "void",
        }
        for s in sigs
    ]
