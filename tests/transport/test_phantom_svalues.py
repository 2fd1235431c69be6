"""Reference-phantom S-value matrices: reciprocity, absorbed-fraction bounds, mass scaling."""

from __future__ import annotations

import numpy as np
import pytest

from radiotrial.errors import ValidationError
from radiotrial.nuclides import get_nuclide
from radiotrial.transport import load_phantom_s_matrix

# MeV per decay -> mGy kg per MBq h
K = 1.602176634e-13 * 3.6e9 * 1e3


@pytest.mark.parametrize("sex", ["female", "male"])
def test_photon_part_obeys_reciprocity(sex: str) -> None:
    # reciprocity theorem (Loevinger & Berman, MIRD Pamphlet 1 rev.): for uniform sources per
    # mass in a medium where the kernel is symmetric, S(t←s) = S(s←t)
    s = load_phantom_s_matrix(sex)  # type: ignore[arg-type]
    # atol: single-precision FFT round-off, 1e-6 of the largest S-value
    np.testing.assert_allclose(s.photon, s.photon.T, rtol=1e-4, atol=1e-6 * float(s.photon.max()))


@pytest.mark.parametrize("sex", ["female", "male"])
def test_self_absorbed_fractions_are_physical(sex: str) -> None:
    s = load_phantom_s_matrix(sex)  # type: ignore[arg-type]
    e_e = get_nuclide("Lu-177").energy_per_decay_mev("electrons")
    e_p = get_nuclide("Lu-177").energy_per_decay_mev("photons")
    diag_e = np.diag(s.electron) * s.masses_g * 1e-3 / (e_e * K)
    diag_p = np.diag(s.photon) * s.masses_g * 1e-3 / (e_p * K)
    # Lu-177 β range (< 2 mm) ≪ organ size: 0.95 < φ_e ≤ 1; photons escape mostly: φ_γ < 0.5
    assert np.all((diag_e > 0.95) & (diag_e <= 1.0 + 1e-9))
    assert np.all((diag_p > 0.0) & (diag_p < 0.5))
    # ICRP-89 reference masses: kidneys 275 g (female), liver 1400 g, within voxelisation (5 %)
    masses = dict(zip(s.regions, s.masses_g, strict=True))
    if sex == "female":
        assert masses["kidney_left"] + masses["kidney_right"] == pytest.approx(275.0, rel=0.05)
        assert masses["liver"] == pytest.approx(1400.0, rel=0.05)


def test_mass_scaling_of_self_terms() -> None:
    s = load_phantom_s_matrix("female")
    m = s.masses_g[s.regions.index("kidney_left")]
    scaled = s.scaled({"kidney_left": 2 * m})
    i = s.regions.index("kidney_left")
    assert scaled.electron[i, i] == pytest.approx(s.electron[i, i] / 2)
    assert scaled.photon[i, i] == pytest.approx(s.photon[i, i] / 2 ** (2 / 3))
    j = s.regions.index("liver")
    assert scaled.total[j, i] == s.total[j, i]  # cross-doses unchanged
    with pytest.raises(ValidationError, match="masses_g"):
        s.scaled({"kidney_left": -1.0})
    with pytest.raises(ValidationError, match="region"):
        s.s_value("kidney_left", "nowhere")
