"""A one-page PNG overview of a virtual patient (CT, SPECT per session, true TACs)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from radiotrial.phantom._patient import VirtualPatient

__all__ = ["plot_patient"]

_TAC_REGIONS = ("kidneys", "pancreas", "liver", "red_marrow", "urinary_bladder")


def plot_patient(patient: VirtualPatient, path: Path | str) -> Path:
    """Write a PNG: coronal CT, coronal SPECT maximum-intensity projections, and true TACs.

    Parameters
    ----------
    patient : VirtualPatient
    path : path
        PNG file to write.

    Returns
    -------
    Path
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    anat = patient.anatomy
    dz, _, dx = anat.labels.spacing_mm
    kid = np.isin(
        anat.labels.array, [anat.region("kidney_left").label, anat.region("kidney_right").label]
    )
    row = int(np.round(np.nonzero(kid)[1].mean())) if kid.any() else anat.labels.shape[1] // 2
    n = len(patient.time_points)
    fig, axes = plt.subplots(1, n + 2, figsize=(3.0 * (n + 2), 5.0), constrained_layout=True)
    aspect = dz / dx
    axes[0].imshow(anat.ct.array[::-1, row, :], cmap="gray", vmin=-400, vmax=600, aspect=aspect)
    axes[0].set_title("CT (coronal, HU)")
    vmax = max(float(tp.spect.array.max()) for tp in patient.time_points)
    for ax, tp in zip(axes[1 : n + 1], patient.time_points, strict=True):
        ax.imshow(
            tp.spect.array.max(axis=1)[::-1], cmap="hot", vmin=0, vmax=vmax * 0.6, aspect=aspect
        )
        ax.set_title(f"SPECT MIP {tp.time_h:g} h")
    for ax in axes[: n + 1]:
        ax.set_axis_off()
    t = np.linspace(0.0, max(tp.time_h for tp in patient.time_points) * 1.2, 400)
    acts = patient.region_activity_bq(t)
    tac_ax = axes[-1]
    for name in (*_TAC_REGIONS, *(r.name for r in anat.tumours)):
        if name in acts:
            tac_ax.plot(t, acts[name] / 1e6, label=name)
    for tp in patient.time_points:
        tac_ax.axvline(tp.time_h, color="0.8", lw=0.8)
    tac_ax.set_yscale("log")
    tac_ax.set_ylim(bottom=0.01)
    tac_ax.set_xlabel("time after injection (h)")
    tac_ax.set_ylabel("true activity in field (MBq)")
    tac_ax.legend(fontsize=7)
    fig.suptitle(
        f"virtual patient seed {patient.seed}: {anat.size.sex}, "
        f"{patient.administered.gbq:g} GBq {patient.administered.nuclide}"
    )
    out = Path(path)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
