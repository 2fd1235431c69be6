"""Use cases from the pre-screening request to screening evidence (the eligibility decision
is in :mod:`radiotrial.services._eligibility`).

Each function is one transaction: the change, its milestones and its audit entries commit
together or not at all.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa

from radiotrial.errors import UnitError, ValidationError
from radiotrial.protocol import variable_catalogue
from radiotrial.registry import (
    Actor,
    DuplicateSubjectError,
    Evidence,
    IdentityKey,
    IdentityRecord,
    Milestone,
    Subject,
    WorkflowError,
    append_audit,
    require_permission,
    require_reason,
)
from radiotrial.registry._audit import audited_create, audited_delete, audited_update
from radiotrial.services._context import (
    PORTAL,
    ServiceContext,
    get_subject,
    identity_of,
    set_status,
)
from radiotrial.services._persons import add_keys, match_person, seal_identity
from radiotrial.units import check_aware, convert, dimension_of

__all__ = [
    "CONSENT_KEYS",
    "EvidenceItem",
    "PrescreenReceipt",
    "change_status",
    "correct_identity",
    "open_screening",
    "record_evidence",
    "register_prescreen",
    "reveal_identity",
    "take_forward",
]

CONSENT_KEYS = ("contact", "health_data", "cross_border_transfer")
_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32: no I, L, O, U


def _new_code() -> str:
    return "RT-" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


@dataclass(frozen=True)
class PrescreenReceipt:
    """What the portal shows: a reference, what happens next, and how long data are kept."""

    reference: str
    language: str
    retention_days: float
    next_steps: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "language": self.language,
            "retention_days": self.retention_days,
            "next_steps": self.next_steps,
        }


def register_prescreen(
    ctx: ServiceContext,
    identity: dict[str, Any] | IdentityRecord,
    *,
    consents: dict[str, bool],
    actor: Actor | None = None,
    source: Literal["portal", "referral", "clinic"] = "portal",
) -> PrescreenReceipt:
    """Register a pre-screening contact request (a request, never a medical decision).

    The identity goes encrypted into the vault; the trial side gets a pseudonymous code in
    status ``potential-candidate``. A person already registered (a strong keyed hash: name and
    birth date, e-mail or telephone, or the identity document) raises
    :class:`DuplicateSubjectError`; a person who only shares a name is registered (portal
    requests show staff such a possible match, see :func:`file_request`).
    """
    actor = actor or Actor(PORTAL, PORTAL)
    require_permission(actor, "prescreen.register")
    record = identity if isinstance(identity, IdentityRecord) else IdentityRecord.parse(identity)
    unknown = sorted(set(consents) - set(CONSENT_KEYS))
    if unknown:
        raise ValidationError("consents", unknown, f"unknown consent; known: {CONSENT_KEYS}")
    for key, value in consents.items():
        if not isinstance(value, bool):
            raise ValidationError(f"consents.{key}", value, "must be true or false")
    if not consents.get("contact", False):
        raise ValidationError(
            "consents.contact", consents.get("contact"), "consent to be contacted is required"
        )
    vault = ctx.get_vault()
    keys = vault.identity_keys(record)
    now = ctx.now()
    with ctx.registry.write() as session:
        match = match_person(session, keys)
        if match.kind == "known":
            raise DuplicateSubjectError(match.codes[0], match.basis or "identity")
        code = _new_code()
        subject = Subject(
            code=code,
            protocol_id=ctx.protocol.id,
            status="potential-candidate",
            status_at=now,
            source=source,
            consents={k: bool(consents.get(k, False)) for k in CONSENT_KEYS},
        )
        audited_create(session, actor, subject, subject_code=code)
        seal_identity(session, actor, vault, subject, record)
        add_keys(session, actor, subject, keys, reason=None)
        audited_create(
            session,
            actor,
            Milestone(
                subject_id=subject.id,
                kind="prescreen-request",
                from_status=None,
                to_status="potential-candidate",
                at=now,
                recorded_by=actor.username,
            ),
            subject_code=code,
        )
    retention = ctx.protocol.retention.prescreen_contact_data.to("d")
    return PrescreenReceipt(
        reference=code,
        language=record.preferred_language,
        retention_days=retention,
        next_steps=(
            "The trial team will contact you to discuss the study and the tests needed. "
            "This request is not a decision about eligibility. If you are not taken forward, "
            f"your contact data are deleted after {retention:g} days."
        ),
    )


def reveal_identity(ctx: ServiceContext, actor: Actor, code: str, *, reason: str) -> IdentityRecord:
    """Decrypt a subject's identity; the read itself is audited with its reason."""
    require_permission(actor, "identity.read")
    reason = require_reason(reason, "read identity data")
    vault = ctx.get_vault()
    with ctx.registry.write() as session:
        subject = get_subject(session, code)
        row = identity_of(session, subject)
        if row is None:
            raise ValidationError(
                "subject", code, "no identity data (purged, or not given with the request)"
            )
        record = vault.open(row.nonce, row.ciphertext, code, row.key_id)
        append_audit(
            session,
            actor,
            action="read",
            table_name="identities",
            record_id=row.id,
            subject_code=code,
            reason=reason,
        )
    return record


def correct_identity(
    ctx: ServiceContext, actor: Actor, code: str, changes: dict[str, Any], *, reason: str
) -> None:
    """Correct identity fields (re-encrypted; audit shows the ciphertext digests, not values)."""
    require_permission(actor, "identity.write")
    reason = require_reason(reason, "correct identity data")
    vault = ctx.get_vault()
    with ctx.registry.write() as session:
        subject = get_subject(session, code)
        row = identity_of(session, subject)
        if row is None:
            raise ValidationError("subject", code, "no identity data (purged)")
        old = vault.open(row.nonce, row.ciphertext, code, row.key_id)
        new = IdentityRecord.parse({**old.model_dump(), **changes})
        nonce, ciphertext = vault.seal(new, code)
        why = f"{reason} (fields: {', '.join(sorted(changes))})"
        audited_update(
            session,
            actor,
            row,
            {"nonce": nonce, "ciphertext": ciphertext, "key_id": vault.key_id},
            reason=why,
            subject_code=code,
        )
        # the keys follow the correction: the old name or contact no longer finds this person;
        # unchanged keys stay, with the audit keys that link their history
        stale = set(vault.identity_keys(old).all) - set(vault.identity_keys(new).all)
        for key in session.execute(
            sa.select(IdentityKey).where(
                IdentityKey.subject_id == subject.id, IdentityKey.key_hash.in_(stale)
            )
        ).scalars():
            audited_delete(session, actor, key, reason=why, subject_code=code)
        add_keys(session, actor, subject, vault.identity_keys(new), reason=why)


def take_forward(ctx: ServiceContext, actor: Actor, code: str, *, note: str | None = None) -> None:
    """Potential candidate → candidate (the team contacted the person and takes them forward)."""
    require_permission(actor, "screening.open")
    with ctx.registry.write() as session:
        subject = get_subject(session, code, lock=True)
        set_status(session, actor, subject, "candidate", at=ctx.now(), reason=note)


def open_screening(
    ctx: ServiceContext, actor: Actor, code: str, *, note: str | None = None
) -> None:
    """Candidate (or ineligible, for re-screening, or eligible whose tests expired) → screening."""
    require_permission(actor, "screening.open")
    with ctx.registry.write() as session:
        subject = get_subject(session, code, lock=True)
        if subject.status == "potential-candidate":
            set_status(session, actor, subject, "candidate", at=ctx.now(), reason=note)
        set_status(session, actor, subject, "screening", at=ctx.now(), reason=note)


@dataclass(frozen=True)
class EvidenceItem:
    """One observation: a catalogue variable, its value (and unit), date and source document.

    For a date variable (``last_systemic_therapy``), ``value=None`` records the documented
    absence of the event in the reviewed history (no such therapy ever).
    """

    variable: str
    value: float | str | bool | date | None
    observed_at: datetime
    source_document: str
    unit: str | None = None
    test_id: str | None = None


def _check_evidence(item: EvidenceItem, now: datetime, i: int) -> tuple[float | None, str | None]:
    field = f"evidence[{i}]"
    var = variable_catalogue().get(item.variable)
    if var is None:
        raise ValidationError(f"{field}.variable", item.variable, "not in the variable catalogue")
    check_aware(f"{field}.observed_at", item.observed_at)
    if item.observed_at > now:
        raise ValidationError(f"{field}.observed_at", item.observed_at.isoformat(), "in the future")
    if not item.source_document.strip():
        raise ValidationError(f"{field}.source_document", item.source_document, "required")
    v = item.value
    if var.kind in ("numeric", "score"):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ValidationError(f"{field}.value", v, f"{item.variable} needs a finite number")
        if var.kind == "numeric":
            if item.unit is None:
                raise UnitError(f"{field}.unit", None, f"{item.variable} needs a unit")
            dim = dimension_of(item.unit)
            if dim != var.dimension:
                raise UnitError(
                    f"{field}.unit", item.unit, f"{item.variable} needs a {var.dimension} unit"
                )
            if float(v) < 0:
                raise ValidationError(f"{field}.value", v, f"{item.variable} cannot be negative")
            if dim == "fraction" and convert(float(v), item.unit, "1") > 1:
                raise ValidationError(f"{field}.value", v, f"{item.variable} cannot exceed 100%")
        elif item.unit is not None:
            raise UnitError(f"{field}.unit", item.unit, f"{item.variable} is a unitless score")
        return float(v), None
    if var.kind == "boolean":
        if not isinstance(v, bool):
            raise ValidationError(f"{field}.value", v, f"{item.variable} is true or false")
        return None, "true" if v else "false"
    if var.kind == "categorical":
        if v not in var.categories:
            raise ValidationError(f"{field}.value", v, f"must be one of {var.categories}")
        return None, str(v)
    # date
    if v is None:  # documented: never happened
        return None, None
    if isinstance(v, datetime):
        v = v.date()
    if isinstance(v, str):
        try:
            v = date.fromisoformat(v)
        except ValueError:
            raise ValidationError(f"{field}.value", v, "needs an ISO date") from None
    if not isinstance(v, date):
        raise ValidationError(f"{field}.value", v, f"{item.variable} is a date")
    if v > now.date():
        raise ValidationError(f"{field}.value", v.isoformat(), "date in the future")
    return None, v.isoformat()


def record_evidence(
    ctx: ServiceContext, actor: Actor, code: str, items: list[EvidenceItem]
) -> list[int]:
    """Record screening observations (all or none); the subject must be in screening."""
    require_permission(actor, "evidence.record")
    now = ctx.now()
    tests = {t.id for t in ctx.protocol.screening_tests}
    checked = []
    for i, item in enumerate(items):
        if item.test_id is not None and item.test_id not in tests:
            raise ValidationError(f"evidence[{i}].test_id", item.test_id, f"not one of {tests}")
        checked.append((item, *_check_evidence(item, now, i)))
    ids = []
    with ctx.registry.write() as session:
        subject = get_subject(session, code, lock=True)
        if subject.status not in ("screening", "eligible", "on-study", "on-study-intervention"):
            raise WorkflowError(
                f"subject {code} status", subject.status, "evidence is recorded during screening"
            )
        for item, num, text in checked:
            ev = Evidence(
                subject_id=subject.id,
                test_id=item.test_id,
                variable=item.variable,
                value_num=num,
                value_text=text,
                unit=item.unit,
                observed_at=item.observed_at,
                source_document=item.source_document.strip(),
                recorded_by=actor.username,
            )
            audited_create(session, actor, ev, subject_code=code)
            ids.append(ev.id)
    return ids


def change_status(
    ctx: ServiceContext,
    actor: Actor,
    code: str,
    new_status: Literal["follow-up", "off-study", "withdrawn", "not-registered"],
    *,
    reason: str,
) -> None:
    """Follow-up, off-study, withdrawal or not-registered, with the reason (audited)."""
    require_permission(actor, "subject.status")
    reason = require_reason(reason, f"move a subject to {new_status}")
    if new_status not in ("follow-up", "off-study", "withdrawn", "not-registered"):
        raise ValidationError("status", new_status, "use enrol / administer for other statuses")
    with ctx.registry.write() as session:
        subject = get_subject(session, code, lock=True)
        set_status(session, actor, subject, new_status, at=ctx.now(), reason=reason)
