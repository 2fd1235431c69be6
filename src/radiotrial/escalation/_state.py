"""Trial state as plain data: dose levels, patients, outcomes.

The outcome-string syntax (``"1NNN 2NTT"``) follows Brock (2019) and the R package
``escalation``: each whitespace-separated token is a cohort, the leading integer is its 1-based
dose level and each letter is one patient, ``N`` (no DLT) or ``T`` (DLT). radiotrial adds ``P``
for a patient whose DLT window is still open (pending; time-to-event designs need its follow-up
time, which a string cannot carry, so strings give pending patients zero follow-up).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from radiotrial.errors import ValidationError
from radiotrial.escalation._validation import check_levels

__all__ = ["DoseLevels", "Patient", "TrialState", "parse_outcomes"]

_TOKEN = re.compile(r"^(\d+)([NTPntp]+)$")


@dataclass(frozen=True, slots=True)
class DoseLevels:
    """The dose levels of a trial.

    Parameters
    ----------
    activity_gbq : tuple of float or None
        Administered activity of each level in GBq (increasing), or ``None`` when the levels
        are only numbered (or defined by an absorbed-dose target, see ``dose_gy``).
    dose_gy : tuple of float or None
        Target organ absorbed dose (or BED) of each level in Gy for dosimetry-guided designs.
    labels : tuple of str
        Display label per level.
    """

    n_levels: int
    activity_gbq: tuple[float, ...] | None = None
    dose_gy: tuple[float, ...] | None = None
    labels: tuple[str, ...] = ()

    @classmethod
    def numbered(cls, n_levels: int) -> DoseLevels:
        """Levels known only by their number."""
        k = check_levels(n_levels)
        return cls(k, labels=tuple(f"level {i + 1}" for i in range(k)))

    @classmethod
    def from_activities_gbq(cls, activity_gbq: Sequence[float]) -> DoseLevels:
        """Levels defined by administered activity (GBq), strictly increasing and positive."""
        arr = np.asarray(activity_gbq, dtype=np.float64)
        if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
            raise ValidationError(
                "doses_gbq", list(activity_gbq), "must be positive activities in GBq"
            )
        if arr.size > 1 and not np.all(np.diff(arr) > 0):
            raise ValidationError("doses_gbq", list(activity_gbq), "must be strictly increasing")
        k = check_levels(arr.size)
        return cls(
            k, activity_gbq=tuple(float(a) for a in arr), labels=tuple(f"{a:g} GBq" for a in arr)
        )

    @classmethod
    def from_doses_gy(cls, dose_gy: Sequence[float]) -> DoseLevels:
        """Levels defined by a target organ absorbed dose or BED (Gy), strictly increasing."""
        arr = np.asarray(dose_gy, dtype=np.float64)
        if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
            raise ValidationError("doses_gy", list(dose_gy), "must be positive doses in Gy")
        if arr.size > 1 and not np.all(np.diff(arr) > 0):
            raise ValidationError("doses_gy", list(dose_gy), "must be strictly increasing")
        k = check_levels(arr.size)
        return cls(k, dose_gy=tuple(float(a) for a in arr), labels=tuple(f"{a:g} Gy" for a in arr))


@dataclass(frozen=True, slots=True)
class Patient:
    """One treated patient as the escalation designs see them.

    Parameters
    ----------
    level : int
        1-based dose level given.
    dlt : bool or None
        ``True`` DLT, ``False`` DLT window completed without DLT, ``None`` pending.
    followup : float
        Follow-up in the DLT window so far, in the same unit as the design's window (days by
        convention); for a patient with a DLT, the time to DLT. Only time-to-event designs use it.
    organ_dose_gy : float or None
        Realised absorbed dose (or BED) to the organ at risk from post-therapy dosimetry, in Gy.
    coefficient_gy_per_gbq : float or None
        The patient's organ absorbed-dose coefficient (Gy per GBq administered).
    """

    level: int
    dlt: bool | None
    followup: float = 0.0
    organ_dose_gy: float | None = None
    coefficient_gy_per_gbq: float | None = None


@dataclass(frozen=True)
class TrialState:
    """Everything a design needs to decide on the next cohort.

    Attributes
    ----------
    levels : DoseLevels
    patients : tuple of Patient
        In order of enrolment; the last patient's level is the current level.
    cohorts : tuple of tuple of int
        Patient indices of each cohort (as given in an outcome string), for pathways and plots.
    """

    levels: DoseLevels
    patients: tuple[Patient, ...] = ()
    cohorts: tuple[tuple[int, ...], ...] = field(default=())

    def __post_init__(self) -> None:
        for i, p in enumerate(self.patients):
            if not 1 <= p.level <= self.levels.n_levels:
                raise ValidationError(
                    f"patients[{i}].level",
                    p.level,
                    f"the trial has dose levels 1 to {self.levels.n_levels}",
                )
            if p.followup < 0 or not np.isfinite(p.followup):
                raise ValidationError(f"patients[{i}].followup", p.followup, "must be >= 0")

    @property
    def n_levels(self) -> int:
        return self.levels.n_levels

    @property
    def current_level(self) -> int | None:
        """1-based level of the most recent patient, ``None`` before the first."""
        return self.patients[-1].level if self.patients else None

    def counts(
        self, *, pending_as: bool | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Patients treated ``n`` and DLTs ``y`` per level, shape (K,).

        ``pending_as=None`` leaves pending patients out of ``n``; ``False`` counts them as
        treated without DLT (what BOIN's elimination rule and TITE designs' "observed data" do).
        """
        k = self.n_levels
        n = np.zeros(k, np.int64)
        y = np.zeros(k, np.int64)
        for p in self.patients:
            if p.dlt is None and pending_as is None:
                continue
            n[p.level - 1] += 1
            y[p.level - 1] += int(bool(p.dlt))
        return n, y

    @property
    def n_pending(self) -> int:
        return sum(p.dlt is None for p in self.patients)

    def with_cohort(self, level: int, outcomes: Sequence[bool | None]) -> TrialState:
        """A new state with one more cohort at ``level`` (1-based)."""
        start = len(self.patients)
        new = tuple(Patient(level, o) for o in outcomes)
        idx = tuple(range(start, start + len(new)))
        return TrialState(self.levels, self.patients + new, (*self.cohorts, idx))

    def outcome_string(self) -> str:
        """The cohorts as an outcome string (``"1NNN 2NTN"``)."""
        parts = []
        for cohort in self.cohorts:
            if not cohort:
                continue
            lvl = self.patients[cohort[0]].level
            letters = "".join(
                "P" if self.patients[i].dlt is None else ("T" if self.patients[i].dlt else "N")
                for i in cohort
            )
            parts.append(f"{lvl}{letters}")
        return " ".join(parts)


def parse_outcomes(history: str, levels: DoseLevels | int) -> TrialState:
    """Parse an outcome string such as ``"1NNN 2NTT"`` into a :class:`TrialState`.

    Parameters
    ----------
    history : str
        Cohorts separated by whitespace; each is a 1-based dose level followed by one letter per
        patient: ``N`` no DLT, ``T`` DLT, ``P`` pending. An empty string means no patients yet.
    levels : DoseLevels or int
        The trial's levels (or their number).

    Raises
    ------
    ValidationError
        Naming ``history`` when a token is malformed or names a level that does not exist.

    Examples
    --------
    >>> s = parse_outcomes("1NNN 2NTT", 5)
    >>> [int(v) for v in s.counts()[0]], [int(v) for v in s.counts()[1]]
    ([3, 3, 0, 0, 0], [0, 2, 0, 0, 0])
    """
    lv = levels if isinstance(levels, DoseLevels) else DoseLevels.numbered(levels)
    state = TrialState(lv)
    for token in history.split():
        m = _TOKEN.match(token)
        if m is None:
            raise ValidationError(
                "history",
                history,
                f"cohort {token!r} is not a level number followed by N/T/P letters",
            )
        level = int(m.group(1))
        if not 1 <= level <= lv.n_levels:
            raise ValidationError(
                "history",
                history,
                f"cohort {token!r} names level {level}; levels are 1 to {lv.n_levels}",
            )
        outcomes: list[bool | None] = [None if ch in "Pp" else ch in "Tt" for ch in m.group(2)]
        state = state.with_cohort(level, outcomes)
    return state
