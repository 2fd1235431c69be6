"""Safety: CTCAE v5.0 grading as data, SDTM adverse events, DLT adjudication.

Examples
--------
>>> from datetime import date
>>> from radiotrial.protocol import bundled_protocol
>>> from radiotrial.safety import adjudicate_dlt, grade_lab
>>> grade_lab("Platelet count decreased", 20, "10^9/L", lln=150).grade
4
>>> ae = {"USUBJID": "S1", "AESEQ": 1, "AETERM": "thrombocytopenia",
...       "AEDECOD": "Platelet count decreased", "AETOXGR": 4, "AESER": "N",
...       "AEREL": "POSSIBLY RELATED", "AESTDTC": "2025-07-10", "AEENDTC": "2025-07-18"}
>>> out = adjudicate_dlt([ae], definition=bundled_protocol().dlt,
...     administrations={1: date(2025, 6, 16)}, as_of=date(2025, 7, 20), subject_id="S1")
>>> out.status, out.dlt, out.time_to_dlt_d
('dlt', True, 24.0)
"""

from radiotrial.safety._ae import (
    ACTION_TAKEN,
    OUTCOMES,
    AdverseEvent,
    Attribution,
    IsoDateInterval,
    event_category,
    parse_adverse_event,
    parse_iso_date,
)
from radiotrial.safety._ctcae import (
    CtcaeClause,
    CtcaeTerm,
    LabGrade,
    ctcae_terms,
    get_term,
    grade_lab,
)
from radiotrial.safety._dlt import (
    DltOutcome,
    DltStatus,
    DltWindow,
    EventAdjudication,
    SubjectSafety,
    adjudicate_dlt,
    dlt_outcomes,
    dlt_windows,
    onset_in_window,
    rule_fit,
)

__all__ = [
    "ACTION_TAKEN",
    "OUTCOMES",
    "AdverseEvent",
    "Attribution",
    "CtcaeClause",
    "CtcaeTerm",
    "DltOutcome",
    "DltStatus",
    "DltWindow",
    "EventAdjudication",
    "IsoDateInterval",
    "LabGrade",
    "SubjectSafety",
    "adjudicate_dlt",
    "ctcae_terms",
    "dlt_outcomes",
    "dlt_windows",
    "event_category",
    "get_term",
    "grade_lab",
    "onset_in_window",
    "parse_adverse_event",
    "parse_iso_date",
    "rule_fit",
]
