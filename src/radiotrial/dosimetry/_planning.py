"""Planning the next cycle: the largest activity the organ limits allow, and the limiting organ.

Notes
-----
For an organ with dose coefficient d (Gy/GBq, this cycle) the next cycle's absorbed dose is
D = d·A. Against an absorbed-dose limit L with cumulative dose D_c so far,
A_max = (L − D_c)/d (``max_activity_gbq``); spreading the remaining room evenly over the
protocol's remaining cycles gives ``even_split_activity_gbq``. Against a BED limit, the next
cycle's BED is D(1 + G·D/(α/β)) with G the
Lea–Catcheside factor of this cycle's dose-rate shape (independent of its scale), so
D_max solves (G/(α/β))·D² + D − (L − BED_c) = 0 and A_max = D_max/d. The prediction assumes the
next cycle repeats this cycle's kinetics per unit activity (Gy/GBq), the usual assumption of
dosimetry-based cycle planning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from radiotrial.protocol import Protocol
from radiotrial.radiobiology import dose_for_bed

__all__ = ["CycleDose", "OrganPlan", "Plan", "plan_next_cycle", "therapeutic_index"]


@dataclass(frozen=True, slots=True)
class CycleDose:
    """One organ's result of one cycle."""

    organ: str
    cycle: int
    activity_gbq: float
    dose_gy: float
    bed_gy: float | None = None
    bed_g_factor: float | None = None  # Lea–Catcheside G of the cycle's dose-rate shape
    alpha_beta_gy: float | None = None


@dataclass(frozen=True, slots=True)
class OrganPlan:
    organ: str
    quantity: str
    limit_gy: float
    condition: str | None
    cumulative_gy: float
    dose_per_gbq_gy: float
    max_activity_gbq: float
    even_split_activity_gbq: float
    source: str

    def as_dict(self) -> dict[str, object]:
        return {
            "organ": self.organ,
            "quantity": self.quantity,
            "limit_gy": self.limit_gy,
            "condition": self.condition,
            "cumulative_gy": self.cumulative_gy,
            "dose_per_gbq_gy": self.dose_per_gbq_gy,
            "max_activity_gbq": self.max_activity_gbq,
            "even_split_activity_gbq": self.even_split_activity_gbq,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class Plan:
    next_cycle: int
    max_activity_gbq: float | None
    limiting_organ: str | None
    limiting_quantity: str | None
    organs: list[OrganPlan]
    cycles_remaining: int
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "next_cycle": self.next_cycle,
            "max_activity_gbq": self.max_activity_gbq,
            "limiting_organ": self.limiting_organ,
            "limiting_quantity": self.limiting_quantity,
            "cycles_remaining": self.cycles_remaining,
            "organs": [o.as_dict() for o in self.organs],
            "notes": self.notes,
        }


def plan_next_cycle(
    history: list[CycleDose], protocol: Protocol, *, kidney_risk_factors: bool = True
) -> Plan:
    """Maximum activity for the next cycle under every applicable organ limit of the protocol.

    ``history`` holds every organ's result for every cycle so far; the latest cycle's dose per
    GBq predicts the next. Kidney BED limits depend on risk factors (Bodei et al. 2008): with
    ``kidney_risk_factors`` the stricter limit applies.
    """
    if not history:
        raise ValueError("history is empty: run the dosimetry of at least one cycle first")
    last_cycle = max(h.cycle for h in history)
    max_cycles = int(protocol.treatment.max_cycles.value)
    notes: list[str] = []
    organs: list[OrganPlan] = []
    wanted = "with_risk_factors" if kidney_risk_factors else "without_risk_factors"
    for lim in protocol.organ_limits:
        if lim.limit_gy is None:
            continue
        if lim.condition is not None and lim.condition != wanted:
            continue
        rows = [h for h in history if h.organ == lim.organ]
        if not rows:
            notes.append(f"no dosimetry for {lim.organ}: its {lim.quantity} limit is not checked")
            continue
        last = max(rows, key=lambda h: h.cycle)
        d_per_gbq = last.dose_gy / last.activity_gbq
        if lim.quantity == "absorbed_dose":
            cum = sum(h.dose_gy for h in rows)
        else:
            if (
                any(h.bed_gy is None for h in rows)
                or last.bed_g_factor is None
                or last.alpha_beta_gy is None
            ):
                notes.append(f"no BED for {lim.organ}: its BED limit is not checked")
                continue
            cum = sum(h.bed_gy or 0.0 for h in rows)
        room = lim.limit_gy - cum
        a_max = _max_activity(lim.quantity, room, d_per_gbq, last)
        remaining = max(max_cycles - last_cycle, 1)
        split = _max_activity(lim.quantity, room / remaining, d_per_gbq, last) if room > 0 else 0.0
        organs.append(
            OrganPlan(
                lim.organ,
                lim.quantity,
                lim.limit_gy,
                lim.condition,
                cum,
                d_per_gbq,
                max(a_max, 0.0),
                split,
                lim.source,
            )
        )
    if last_cycle >= max_cycles:
        notes.append(f"cycle {last_cycle} was the protocol's last ({max_cycles} cycles)")
    finite = [o for o in organs if math.isfinite(o.max_activity_gbq)]
    limiting = min(finite, key=lambda o: o.max_activity_gbq) if finite else None
    return Plan(
        next_cycle=last_cycle + 1,
        max_activity_gbq=None if limiting is None else limiting.max_activity_gbq,
        limiting_organ=None if limiting is None else limiting.organ,
        limiting_quantity=None if limiting is None else limiting.quantity,
        organs=organs,
        cycles_remaining=max(max_cycles - last_cycle, 0),
        notes=notes,
    )


def _max_activity(quantity: str, room_gy: float, d_per_gbq: float, last: CycleDose) -> float:
    """Largest activity (GBq) whose dose (or BED) in one cycle stays within ``room_gy``."""
    if room_gy <= 0:
        return 0.0
    if d_per_gbq <= 0:
        return math.inf
    if quantity == "absorbed_dose":
        return room_gy / d_per_gbq
    assert last.bed_g_factor is not None and last.alpha_beta_gy is not None
    d_max = float(
        dose_for_bed(room_gy, alpha_beta_gy=last.alpha_beta_gy, g_factor=last.bed_g_factor)
    )
    return d_max / d_per_gbq


def therapeutic_index(
    tumour_dose_gy: dict[str, float], organ_dose_gy: dict[str, float]
) -> dict[str, dict[str, float]]:
    """Tumour-to-organ absorbed-dose ratios, per tumour and organ at risk."""
    return {
        t: {o: (dt / do if do > 0 else math.inf) for o, do in organ_dose_gy.items()}
        for t, dt in tumour_dose_gy.items()
    }
