"""Finding a person again: keyed hashes of identifying data, matched without decrypting.

A subject holds one :class:`~radiotrial.registry.IdentityKey` per identifying combination the
registry knows of it (:meth:`radiotrial.registry.Vault.person_keys`). A new record *is* a known
person when one of its strong keys (name + birth date, e-mail or telephone; the identity
document) equals a key of exactly one open subject; when only the name matches, it is a
*possible* match that staff resolve, never a merge: different people share names. Subjects in
status ``not-registered`` are closed records awaiting purge and are never matched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from radiotrial.registry import (
    Actor,
    Identity,
    IdentityKey,
    IdentityRecord,
    PersonKeys,
    Subject,
    Vault,
    audited_create_all,
)

__all__ = ["PersonMatch", "add_keys", "identity_row", "key_rows", "match_person", "seal_identity"]


@dataclass(frozen=True)
class PersonMatch:
    """How a record relates to the registry: ``codes`` are the matching subjects, ``basis``
    what matched (for ``known``)."""

    kind: Literal["new", "known", "possible"]
    codes: tuple[str, ...] = ()
    basis: str | None = None
    subject: Subject | None = None


def match_person(session: Session, keys: PersonKeys) -> PersonMatch:
    """Match ``keys`` against the open subjects' identity keys (inside the caller's session)."""
    rows = session.execute(
        sa.select(IdentityKey.key_hash, Subject)
        .join(Subject, Subject.id == IdentityKey.subject_id)
        .where(IdentityKey.key_hash.in_(keys.all))
        .where(Subject.status != "not-registered")
        .order_by(Subject.id)
    ).all()
    rank = {k: i for i, k in enumerate(keys.strong)}  # strongest combination first
    best: dict[str, tuple[int, Subject]] = {}
    for key_hash, subject in rows:
        r = rank.get(key_hash)
        if r is not None and (subject.code not in best or r < best[subject.code][0]):
            best[subject.code] = (r, subject)
    if len(best) == 1:
        ((code, (r, subject)),) = best.items()
        return PersonMatch("known", (code,), list(keys.strong.values())[r], subject)
    codes = tuple(dict.fromkeys(subject.code for _, subject in rows))
    return PersonMatch("possible", codes) if codes else PersonMatch("new")


def key_rows(
    session: Session, subject: Subject, keys: PersonKeys, *, fresh: bool = False
) -> list[IdentityKey]:
    """Unsaved rows for the keys of ``keys`` that ``subject`` does not hold yet (``fresh``: a
    subject created in this transaction holds none)."""
    held: set[str] = set()
    if not fresh:
        held = set(
            session.execute(
                sa.select(IdentityKey.key_hash).where(IdentityKey.subject_id == subject.id)
            ).scalars()
        )
    return [IdentityKey(subject=subject, key_hash=k) for k in keys.all if k not in held]


def add_keys(
    session: Session, actor: Actor, subject: Subject, keys: PersonKeys, *, reason: str | None
) -> None:
    """Give ``subject`` the keys of ``keys`` it does not hold yet (audited, hashes redacted)."""
    new = key_rows(session, subject, keys)
    if new:
        audited_create_all(session, actor, new, subject_code=subject.code, reason=reason)


def identity_row(vault: Vault, subject: Subject, record: IdentityRecord) -> Identity:
    """An unsaved vault row holding ``record`` sealed for ``subject``."""
    nonce, ciphertext = vault.seal(record, subject.code)
    return Identity(subject=subject, key_id=vault.key_id, nonce=nonce, ciphertext=ciphertext)


def seal_identity(
    session: Session, actor: Actor, vault: Vault, subject: Subject, record: IdentityRecord
) -> Identity:
    """Seal ``record`` as ``subject``'s vault row (audited: ciphertext as its digest)."""
    row = identity_row(vault, subject, record)
    audited_create_all(session, actor, [row], subject_code=subject.code)
    return row
