"""The 3+3 design in its two common variants, named explicitly.

``escalation-only`` (Storer 1989; the "traditional 3+3" of Lin & Shih 2001): 3 patients per
cohort; 0/3 → escalate; 1/3 → 3 more at the same level; ≤1/6 → escalate; ≥2 DLTs at a level →
stop, MTD = the level below (none at level 1). At the highest level, 0/3 is confirmed with 3
more patients and ≤1/6 there makes it the MTD.

``de-escalation`` (Lin & Shih 2001, 3+3 with dose de-escalation): as above, but ≥2 DLTs at a
level de-escalate to the level below if only 3 patients were treated there (3 more are added);
the MTD is the highest level with ≤1 DLT in 6 patients below the lowest level with ≥2 DLTs
(none if level 1 has ≥2 DLTs).

References
----------
Storer BE. Design and analysis of phase I clinical trials. Biometrics 1989;45:925–937,
doi:10.2307/2531693. Lin Y, Shih WJ. Statistical properties of the traditional algorithm-based
designs for phase I cancer clinical trials. Biostatistics 2001;2:203–215,
doi:10.1093/biostatistics/2.2.203.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from radiotrial.errors import ValidationError
from radiotrial.escalation._engine import (
    DEESCALATE,
    ESCALATE,
    NO_MTD,
    STAY,
    STOP_MTD,
    STOP_TOXIC,
    UNDECIDED,
    CohortDesign,
    IntArray,
    StepResult,
)
from radiotrial.escalation._state import TrialState
from radiotrial.escalation._validation import (
    check_levels,
    check_positive_int,
    check_start_level,
)

__all__ = ["ThreePlusThree"]

Variant = Literal["escalation-only", "de-escalation"]


class ThreePlusThree(CohortDesign):
    """3+3 design.

    Parameters
    ----------
    n_levels : int
    variant : {"escalation-only", "de-escalation"}
    max_cohorts : int, optional
        Cap on cohorts (default 2 per level, enough for the design to end by its own rules).
    start_level : int
        1-based start level.
    """

    def __init__(
        self,
        n_levels: int,
        *,
        variant: Variant = "escalation-only",
        max_cohorts: int | None = None,
        start_level: int = 1,
    ) -> None:
        if variant not in ("escalation-only", "de-escalation"):
            raise ValidationError("variant", variant, "use 'escalation-only' or 'de-escalation'")
        self.variant: Variant = variant
        self.name = f"3+3 ({variant})"
        self.n_levels = check_levels(n_levels)
        self.cohort_size = 3
        self.max_cohorts = (
            2 * self.n_levels
            if max_cohorts is None
            else check_positive_int(max_cohorts, name="max_cohorts")
        )
        self.start_level = check_start_level(start_level, self.n_levels)

    def step(
        self, d: IntArray, n: IntArray, y: IntArray, k: IntArray, elim: IntArray
    ) -> StepResult:
        rows = np.arange(d.size)
        nd = n[rows, d]
        yd = y[rows, d]
        top = self.n_levels - 1
        blocked = (d == top) | (elim <= d + 1)
        action = np.full(d.size, STAY, np.int64)
        nxt = d.copy()
        sel = np.full(d.size, UNDECIDED, np.int64)
        new_elim = elim.copy()

        toxic = yd >= 2
        new_elim[toxic] = np.minimum(elim[toxic], d[toxic])
        ok3 = (nd == 3) & (yd == 0)
        ok6 = (nd >= 6) & (yd <= 1)
        # 0/3 → escalate (or confirm with 3 more at the top / below an eliminated level)
        up = (ok3 | ok6) & ~blocked
        action[up] = ESCALATE
        nxt[up] = d[up] + 1
        # ≤1/6 with nowhere to go: this level is the MTD
        done = ok6 & blocked
        action[done] = STOP_MTD
        sel[done] = d[done]
        # 1/3 (or 0/3 at a blocked level): 3 more at the same level → STAY (defaults)
        if self.variant == "escalation-only":
            action[toxic] = np.where(d[toxic] == 0, STOP_TOXIC, STOP_MTD)
            sel[toxic] = np.where(d[toxic] == 0, NO_MTD, d[toxic] - 1)
        else:
            below = np.maximum(d - 1, 0)
            n_below = n[rows, below]
            at_bottom = toxic & (d == 0)
            action[at_bottom] = STOP_TOXIC
            sel[at_bottom] = NO_MTD
            go_down = toxic & (d > 0) & (n_below < 6)
            action[go_down] = DEESCALATE
            nxt[go_down] = d[go_down] - 1
            settle = toxic & (d > 0) & (n_below >= 6)
            action[settle] = STOP_MTD
            sel[settle] = d[settle] - 1
        return StepResult(nxt, new_elim, action, sel)

    def select(self, n: IntArray, y: IntArray, elim: IntArray) -> IntArray:
        """If the cohort cap ends the trial early: highest tried level below the lowest level
        with ≥2 DLTs that had ≤1 DLT (escalation-only: 0/3 or ≤1/6; de-escalation: ≤1/6)."""
        k = self.n_levels
        out = np.full(n.shape[0], NO_MTD, np.int64)
        toxic = y >= 2
        first_tox = np.where(toxic.any(axis=1), toxic.argmax(axis=1), k)
        ok = (n >= 6) & (y <= 1)  # ≤1/6
        if self.variant == "escalation-only":
            ok |= (n == 3) & (y == 0)  # or 0/3; 1/3 (awaiting its 3 more) is not enough
        lv = np.arange(k)[None, :]
        ok &= lv < first_tox[:, None]
        has = ok.any(axis=1)
        out[has] = k - 1 - np.argmax(ok[has][:, ::-1], axis=1)
        return out

    def explain(self, state: TrialState, result: StepResult) -> tuple[str, dict[str, Any]]:
        n, y = state.counts()
        d = (state.current_level or 1) - 1
        nd, yd = int(n[d]), int(y[d])
        act = int(result.action[0])
        obs = f"{yd}/{nd} DLT at level {d + 1}"
        if act == ESCALATE:
            why = f"{obs}: escalate"
        elif act == STAY:
            why = f"{obs}: treat 3 more patients at level {d + 1}"
        elif act == DEESCALATE:
            why = f"{obs} (≥2 DLTs): de-escalate and expand level {d} to 6 patients"
        elif act == STOP_TOXIC:
            why = f"{obs} (≥2 DLTs at the lowest level): stop"
        else:
            why = f"{obs}: stop"
        return why, {"variant": self.variant, "n": n.tolist(), "y": y.tolist()}
