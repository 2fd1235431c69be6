"""The trial protocol as validated data (pydantic models + YAML).

Examples
--------
>>> from radiotrial.protocol import bundled_protocol
>>> p = bundled_protocol()
>>> p.radiopharmaceutical.nuclide, p.dose_levels.activity_gbq[0]
('Lu-177', 1.85)
"""

from radiotrial.protocol._load import (
    BUNDLED_PROTOCOL,
    bundled_protocol,
    load_protocol,
    parse_protocol,
)
from radiotrial.protocol._models import (
    Contact,
    Criterion,
    DltDefinition,
    DltRule,
    DoseLevel,
    DoseLevels,
    Eligibility,
    Escalation,
    ImagingSchedule,
    OrganLimit,
    PatientInformation,
    PatientText,
    PlainCriteria,
    Protocol,
    Radiopharmaceutical,
    SafetyAdvice,
    ScreeningTest,
    Sourced,
    TissueRadiobiology,
    Treatment,
)
from radiotrial.protocol._variables import Variable, variable_catalogue

__all__ = [
    "BUNDLED_PROTOCOL",
    "Contact",
    "Criterion",
    "DltDefinition",
    "DltRule",
    "DoseLevel",
    "DoseLevels",
    "Eligibility",
    "Escalation",
    "ImagingSchedule",
    "OrganLimit",
    "PatientInformation",
    "PatientText",
    "PlainCriteria",
    "Protocol",
    "Radiopharmaceutical",
    "SafetyAdvice",
    "ScreeningTest",
    "Sourced",
    "TissueRadiobiology",
    "Treatment",
    "Variable",
    "bundled_protocol",
    "load_protocol",
    "parse_protocol",
    "variable_catalogue",
]
