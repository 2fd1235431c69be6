"""PNG plots: escalation path of a trial, OC bars, dose-transition pathways (matplotlib, Agg)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from radiotrial.escalation._engine import OperatingCharacteristics
from radiotrial.escalation._pathways import PathwayNode
from radiotrial.escalation._state import TrialState

__all__ = ["plot_escalation_path", "plot_oc_bars", "plot_pathways"]


def _save(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Write to a temporary file in the target folder, then rename (never half-written)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=out.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
        os.replace(tmp, out)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def plot_escalation_path(
    state: TrialState, path: str | os.PathLike[str], *, title: str = ""
) -> Path:
    """Level of each patient in order of enrolment; crosses mark DLTs, open circles pending."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    lv = np.array([p.level for p in state.patients])
    idx = np.arange(1, lv.size + 1)
    if lv.size:
        ax.step(idx, lv, where="mid", color="0.7", lw=1)
    for i, p in zip(idx, state.patients, strict=True):
        if p.dlt is None:
            ax.plot(i, p.level, "o", mfc="none", mec="tab:orange")
        elif p.dlt:
            ax.plot(i, p.level, "x", color="tab:red", ms=9, mew=2)
        else:
            ax.plot(i, p.level, "o", color="tab:blue")
    ax.set_yticks(range(1, state.n_levels + 1), labels=list(state.levels.labels) or None)
    ax.set_xlabel("patient")
    ax.set_ylabel("dose level")
    ax.set_title(title or "Escalation path (x = DLT, o = no DLT, open = pending)")
    return _save(fig, path)


def plot_oc_bars(ocs: Sequence[OperatingCharacteristics], path: str | os.PathLike[str]) -> Path:
    """Selection % and mean patients per level for one or several designs (error bars: 2 SE)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    k = ocs[0].selection_prob.size
    x = np.arange(1, k + 1)
    width = 0.8 / len(ocs)
    for j, oc in enumerate(ocs):
        off = (j - (len(ocs) - 1) / 2) * width
        se = None if oc.selection_prob_se is None else 200 * oc.selection_prob_se
        axes[0].bar(x + off, 100 * oc.selection_prob, width, yerr=se, label=oc.design, capsize=2)
        se_n = None if oc.mean_n_se is None else 2 * oc.mean_n_se
        axes[1].bar(x + off, oc.mean_n, width, yerr=se_n, label=oc.design, capsize=2)
    truth = ocs[0].truth
    axes[0].set_ylabel("selected as MTD (%)")
    axes[1].set_ylabel("mean patients treated")
    for ax in axes:
        ax.set_xticks(
            x,
            [
                f"{i}\n({t:.2f})" if np.isfinite(t) else str(i)
                for i, t in zip(x, truth, strict=True)
            ],
        )
        ax.set_xlabel("dose level (true DLT rate)")
    axes[0].legend(fontsize=8)
    fig.suptitle("Operating characteristics")
    return _save(fig, path)


def plot_pathways(
    nodes: Sequence[PathwayNode], path: str | os.PathLike[str], *, n_levels: int
) -> Path:
    """Tree of next levels: x = cohort, y = level, edges labelled with the cohort's DLT count."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    pos: dict[int, tuple[float, float]] = {}
    by_depth: dict[int, list[PathwayNode]] = {}
    for nd in nodes:
        by_depth.setdefault(nd.depth, []).append(nd)
    for depth, group in by_depth.items():
        for i, nd in enumerate(group):
            jitter = (i - (len(group) - 1) / 2) * (0.6 / max(len(group), 1))
            yv = nd.next_level if nd.next_level is not None else 0
            pos[nd.id] = (depth + jitter * 0.2, yv + jitter)
    for nd in nodes:
        x1, y1 = pos[nd.id]
        if nd.parent is not None:
            x0, y0 = pos[nd.parent]
            ax.plot([x0, x1], [y0, y1], color="0.75", lw=0.8)
            ax.annotate(f"{nd.n_dlt}T", ((x0 + x1) / 2, (y0 + y1) / 2), fontsize=6, color="0.4")
        color = "tab:red" if nd.next_level is None else "tab:blue"
        ax.plot(x1, y1, "o", color=color, ms=5)
    ax.set_yticks(range(0, n_levels + 1), ["stop", *[str(i) for i in range(1, n_levels + 1)]])
    ax.set_xlabel("cohorts from now")
    ax.set_ylabel("next dose level")
    ax.set_title("Dose-transition pathways (edge label: DLTs in the cohort)")
    return _save(fig, path)
