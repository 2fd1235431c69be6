"""Sum-of-exponentials time-activity models, their Jacobians and analytic integrals.

Every model is

    A(t) = Σ_{i=1..n} a_i (e^{−λ_i t} − u · e^{−λ_u t}),   u ∈ {0, 1},

with amplitudes ``a_i > 0`` and rates ordered ``λ_p ≤ λ_1 < λ_2 < … < λ_n (< λ_u)``, where ``λ_p``
is the physical decay constant of the nuclide (an effective decay can never be slower than the
physical one: biological clearance is ≥ 0). With the uptake term (``u = 1``) the curve starts at
zero at injection and is positive for every t > 0 because ``λ_u`` exceeds every ``λ_i``.

The optimiser works on unbounded internal coordinates θ so that these constraints always hold:

    θ = (ln a_1 … ln a_n, φ_1 … φ_n[, φ_u]),   λ_1 = λ_p + e^{φ_1},   λ_k = λ_{k−1} + e^{φ_k},
    λ_u = λ_n + e^{φ_u}.

Public ("natural") parameters are ``(a_1 … a_n, λ_1 … λ_n[, λ_u])`` in activity units and h⁻¹.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from radiotrial.errors import ValidationError

__all__ = ["MODELS", "ExpModel", "get_model"]

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ExpModel:
    """A sum-of-exponentials TAC model.

    Parameters
    ----------
    name : str
        Model name (``"mono"``, ``"mono_uptake"``, ``"bi"``, ``"bi_uptake"``, ``"tri"``,
        ``"tri_uptake"``).
    n_terms : int
        Number of decaying exponential terms n.
    uptake : bool
        Whether the curve has an uptake phase (starts at zero at injection).
    """

    name: str
    n_terms: int
    uptake: bool

    @property
    def n_params(self) -> int:
        """Number of adjustable parameters, 2n (+1 with uptake)."""
        return 2 * self.n_terms + int(self.uptake)

    @property
    def param_names(self) -> tuple[str, ...]:
        """Natural parameter names, amplitudes first, then rates (slowest first)."""
        amps = tuple(f"A{i + 1}" for i in range(self.n_terms))
        rates = tuple(f"lambda{i + 1}_per_h" for i in range(self.n_terms))
        return amps + rates + (("lambda_uptake_per_h",) if self.uptake else ())

    @property
    def equation(self) -> str:
        """Human-readable equation of the model."""
        terms = [f"A{i + 1}·exp(−λ{i + 1}·t)" for i in range(self.n_terms)]
        if self.uptake:
            amps = " + ".join(f"A{i + 1}" for i in range(self.n_terms))
            return " + ".join(terms) + f" − ({amps})·exp(−λu·t)"
        return " + ".join(terms)

    # -- coordinate transforms ------------------------------------------------------------
    def split(self, theta: F64) -> tuple[F64, F64]:
        """Return ``(log_amplitudes (B, n), phi (B, n[+1]))`` views of θ (B, P)."""
        n = self.n_terms
        return theta[:, :n], theta[:, n:]

    def natural(self, theta: F64, lam_p: float) -> tuple[F64, F64, F64 | None]:
        """Map θ (B, P) to amplitudes (B, n), decay rates (B, n) and uptake rate (B,) or None."""
        log_a, phi = self.split(theta)
        amps = np.exp(log_a)
        increments = np.exp(phi)
        rates_all = lam_p + np.cumsum(increments, axis=1)
        n = self.n_terms
        lam_u = rates_all[:, n] if self.uptake else None
        return amps, rates_all[:, :n], lam_u

    def theta_from_natural(self, amps: F64, rates: F64, lam_u: F64 | None, lam_p: float) -> F64:
        """Inverse of :meth:`natural`; rates must be strictly ordered above ``lam_p``."""
        all_rates = rates if lam_u is None else np.concatenate([rates, lam_u[:, None]], axis=1)
        lower = np.concatenate([np.full((rates.shape[0], 1), lam_p), all_rates[:, :-1]], axis=1)
        inc = np.maximum(all_rates - lower, 1e-300)
        return np.concatenate([np.log(np.maximum(amps, 1e-300)), np.log(inc)], axis=1)

    # -- evaluation -------------------------------------------------------------------------
    def evaluate(
        self, amps: F64, rates: F64, lam_u: F64 | None, times_h: F64
    ) -> tuple[F64, F64, F64 | None]:
        """Model value and the building blocks of its Jacobian.

        Parameters
        ----------
        amps, rates : (B, n) ndarray
            Amplitudes (activity units) and decay rates (h⁻¹).
        lam_u : (B,) ndarray or None
            Uptake rate (h⁻¹) for uptake models.
        times_h : (T,) or (B, T) ndarray
            Times after injection, h.

        Returns
        -------
        value : (B, T) ndarray
        exp_terms : (B, n, T) ndarray
            e^{−λ_i t}.
        exp_uptake : (B, T) ndarray or None
            e^{−λ_u t}.
        """
        t = np.broadcast_to(times_h, (amps.shape[0], np.shape(times_h)[-1]))
        e = np.exp(-rates[:, :, None] * t[:, None, :])
        if lam_u is None:
            return np.einsum("bn,bnt->bt", amps, e), e, None
        u = np.exp(-lam_u[:, None] * t)
        value = np.einsum("bn,bnt->bt", amps, e) - amps.sum(axis=1)[:, None] * u
        return value, e, u

    def jacobian_theta(self, theta: F64, lam_p: float, times_h: F64) -> tuple[F64, F64]:
        """Value (B, T) and Jacobian with respect to θ (B, T, P) at θ (B, P)."""
        amps, rates, lam_u = self.natural(theta, lam_p)
        value, e, u = self.evaluate(amps, rates, lam_u, times_h)
        b, n, nt = e.shape
        t = np.broadcast_to(times_h, (b, nt))
        jac = np.empty((b, nt, self.n_params))
        d_amp = e - u[:, None, :] if u is not None else e
        jac[:, :, :n] = np.moveaxis(d_amp * amps[:, :, None], 1, 2)
        d_rates = np.empty((b, nt, self.n_params - n))
        d_rates[:, :, :n] = np.moveaxis(-t[:, None, :] * amps[:, :, None] * e, 1, 2)
        if u is not None:
            d_rates[:, :, n] = t * u * amps.sum(axis=1)[:, None]
        rev_cum = np.flip(np.cumsum(np.flip(d_rates, axis=2), axis=2), axis=2)
        _, phi = self.split(theta)
        jac[:, :, n:] = rev_cum * np.exp(phi)[:, None, :]
        return value, jac

    def jacobian_natural(self, amps: F64, rates: F64, lam_u: F64 | None, times_h: F64) -> F64:
        """Jacobian (B, T, P) with respect to the natural parameters."""
        _, e, u = self.evaluate(amps, rates, lam_u, times_h)
        b, n, nt = e.shape
        t = np.broadcast_to(times_h, (b, nt))
        jac = np.empty((b, nt, self.n_params))
        d_amp = e - u[:, None, :] if u is not None else e
        jac[:, :, :n] = np.moveaxis(d_amp, 1, 2)
        jac[:, :, n : 2 * n] = np.moveaxis(-t[:, None, :] * amps[:, :, None] * e, 1, 2)
        if u is not None:
            jac[:, :, 2 * n] = t * u * amps.sum(axis=1)[:, None]
        return jac

    def tia_and_gradient(self, amps: F64, rates: F64, lam_u: F64 | None) -> tuple[F64, F64]:
        """Analytic ∫₀^∞ A(t) dt and its gradient in natural parameters.

        Returns
        -------
        tia : (B,) ndarray
            Σ a_i (1/λ_i − u/λ_u), activity·h.
        gradient : (B, P) ndarray
        """
        b, n = amps.shape
        grad = np.empty((b, self.n_params))
        inv = 1.0 / rates
        if lam_u is None:
            tia = np.sum(amps * inv, axis=1)
            grad[:, :n] = inv
            grad[:, n:] = -amps * inv**2
            return tia, grad
        inv_u = 1.0 / lam_u
        tia = np.sum(amps * (inv - inv_u[:, None]), axis=1)
        grad[:, :n] = inv - inv_u[:, None]
        grad[:, n : 2 * n] = -amps * inv**2
        grad[:, 2 * n] = amps.sum(axis=1) * inv_u**2
        return tia, grad


MODELS: Final[dict[str, ExpModel]] = {
    m.name: m
    for m in (
        ExpModel("mono", 1, False),
        ExpModel("mono_uptake", 1, True),
        ExpModel("bi", 2, False),
        ExpModel("bi_uptake", 2, True),
        ExpModel("tri", 3, False),
        ExpModel("tri_uptake", 3, True),
    )
}


def get_model(name: str) -> ExpModel:
    """Return the model called ``name``.

    Raises
    ------
    ValidationError
        If the name is unknown; the message lists the valid names.
    """
    try:
        return MODELS[name]
    except KeyError:
        raise ValidationError(
            "model", name, f"unknown TAC model; use one of {', '.join(MODELS)} or 'auto'"
        ) from None


LN2: Final = math.log(2.0)
