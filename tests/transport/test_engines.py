"""Dose engines: conservation, MC vs kernel agreement, reproducibility, CT calibration, errors."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import convolve

from radiotrial.errors import NuclideError, ValidationError
from radiotrial.imaging import Volume
from radiotrial.nuclides import get_nuclide
from radiotrial.transport import compute_dose, ct_to_materials, voxel_s_kernel
from radiotrial.transport._engines import _fft_convolve
from radiotrial.transport._voxel_kernel import full_kernel

MEV_J = 1.602176634e-13


def _cube(n: int = 24, src: int = 6) -> np.ndarray:
    tia = np.zeros((n, n, n))
    a = (n - src) // 2
    tia[a : a + src, a : a + src, a : a + src] = 1.0  # MBq h per voxel
    return tia


def test_led_deposits_exactly_the_electron_energy() -> None:
    tia = _cube(10, 4)
    r = compute_dose(tia, nuclide="Lu-177", spacing_mm=(4.0, 4.0, 4.0), method="led")
    mass_kg = float(np.float32(1.03)) * 0.064 * 1e-3  # densities are stored as float32
    energy_j = float((r.dose_gy * mass_kg).sum())
    expected = tia.sum() * 3.6e9 * get_nuclide("Lu-177").energy_per_decay_mev("electrons") * MEV_J
    assert energy_j == pytest.approx(expected, rel=1e-9)
    assert np.all(r.uncertainty_gy == 0)


def test_kernel_engine_conserves_electron_energy_inside_the_volume() -> None:
    tia = _cube(16, 4)
    r = compute_dose(
        tia, nuclide="Lu-177", spacing_mm=(3.0, 3.0, 3.0), method="kernel", photons=False
    )
    mass_kg = float(np.float32(1.03)) * 0.027 * 1e-3
    energy_j = float((r.electron_dose_gy * mass_kg).sum())
    emitted = tia.sum() * 3.6e9 * get_nuclide("Lu-177").energy_per_decay_mev("electrons") * MEV_J
    # all but the bremsstrahlung yield (0.08 %) stays within 2 mm of the source block
    assert energy_j == pytest.approx(emitted, rel=2e-3)


def test_mc_agrees_with_kernel_convolution_in_homogeneous_water() -> None:
    # 24 × 8 mm ≈ 19 cm water cube, 4³ voxel source: the source region is 8 cm from the
    # surface, so the infinite-medium kernel and the finite-phantom MC should agree.
    tia = _cube(24, 4)
    labels = (tia > 0).astype(int)
    common = {
        "nuclide": "Lu-177",
        "spacing_mm": (8.0, 8.0, 8.0),
        "labels": labels,
        "reference_material": "water",
    }
    k = compute_dose(tia, method="kernel", **common)
    m = compute_dose(tia, method="mc", n_histories=400_000, n_batches=8, seed=5, **common)
    # issue requirement: within 2 % (the MC standard error here is 0.2–0.3 %, measured; MC
    # is 0.5 % above the kernel: residual ranges below 0.4 mm stay in their voxel)
    assert m.region_uncertainty_gy[1] < 0.005 * m.region_mean_gy[1]
    assert m.region_mean_gy[1] == pytest.approx(k.region_mean_gy[1], rel=0.02)
    # the photon parts alone, kernel vs MC, agree to the finite-phantom backscatter loss (< 10 %)
    sel = labels == 1
    kp = float(k.photon_dose_gy[sel].mean())
    mp = float(m.photon_dose_gy[sel].mean())
    assert mp == pytest.approx(kp, rel=0.10)
    assert m.region_uncertainty_gy[1] > 0


def test_photon_mc_agrees_with_kernel_far_from_the_source_in_water() -> None:
    # photon-dominated comparison: Lu-177 cross-dose 4–8 cm from a 2 cm source block in the
    # middle of a 60 cm water cube (so that backscatter from beyond the phantom, which the
    # infinite-medium kernel includes, is negligible); electrons cannot reach the shell
    n, h = 60, 10.0
    c = n // 2
    tia = np.zeros((n, n, n))
    tia[c - 1 : c + 1, c - 1 : c + 1, c - 1 : c + 1] = 1.0
    zz, yy, xx = np.indices(tia.shape)
    r_mm = np.sqrt((zz + 0.5 - c) ** 2 + (yy + 0.5 - c) ** 2 + (xx + 0.5 - c) ** 2) * h
    shell = ((r_mm > 40.0) & (r_mm < 80.0)).astype(int)
    kw = {
        "nuclide": "Lu-177",
        "spacing_mm": (h, h, h),
        "reference_material": "water",
        "labels": shell,
    }
    k = compute_dose(tia, method="kernel", **kw)
    m = compute_dose(tia, method="mc", n_histories=1_000_000, n_batches=8, seed=5, **kw)
    sel = shell == 1
    # photons only (the electron part is single-precision FFT round-off)
    assert float(k.electron_dose_gy[sel].sum()) < 1e-4 * float(k.dose_gy[sel].sum())
    # statistics far below the 2 % requirement (measured σ 0.2–0.3 %, MC/kernel 0.990–0.995)
    assert m.region_uncertainty_gy[1] < 0.005 * m.region_mean_gy[1]
    assert m.region_mean_gy[1] == pytest.approx(k.region_mean_gy[1], rel=0.02)


def test_mc_is_reproducible_and_uncertainty_is_consistent() -> None:
    tia = _cube(12, 4)
    labels = (tia > 0).astype(int)
    kw = {
        "nuclide": "Lu-177",
        "spacing_mm": (6.0, 6.0, 6.0),
        "method": "mc",
        "labels": labels,
        "n_histories": 40_000,
        "n_batches": 8,
    }
    a = compute_dose(tia, seed=11, **kw)
    b = compute_dose(tia, seed=11, **kw)
    c = compute_dose(tia, seed=12, **kw)
    np.testing.assert_array_equal(a.photon_dose_gy, b.photon_dose_gy)
    assert not np.array_equal(a.photon_dose_gy, c.photon_dose_gy)
    pa = a.photon_dose_gy[labels == 1].sum()
    pc = c.photon_dose_gy[labels == 1].sum()
    # two independent estimates differ by < 5 combined standard errors
    ua = a.region_uncertainty_gy[1]
    uc = c.region_uncertainty_gy[1]
    n = (labels == 1).sum()
    assert abs(pa - pc) / n < 5 * np.hypot(ua, uc)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two numba threads")
@pytest.mark.parametrize("estimator", ["track-length", "analog"])
def test_mc_is_bit_identical_on_one_and_two_threads(estimator: str) -> None:
    # each batch owns a random stream seeded by (seed, batch) and batch results are summed in
    # batch order, so the thread count cannot change a single bit
    tia = _cube(12, 4)
    ct = np.zeros(tia.shape)
    ct[:, :, 8:] = -700.0  # lung slab: electrons and photons cross a density change
    kw = {
        "nuclide": "Lu-177",
        "spacing_mm": (5.0, 5.0, 5.0),
        "ct_hu": ct,
        "method": "mc",
        "n_histories": 20_000,
        "n_batches": 6,
        "seed": 3,
        "photon_estimator": estimator,
    }
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = compute_dose(tia, **kw)
        numba.set_num_threads(2)
        two = compute_dose(tia, **kw)
    finally:
        numba.set_num_threads(before)
    assert one.details["threads"] == 1 and two.details["threads"] == 2
    np.testing.assert_array_equal(one.electron_dose_gy, two.electron_dose_gy)
    np.testing.assert_array_equal(one.photon_dose_gy, two.photon_dose_gy)
    np.testing.assert_array_equal(one.uncertainty_gy, two.uncertainty_gy)


def test_ct_calibration_classes_and_densities() -> None:
    ct = np.array([-1000.0, -700.0, -100.0, 0.0, 50.0, 1600.0]).reshape(1, 2, 3)
    idx, dens, mats = ct_to_materials(ct)
    names = [mats[i].name for i in idx.ravel()]
    # the classes at least: water, lung, soft tissue, bone (plus air and adipose)
    assert names == ["air", "lung", "adipose", "water", "soft-tissue", "bone"]
    # 0 HU is water by the definition of the HU scale
    np.testing.assert_allclose(dens.ravel()[[0, 3, 5]], [0.00121, 1.0, 1.92], rtol=1e-5)


def test_lung_interface_kernel_vs_mc() -> None:
    # source block in soft tissue next to a lung slab (HU -700, ρ 0.30)
    n = 16
    tia = np.zeros((n, n, n))
    tia[6:10, 6:10, 4:8] = 1.0
    ct = np.zeros((n, n, n))
    ct[:, :, 8:] = -700.0
    lab = np.zeros((n, n, n), dtype=int)
    lab[4:12, 4:12, 8:11] = 1  # lung next to the source
    kw = {"nuclide": "Lu-177", "spacing_mm": (5.0, 5.0, 5.0), "ct_hu": ct, "labels": lab}
    k = compute_dose(tia, method="kernel", **kw)
    m = compute_dose(tia, method="mc", n_histories=100_000, n_batches=8, **kw)
    kp = float(k.photon_dose_gy[lab == 1].mean())
    mp = float(m.photon_dose_gy[lab == 1].mean())
    # photon dose per mass in lung: the kernel (no density scaling) and MC agree to ~20 % (the
    # MC sees less scatter from the low-density lung); ρ-scaling would be 3.4× off
    assert mp == pytest.approx(kp, rel=0.2)
    # electrons from the block stop in the first lung voxel (range 1.8 mm / 0.3 = 6 mm)
    assert k.electron_dose_gy[8, 8, 10] < 1e-3 * k.electron_dose_gy[8, 8, 6]


def test_volume_inputs_and_geometry_checks() -> None:
    tia = _cube(8, 2)
    vol = Volume(tia * 3.6e9, spacing_mm=(4.0, 4.0, 4.0), units="Bq*s")
    ct = Volume(np.zeros(tia.shape), spacing_mm=(4.0, 4.0, 4.0), units="HU")
    r = compute_dose(vol, nuclide="Lu-177", ct_hu=ct, method="led")
    r2 = compute_dose(
        tia, nuclide="Lu-177", spacing_mm=(4.0, 4.0, 4.0), method="led", ct_hu=np.zeros(tia.shape)
    )
    np.testing.assert_allclose(r.dose_gy, r2.dose_gy, rtol=1e-12)
    moved = Volume(
        np.zeros(tia.shape), spacing_mm=(4.0, 4.0, 4.0), origin_mm=(10.0, 0.0, 0.0), units="HU"
    )
    with pytest.raises(ValidationError, match="ct_hu"):
        compute_dose(vol, nuclide="Lu-177", ct_hu=moved, method="led")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tia": np.zeros((4, 4, 4))}, "tia"),
        ({"tia": np.ones((4, 4))}, "tia"),
        ({"tia": -np.ones((4, 4, 4))}, "tia"),
        ({"tia": np.ones((4, 4, 4)), "ct_hu": np.zeros((4, 4, 5))}, "ct_hu"),
        ({"tia": np.ones((4, 4, 4)), "labels": np.zeros((3, 4, 4))}, "labels"),
        ({"tia": np.ones((4, 4, 4)), "method": "magic"}, "method"),
        ({"tia": np.ones((4, 4, 4)), "spacing_mm": None}, "spacing_mm"),
        # the supported voxel range, 1–10 mm, holds for every side of anisotropic voxels
        ({"tia": np.ones((4, 4, 4)), "spacing_mm": 0.5}, "spacing_mm"),
        ({"tia": np.ones((4, 4, 4)), "spacing_mm": (20.0, 20.0, 20.0)}, "spacing_mm"),
        ({"tia": np.ones((4, 4, 4)), "spacing_mm": (4.0, 4.0, 0.3)}, "spacing_mm"),
        ({"tia": np.ones((4, 4, 4)), "spacing_mm": (4.0, 4.0)}, "spacing_mm"),
        ({"tia": np.ones((4, 4, 4)), "method": "kernel", "spacing_mm": 0.5}, "spacing_mm"),
        ({"tia": np.ones((4, 4, 4)), "method": "mc", "spacing_mm": 12.0}, "spacing_mm"),
        (
            {
                "tia": Volume(np.ones((4, 4, 4)), spacing_mm=(0.8, 0.8, 0.8), units="Bq*s"),
                "spacing_mm": None,
            },
            "tia.spacing_mm",
        ),
    ],
)
def test_bad_inputs_name_the_argument(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"nuclide": "Lu-177", "spacing_mm": (4.0, 4.0, 4.0), "method": "led"}
    args.update(kwargs)
    tia = args.pop("tia")
    with pytest.raises(ValidationError) as info:
        compute_dose(tia, **args)  # type: ignore[arg-type]
    assert info.value.field == field
    assert field in str(info.value)


@pytest.mark.parametrize("method", ["led", "kernel", "mc"])
def test_nuclide_not_in_icrp107_is_refused_naming_it(method: str) -> None:
    with pytest.raises(NuclideError, match="nuclide='Lu-999'.*ICRP-107"):
        compute_dose(np.ones((4, 4, 4)), nuclide="Lu-999", spacing_mm=4.0, method=method)


def test_electron_mc_in_voxels_agrees_with_kernel_convolution() -> None:
    # Independent check of the voxel integration: the condensed-history MC scores energy in
    # voxels directly, the kernel engine integrates the point kernel analytically over voxels.
    tia = _cube(14, 4)
    labels = (tia > 0).astype(int)
    kw = {"nuclide": "Y-90", "spacing_mm": (3.0, 3.0, 3.0), "labels": labels, "photons": False}
    k = compute_dose(tia, method="kernel", **kw)
    m = compute_dose(
        tia, method="mc", electrons="mc", n_histories=40_000, n_batches=8, seed=2, **kw
    )
    # 2 %: the MC standard error is ~0.3 %, and the MC's half-voxel step limit and range cut
    # differ slightly from the kernel's continuous shells
    assert m.region_mean_gy[1] == pytest.approx(k.region_mean_gy[1], rel=0.02)
    # first shell outside the source block
    assert float(m.electron_dose_gy[7, 7, 9]) == pytest.approx(
        float(k.electron_dose_gy[7, 7, 9]), rel=0.05
    )


def test_alpha_emitter_deposits_alpha_energy_locally() -> None:
    tia = _cube(8, 2)
    r = compute_dose(tia, nuclide="Ac-225", spacing_mm=(4.0, 4.0, 4.0), method="led")
    assert r.alpha_dose_gy is not None
    nuc = get_nuclide("Ac-225")
    e = nuc.energy_per_decay_mev("alpha") + nuc.energy_per_decay_mev("alpha-recoil")
    mass_kg = float(np.float32(1.03)) * 0.064 * 1e-3
    assert float((r.alpha_dose_gy * mass_kg).sum()) == pytest.approx(
        tia.sum() * 3.6e9 * e * MEV_J, rel=1e-9
    )
    np.testing.assert_allclose(r.dose_gy, r.electron_dose_gy + r.photon_dose_gy + r.alpha_dose_gy)


@settings(max_examples=25, deadline=None)
@given(
    shape=st.tuples(*(st.integers(1, 9) for _ in range(3))),
    half=st.tuples(*(st.integers(0, 12) for _ in range(3))),
    seed=st.integers(0, 2**31),
)
def test_fft_convolution_equals_direct_sum(
    shape: tuple[int, int, int], half: tuple[int, int, int], seed: int
) -> None:
    # The engine pads only by the kernel half-width (circular convolution of length
    # L ≥ n + hw is exact for the centred "same" output) and crops kernels wider than the
    # grid; the definition Σ_j a_j k_(i−j), summed directly, must be reproduced.
    rng = np.random.default_rng(seed)
    a = rng.random(shape)
    k = rng.random(tuple(2 * h + 1 for h in half))
    direct = convolve(a, k, mode="same", method="direct")
    # single-precision FFT: relative rounding ~1e-7 · log₂ N, far below 1e-5
    np.testing.assert_allclose(_fft_convolve(a, k), direct, rtol=1e-5, atol=1e-5 * direct.max())


def test_kernel_engine_is_the_convolution_with_the_voxel_s_kernels() -> None:
    # homogeneous soft tissue: electron and photon doses are TIA ⊛ S exactly (no density
    # correction), whether the kernel spectra are computed or taken from the cache
    rng = np.random.default_rng(3)
    tia = np.zeros((12, 10, 14))
    tia[3:8, 2:6, 4:11] = rng.random((5, 4, 7))
    kw = {"nuclide": "Lu-177", "spacing_mm": (5.0, 4.0, 6.0), "method": "kernel"}
    r1 = compute_dose(tia, photon_reach_mm=30.0, **kw)
    r2 = compute_dose(tia, photon_reach_mm=30.0, **kw)
    hw = tuple((n - 1) // 2 for n in r1.details["photon_kernel_shape"])
    k = voxel_s_kernel("Lu-177", (5.0, 4.0, 6.0), half_width=hw)
    tia_s = tia * 3600.0
    e_ref = convolve(tia_s, full_kernel(k.electron_octant), mode="same", method="direct") * 1e-3
    p_ref = convolve(tia_s, full_kernel(k.photon_octant), mode="same", method="direct") * 1e-3
    for r in (r1, r2):
        # 1e-5: single-precision FFT
        np.testing.assert_allclose(r.electron_dose_gy, e_ref, rtol=1e-5, atol=1e-5 * e_ref.max())
        np.testing.assert_allclose(r.photon_dose_gy, p_ref, rtol=1e-5, atol=1e-5 * p_ref.max())


def _slab_phantom() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # soft tissue with a lung slab and a bone slab, source block in tissue, three regions
    n = 14
    tia = np.zeros((n, n, n))
    tia[5:9, 5:9, 2:5] = 1.0
    ct = np.zeros((n, n, n))
    ct[:, :, 6:9] = -700.0  # lung, ρ 0.30
    ct[:, :, 10:12] = 1200.0  # bone
    lab = np.zeros((n, n, n), dtype=int)
    lab[4:10, 4:10, 2:5] = 1  # source tissue
    lab[3:11, 3:11, 6:9] = 2  # lung
    lab[3:11, 3:11, 10:12] = 3  # bone
    return tia, ct, lab


def test_track_length_estimator_is_unbiased_and_reduces_variance() -> None:
    # Same transport, two scorings: the analog deposit at interaction sites and the
    # track-length estimate E·ρ·μ_tr·ℓ along every chord. Their expectations are equal by
    # construction (see _photon_tle notes); the test checks the implementation (chords,
    # μ_tr table, interaction sampling) in tissue, lung and bone.
    tia, ct, lab = _slab_phantom()
    kw = {
        "nuclide": "Lu-177",
        "spacing_mm": (6.0, 6.0, 6.0),
        "ct_hu": ct,
        "labels": lab,
        "method": "mc",
        "electrons": "local",
        "n_histories": 160_000,
        "n_batches": 16,
    }
    tle = compute_dose(tia, photon_estimator="track-length", seed=3, **kw)
    ana = compute_dose(tia, photon_estimator="analog", seed=4, **kw)
    for region in (1, 2, 3):
        sel = lab == region
        m = ((tle.photon_dose_gy - ana.photon_dose_gy)[sel]).mean()
        # independent runs: the difference of region means within 4 combined standard errors
        # (batch estimates of σ from 16 batches are themselves ±18 %, hence 4 and not 3)
        su = np.hypot(tle.region_uncertainty_gy[region], ana.region_uncertainty_gy[region])
        assert abs(m) < 4 * su, region
        # every crossing scores, so the track-length error is smaller in each region
        assert tle.region_uncertainty_gy[region] < ana.region_uncertainty_gy[region], region
    assert tle.details["photon_estimator"] == "track-length"


def test_air_around_the_patient_is_not_traced() -> None:
    # Photons are transported in the box around matter, sources and regions; a wider air
    # margin in the CT field of view must not change anything inside it (same random streams).
    tia, ct, lab = _slab_phantom()
    pad = ((3, 2), (0, 4), (5, 1))
    kw = {
        "nuclide": "Lu-177",
        "spacing_mm": (6.0, 6.0, 6.0),
        "method": "mc",
        "electrons": "local",
        "n_histories": 16_000,
        "n_batches": 4,
    }
    a = compute_dose(tia, ct_hu=ct, labels=lab, **kw)
    b = compute_dose(
        np.pad(tia, pad),
        ct_hu=np.pad(ct, pad, constant_values=-1000.0),
        labels=np.pad(lab, pad),
        **kw,
    )
    inner = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad, tia.shape, strict=True))
    np.testing.assert_array_equal(b.photon_dose_gy[inner], a.photon_dose_gy)
    # region means: the same voxels, summed in another order (rounding only)
    for region, mean in a.region_mean_gy.items():
        assert b.region_mean_gy[region] == pytest.approx(mean, rel=1e-12)
    outside = np.ones(b.photon_dose_gy.shape, dtype=bool)
    outside[inner] = False
    assert not np.any(b.photon_dose_gy[outside])  # air outside the box: not traced, no score
