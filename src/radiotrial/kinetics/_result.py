"""Result objects of TAC fits: named bounded parameters, covariance, TIA ± SD, report."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from radiotrial.kinetics._models import LN2, get_model

__all__ = ["FitParameter", "TacFit"]

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class FitParameter:
    """One fitted parameter.

    Attributes
    ----------
    name : str
        ``A1``… (activity unit of the input) or ``lambda1_per_h``… (h⁻¹).
    value, stderr : float
        Estimate and its standard error (square root of the covariance diagonal).
    lower, upper : float
        Bounds enforced during the fit (rates: the physical decay constant or the previous rate).
    at_bound : bool
        The estimate sits on its lower bound (e.g. no biological clearance): its standard error
        is then only a local, first-order figure.
    """

    name: str
    value: float
    stderr: float
    unit: str
    lower: float
    upper: float
    at_bound: bool

    @property
    def relative_stderr(self) -> float:
        """Standard error divided by |value| (inf when the value is 0)."""
        return self.stderr / abs(self.value) if self.value != 0 else math.inf


@dataclass(frozen=True)
class TacFit:
    """Fit of one time-activity curve.

    Attributes
    ----------
    model : str
        Chosen model name (see :data:`radiotrial.kinetics.MODELS`).
    params : Mapping[str, FitParameter]
        Named parameters (amplitudes in the input activity unit, rates in h⁻¹).
    covariance : (P, P) ndarray
        Covariance of the natural parameters in ``params`` order (NaN where not estimable,
        see ``notes``).
    tia_mbq_h, tia_sd_mbq_h : float
        Time-integrated activity ∫₀^∞ A(t) dt and its 1-SD uncertainty (delta method).
    times_h, activity_mbq : (T,) ndarray
        The data that were fitted.
    sigma_mbq : (T,) ndarray
        The 1-SD uncertainty used for weighting (relative weights are scaled to the data).
    weighting : str
        ``"sigma"`` (absolute, given), ``"relative"``, ``"poisson"`` or ``"uniform"``.
    chi_square : float
        Weighted residual sum of squares.
    dof : int
        Degrees of freedom T − P.
    aicc : float
        Corrected Akaike information criterion of the chosen model (inf where undefined).
    aicc_by_model : Mapping[str, float]
        AICc of every candidate model that was fitted (inf where undefined).
    converged : bool
        Whether Levenberg–Marquardt met its tolerances.
    n_iter : int
        Iterations used.
    nuclide : str
        Nuclide whose physical decay bounds the rates.
    selection_rule : str
        How the model was chosen (``"requested"``, ``"aicc"``, ``"uptake-shape"``,
        ``"few-points"``).
    notes : tuple of str
        Fallbacks and caveats that apply to this fit.
    """

    model: str
    params: Mapping[str, FitParameter]
    covariance: F64
    tia_mbq_h: float
    tia_sd_mbq_h: float
    times_h: F64
    activity_mbq: F64
    sigma_mbq: F64
    weighting: str
    chi_square: float
    dof: int
    aicc: float
    aicc_by_model: Mapping[str, float]
    converged: bool
    n_iter: int
    nuclide: str
    selection_rule: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        object.__setattr__(self, "aicc_by_model", MappingProxyType(dict(self.aicc_by_model)))

    @property
    def equation(self) -> str:
        """The model equation."""
        return get_model(self.model).equation

    @property
    def values(self) -> F64:
        """Parameter values in ``params`` order."""
        return np.array([p.value for p in self.params.values()])

    def _natural(self) -> tuple[F64, F64, F64 | None]:
        m = get_model(self.model)
        v = self.values
        n = m.n_terms
        lam_u = v[2 * n : 2 * n + 1] if m.uptake else None
        return v[None, :n], v[None, n : 2 * n], lam_u

    def predict(self, times_h: npt.ArrayLike) -> F64:
        """Model activity at ``times_h`` (h after injection), same unit as the data."""
        t = np.atleast_1d(np.asarray(times_h, dtype=np.float64))
        amps, rates, lam_u = self._natural()
        value, _, _ = get_model(self.model).evaluate(amps, rates, lam_u, t)
        out: F64 = value[0]
        return out

    @property
    def residuals(self) -> F64:
        """Data minus model at the fitted times."""
        return self.activity_mbq - self.predict(self.times_h)

    @property
    def effective_half_lives_h(self) -> tuple[float, ...]:
        """ln 2 / λ_i of each decaying term, h (slowest first)."""
        _, rates, _ = self._natural()
        return tuple(float(LN2 / r) for r in rates[0])

    @property
    def tia_relative_sd(self) -> float:
        """SD(TIA) / TIA."""
        return self.tia_sd_mbq_h / self.tia_mbq_h

    def as_dict(self) -> dict[str, object]:
        """Plain-data view for JSON output."""
        return {
            "model": self.model,
            "equation": self.equation,
            "params": {
                k: {"value": p.value, "stderr": p.stderr, "unit": p.unit, "at_bound": p.at_bound}
                for k, p in self.params.items()
            },
            "covariance": self.covariance.tolist(),
            "tia_mbq_h": self.tia_mbq_h,
            "tia_sd_mbq_h": self.tia_sd_mbq_h,
            "effective_half_lives_h": list(self.effective_half_lives_h),
            "chi_square": self.chi_square,
            "dof": self.dof,
            "aicc": self.aicc,
            "aicc_by_model": dict(self.aicc_by_model),
            "weighting": self.weighting,
            "converged": self.converged,
            "selection_rule": self.selection_rule,
            "nuclide": self.nuclide,
            "notes": list(self.notes),
        }

    def report(self) -> str:
        """A printable fit report (parameters ± SE, correlations, TIA ± SD, AICc)."""
        lines = [
            f"[[Model]] {self.model}: A(t) = {self.equation}   (nuclide {self.nuclide})",
            f"[[Fit]] points={len(self.times_h)}  params={len(self.params)}  dof={self.dof}  "
            f"chi-square={self.chi_square:.6g}  AICc={self.aicc:.6g}  weighting={self.weighting}  "
            f"converged={self.converged} ({self.n_iter} iterations)  choice={self.selection_rule}",
            "[[Parameters]]",
        ]
        for p in self.params.values():
            rel = f"({100 * p.relative_stderr:.3g}%)" if math.isfinite(p.stderr) else "(n/a)"
            bound = "  at bound" if p.at_bound else ""
            lines.append(
                f"    {p.name:<20s} = {p.value:.6g} +/- {p.stderr:.3g} {rel} {p.unit}{bound}"
            )
        sd = np.sqrt(np.diag(self.covariance))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = self.covariance / np.outer(sd, sd)
        names = list(self.params)
        pairs = [
            (names[i], names[j], corr[i, j])
            for i in range(len(names))
            for j in range(i + 1, len(names))
            if np.isfinite(corr[i, j]) and abs(corr[i, j]) > 0.1
        ]
        if pairs:
            lines.append("[[Correlations]] (|C| > 0.1)")
            lines += [f"    C({a}, {b}) = {c:+.3f}" for a, b, c in pairs]
        lines.append(
            f"[[TIA]] {self.tia_mbq_h:.6g} +/- {self.tia_sd_mbq_h:.3g} MBq·h "
            f"(effective half-lives {', '.join(f'{h:.4g}' for h in self.effective_half_lives_h)} h)"
        )
        if len(self.aicc_by_model) > 1:
            lines.append(
                "[[AICc]] " + "  ".join(f"{k}={v:.4g}" for k, v in self.aicc_by_model.items())
            )
        lines += [f"[[Note]] {n}" for n in self.notes]
        return "\n".join(lines)
