"""Time-activity curve fitting and time-integrated activity (TIA).

Vectorised sum-of-exponentials fits (mono-, bi-, tri-exponential, each with an optional uptake
phase) bounded by physical decay, automatic model choice by AICc with a rule for few time
points, parameter covariance and analytic TIA ± SD, trapezoid integration with a physical-decay
tail, and single-time-point methods (Hänscheid 2018; Madsen 2018).
"""

from radiotrial.kinetics._fit import ModelFits, TacFitBatch, aicc, fit_tac, fit_tacs
from radiotrial.kinetics._integrate import (
    StpResult,
    TiaResult,
    hanscheid_bias,
    hanscheid_tia,
    hanscheid_valid_range,
    madsen_tia,
    tia_trapezoid,
)
from radiotrial.kinetics._models import MODELS, ExpModel, get_model
from radiotrial.kinetics._result import FitParameter, TacFit
from radiotrial.kinetics._uncertainty import random_activity_sd_mbq, total_tia_sd_mbq_h
from radiotrial.kinetics._validate import FitWarning

__all__ = [
    "MODELS",
    "ExpModel",
    "FitParameter",
    "FitWarning",
    "ModelFits",
    "StpResult",
    "TacFit",
    "TacFitBatch",
    "TiaResult",
    "aicc",
    "fit_tac",
    "fit_tacs",
    "get_model",
    "hanscheid_bias",
    "hanscheid_tia",
    "hanscheid_valid_range",
    "madsen_tia",
    "plot_tac_fit",
    "random_activity_sd_mbq",
    "tia_trapezoid",
    "total_tia_sd_mbq_h",
]


def __getattr__(name: str) -> object:
    # matplotlib is heavy: load the plot helper only when asked for
    if name == "plot_tac_fit":
        from radiotrial.kinetics._plot import plot_tac_fit

        return plot_tac_fit
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
