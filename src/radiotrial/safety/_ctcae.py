"""CTCAE v5.0 grading of laboratory values, driven by ``data/ctcae_v5.yaml``.

The grading rules are data: per term and grade, a list of clauses (``value < LLN``,
``value > 3.0 × ULN if baseline normal``, ``value < 50 ×10⁹/L``). A grade applies when any of its
clauses holds; the result is the highest grade that applies. CTCAE boundaries are strict as
written: "<75.0 − 50.0 ×10⁹/L" is grade 2, so a platelet count of exactly 50 is grade 2 and of
exactly 75 grade 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml

from radiotrial.eligibility import convert_lab
from radiotrial.errors import ValidationError

__all__ = ["CtcaeClause", "CtcaeTerm", "LabGrade", "ctcae_terms", "get_term", "grade_lab"]

Category = Literal["haematologic", "non_haematologic"]


@dataclass(frozen=True, slots=True)
class CtcaeClause:
    """One machine rule of a grade: ``value op factor × ref`` or ``value op limit``."""

    op: Literal["<", "<=", ">", ">="]
    ref: Literal["lln", "uln", "baseline"] | None
    factor: float
    limit: float | None
    when: Literal["baseline_normal", "baseline_abnormal"] | None

    def describe(self, unit: str | None) -> str:
        cond = "" if self.when is None else f" ({self.when.replace('_', ' ')})"
        if self.limit is not None:
            return f"value {self.op} {self.limit:g} {unit or ''}".rstrip() + cond
        assert self.ref is not None
        ref = self.ref.upper() if self.ref != "baseline" else "baseline"
        mult = "" if self.factor == 1.0 else f"{self.factor:g} × "
        return f"value {self.op} {mult}{ref}{cond}"


@dataclass(frozen=True, slots=True)
class CtcaeTerm:
    """A CTCAE v5.0 term with its grading rules."""

    term: str
    aliases: tuple[str, ...]
    soc: str
    category: Category
    direction: Literal["low", "high", "clinical"]
    analyte: str | None
    unit: str | None
    grade_text: dict[int, str]
    clauses: dict[int, tuple[CtcaeClause, ...]]

    @property
    def lab_grades(self) -> list[int]:
        """Grades that a laboratory value alone can assign."""
        return sorted(g for g, cl in self.clauses.items() if cl)

    @property
    def uses_baseline(self) -> bool:
        return any(c.ref == "baseline" for cl in self.clauses.values() for c in cl)


@dataclass(frozen=True, slots=True)
class LabGrade:
    """The CTCAE grade of one laboratory value, with the rule that decided it."""

    term: str
    grade: int
    rule: str
    value: float
    unit: str
    lln: float | None
    uln: float | None
    baseline: float | None
    baseline_abnormal: bool | None
    max_lab_grade: int
    note: str
    version: str = "CTCAE v5.0"

    def to_dict(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "grade": self.grade,
            "rule": self.rule,
            "value": self.value,
            "unit": self.unit,
            "lln": self.lln,
            "uln": self.uln,
            "baseline": self.baseline,
            "baseline_abnormal": self.baseline_abnormal,
            "max_lab_grade": self.max_lab_grade,
            "note": self.note,
            "version": self.version,
        }


def _clause(raw: dict[str, Any], where: str) -> CtcaeClause:
    op = raw.get("op")
    if op not in ("<", "<=", ">", ">="):
        raise ValidationError(f"{where}.op", op, "must be <, <=, > or >=")
    limit = raw.get("limit")
    ref = raw.get("ref")
    if (limit is None) == (ref is None):
        raise ValidationError(where, raw, "give either 'limit' or 'ref'")
    if ref is not None and ref not in ("lln", "uln", "baseline"):
        raise ValidationError(f"{where}.ref", ref, "must be lln, uln or baseline")
    when = raw.get("when")
    if when not in (None, "baseline_normal", "baseline_abnormal"):
        raise ValidationError(f"{where}.when", when, "must be baseline_normal or baseline_abnormal")
    return CtcaeClause(
        op=op,
        ref=ref,
        factor=float(raw.get("factor", 1.0)),
        limit=None if limit is None else float(limit),
        when=when,
    )


@cache
def _load() -> tuple[str, dict[str, CtcaeTerm], dict[str, str]]:
    text = resources.files("radiotrial.data").joinpath("ctcae_v5.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    terms: dict[str, CtcaeTerm] = {}
    index: dict[str, str] = {}
    for i, t in enumerate(raw["terms"]):
        where = f"ctcae_v5.yaml terms[{i}] ({t.get('term')})"
        grades = {int(g): spec for g, spec in t["grades"].items()}
        term = CtcaeTerm(
            term=t["term"],
            aliases=tuple(t.get("aliases", ())),
            soc=t["soc"],
            category=t["category"],
            direction=t["direction"],
            analyte=t.get("analyte"),
            unit=t.get("unit"),
            grade_text={g: spec["text"] for g, spec in grades.items()},
            clauses={
                g: tuple(_clause(c, f"{where}.grades.{g}[{k}]") for k, c in enumerate(spec["any"]))
                for g, spec in grades.items()
            },
        )
        terms[term.term] = term
        for name in (term.term, *term.aliases):
            index[name.casefold()] = term.term
    return f"CTCAE v{raw['version']}", terms, index


def ctcae_terms() -> dict[str, CtcaeTerm]:
    """All terms of ``data/ctcae_v5.yaml`` by their CTCAE v5.0 name."""
    return dict(_load()[1])


def get_term(name: str) -> CtcaeTerm:
    """Look up a term by its CTCAE v5.0 name (case-insensitive) or a listed alias.

    Raises
    ------
    ValidationError
        Unknown term; the message lists the known terms.
    """
    _, terms, index = _load()
    key = index.get(str(name).strip().casefold())
    if key is None:
        raise ValidationError(
            "term", name, f"not a graded CTCAE v5.0 term; known: {', '.join(terms)}"
        )
    return terms[key]


def _finite(name: str, v: float | None, *, positive: bool = False) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ValidationError(name, v, "must be a finite number")
    if v < 0 or (positive and v == 0):
        raise ValidationError(name, v, "must be > 0" if positive else "cannot be negative")
    return float(v)


def _holds(op: str, left: float, right: float) -> bool:
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    return left >= right


def grade_lab(
    term: str,
    value: float,
    unit: str,
    *,
    lln: float | None = None,
    uln: float | None = None,
    baseline: float | None = None,
) -> LabGrade:
    """Grade a laboratory value by CTCAE v5.0.

    Parameters
    ----------
    term : str
        CTCAE v5.0 term, e.g. ``"Platelet count decreased"``, ``"Anemia"``,
        ``"Creatinine increased"``, ``"Alanine aminotransferase increased"``.
    value : float
        The result, in ``unit``.
    unit : str
        Unit of ``value``, ``lln``, ``uln`` and ``baseline`` (converted to the term's unit
        where an absolute threshold applies: g/L or mmol/L haemoglobin, /µL counts, µmol/L
        creatinine or bilirubin, U/L or µkat/L enzymes).
    lln, uln : float, optional
        The laboratory's lower / upper limit of normal. Needed when the grade depends on them
        (grade 1 of decreased counts; every grade of increased chemistry).
    baseline : float, optional
        The patient's baseline value. For ALT/AST/ALP/GGT/bilirubin a baseline above the ULN
        switches to the baseline-relative rules; for creatinine the ``× baseline`` clauses
        apply whenever a baseline is given.

    Returns
    -------
    LabGrade
        ``grade`` 0–4 (grades needing clinical information are never assigned from a value),
        and the ``rule`` (CTCAE text and the clause that decided).

    Raises
    ------
    ValidationError
        Unknown term, negative or non-finite values, or a missing LLN/ULN that the grade
        depends on.
    UnitError
        Unknown unit or a unit of the wrong kind for the term.

    Examples
    --------
    >>> grade_lab("Platelet count decreased", 50, "10^9/L", lln=150).grade
    2
    >>> grade_lab("Anemia", 79, "g/L", lln=120).grade
    3
    >>> grade_lab("Alanine aminotransferase increased", 130, "U/L", uln=40, baseline=60).grade
    1
    """
    t = get_term(term)
    if not t.lab_grades or t.analyte is None or t.unit is None:
        raise ValidationError("term", t.term, "is graded clinically, not from a laboratory value")
    v = _finite("value", value)
    lo = _finite("lln", lln)
    hi = _finite("uln", uln, positive=True)
    base = _finite("baseline", baseline)
    assert v is not None
    # absolute limits are in the term's unit; relative ones compare within the given unit
    v_term = convert_lab(v, unit, t.unit, analyte=t.analyte, field="unit")
    baseline_abnormal: bool | None = None
    if t.uses_baseline and base is not None:
        if hi is None and any(c.when is not None for cl in t.clauses.values() for c in cl):
            raise ValidationError("uln", None, f"{t.term}: judging the baseline needs the ULN")
        baseline_abnormal = hi is not None and base > hi

    refs = {"lln": lo, "uln": hi, "baseline": base}
    grade, rule_clause = 0, None
    for g in sorted(t.clauses):
        for cl in t.clauses[g]:
            if cl.when == "baseline_normal" and baseline_abnormal:
                continue
            if cl.when == "baseline_abnormal" and not baseline_abnormal:
                continue
            if cl.limit is not None:
                hit = _holds(cl.op, v_term, cl.limit)
            else:
                assert cl.ref is not None
                ref = refs[cl.ref]
                if ref is None:
                    if cl.ref == "baseline":
                        continue  # baseline-relative clause without a baseline: not applicable
                    if _needed(t, g, cl, v_term, grade):
                        raise ValidationError(
                            cl.ref,
                            None,
                            f"{t.term} grade {g} depends on the {cl.ref.upper()}: give it",
                        )
                    continue
                hit = _holds(cl.op, v, cl.factor * ref)
            if hit and g >= grade:
                grade, rule_clause = g, cl
    max_lab = max(t.lab_grades)
    beyond = [g for g in t.grade_text if g > max_lab]
    note = (
        f"grades {', '.join(map(str, beyond))} need clinical information "
        f"({'; '.join(t.grade_text[g] for g in beyond)}): record them in AETOXGR"
        if beyond
        else ""
    )
    if baseline is not None and baseline_abnormal is None and not t.uses_baseline:
        note = (note + "; " if note else "") + "baseline not used by this term"
    if rule_clause is None:
        rule = f"grade 0: no CTCAE v5.0 grade-1 criterion met ({t.grade_text.get(1, '')})"
    else:
        rule = f"grade {grade}: {t.grade_text[grade]} [{rule_clause.describe(t.unit)}]"
    return LabGrade(
        term=t.term,
        grade=grade,
        rule=rule,
        value=v,
        unit=unit,
        lln=lo,
        uln=hi,
        baseline=base,
        baseline_abnormal=baseline_abnormal,
        max_lab_grade=max_lab,
        note=note,
        version=_load()[0],
    )


def _needed(t: CtcaeTerm, g: int, cl: CtcaeClause, v_term: float, grade_so_far: int) -> bool:
    """Is the missing LLN/ULN needed to decide the grade?

    For decreased counts, the LLN only separates grade 0 from grade 1: once an absolute
    threshold already gives grade ≥ 2, or the value lies below the grade-2 limit, it is not
    needed. For increased chemistry everything is relative to the ULN, so it always is.
    """
    if cl.ref == "lln" and t.direction == "low":
        higher = [c for gg, cls in t.clauses.items() if gg > g for c in cls if c.limit is not None]
        return not any(_holds(c.op, v_term, c.limit) for c in higher if c.limit is not None)
    return True
