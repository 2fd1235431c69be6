"""SPECT simulation: attenuation vs analytic chords, PSF width, Poisson counts, motion."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from radiotrial.errors import ValidationError
from radiotrial.phantom import (
    Motion,
    acquisition_settings,
    mean_transmission,
    simulate_counts,
    system_fwhm_mm,
    warp_labels,
)
from radiotrial.phantom._shapes import rotation_matrix

LAM_S = math.log(2) / (6.647 * 86400)


def _disk(n: int, dx: float, radius: float, mu: float) -> np.ndarray:
    y, x = np.mgrid[:n, :n]
    r = np.hypot((x - (n - 1) / 2) * dx, (y - (n - 1) / 2) * dx)
    return np.where(r <= radius, mu, 0.0)[None].repeat(2, 0)


def test_transmission_of_uniform_disk_matches_analytic_chords() -> None:
    n, dx, radius, mu = 161, 2.0, 100.0, 0.15  # mm, mm, 1/cm
    tau = mean_transmission(_disk(n, dx, radius, mu), (dx, dx, dx), n_angles=64)
    c = (n - 1) // 2
    # centre: every ray crosses R → exp(−μR); edge-of-pixel discretisation: 1 %
    assert tau[0, c, c] == pytest.approx(math.exp(-mu * radius / 10), rel=0.01)
    # off-centre at r = 60 mm: mean over angles of exp(−μ L(φ)), L = −r cos φ + √(R² − r² sin² φ)
    r = 60.0

    def transmission(phi: float) -> float:
        return math.exp(
            -mu / 10 * (-r * math.cos(phi) + math.sqrt(radius**2 - (r * math.sin(phi)) ** 2))
        )

    exact = integrate.quad(transmission, 0, 2 * math.pi)[0] / (2 * math.pi)
    assert tau[0, c, c + 30] == pytest.approx(exact, rel=0.02)
    # a corner voxel outside the disk: only rays aimed at the disk are attenuated, by the
    # chord 2√(R² − d² sin² φ) for |φ| < asin(R/d)
    d = math.hypot(c * dx, c * dx)
    half = math.asin(radius / d)

    def corner(phi: float) -> float:
        return math.exp(-mu / 10 * 2 * math.sqrt(max(radius**2 - (d * math.sin(phi)) ** 2, 0.0)))

    exact_corner = (2 * math.pi - 2 * half + integrate.quad(corner, -half, half)[0]) / (2 * math.pi)
    assert tau[0, 0, 0] == pytest.approx(exact_corner, rel=0.02)


def test_transmission_rejects_bad_input() -> None:
    with pytest.raises(ValidationError, match="mu_per_cm"):
        mean_transmission(-np.ones((2, 4, 4)), (1.0, 1.0, 1.0))
    with pytest.raises(ValidationError, match="n_angles"):
        mean_transmission(np.ones((2, 4, 4)), (1.0, 1.0, 1.0), n_angles=2)


def test_default_resolution_is_a_medium_energy_collimator() -> None:
    # 177Lu with ME collimators: 10-20 mm FWHM at trunk distances (REFERENCE.md [U])
    assert 10.0 < system_fwhm_mm() < 20.0


def test_psf_width_and_count_conservation() -> None:
    settings = acquisition_settings(fwhm_mm=12.0)
    act = np.zeros((41, 41, 41))
    act[20, 20, 20] = 1e6
    corrected, _detected, per_bq = simulate_counts(
        act, np.ones_like(act), (2.0, 2.0, 2.0), settings, decay_per_s=LAM_S, rng=_Mean()
    )
    # noise-free, no attenuation: total preserved by the reflecting Gaussian (the blur runs
    # in float32: 1e-5 relative)
    assert corrected.sum() == pytest.approx(1e6 * per_bq, rel=1e-5)
    profile = corrected.sum(axis=(0, 1))
    x = (np.arange(41) - 20) * 2.0
    sigma = math.sqrt(np.sum(profile * x**2) / profile.sum())
    # second moment of the sampled Gaussian: FWHM within 2 % (2 mm sampling of 12 mm)
    assert sigma * 2 * math.sqrt(2 * math.log(2)) == pytest.approx(12.0, rel=0.02)
    # calibration: S · T · mean decay over the acquisition (closed form)
    t = settings.acquisition_s
    assert per_bq == pytest.approx(5.7e-6 * t * -math.expm1(-LAM_S * t) / (LAM_S * t))
    assert t == 120 * 60 / 2


def test_counts_match_truth_within_poisson_error() -> None:
    rng = np.random.default_rng(2024)
    act = np.zeros((16, 16, 16))
    act[4:12, 4:12, 4:12] = rng.uniform(0, 2e4, (8, 8, 8))
    tau = np.clip(rng.uniform(0.2, 1.0, act.shape), 0, 1)
    settings = acquisition_settings()
    z = []
    for _ in range(300):
        _corrected, detected, per_bq = simulate_counts(
            act, tau, (4.8, 4.8, 4.8), settings, decay_per_s=LAM_S, rng=rng
        )
        expected = per_bq * np.sum(act * tau)
        z.append((detected.sum() - expected) / math.sqrt(expected))
    z_arr = np.asarray(z)
    # standardised residuals of a Poisson total: mean 0 (±4 SE), variance 1 (±25 %, 300 draws)
    assert abs(z_arr.mean()) < 4 / math.sqrt(z_arr.size)
    assert z_arr.var() == pytest.approx(1.0, rel=0.25)


def test_attenuation_correction_is_unbiased() -> None:
    act = np.zeros((20, 20, 20))
    act[5:15, 5:15, 5:15] = 1e4
    tau = np.full(act.shape, 0.3)
    corrected, _, per_bq = simulate_counts(
        act, tau, (4.8, 4.8, 4.8), acquisition_settings(), decay_per_s=LAM_S, rng=_Mean()
    )
    # float32 blur: 1e-5 relative
    assert corrected.sum() == pytest.approx(per_bq * act.sum(), rel=1e-5)


def test_rigid_translation_is_an_exact_shift() -> None:
    lab = np.zeros((10, 12, 14), dtype=np.int16)
    lab[3:6, 4:8, 5:9] = 7
    mot = Motion(np.eye(3), np.array([4.0, 0.0, 0.0]), np.zeros(3))  # +4 mm in x = 2 voxels
    moved = warp_labels(lab, mot, (2.0, 2.0, 2.0), (0.0, 0.0, 0.0))
    assert np.array_equal(moved[:, :, 2:], lab[:, :, :-2])


def test_rigid_rotation_moves_points_as_recorded() -> None:
    lab = np.zeros((30, 30, 30), dtype=np.int16)
    lab[20, 10, 12] = 5  # a single marked voxel
    rot = rotation_matrix((0.0, 0.0, 90.0))
    centre = np.array([15.0, 15.0, 15.0])
    mot = Motion(rot, np.array([1.0, 0.0, 0.0]), centre)
    moved = warp_labels(lab, mot, (1.0, 1.0, 1.0), (0.0, 0.0, 0.0))
    p = np.array([12.0, 10.0, 20.0, 1.0])  # LPS (x, y, z) of the marked voxel
    q = mot.matrix @ p
    assert moved[round(q[2]), round(q[1]), round(q[0])] == 5
    assert moved.sum() == 5


class _Mean:
    def poisson(self, lam: np.ndarray) -> np.ndarray:
        return np.asarray(lam, dtype=np.float64)


def test_displacement_on_a_nested_finer_grid() -> None:
    """The coarse field read on a nested finer grid (trilinear) equals the field evaluated there:
    exact for a linear field, so both warps agree voxel for voxel."""

    def u(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:  # mm, linear in x, y, z
        return np.stack([0.1 * x + 0.3, -0.05 * y, 0.02 * z], axis=-1)

    cz, cy, cx = np.meshgrid(*(4.0 * np.arange(n) for n in (6, 6, 7)), indexing="ij")
    coarse = Motion(np.eye(3), np.zeros(3), np.zeros(3), u(cx, cy, cz))
    # the nested 2 mm grid: its first centre lies 1 mm inside the coarse grid's outer corner
    fz, fy, fx = np.meshgrid(*(-1.0 + 2.0 * np.arange(n) for n in (12, 12, 14)), indexing="ij")
    direct = Motion(np.eye(3), np.zeros(3), np.zeros(3), u(fx, fy, fz))
    fine = np.zeros((12, 12, 14), dtype=np.int16)
    fine[3:9, 3:9, 4:10] = 3  # away from the border, where the coarse field is clamped
    fine[5:7, 5:7, 6:8] = 4
    via_coarse = warp_labels(
        fine,
        coarse,
        (2.0, 2.0, 2.0),
        (-1.0, -1.0, -1.0),
        field_spacing_mm=(4.0, 4.0, 4.0),
        field_origin_mm=(0.0, 0.0, 0.0),
    )
    on_fine = warp_labels(fine, direct, (2.0, 2.0, 2.0), (-1.0, -1.0, -1.0))
    assert np.array_equal(via_coarse, on_fine)
    assert not np.array_equal(on_fine, fine)  # the field does move the labels
