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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from operator import attrgetter
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
from radiotrial.registry._queries import subject_rows
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


def _table(
    objs: Iterable[Any], columns: Sequence[str], **computed: Callable[[Any], Any]
) -> tuple[list[str], list[list[Any]]]:
    """(header, rows) of ``objs``: a column is the attribute named by its lower-cased header
    (SDTM headers are upper case), unless ``computed`` gives it a function of the row object."""
    getters = [computed.get(c) or attrgetter(c.lower()) for c in columns]
    return list(columns), [[get(o) for get in getters] for o in objs]


def _all(session: Session, model: type[Any], order_by: Any) -> Sequence[Any]:
    return session.execute(sa.select(model).order_by(order_by)).scalars().all()


def _tables(session: Session, study_id: str) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """Every exported table as (header, rows), keyed by file stem."""
    codes = dict(session.execute(sa.select(Subject.id, Subject.code)).all())
    cohort_numbers = dict(session.execute(sa.select(Cohort.id, Cohort.number)).all())
    admins = _all(session, Administration, Administration.id)
    admin_key = {a.id: (codes[a.subject_id], a.cycle) for a in admins}
    adj = {a.adverse_event_id: a for a in session.execute(sa.select(DltAdjudication)).scalars()}

    def usubjid(row: Any) -> str:
        return str(codes[row.subject_id])

    def per_cycle(**more: Callable[[Any], Any]) -> dict[str, Callable[[Any], Any]]:
        return {
            "USUBJID": lambda r: admin_key[r.administration_id][0],
            "cycle": lambda r: admin_key[r.administration_id][1],
            **more,
        }

    return {
        "subjects": _table(
            _all(session, Subject, Subject.id),
            ["USUBJID", "status", "status_at", "source", "cohort", "slot", "dose_level",
             "enrolled_at", "dlt_evaluable", "consents"],
            USUBJID=attrgetter("code"),
            cohort=lambda s: None if s.cohort_id is None else cohort_numbers.get(s.cohort_id),
        ),
        "milestones": _table(
            _all(session, Milestone, Milestone.id),
            ["USUBJID", "kind", "from_status", "to_status", "at", "recorded_by", "note"],
            USUBJID=usubjid,
        ),
        "evidence": _table(
            _all(session, Evidence, Evidence.id),
            ["USUBJID", "test_id", "variable", "value_num", "value_text", "unit", "observed_at",
             "source_document", "recorded_by", "version"],
            USUBJID=usubjid,
        ),
        "eligibility": _table(
            _all(session, EligibilityDecision, EligibilityDecision.id),
            ["USUBJID", "overall", "reason", "decided_by", "decided_at", "version", "criteria"],
            USUBJID=usubjid,
        ),
        "cohorts": _table(
            _all(session, Cohort, Cohort.number),
            ["cohort", "dose_level", "activity_gbq", "capacity", "opened_at", "decision"],
            cohort=attrgetter("number"),
        ),
        "administrations": _table(
            admins,
            ["USUBJID", "cycle", "nuclide", "pre_activity_mbq", "pre_measured_at",
             "residual_activity_mbq", "residual_measured_at", "administered_at",
             "net_activity_mbq", "prescribed_activity_mbq", "calibrator", "recorded_by"],
            USUBJID=usubjid,
        ),
        "imaging": _table(
            _all(session, ImagingSession, ImagingSession.id),
            ["USUBJID", "cycle", "acquired_at", "hours_post_injection", "modality", "series_uid"],
            **per_cycle(),
        ),
        "dosimetry": _table(
            _all(session, DosimetryResult, DosimetryResult.id),
            ["USUBJID", "cycle", "target", "absorbed_dose_gy", "bed_gy", "method",
             "analysis_ref"],
            **per_cycle(),
        ),
        "adverse_events": _table(
            _all(session, AdverseEvent, AdverseEvent.id),
            ["STUDYID", "DOMAIN", "USUBJID", "AESPID", "AETERM", "AEDECOD", "AEBODSYS", "AETOXGR",
             "AESER", "AEREL", "AEACN", "AEOUT", "AESTDTC", "AEENDTC", "cycle", "haematologic",
             "dlt", "dlt_rule"],
            STUDYID=lambda _e: study_id,
            DOMAIN=lambda _e: "AE",
            USUBJID=usubjid,
            dlt=lambda e: adj[e.id].is_dlt if e.id in adj else None,
            dlt_rule=lambda e: adj[e.id].rule_id if e.id in adj else None,
        ),
    }  # fmt: skip


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
    tables = _tables(session, study_id)
    tmp = _prepare(directory)
    try:
        for stem, (header, rows) in tables.items():
            with open(tmp / f"{stem}.csv", "w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(header)
                writer.writerows([_cell(v) for v in row] for row in rows)
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

    def form(
        event: etree._Element,
        g: str,
        rows: Sequence[Any],
        *,
        repeat_key: Callable[[Any], int] | None = None,
        **computed: Callable[[Any], Any],
    ) -> None:
        """``FormData`` of item group ``g`` with one ``ItemGroupData`` per row.

        An item is the row's attribute named by the lower-cased item name unless ``computed``
        gives a function of the row; a repeating group is keyed by ``repeat_key`` (default:
        1, 2, ... in row order).
        """
        _name, _dom, repeating, items = _GROUPS[g]
        f = _e(event, "FormData", FormOID=f"F.{g}")
        for k, row in enumerate(rows, start=1):
            attrs = {"ItemGroupOID": f"IG.{g}"}
            if repeating:
                attrs["ItemGroupRepeatKey"] = str(k if repeat_key is None else repeat_key(row))
            igd = _e(f, "ItemGroupData", **attrs)
            for item, dtype in items:
                get = computed.get(item) or attrgetter(item.lower())
                v = _value(get(row), dtype)
                if v is not None:
                    _e(igd, "ItemData", ItemOID=f"IT.{g}.{item}", Value=v)

    for s in session.execute(sa.select(Subject).order_by(Subject.id)).scalars().all():
        sd = _e(cd, "SubjectData", SubjectKey=s.code)
        decisions = subject_rows(session, EligibilityDecision, s.id)
        evidence = subject_rows(session, Evidence, s.id)
        if decisions or evidence:
            ev = _e(sd, "StudyEventData", StudyEventOID="SE.SCREEN")
            if decisions:
                form(ev, "ELIG", decisions[-1:])
            if evidence:
                form(
                    ev,
                    "EVID",
                    evidence,
                    VALUE=lambda e: e.value_text if e.value_num is None else repr(e.value_num),
                    SOURCE=attrgetter("source_document"),
                )
        if s.enrolled_at is not None:
            ev = _e(sd, "StudyEventData", StudyEventOID="SE.ENROL")
            form(
                ev,
                "ENROL",
                [s],
                COHORT=lambda sj: (
                    None if sj.cohort_id is None else cohort_numbers.get(sj.cohort_id)
                ),
            )
        for a in subject_rows(session, Administration, s.id, order_by=Administration.cycle):
            ev = _e(
                sd, "StudyEventData", StudyEventOID="SE.CYCLE", StudyEventRepeatKey=str(a.cycle)
            )
            form(ev, "ADMIN", [a])
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
                form(ev, "DOSIM", dos)
        aes = subject_rows(session, AdverseEvent, s.id, order_by=AdverseEvent.aespid)
        if aes:
            ev = _e(sd, "StudyEventData", StudyEventOID="SE.SAFETY")
            form(
                ev,
                "AE",
                aes,
                DLT=lambda ae: None if ae.id not in adj else adj[ae.id].is_dlt,
                repeat_key=attrgetter("aespid"),
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
