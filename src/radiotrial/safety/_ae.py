"""Adverse events with CDISC SDTM AE variable names, ISO 8601 dates (complete or partial).

Field names follow the SDTM Implementation Guide AE domain: AETERM (verbatim), AEDECOD
(dictionary-derived term; here the CTCAE v5.0 / MedDRA preferred term), AEBODSYS (system organ
class), AETOXGR (CTCAE grade 1–5), AESER (serious, Y/N), AEREL (causality), AEACN (action taken
with study treatment), AEOUT (outcome), AESTDTC / AEENDTC (start / end, ISO 8601). Partial
dates (``2025-07``, ``2025``) are allowed as in SDTM: they are kept as written and carried as
the interval of dates they may mean.

Each record is one episode at one grade: when the grade of an ongoing event changes, SDTM
practice (and this module) records a new AE row, so that duration rules can be applied per grade.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from radiotrial.errors import ValidationError

__all__ = [
    "ACTION_TAKEN",
    "OUTCOMES",
    "AdverseEvent",
    "Attribution",
    "IsoDateInterval",
    "event_category",
    "parse_adverse_event",
    "parse_iso_date",
]

Attribution = Literal["unrelated", "unlikely", "possible", "probable", "definite"]

# Common SDTM/EDC spellings of causality → the 5-level scale of the protocol's DLT rules.
_AEREL_ALIASES: dict[str, str] = {
    "NOT RELATED": "unrelated",
    "UNRELATED": "unrelated",
    "N": "unrelated",
    "UNLIKELY RELATED": "unlikely",
    "UNLIKELY": "unlikely",
    "POSSIBLY RELATED": "possible",
    "POSSIBLE": "possible",
    "PROBABLY RELATED": "probable",
    "PROBABLE": "probable",
    "RELATED": "definite",
    "DEFINITELY RELATED": "definite",
    "DEFINITE": "definite",
    "Y": "definite",
}

# CDISC Controlled Terminology, codelists ACN (C66767) and OUT (C66768).
ACTION_TAKEN = (
    "DOSE INCREASED",
    "DOSE NOT CHANGED",
    "DOSE RATE REDUCED",
    "DOSE REDUCED",
    "DRUG INTERRUPTED",
    "DRUG WITHDRAWN",
    "NOT APPLICABLE",
    "UNKNOWN",
)
OUTCOMES = (
    "FATAL",
    "NOT RECOVERED/NOT RESOLVED",
    "RECOVERED/RESOLVED",
    "RECOVERED/RESOLVED WITH SEQUELAE",
    "RECOVERING/RESOLVING",
    "UNKNOWN",
)

_ISO = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2})(?::(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


@dataclass(frozen=True, slots=True)
class IsoDateInterval:
    """An ISO 8601 date (complete or partial) as the interval of calendar dates it may mean."""

    text: str
    earliest: date
    latest: date

    @property
    def complete(self) -> bool:
        return self.earliest == self.latest


def parse_iso_date(text: str, *, field: str) -> IsoDateInterval:
    """Parse an SDTM --DTC value (``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD[Thh:mm[:ss][tz]]``).

    Raises
    ------
    ValidationError
        Not ISO 8601, or an impossible calendar date (``2025-02-30``).

    Examples
    --------
    >>> parse_iso_date("2025-02", field="AESTDTC").latest
    datetime.date(2025, 2, 28)
    """
    if not isinstance(text, str):
        raise ValidationError(field, text, "must be an ISO 8601 string")
    m = _ISO.match(text.strip())
    if m is None:
        raise ValidationError(
            field, text, "not an ISO 8601 date (YYYY, YYYY-MM, YYYY-MM-DD[Thh:mm])"
        )
    y = int(m["y"])
    try:
        if m["d"] is not None:
            d = date(y, int(m["m"]), int(m["d"]))
            if m["H"] is not None and not (int(m["H"]) < 24 and int(m["M"] or 0) < 60):
                raise ValueError("time out of range")
            return IsoDateInterval(text, d, d)
        if m["m"] is not None:
            month = int(m["m"])
            first = date(y, month, 1)
            nxt = date(y + (month == 12), month % 12 + 1, 1)
            return IsoDateInterval(text, first, nxt - timedelta(days=1))
        return IsoDateInterval(text, date(y, 1, 1), date(y, 12, 31))
    except ValueError as exc:
        raise ValidationError(field, text, f"impossible date ({exc})") from None


def _aerel(value: Any) -> Any:
    if isinstance(value, str):
        key = value.strip().upper()
        if key in _AEREL_ALIASES:
            return _AEREL_ALIASES[key]
        return value.strip().lower()
    return value


def _grade(value: Any) -> Any:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


class AdverseEvent(BaseModel):
    """One adverse-event record in SDTM AE form.

    Examples
    --------
    >>> ae = AdverseEvent(USUBJID="NEOB-S001", AESEQ=1, AETERM="low platelets",
    ...     AEDECOD="Platelet count decreased", AETOXGR=4, AESER="N",
    ...     AEREL="POSSIBLY RELATED", AESTDTC="2025-07-20", AEENDTC="2025-07-29")
    >>> ae.AEREL, ae.start.earliest.isoformat(), event_category(ae)
    ('possible', '2025-07-20', 'haematologic')
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    STUDYID: str | None = None
    USUBJID: Annotated[str, Field(min_length=1)]
    AESEQ: Annotated[int, Field(ge=1)]
    AETERM: Annotated[str, Field(min_length=1, description="Reported term (verbatim).")]
    AEDECOD: Annotated[str, Field(min_length=1, description="CTCAE v5.0 / MedDRA term.")]
    AEBODSYS: str | None = Field(None, description="System organ class.")
    AETOXGR: Annotated[int, BeforeValidator(_grade), Field(ge=1, le=5)]
    AESER: Literal["Y", "N"]
    AEREL: Annotated[Attribution, BeforeValidator(_aerel)]
    AEACN: Literal[ACTION_TAKEN] | None = None  # type: ignore[valid-type]
    AEOUT: Literal[OUTCOMES] | None = None  # type: ignore[valid-type]
    AESTDTC: str
    AEENDTC: str | None = None

    @field_validator("AESTDTC", "AEENDTC")
    @classmethod
    def _iso(cls, v: str | None, info: Any) -> str | None:
        if v is not None:
            parse_iso_date(v, field=info.field_name)
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        end = self.end
        if end is not None and end.latest < self.start.earliest:
            raise ValueError(f"AEENDTC {self.AEENDTC} is before AESTDTC {self.AESTDTC}")
        if self.AETOXGR == 5 and self.AEOUT not in (None, "FATAL"):
            raise ValueError("AETOXGR 5 (death) needs AEOUT 'FATAL'")
        if self.AEOUT == "FATAL" and self.AETOXGR != 5:
            raise ValueError("AEOUT 'FATAL' needs AETOXGR 5")
        return self

    @property
    def start(self) -> IsoDateInterval:
        return parse_iso_date(self.AESTDTC, field="AESTDTC")

    @property
    def end(self) -> IsoDateInterval | None:
        return None if self.AEENDTC is None else parse_iso_date(self.AEENDTC, field="AEENDTC")


def event_category(ae: AdverseEvent) -> Literal["haematologic", "non_haematologic"]:
    """Haematologic or not, for the DLT rules.

    The CTCAE term's category from ``data/ctcae_v5.yaml`` when AEDECOD is a listed term, else
    the system organ class "Blood and lymphatic system disorders".
    """
    from radiotrial.safety._ctcae import ctcae_terms, get_term

    names = {n.casefold() for t in ctcae_terms().values() for n in (t.term, *t.aliases)}
    if ae.AEDECOD.casefold() in names:
        return get_term(ae.AEDECOD).category
    if (ae.AEBODSYS or "").strip().casefold() == "blood and lymphatic system disorders":
        return "haematologic"
    return "non_haematologic"


def parse_adverse_event(data: Any) -> AdverseEvent:
    """Validate one AE record (a mapping with SDTM variable names).

    Raises
    ------
    ValidationError
        Naming the SDTM variable (``AETOXGR``), the value and the rule.
    """
    import pydantic

    if isinstance(data, AdverseEvent):
        return data
    try:
        return AdverseEvent.model_validate(data)
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"]) or "<AE record>"
        value = first.get("input") if first["type"] != "missing" else ...
        if not isinstance(value, int | float | str | bool) and value is not None:
            value = ...
        reason = first["msg"].removeprefix("Value error, ")
        if first["type"] == "missing":
            reason = "required SDTM variable is missing"
        elif first["type"] == "extra_forbidden":
            reason = "not an SDTM AE variable known to radiotrial"
        raise ValidationError(field, value, reason) from None
