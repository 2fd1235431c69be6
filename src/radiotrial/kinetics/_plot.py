"""TAC fit plot with residuals (PNG)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from radiotrial.kinetics._result import TacFit

__all__ = ["plot_tac_fit"]


def plot_tac_fit(fit: TacFit, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
    """Write a PNG of the data, the fitted curve and the relative residuals.

    The file is written to a temporary name in the same folder and renamed, so that a failure
    never leaves a partial image.

    Parameters
    ----------
    fit : TacFit
        A fit from :func:`radiotrial.kinetics.fit_tac`.
    path : path-like
        Output ``.png`` path.
    title : str, optional
        Plot title (defaults to the model and TIA).

    Returns
    -------
    Path
        The written file.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    out = Path(path)
    t_max = float(fit.times_h.max()) * 1.3
    grid = np.linspace(0.0, t_max, 400)
    fig = Figure(figsize=(7, 6), layout="constrained")
    ax, rax = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    err = fit.sigma_mbq if np.all(np.isfinite(fit.sigma_mbq)) else None
    ax.errorbar(
        fit.times_h, fit.activity_mbq, yerr=err, fmt="o", color="k", label="data", capsize=3
    )
    ax.plot(grid, fit.predict(grid), "-", color="C0", label=f"{fit.model} fit")
    ax.set_ylabel("activity (MBq)")
    ax.set_ylim(bottom=0)
    ax.legend()
    ax.set_title(title or f"{fit.model}: TIA = {fit.tia_mbq_h:.4g} ± {fit.tia_sd_mbq_h:.2g} MBq·h")
    rel = 100.0 * fit.residuals / fit.activity_mbq
    rax.axhline(0.0, color="0.5", lw=0.8)
    rax.plot(fit.times_h, rel, "o", color="C3")
    rax.set_xlabel("time after injection (h)")
    rax.set_ylabel("residual (%)")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=out.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=120, format="png")
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
