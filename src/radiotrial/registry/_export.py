"""Pseudonymous exports: one CSV per table, and CDISC ODM 1.3.2 XML validated against its XSD.

No export ever contains identity data: subjects appear by their pseudonymous code only. The ODM
file is checked against the official ODM 1.3.2 schema shipped in the ``odmlib`` package before it
is moved into place, and every file is written to a temporary directory first and renamed, so a
failed export leaves nothing half-written.

References
----------
CDISC Operational Data Model (ODM) Specification, version 1.3.2 (2013).
CDISC SDTM Implementation Guide, AE domain (variable names of ``adverse_events.csv``).
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from lxml import etree
from sqlalchemy.orm import Session

import radiotrial
from radiotrial.errors import InputFileError
from radiotrial.registry._models import (
    Administration,
    AdverseEvent,
    Cohort,
    DltAdjudication,
    DosimetryResult,
    EligibilityDecision,
    Evidence,
    ImagingSession,
    Milestone,
    Subject,
)
from radiotrial.registry._types import to_jsonable, utcnow

__all__ = ["ExportResult", "export_csv", "export_odm", "odm_schema", "validate_odm"]

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    files: list[str]
    n_subjects: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "files": self.files,
            "n_subjects": self.n_subjects,
        }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, datetime):
        return str(to_jsonable(value))
    if isinstance(value, dict | list):
        import json

        return json.dumps(to_jsonable(value), ensure_ascii=False, sort_keys=True)
    return str(value)


def _tables(session: Session) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """Every exported table as (header, rows), keyed by file stem."""
    codes = dict(session.execute(sa.select(Subject.id, Subject.code)).all())
    out: dict[str, tuple[list[str], list[list[Any]]]] = {}
    subjects = session.execute(sa.select(Subject).order_by(Subject.id)).scalars().all()
    cohort_numbers = dict(session.execute(sa.select(Cohort.id, Cohort.number)).all())
    out["subjects"] = (
        [
            "USUBJID",
            "status",
            "status_at",
            "source",
            "cohort",
            "slot",
            "dose_level",
            "enrolled_at",
            "dlt_evaluable",
            "consents",
        ],
        [
            [
                s.code,
                s.status,
                s.status_at,
                s.source,
                (None if s.cohort_id is None else cohort_numbers.get(s.cohort_id)),
                s.slot,
                s.dose_level,
                s.enrolled_at,
                s.dlt_evaluable,
                s.consents,
            ]
            for s in subjects
        ],
    )
    out["milestones"] = (
        ["USUBJID", "kind", "from_status", "to_status", "at", "recorded_by", "note"],
        [
            [codes[m.subject_id], m.kind, m.from_status, m.to_status, m.at, m.recorded_by, m.note]
            for m in session.execute(sa.select(Milestone).order_by(Milestone.id)).scalars()
        ],
    )
    out["evidence"] = (
        [
            "USUBJID",
            "test_id",
            "variable",
            "value_num",
            "value_text",
            "unit",
            "observed_at",
            "source_document",
            "recorded_by",
            "version",
        ],
        [
            [
                codes[e.subject_id],
                e.test_id,
                e.variable,
                e.value_num,
                e.value_text,
                e.unit,
                e.observed_at,
                e.source_document,
                e.recorded_by,
                e.version,
            ]
            for e in session.execute(sa.select(Evidence).order_by(Evidence.id)).scalars()
        ],
    )
    out["eligibility"] = (
        ["USUBJID", "overall", "reason", "decided_by", "decided_at", "version", "criteria"],
        [
            [
                codes[d.subject_id],
                d.overall,
                d.reason,
                d.decided_by,
                d.decided_at,
                d.version,
                d.criteria,
            ]
            for d in session.execute(
                sa.select(EligibilityDecision).order_by(EligibilityDecision.id)
            ).scalars()
        ],
    )
    out["cohorts"] = (
        ["cohort", "dose_level", "activity_gbq", "capacity", "opened_at", "decision"],
        [
            [c.number, c.dose_level, c.activity_gbq, c.capacity, c.opened_at, c.decision]
            for c in session.execute(sa.select(Cohort).order_by(Cohort.number)).scalars()
        ],
    )
    admins = session.execute(sa.select(Administration).order_by(Administration.id)).scalars().all()
    admin_key = {a.id: (codes[a.subject_id], a.cycle) for a in admins}
    out["administrations"] = (
        [
            "USUBJID",
            "cycle",
            "nuclide",
            "pre_activity_mbq",
            "pre_measured_at",
            "residual_activity_mbq",
            "residual_measured_at",
            "administered_at",
            "net_activity_mbq",
            "prescribed_activity_mbq",
            "calibrator",
            "recorded_by",
        ],
        [
            [
                codes[a.subject_id],
                a.cycle,
                a.nuclide,
                a.pre_activity_mbq,
                a.pre_measured_at,
                a.residual_activity_mbq,
                a.residual_measured_at,
                a.administered_at,
                a.net_activity_mbq,
                a.prescribed_activity_mbq,
                a.calibrator,
                a.recorded_by,
            ]
            for a in admins
        ],
    )
    out["imaging"] = (
        ["USUBJID", "cycle", "acquired_at", "hours_post_injection", "modality", "series_uid"],
        [
            [
                *admin_key[i.administration_id],
                i.acquired_at,
                i.hours_post_injection,
                i.modality,
                i.series_uid,
            ]
            for i in session.execute(
                sa.select(ImagingSession).order_by(ImagingSession.id)
            ).scalars()
        ],
    )
    out["dosimetry"] = (
        ["USUBJID", "cycle", "target", "absorbed_dose_gy", "bed_gy", "method", "analysis_ref"],
        [
            [
                *admin_key[d.administration_id],
                d.target,
                d.absorbed_dose_gy,
                d.bed_gy,
                d.method,
                d.analysis_ref,
            ]
            for d in session.execute(
                sa.select(DosimetryResult).order_by(DosimetryResult.id)
            ).scalars()
        ],
    )
    adj = {a.adverse_event_id: a for a in session.execute(sa.select(DltAdjudication)).scalars()}
    out["adverse_events"] = (
        [
            "STUDYID",
            "DOMAIN",
            "USUBJID",
            "AESPID",
            "AETERM",
            "AEDECOD",
            "AEBODSYS",
            "AETOXGR",
            "AESER",
            "AEREL",
            "AEACN",
            "AEOUT",
            "AESTDTC",
            "AEENDTC",
            "cycle",
            "haematologic",
            "dlt",
            "dlt_rule",
        ],
        [
            [
                None,
                "AE",
                codes[e.subject_id],
                e.aespid,
                e.aeterm,
                e.aedecod,
                e.aebodsys,
                e.aetoxgr,
                e.aeser,
                e.aerel,
                e.aeacn,
                e.aeout,
                e.aestdtc,
                e.aeendtc,
                e.cycle,
                e.haematologic,
                adj[e.id].is_dlt if e.id in adj else None,
                adj[e.id].rule_id if e.id in adj else None,
            ]
            for e in session.execute(sa.select(AdverseEvent).order_by(AdverseEvent.id)).scalars()
        ],
    )
    return out


def _prepare(directory: Path) -> Path:
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise InputFileError(str(directory), "export target exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".export-", dir=directory))


def _commit_files(tmp: Path, directory: Path, names: Iterable[str]) -> list[str]:
    written = []
    for name in names:
        os.replace(tmp / name, directory / name)
        written.append(name)
    shutil.rmtree(tmp, ignore_errors=True)
    return written


def export_csv(session: Session, directory: Path, *, study_id: str) -> ExportResult:
    """Write one UTF-8 CSV per table into ``directory`` (pseudonymous; no identity data)."""
    tables = _tables(session)
    tmp = _prepare(directory)
    try:
        for stem, (header, rows) in tables.items():
            with open(tmp / f"{stem}.csv", "w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(header)
                for row in rows:
                    if stem == "adverse_events":
                        row = [study_id, *row[1:]]
                    writer.writerow([_cell(v) for v in row])
        files = _commit_files(tmp, Path(directory), sorted(f"{s}.csv" for s in tables))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ExportResult(Path(directory), files, len(tables["subjects"][1]))


# ---------------------------------------------------------------------------------------- ODM
@cache
def odm_schema() -> etree.XMLSchema:
    """The CDISC ODM 1.3.2 XML schema (from the ``odmlib`` package)."""
    xsd = resources.files("odmlib").joinpath("schemas", "odm", "1.3.2", "ODM1-3-2.xsd")
    with resources.as_file(xsd) as path:
        return etree.XMLSchema(etree.parse(str(path)))


def validate_odm(path: Path) -> None:
    """Validate an ODM file; raises :class:`InputFileError` with the first schema violation."""
    try:
        doc = etree.parse(str(path))
    except etree.XMLSyntaxError as exc:
        raise InputFileError(str(path), f"not well-formed XML: {exc}") from None
    schema = odm_schema()
    try:
        schema.assertValid(doc)
    except etree.DocumentInvalid as exc:
        raise InputFileError(str(path), f"ODM 1.3.2 schema violation: {exc}") from None


# Item groups: (OID suffix, name, SDTM domain or None, repeating, items as (name, ODM data type))
_GROUPS: dict[str, tuple[str, str | None, bool, Sequence[tuple[str, str]]]] = {
    "ELIG": (
        "Eligibility decision",
        None,
        False,
        [
            ("OVERALL", "text"),
            ("REASON", "text"),
            ("DECIDED_BY", "text"),
            ("DECIDED_AT", "datetime"),
        ],
    ),
    "EVID": (
        "Screening evidence",
        None,
        True,
        [
            ("TEST_ID", "text"),
            ("VARIABLE", "text"),
            ("VALUE", "text"),
            ("UNIT", "text"),
            ("OBSERVED_AT", "datetime"),
            ("SOURCE", "text"),
        ],
    ),
    "ENROL": (
        "Enrolment",
        None,
        False,
        [
            ("COHORT", "integer"),
            ("SLOT", "integer"),
            ("DOSE_LEVEL", "integer"),
            ("ENROLLED_AT", "datetime"),
        ],
    ),
    "ADMIN": (
        "Administration",
        None,
        False,
        [
            ("NUCLIDE", "text"),
            ("PRE_ACTIVITY_MBQ", "float"),
            ("PRE_MEASURED_AT", "datetime"),
            ("RESIDUAL_ACTIVITY_MBQ", "float"),
            ("RESIDUAL_MEASURED_AT", "datetime"),
            ("ADMINISTERED_AT", "datetime"),
            ("NET_ACTIVITY_MBQ", "float"),
        ],
    ),
    "DOSIM": (
        "Dosimetry",
        None,
        True,
        [
            ("TARGET", "text"),
            ("ABSORBED_DOSE_GY", "float"),
            ("BED_GY", "float"),
            ("METHOD", "text"),
        ],
    ),
    "AE": (
        "Adverse events",
        "AE",
        True,
        [
            ("AESPID", "integer"),
            ("AETERM", "text"),
            ("AEDECOD", "text"),
            ("AETOXGR", "integer"),
            ("AESER", "text"),
            ("AEREL", "text"),
            ("AEACN", "text"),
            ("AEOUT", "text"),
            ("AESTDTC", "datetime"),
            ("AEENDTC", "datetime"),
            ("DLT", "text"),
        ],
    ),
}
# study events: OID suffix -> (name, repeating, type, forms as item-group suffixes)
_EVENTS: dict[str, tuple[str, bool, str, Sequence[str]]] = {
    "SCREEN": ("Screening", False, "Scheduled", ["ELIG", "EVID"]),
    "ENROL": ("Enrolment", False, "Scheduled", ["ENROL"]),
    "CYCLE": ("Treatment cycle", True, "Scheduled", ["ADMIN", "DOSIM"]),
    "SAFETY": ("Safety", False, "Common", ["AE"]),
}


def _value(value: Any, dtype: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if dtype == "float":
        return repr(float(value))
    return str(value)


def _e(parent: etree._Element, tag: str, **attrs: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{ODM_NS}}}{tag}", attrs)


def _build_odm(session: Session, study_id: str, study_name: str) -> etree._Element:
    now = utcnow().isoformat(timespec="seconds")
    root = etree.Element(
        f"{{{ODM_NS}}}ODM",
        {
            "FileType": "Snapshot",
            "FileOID": f"radiotrial.{study_id}.{utcnow().strftime('%Y%m%dT%H%M%S')}",
            "CreationDateTime": now,
            "ODMVersion": "1.3.2",
            "Originator": "radiotrial",
            "SourceSystem": "radiotrial",
            "SourceSystemVersion": radiotrial.__version__,
        },
        nsmap={None: ODM_NS},  # type: ignore[dict-item]
    )
    study = _e(root, "Study", OID=f"ST.{study_id}")
    gv = _e(study, "GlobalVariables")
    _e(gv, "StudyName").text = study_name
    _e(gv, "StudyDescription").text = study_name
    _e(gv, "ProtocolName").text = study_id
    mdv = _e(study, "MetaDataVersion", OID="MDV.1", Name="radiotrial registry v1")
    proto = _e(mdv, "Protocol")
    for i, ev_oid in enumerate(_EVENTS, start=1):
        _e(proto, "StudyEventRef", StudyEventOID=f"SE.{ev_oid}", OrderNumber=str(i), Mandatory="No")
    for ev_oid, (name, rep, typ, forms) in _EVENTS.items():
        sed = _e(
            mdv,
            "StudyEventDef",
            OID=f"SE.{ev_oid}",
            Name=name,
            Repeating="Yes" if rep else "No",
            Type=typ,
        )
        for form_oid in forms:
            _e(sed, "FormRef", FormOID=f"F.{form_oid}", Mandatory="No")
    for g, (name, _dom, rep, _items) in _GROUPS.items():
        fd = _e(mdv, "FormDef", OID=f"F.{g}", Name=name, Repeating="Yes" if rep else "No")
        _e(fd, "ItemGroupRef", ItemGroupOID=f"IG.{g}", Mandatory="No")
    for g, (name, dom, rep, items) in _GROUPS.items():
        attrs = {"OID": f"IG.{g}", "Name": name, "Repeating": "Yes" if rep else "No"}
        if dom:
            attrs["Domain"] = dom
        igd = _e(mdv, "ItemGroupDef", **attrs)
        for order, (item, _t) in enumerate(items, start=1):
            _e(igd, "ItemRef", ItemOID=f"IT.{g}.{item}", Mandatory="No", OrderNumber=str(order))
    for g, (_name, dom, _rep, items) in _GROUPS.items():
        for item, dtype in items:
            attrs = {"OID": f"IT.{g}.{item}", "Name": item, "DataType": dtype}
            if dom:
                attrs["SDSVarName"] = item
            _e(mdv, "ItemDef", **attrs)

    cd = _e(root, "ClinicalData", StudyOID=f"ST.{study_id}", MetaDataVersionOID="MDV.1")
    cohort_numbers = dict(session.execute(sa.select(Cohort.id, Cohort.number)).all())
    adj = {a.adverse_event_id: a for a in session.execute(sa.select(DltAdjudication)).scalars()}

    def group(parent: etree._Element, g: str, values: dict[str, Any], key: int | None) -> None:
        attrs = {"ItemGroupOID": f"IG.{g}"}
        if key is not None:
            attrs["ItemGroupRepeatKey"] = str(key)
        igd = _e(parent, "ItemGroupData", **attrs)
        for item, dtype in _GROUPS[g][3]:
            v = _value(values.get(item), dtype)
            if v is not None:
                _e(igd, "ItemData", ItemOID=f"IT.{g}.{item}", Value=v)

    subjects = session.execute(sa.select(Subject).order_by(Subject.id)).scalars().all()
    for s in subjects:
        sd = _e(cd, "SubjectData", SubjectKey=s.code)
        decisions = (
            session.execute(
                sa.select(EligibilityDecision)
                .where(EligibilityDecision.subject_id == s.id)
                .order_by(EligibilityDecision.id)
            )
            .scalars()
            .all()
        )
        evidence = (
            session.execute(
                sa.select(Evidence).where(Evidence.subject_id == s.id).order_by(Evidence.id)
            )
            .scalars()
            .all()
        )
        if decisions or evidence:
            ev = _e(sd, "StudyEventData", StudyEventOID="SE.SCREEN")
            if decisions:
                dec = decisions[-1]
                f = _e(ev, "FormData", FormOID="F.ELIG")
                group(
                    f,
                    "ELIG",
                    {
                        "OVERALL": dec.overall,
                        "REASON": dec.reason,
                        "DECIDED_BY": dec.decided_by,
                        "DECIDED_AT": dec.decided_at,
                    },
                    None,
                )
            if evidence:
                f = _e(ev, "FormData", FormOID="F.EVID")
                for k, e in enumerate(evidence, start=1):
                    value = e.value_text if e.value_num is None else repr(e.value_num)
                    group(
                        f,
                        "EVID",
                        {
                            "TEST_ID": e.test_id,
                            "VARIABLE": e.variable,
                            "VALUE": value,
                            "UNIT": e.unit,
                            "OBSERVED_AT": e.observed_at,
                            "SOURCE": e.source_document,
                        },
                        k,
                    )
        if s.enrolled_at is not None:
            ev = _e(sd, "StudyEventData", StudyEventOID="SE.ENROL")
            f = _e(ev, "FormData", FormOID="F.ENROL")
            group(
                f,
                "ENROL",
                {
                    "COHORT": (None if s.cohort_id is None else cohort_numbers.get(s.cohort_id)),
                    "SLOT": s.slot,
                    "DOSE_LEVEL": s.dose_level,
                    "ENROLLED_AT": s.enrolled_at,
                },
                None,
            )
        admins = (
            session.execute(
                sa.select(Administration)
                .where(Administration.subject_id == s.id)
                .order_by(Administration.cycle)
            )
            .scalars()
            .all()
        )
        for a in admins:
            ev = _e(
                sd, "StudyEventData", StudyEventOID="SE.CYCLE", StudyEventRepeatKey=str(a.cycle)
            )
            f = _e(ev, "FormData", FormOID="F.ADMIN")
            group(
                f,
                "ADMIN",
                {
                    "NUCLIDE": a.nuclide,
                    "PRE_ACTIVITY_MBQ": a.pre_activity_mbq,
                    "PRE_MEASURED_AT": a.pre_measured_at,
                    "RESIDUAL_ACTIVITY_MBQ": a.residual_activity_mbq,
                    "RESIDUAL_MEASURED_AT": a.residual_measured_at,
                    "ADMINISTERED_AT": a.administered_at,
                    "NET_ACTIVITY_MBQ": a.net_activity_mbq,
                },
                None,
            )
            dos = (
                session.execute(
                    sa.select(DosimetryResult)
                    .where(DosimetryResult.administration_id == a.id)
                    .order_by(DosimetryResult.id)
                )
                .scalars()
                .all()
            )
            if dos:
                f = _e(ev, "FormData", FormOID="F.DOSIM")
                for k, d in enumerate(dos, start=1):
                    group(
                        f,
                        "DOSIM",
                        {
                            "TARGET": d.target,
                            "ABSORBED_DOSE_GY": d.absorbed_dose_gy,
                            "BED_GY": d.bed_gy,
                            "METHOD": d.method,
                        },
                        k,
                    )
        aes = (
            session.execute(
                sa.select(AdverseEvent)
                .where(AdverseEvent.subject_id == s.id)
                .order_by(AdverseEvent.aespid)
            )
            .scalars()
            .all()
        )
        if aes:
            ev = _e(sd, "StudyEventData", StudyEventOID="SE.SAFETY")
            f = _e(ev, "FormData", FormOID="F.AE")
            for ae in aes:
                a_ = adj.get(ae.id)
                group(
                    f,
                    "AE",
                    {
                        "AESPID": ae.aespid,
                        "AETERM": ae.aeterm,
                        "AEDECOD": ae.aedecod,
                        "AETOXGR": ae.aetoxgr,
                        "AESER": ae.aeser,
                        "AEREL": ae.aerel,
                        "AEACN": ae.aeacn,
                        "AEOUT": ae.aeout,
                        "AESTDTC": ae.aestdtc,
                        "AEENDTC": ae.aeendtc,
                        "DLT": None if a_ is None else a_.is_dlt,
                    },
                    ae.aespid,
                )
    return root


def export_odm(
    session: Session, directory: Path, *, study_id: str, study_name: str
) -> ExportResult:
    """Write ``<study_id>.odm.xml`` (CDISC ODM 1.3.2 snapshot), validated before it is kept."""
    root = _build_odm(session, study_id, study_name)
    tmp = _prepare(directory)
    name = f"{study_id}.odm.xml"
    try:
        etree.ElementTree(root).write(
            str(tmp / name), xml_declaration=True, encoding="UTF-8", pretty_print=True
        )
        validate_odm(tmp / name)
        files = _commit_files(tmp, Path(directory), [name])
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    n = len(root.findall(f".//{{{ODM_NS}}}SubjectData"))
    return ExportResult(Path(directory), files, n)
