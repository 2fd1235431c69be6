"""Dose-transition pathways: the design's decision after every possible outcome of the next
cohorts (Yap et al. 2017), as a table and as a plot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from radiotrial.errors import ValidationError
from radiotrial.escalation._engine import CohortDesign
from radiotrial.escalation._state import TrialState

__all__ = ["PathwayNode", "dose_transition_pathways"]


@dataclass(frozen=True)
class PathwayNode:
    """One node: after ``history`` (outcome string) the design says ``action`` → ``next_level``."""

    id: int
    parent: int | None
    depth: int
    cohort_level: int | None
    n_dlt: int | None
    history: str
    action: str
    next_level: int | None
    mtd: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "parent": self.parent,
            "depth": self.depth,
            "cohort_level": self.cohort_level,
            "n_dlt": self.n_dlt,
            "history": self.history,
            "action": self.action,
            "next_level": self.next_level,
            "mtd": self.mtd,
        }


def dose_transition_pathways(
    design: CohortDesign, state: TrialState, n_cohorts: int = 2
) -> list[PathwayNode]:
    """Enumerate the next ``n_cohorts`` cohorts' outcomes (0..cohort_size DLTs each).

    References
    ----------
    Yap C, Billingham LJ, Cheung YK, Craddock C, O'Quigley J. Dose transition pathways: the
    missing link between complex dose-finding designs and simple decision-making. Clin Cancer
    Res 2017;23:7440–7447, doi:10.1158/1078-0432.CCR-17-0582.
    """
    if not 1 <= n_cohorts <= 4:
        raise ValidationError("n_cohorts", n_cohorts, "pathways are enumerated for 1 to 4 cohorts")
    nodes: list[PathwayNode] = []
    root = design.decide(state)
    nodes.append(
        PathwayNode(
            0, None, 0, None, None, state.outcome_string(), root.action, root.next_level, root.mtd
        )
    )
    frontier = [(0, state, root.next_level)]
    c = design.cohort_size
    for depth in range(1, n_cohorts + 1):
        nxt = []
        for parent, st, level in frontier:
            if level is None:
                continue
            for k in range(c + 1):
                child = st.with_cohort(level, [True] * k + [False] * (c - k))
                dec = design.decide(child)
                node = PathwayNode(
                    len(nodes),
                    parent,
                    depth,
                    level,
                    k,
                    child.outcome_string(),
                    dec.action,
                    dec.next_level,
                    dec.mtd,
                )
                nodes.append(node)
                nxt.append((node.id, child, dec.next_level))
        frontier = nxt
    return nodes
