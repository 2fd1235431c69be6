"""SQLAlchemy 2 ORM models of the trial registry.

Trial data carry only the pseudonymous subject code; names, contacts and document numbers live
encrypted in :class:`Identity` (the vault table). Every table that people edit has a ``version``
column used by SQLAlchemy's optimistic concurrency check and bound into e-signatures.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship

from radiotrial.registry._types import UTCDateTime, utcnow

__all__ = [
    "AUDITED_TABLES",
    "Administration",
    "AdverseEvent",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Cohort",
    "DltAdjudication",
    "DosimetryResult",
    "EligibilityDecision",
    "Evidence",
    "Identity",
    "IdentityKey",
    "ImagingSession",
    "Milestone",
    "OutboxMail",
    "Request",
    "RequestContact",
    "Signature",
    "Subject",
    "User",
]

# deterministic constraint names so that Alembic migrations are identical on SQLite and PostgreSQL
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


class _Versioned:
    """Row version for optimistic locking; starts at 1, incremented on each UPDATE."""

    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


class User(Base):
    """A person with an account; ``role`` is one of ``data/roles.yaml``."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # set for a generated one-time password: the web app lets the account do nothing else
    # until the password is changed
    password_change_required: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # incremented when what a session or API token stands for changes (password, role,
    # deactivation): credentials carry the epoch they were issued in and are refused after
    auth_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class Subject(_Versioned, Base):
    """A person in the trial pipeline, known to trial data only by ``code``.

    ``status`` is a FHIR ResearchSubject status code; ``cohort_id``/``slot`` are set at enrolment
    and unique together, so a slot can never be given twice even if application checks failed.
    """

    __tablename__ = "subjects"
    __table_args__ = (UniqueConstraint("cohort_id", "slot"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    protocol_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(32), index=True)
    status_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(32))
    consents: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id"))
    slot: Mapped[int | None]
    dose_level: Mapped[int | None]
    enrolled_at: Mapped[datetime | None]
    dlt_evaluable: Mapped[bool | None]

    cohort: Mapped[Cohort | None] = relationship(back_populates="subjects")


class Identity(_Versioned, Base):
    """Vault row: identifying data of one subject, AES-256-GCM encrypted.

    Duplicates are found through the subject's :class:`IdentityKey` rows, never by decrypting.
    """

    __tablename__ = "identities"
    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(
        ForeignKey("subjects.id", ondelete="CASCADE"), unique=True
    )
    key_id: Mapped[str] = mapped_column(String(16))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)

    subject: Mapped[Subject] = relationship()


class IdentityKey(Base):
    """One keyed hash (HMAC-SHA256) of identifying data of a subject, for duplicate detection.

    A subject has one per identifying combination the registry holds (normalised name alone;
    name + birth date, name + e-mail, name + telephone; identity document). The HMAC input names
    its combination, so equal hashes mean equal combinations; which combination matched is read
    from the hashes of the new record, not stored here. The audit trail never holds the hash as
    such, only blinded under this row's own random ``audit_key`` (``AUDIT_BLINDED``): deleting
    the row at purge destroys the key, so the person's earlier audit entries can no longer be
    matched to anyone, even by someone holding the vault key (crypto-shredding).
    """

    __tablename__ = "identity_keys"
    __table_args__ = (UniqueConstraint("subject_id", "key_hash"),)
    AUDIT_BLINDED: ClassVar[tuple[str, ...]] = ("key_hash",)
    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    key_hash: Mapped[str] = mapped_column(String(64), index=True)
    audit_key: Mapped[bytes] = mapped_column(
        LargeBinary(32), default=lambda: secrets.token_bytes(32)
    )

    subject: Mapped[Subject] = relationship()


class Milestone(Base):
    """A timestamped event in a subject's path (status changes and named milestones)."""

    __tablename__ = "milestones"
    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)

    subject: Mapped[Subject] = relationship()


class Evidence(_Versioned, Base):
    """One screening observation (lab value, imaging read, history item) with its provenance."""

    __tablename__ = "evidence"
    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    test_id: Mapped[str | None] = mapped_column(String(64))
    variable: Mapped[str] = mapped_column(String(64))
    value_num: Mapped[float | None] = mapped_column(Float)
    value_text: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str | None] = mapped_column(String(32))
    observed_at: Mapped[datetime]
    source_document: Mapped[str] = mapped_column(String(200))
    recorded_by: Mapped[str] = mapped_column(String(64))


class EligibilityDecision(_Versioned, Base):
    """The investigator's eligibility decision with the per-criterion results it rests on."""

    __tablename__ = "eligibility_decisions"
    __table_args__ = (CheckConstraint("overall IN ('eligible', 'ineligible')", name="overall"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    overall: Mapped[str] = mapped_column(String(16))
    criteria: Mapped[dict[str, Any]]
    reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime]


class Cohort(Base):
    """A cohort of the escalation, opened at the level the design recommended."""

    __tablename__ = "cohorts"
    __table_args__ = (CheckConstraint("capacity >= 1", name="capacity"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    dose_level: Mapped[int]
    activity_gbq: Mapped[float] = mapped_column(Float)
    capacity: Mapped[int]
    opened_at: Mapped[datetime]
    decision: Mapped[dict[str, Any]]

    subjects: Mapped[list[Subject]] = relationship(back_populates="cohort")


class Administration(_Versioned, Base):
    """One cycle's administration from dose-calibrator readings.

    Net activity = syringe before − residual after, each decay-corrected to the administration
    time with :class:`radiotrial.units.Activity`.
    """

    __tablename__ = "administrations"
    __table_args__ = (
        UniqueConstraint("subject_id", "cycle"),
        CheckConstraint("cycle >= 1", name="cycle"),
        CheckConstraint("net_activity_mbq >= 0", name="net_activity"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    cycle: Mapped[int]
    nuclide: Mapped[str] = mapped_column(String(16))
    pre_activity_mbq: Mapped[float] = mapped_column(Float)
    pre_measured_at: Mapped[datetime]
    residual_activity_mbq: Mapped[float] = mapped_column(Float)
    residual_measured_at: Mapped[datetime]
    administered_at: Mapped[datetime]
    net_activity_mbq: Mapped[float] = mapped_column(Float)
    prescribed_activity_mbq: Mapped[float | None] = mapped_column(Float)
    calibrator: Mapped[str | None] = mapped_column(String(100))
    recorded_by: Mapped[str] = mapped_column(String(64))


class ImagingSession(_Versioned, Base):
    """A post-therapy SPECT/CT session of one administration."""

    __tablename__ = "imaging_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    administration_id: Mapped[int] = mapped_column(
        ForeignKey("administrations.id", ondelete="CASCADE")
    )
    acquired_at: Mapped[datetime]
    hours_post_injection: Mapped[float] = mapped_column(Float)
    modality: Mapped[str] = mapped_column(String(32))
    series_uid: Mapped[str | None] = mapped_column(String(128))
    recorded_by: Mapped[str] = mapped_column(String(64))


class DosimetryResult(_Versioned, Base):
    """An organ or lesion absorbed dose of one administration, linked to its source analysis."""

    __tablename__ = "dosimetry_results"
    id: Mapped[int] = mapped_column(primary_key=True)
    administration_id: Mapped[int] = mapped_column(
        ForeignKey("administrations.id", ondelete="CASCADE")
    )
    target: Mapped[str] = mapped_column(String(64))
    absorbed_dose_gy: Mapped[float] = mapped_column(Float)
    bed_gy: Mapped[float | None] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(200))
    analysis_ref: Mapped[str | None] = mapped_column(String(300))
    recorded_by: Mapped[str] = mapped_column(String(64))


class AdverseEvent(_Versioned, Base):
    """An adverse event with CDISC SDTM AE variable names."""

    __tablename__ = "adverse_events"
    __table_args__ = (
        CheckConstraint("aetoxgr BETWEEN 1 AND 5", name="aetoxgr"),
        UniqueConstraint("subject_id", "aespid"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    aespid: Mapped[int]
    aeterm: Mapped[str] = mapped_column(String(200))
    aedecod: Mapped[str] = mapped_column(String(200))
    aebodsys: Mapped[str | None] = mapped_column(String(200))
    aetoxgr: Mapped[int]
    aeser: Mapped[str] = mapped_column(String(1))
    aerel: Mapped[str] = mapped_column(String(16))
    aeacn: Mapped[str | None] = mapped_column(String(64))
    aeout: Mapped[str | None] = mapped_column(String(64))
    aestdtc: Mapped[datetime]
    aeendtc: Mapped[datetime | None]
    haematologic: Mapped[bool] = mapped_column(Boolean)
    cycle: Mapped[int | None]
    reported_by: Mapped[str] = mapped_column(String(64))


class DltAdjudication(_Versioned, Base):
    """The investigator's DLT adjudication of one adverse event.

    A signature on it also binds the adverse event it judged (``SIGNATURE_BINDS``): an edit of
    the event voids the signature, as an edit of the adjudication does.
    """

    SIGNATURE_BINDS: ClassVar[tuple[str, ...]] = ("adverse_event",)
    __tablename__ = "dlt_adjudications"
    id: Mapped[int] = mapped_column(primary_key=True)
    adverse_event_id: Mapped[int] = mapped_column(
        ForeignKey("adverse_events.id", ondelete="CASCADE"), unique=True
    )
    adverse_event_version: Mapped[int]
    is_dlt: Mapped[bool] = mapped_column(Boolean)
    rule_id: Mapped[str | None] = mapped_column(String(64))
    in_window: Mapped[bool] = mapped_column(Boolean)
    rationale: Mapped[str] = mapped_column(Text)
    adjudicated_by: Mapped[str] = mapped_column(String(64))
    adjudicated_at: Mapped[datetime]

    adverse_event: Mapped[AdverseEvent] = relationship()


class Request(_Versioned, Base):
    """A pre-screening or consultation request as received on the portal (pseudonymous).

    The public ``reference`` has one form for every request, whatever the registry holds; the
    request belongs to a subject (a new one, or the known person it matched). ``match`` says how:
    ``new``, ``known`` (a keyed hash that identifies a person matched an open subject) or
    ``possible`` (same name only: ``match_codes`` lists the subjects for staff to resolve).
    Who sent it and the patient's name live in :class:`RequestContact` (vault). The answers and
    logistics are audited as one salted digest (``content_sha256``), so the audit trail can
    verify them while they exist and holds nothing readable once retention deletes the row.
    """

    __tablename__ = "requests"
    __table_args__ = (
        CheckConstraint("kind IN ('prescreening', 'consultation')", name="kind"),
        CheckConstraint(
            "requester_type IN ('patient', 'relative', 'physician')", name="requester_type"
        ),
        CheckConstraint("match IN ('new', 'known', 'possible')", name="match"),
        CheckConstraint("resolution IN ('same', 'different')", name="resolution"),
    )
    audit_digest: ClassVar[tuple[str, ...]] = (
        "answers",
        "country",
        "travel",
        "interpreter",
        "preferred_language",
        "contact_channel",
        "contact_time",
        "time_zone",
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    form_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    subject_id: Mapped[int] = mapped_column(
        ForeignKey("subjects.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    requester_type: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    received_at: Mapped[datetime] = mapped_column(index=True)
    answers: Mapped[dict[str, Any]]
    country: Mapped[str] = mapped_column(String(2))
    travel: Mapped[str] = mapped_column(String(16))
    interpreter: Mapped[str] = mapped_column(String(16))
    preferred_language: Mapped[str] = mapped_column(String(16))
    contact_channel: Mapped[str] = mapped_column(String(16))
    contact_time: Mapped[str] = mapped_column(String(16))
    time_zone: Mapped[str] = mapped_column(String(64))
    consents: Mapped[dict[str, Any]]
    match: Mapped[str] = mapped_column(String(16))
    match_codes: Mapped[list[str]]
    resolution: Mapped[str | None] = mapped_column(String(16))
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None]
    handled_at: Mapped[datetime | None]
    handled_by: Mapped[str | None] = mapped_column(String(64))
    handling_note: Mapped[str | None] = mapped_column(Text)
    audit_salt: Mapped[str] = mapped_column(String(32))

    subject: Mapped[Subject] = relationship()


class RequestContact(_Versioned, Base):
    """Vault row: who sent a request and, where given, the patient's name and contacts.

    AES-256-GCM sealed like :class:`Identity`, bound to the request's reference.
    """

    __tablename__ = "request_contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), unique=True
    )
    key_id: Mapped[str] = mapped_column(String(16))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)

    request: Mapped[Request] = relationship()


class OutboxMail(Base):
    """An e-mail that could not be (or was not to be) sent by SMTP yet.

    The recipients are sealed with the vault (bound to ``mail_uid``); subject and body carry no
    identity and no answers. A delivered message is deleted; retention deletes the messages of
    a purged request with it.
    """

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    mail_uid: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    reference: Mapped[str | None] = mapped_column(String(16))
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, Any]]
    key_id: Mapped[str] = mapped_column(String(16))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    recipients: Mapped[bytes] = mapped_column(LargeBinary)
    queued_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None]


class Signature(Base):
    """An electronic signature bound to one version of one record by its canonical hash.

    Append-only (database triggers). Validity is recomputed, never stored: a later edit changes
    the record's hash, which voids every signature on an earlier version (21 CFR 11.70).
    """

    __tablename__ = "signatures"
    id: Mapped[int] = mapped_column(primary_key=True)
    table_name: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int]
    record_version: Mapped[int]
    record_hash: Mapped[str] = mapped_column(String(64))
    signer: Mapped[str] = mapped_column(String(64))
    signer_name: Mapped[str] = mapped_column(String(200))
    meaning: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    signed_at: Mapped[datetime]


class AuditEntry(Base):
    """One entry of the append-only, hash-chained audit trail.

    ``hash = SHA-256(canonical JSON of every other column, prev_hash included)``; ``old``/``new``
    are canonical JSON text (not a JSON column) so that the hashed bytes survive any backend.
    """

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    table_name: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str | None] = mapped_column(String(64))
    subject_code: Mapped[str | None] = mapped_column(String(32), index=True)
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """Single row: the last sequence number and hash (detects a removed tail; write lock)."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int]
    last_hash: Mapped[str] = mapped_column(String(64))


AUDITED_TABLES: dict[str, type[Base]] = {
    m.__tablename__: m
    for m in (
        Subject,
        Identity,
        IdentityKey,
        Request,
        RequestContact,
        OutboxMail,
        Evidence,
        EligibilityDecision,
        Cohort,
        Administration,
        ImagingSession,
        DosimetryResult,
        AdverseEvent,
        DltAdjudication,
        Milestone,
        Signature,
        User,
    )
}
