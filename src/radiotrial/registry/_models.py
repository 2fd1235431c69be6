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
    "ImagingSession",
    "Milestone",
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

    ``person_hash`` and ``document_hash`` are HMAC-SHA256 of normalised name + birth date and of
    the identity document; they find duplicates without decrypting anything. The audit trail
    never holds them as such, only blinded under this row's own random ``audit_key``
    (``AUDIT_BLINDED``): deleting the row at purge destroys the key, so the person's earlier audit
    entries can no longer be matched to anyone, even by someone holding the vault key.
    """

    __tablename__ = "identities"
    AUDIT_BLINDED: ClassVar[tuple[str, ...]] = ("person_hash", "document_hash")
    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(
        ForeignKey("subjects.id", ondelete="CASCADE"), unique=True
    )
    key_id: Mapped[str] = mapped_column(String(16))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    person_hash: Mapped[str] = mapped_column(String(64), index=True)
    document_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    audit_key: Mapped[bytes] = mapped_column(
        LargeBinary(32), default=lambda: secrets.token_bytes(32)
    )


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
