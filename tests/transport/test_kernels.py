"""Voxel S-value kernels and sphere S-values: conservation, geometry identities, references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radiotrial.errors import NuclideError, ValidationError
from radiotrial.transport import electron_point_kernel, sphere_s_value, voxel_s_kernel
from radiotrial.transport._sphere import sphere_electron_absorbed_fraction
from radiotrial.transport._voxel_kernel import full_kernel, voxel_energy_octant


@pytest.mark.parametrize("voxel", [(2.0, 2.0, 2.0), (1.0, 1.5, 2.5), (4.8, 4.8, 4.8)])
def test_voxel_kernel_conserves_electron_energy(voxel: tuple[float, float, float]) -> None:
    k = electron_point_kernel("Lu-177", "soft-tissue")
    hw = tuple(int(np.ceil(2.0 / h)) + 1 for h in voxel)
    energy = full_kernel(voxel_energy_octant(k, voxel, hw))
    # hats are a partition of unity (Σ_d g_d(r) = 1): the kernel holds all deposited energy;
    # 1e-4 covers the direction quadrature of the near-voxel shell integral
    assert energy.sum() == pytest.approx(k.energy_mev.sum(), rel=1e-4)


def test_anisotropic_kernel_transposes_with_voxel_axes() -> None:
    k = electron_point_kernel("Y-90", "soft-tissue")
    a = voxel_energy_octant(k, (2.0, 3.0, 4.0), (3, 3, 3))
    b = voxel_energy_octant(k, (4.0, 3.0, 2.0), (3, 3, 3))
    # the physics is isotropic: swapping z and x sizes swaps the axes of the kernel
    np.testing.assert_allclose(a, b.transpose(2, 1, 0), rtol=2e-3, atol=1e-9)


def test_large_voxel_self_absorption_matches_surface_expansion() -> None:
    # For a cube of side h ≫ range, φ_self = 1 − (S/4V)⟨r⟩ + O((r/h)²), S/4V = 1.5/h and
    # ⟨r⟩ the energy-weighted mean distance of deposition (Berger 1971 geometric factor).
    k = electron_point_kernel("Lu-177", "soft-tissue")
    h = 10.0
    self_e = voxel_energy_octant(k, (h, h, h), 0)[0, 0, 0]
    mean_r = float(np.dot(k.energy_mev, k.r_mid_mm) / k.energy_mev.sum())
    expected = k.energy_mev.sum() * (1.0 - 1.5 * mean_r / h)
    # second-order term ~ (⟨r⟩/h)² ≈ 1e-3
    assert self_e == pytest.approx(expected, rel=2e-3)


def test_lu177_voxel_kernel_shape_and_units() -> None:
    k = voxel_s_kernel("Lu-177", 4.8, material="soft-tissue", half_width=2)
    assert k.octant.shape == (3, 3, 3)
    s0 = k.octant[0, 0, 0]
    # upper bound: all electron + photon energy absorbed in one 4.8 mm voxel of ρ 1.03
    e_j = (0.14792 + 0.03510) * 1.602176634e-13
    bound = e_j * 1e6 / (4.8**3 * 1e-3 * 1.03e-3) * 1e3
    assert 0.8 * bound * 0.1479 / 0.1830 < s0 < bound
    assert np.all(np.diff(k.octant[0, 0, :]) < 0)  # falls off with distance
    # photons dominate beyond the β range (Lu-177 β range < 2 mm)
    assert k.photon_octant[0, 0, 2] > 10 * k.electron_octant[0, 0, 2]


def test_voxel_size_and_half_width_are_checked() -> None:
    with pytest.raises(ValidationError, match="voxel_mm"):
        voxel_s_kernel("Lu-177", 0.5)
    with pytest.raises(ValidationError, match="voxel_mm"):
        voxel_s_kernel("Lu-177", (4.0, 4.0, 12.0))
    with pytest.raises(ValidationError, match="half_width"):
        voxel_s_kernel("Lu-177", 4.0, half_width=-1)
    with pytest.raises(NuclideError, match="nuclide='Lu-999'"):
        voxel_s_kernel("Lu-999", 4.0)


# Secondary reference: Lu-177 sphere S-values in ICRP soft tissue (ρ = 1.03 g/cm³) tabulated in
# PyTheranostics (github.com/qurit/PyTheranostics, data/s-values/spheres.json, '100%/0%' column,
# Gy/(Bq s)); the origin of that table is not stated there, so agreement is a cross-check.
PYTHERANOSTICS_LU177 = {
    0.116: 1.93e-10,
    0.932: 2.49e-11,
    4.31: 5.46e-12,
    34.5: 6.93e-13,
    276.0: 8.81e-14,
}


@pytest.mark.parametrize(("mass_g", "s_gy_per_bq_s"), PYTHERANOSTICS_LU177.items())
def test_lu177_sphere_s_values_agree_with_published_table(
    mass_g: float, s_gy_per_bq_s: float
) -> None:
    s = sphere_s_value("Lu-177", mass_g, density_g_cm3=1.03, n_photon_histories=50_000)
    ours = s.s_mgy_per_mbq_h / 3.6e12  # mGy/(MBq h) -> Gy/(Bq s)
    # 4 %: electron kernels without straggling and differing photon treatments
    assert ours == pytest.approx(s_gy_per_bq_s, rel=0.04)


def test_electron_absorbed_fraction_limits() -> None:
    k = electron_point_kernel("Y-90", "soft-tissue")
    # tiny sphere: almost everything escapes; huge sphere: everything but bremsstrahlung stays
    assert sphere_electron_absorbed_fraction(k, 0.01) < 0.01
    big = sphere_electron_absorbed_fraction(k, 1000.0)
    assert big == pytest.approx(k.energy_mev.sum() / k.emitted_mev, rel=2e-3)


@settings(max_examples=25, deadline=None)
@given(r1=st.floats(0.05, 200.0), r2=st.floats(0.05, 200.0))
def test_electron_absorbed_fraction_grows_with_radius(r1: float, r2: float) -> None:
    k = electron_point_kernel("Lu-177", "soft-tissue")
    lo, hi = sorted((r1, r2))
    assert (
        sphere_electron_absorbed_fraction(k, lo) <= sphere_electron_absorbed_fraction(k, hi) + 1e-12
    )


def test_sphere_input_ranges() -> None:
    with pytest.raises(ValidationError, match="mass_g.*0.01–5000 g"):
        sphere_s_value("Lu-177", 6000.0)
    with pytest.raises(ValidationError, match="density_g_cm3.*0.3–2 g/cm3"):
        sphere_s_value("Lu-177", 10.0, density_g_cm3=0.1)
    with pytest.raises(ValidationError, match="mass_g.*expected a number"):
        sphere_s_value("Lu-177", "10")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="mass_g"):
        sphere_s_value("Lu-177", True)
    # NumPy scalars are numbers like any other (a float32 mass read from an image header)
    a = sphere_s_value("Lu-177", np.float32(10.0), n_photon_histories=20_000)  # type: ignore[arg-type]
    b = sphere_s_value("Lu-177", 10.0, n_photon_histories=20_000)
    assert a.s_mgy_per_mbq_h == b.s_mgy_per_mbq_h


def test_alpha_energy_is_absorbed_locally_in_spheres_and_voxels() -> None:
    from radiotrial.nuclides import get_nuclide

    nuc = get_nuclide("Ac-225")
    e_a = nuc.energy_per_decay_mev("alpha") + nuc.energy_per_decay_mev("alpha-recoil")
    s = sphere_s_value("Ac-225", 10.0, n_photon_histories=20_000)
    k = 1.602176634e-13 * 3.6e9 / 1e-2 * 1e3  # MeV per decay -> mGy/(MBq h) in 10 g
    rest = s.s_mgy_per_mbq_h / k - e_a
    # the α term is exact; electrons and photons add between 0 and their emitted energy
    upper = nuc.energy_per_decay_mev("electrons") + nuc.energy_per_decay_mev("photons")
    assert 0.0 < rest < upper
    kern = voxel_s_kernel("Ac-225", 4.0, half_width=1)
    extra = kern.octant[0, 0, 0] - kern.electron_octant[0, 0, 0] - kern.photon_octant[0, 0, 0]
    mass_kg = 64e-6 * kern.density_g_cm3
    assert extra == pytest.approx(e_a * 1.602176634e-13 * 1e6 / mass_kg * 1e3, rel=1e-12)
