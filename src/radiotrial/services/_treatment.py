"""Administrations (from dose-calibrator readings), imaging sessions and dosimetry results."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from radiotrial.errors import ValidationError
from radiotrial.registry import (
    Actor,
    Administration,
    DosimetryResult,
    ImagingSession,
    WorkflowError,
    require_permission,
)
from radiotrial.registry._audit import audited_create
from radiotrial.services._context import ServiceContext, get_subject, set_status
from radiotrial.units import Activity, check_aware

__all__ = [
    "AdministrationResult",
    "record_administration",
    "record_dosimetry",
    "record_imaging",
]


@dataclass(frozen=True)
class AdministrationResult:
    """The recorded administration; activities in MBq at ``administered_at``."""

    code: str
    cycle: int
    net_activity_mbq: float
    prescribed_activity_mbq: float | None
    deviation_percent: float | None
    administration_id: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.code,
            "cycle": self.cycle,
            "net_activity_mbq": self.net_activity_mbq,
            "prescribed_activity_mbq": self.prescribed_activity_mbq,
            "deviation_percent": self.deviation_percent,
            "administration_id": self.administration_id,
        }


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(name, value, "must be a finite number")
    if value < 0:
        raise ValidationError(name, value, "activity cannot be negative")
    return float(value)


def record_administration(
    ctx: ServiceContext,
    actor: Actor,
    code: str,
    *,
    pre_activity_mbq: float,
    pre_measured_at: datetime,
    residual_activity_mbq: float,
    residual_measured_at: datetime,
    administered_at: datetime,
    calibrator: str | None = None,
) -> AdministrationResult:
    """Record the next cycle's administration from dose-calibrator readings.

    Net activity at the administration time is

        A_net(t_adm) = A_pre(t_pre)·e^(−λ(t_adm − t_pre)) − A_res(t_res)·e^(+λ(t_res − t_adm))

    computed with :class:`radiotrial.units.Activity` (ICRP-107 decay constant of the protocol's
    nuclide). The syringe is measured before the injection and the residual after it; the cycle
    must respect ``treatment.cycle_interval`` and ``treatment.max_cycles``.
    """
    require_permission(actor, "administration.record")
    pre = _positive("pre_activity_mbq", pre_activity_mbq)
    res = _positive("residual_activity_mbq", residual_activity_mbq)
    for name, t in (
        ("pre_measured_at", pre_measured_at),
        ("residual_measured_at", residual_measured_at),
        ("administered_at", administered_at),
    ):
        check_aware(name, t)
    now = ctx.now()
    if residual_measured_at > now:
        raise ValidationError(
            "residual_measured_at", residual_measured_at.isoformat(), "in the future"
        )
    if not pre_measured_at <= administered_at <= residual_measured_at:
        raise ValidationError(
            "administered_at",
            administered_at.isoformat(),
            "must lie between the syringe reading (before) and the residual reading (after)",
        )
    nuclide = ctx.protocol.radiopharmaceutical.nuclide
    a_pre = Activity.from_value(pre, "MBq", pre_measured_at, nuclide).at(administered_at)
    a_res = Activity.from_value(res, "MBq", residual_measured_at, nuclide).at(administered_at)
    if a_res.bq > a_pre.bq:
        raise ValidationError(
            "residual_activity_mbq",
            res,
            f"residual ({a_res.mbq:.4g} MBq at injection) exceeds the syringe "
            f"({a_pre.mbq:.4g} MBq at injection)",
        )
    net = (a_pre - a_res).mbq
    max_cycles = int(ctx.protocol.treatment.max_cycles.value)
    interval = timedelta(days=ctx.protocol.treatment.cycle_interval.to("d"))
    with ctx.registry.write() as session:
        subject = get_subject(session, code, lock=True)
        if subject.status not in ("on-study", "on-study-intervention"):
            raise WorkflowError(
                f"subject {code} status", subject.status, "administration needs an enrolled subject"
            )
        previous = (
            session.execute(
                sa.select(Administration)
                .where(Administration.subject_id == subject.id)
                .order_by(Administration.cycle.desc())
            )
            .scalars()
            .first()
        )
        cycle = 1 if previous is None else previous.cycle + 1
        if cycle > max_cycles:
            raise WorkflowError(
                f"subject {code} cycle", cycle, f"the protocol allows {max_cycles} cycles"
            )
        if previous is not None and administered_at - previous.administered_at < interval:
            raise WorkflowError(
                f"subject {code} cycle {cycle}",
                administered_at.isoformat(),
                f"less than {interval.days} days after cycle {previous.cycle}",
            )
        if subject.enrolled_at is not None and administered_at < subject.enrolled_at:
            raise ValidationError(
                "administered_at", administered_at.isoformat(), "before enrolment"
            )
        prescribed = None
        if subject.cohort is not None:
            prescribed = subject.cohort.activity_gbq * 1e3
        adm = Administration(
            subject_id=subject.id,
            cycle=cycle,
            nuclide=nuclide,
            pre_activity_mbq=pre,
            pre_measured_at=pre_measured_at,
            residual_activity_mbq=res,
            residual_measured_at=residual_measured_at,
            administered_at=administered_at,
            net_activity_mbq=net,
            prescribed_activity_mbq=prescribed,
            calibrator=calibrator,
            recorded_by=actor.username,
        )
        audited_create(session, actor, adm, subject_code=code)
        if subject.status == "on-study":
            set_status(
                session, actor, subject, "on-study-intervention", at=administered_at,
                reason="first administration", kind="cycle-1",
            )  # fmt: skip
        deviation = None if prescribed is None else 100.0 * (net - prescribed) / prescribed
        return AdministrationResult(code, cycle, net, prescribed, deviation, adm.id)


def _administration(
    ctx: ServiceContext, session: Any, code: str, cycle: int
) -> tuple[Any, Administration]:
    subject = get_subject(session, code)
    adm = session.execute(
        sa.select(Administration).where(
            Administration.subject_id == subject.id, Administration.cycle == cycle
        )
    ).scalar_one_or_none()
    if adm is None:
        raise ValidationError(
            "cycle", cycle, f"subject {code} has no administration in cycle {cycle}"
        )
    return subject, adm


def record_imaging(
    ctx: ServiceContext,
    actor: Actor,
    code: str,
    *,
    cycle: int,
    acquired_at: datetime,
    modality: str = "SPECT/CT",
    series_uid: str | None = None,
) -> int:
    """Record a post-therapy imaging session (time after injection computed, must be > 0)."""
    require_permission(actor, "imaging.record")
    check_aware("acquired_at", acquired_at)
    if acquired_at > ctx.now():
        raise ValidationError("acquired_at", acquired_at.isoformat(), "in the future")
    with ctx.registry.write() as session:
        _subject, adm = _administration(ctx, session, code, cycle)
        hours = (acquired_at - adm.administered_at).total_seconds() / 3600.0
        if hours <= 0:
            raise ValidationError("acquired_at", acquired_at.isoformat(), "before the injection")
        img = ImagingSession(
            administration_id=adm.id,
            acquired_at=acquired_at,
            hours_post_injection=hours,
            modality=modality,
            series_uid=series_uid,
            recorded_by=actor.username,
        )
        audited_create(session, actor, img, subject_code=code)
        return img.id


def record_dosimetry(
    ctx: ServiceContext,
    actor: Actor,
    code: str,
    *,
    cycle: int,
    target: str,
    absorbed_dose_gy: float,
    method: str,
    bed_gy: float | None = None,
    analysis_ref: str | None = None,
) -> int:
    """Link an organ or lesion absorbed dose (and BED) to a cycle's administration."""
    require_permission(actor, "dosimetry.record")
    for name, v in (("absorbed_dose_gy", absorbed_dose_gy), ("bed_gy", bed_gy)):
        if v is not None and (not math.isfinite(v) or v < 0):
            raise ValidationError(name, v, "must be a finite dose ≥ 0 Gy")
    if not target.strip() or not method.strip():
        raise ValidationError("target/method", (target, method), "both are required")
    with ctx.registry.write() as session:
        _subject, adm = _administration(ctx, session, code, cycle)
        res = DosimetryResult(
            administration_id=adm.id,
            target=target.strip(),
            absorbed_dose_gy=float(absorbed_dose_gy),
            bed_gy=None if bed_gy is None else float(bed_gy),
            method=method.strip(),
            analysis_ref=analysis_ref,
            recorded_by=actor.username,
        )
        audited_create(session, actor, res, subject_code=code)
        return res.id
