"""ICRP-107 nuclear data: pinned to the published ICRP Publication 107 values.

Reference values are the ICRP-107 index (NDX) energies per nuclear transformation, MeV, as quoted
in ICRP Publication 107 (Ann. ICRP 38(3), 2008) summary tables:

- Lu-177: T½ 6.647 d; mean β 0.1333; all electrons 0.1479; all photons 0.03510.
- Y-90:   T½ 64.10 h; mean β 0.9329 (β-, IE and Auger give electrons 0.9331).
- I-131:  T½ 8.0207 d; mean β 0.1819; all electrons 0.1918; all photons 0.3828.

Tolerance: agreement to the 4 significant figures in which the reference is published, i.e. a
relative tolerance of 5e-4 (half a unit in the 4th figure is ≤ 5e-4 relative for these numbers).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from radiotrial.errors import NuclideError, ValidationError
from radiotrial.nuclides import get_nuclide, list_nuclides, normalise_name

FOUR_SIG = 5e-4


def test_collection_has_all_icrp107_nuclides() -> None:
    assert len(list_nuclides()) == 1252  # ICRP-107 abstract: 1252 radionuclides of 97 elements


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("Lu-177", "Lu-177"),
        ("lu177", "Lu-177"),
        ("177Lu", "Lu-177"),
        ("Tc99m", "Tc-99m"),
        ("99mTc", "Tc-99m"),
        (" I-131 ", "I-131"),
    ],
)
def test_name_spellings(spelling: str, canonical: str) -> None:
    assert normalise_name(spelling) == canonical


@pytest.mark.parametrize("bad", ["Xx-999", "Lu-1777", "", "Lutetium", "Lu-176m2"])
def test_unknown_nuclide_is_refused(bad: str) -> None:
    with pytest.raises(NuclideError, match="ICRP-107"):
        get_nuclide(bad)


def test_lu177_pinned_to_icrp107() -> None:
    lu = get_nuclide("Lu-177")
    assert lu.half_life("d") == pytest.approx(6.647, rel=1e-12)
    assert lu.energy_per_decay_mev("beta-") == pytest.approx(0.1333, rel=FOUR_SIG)
    assert lu.energy_per_decay_mev("electrons") == pytest.approx(0.1479, rel=FOUR_SIG)
    assert lu.energy_per_decay_mev("photons") == pytest.approx(0.03510, rel=FOUR_SIG)
    assert lu.progeny == (("Hf-177", 1.0, "β-"),)


def test_lu177_main_gamma_lines() -> None:
    # 208.4 keV (11.0%) and 113.0 keV (6.4%) (REFERENCE.md, ICRP-107)
    gammas = get_nuclide("Lu-177").lines("gamma", min_yield=0.05)
    # keV to the 0.1 keV precision of the reference text
    assert [g.energy_mev * 1e3 for g in gammas] == pytest.approx([113.0, 208.4], abs=0.06)
    assert [g.yield_per_decay for g in gammas] == [0.064, 0.11]


def test_y90_and_i131() -> None:
    y = get_nuclide("Y-90")
    assert y.half_life("h") == pytest.approx(64.10, rel=FOUR_SIG)
    assert y.energy_per_decay_mev("beta-") == pytest.approx(0.9329, rel=FOUR_SIG)
    assert y.energy_per_decay_mev("photons") < 1e-5  # pure β emitter apart from traces
    i = get_nuclide("I-131")
    assert i.half_life("d") == pytest.approx(8.0207, rel=1e-12)
    assert i.energy_per_decay_mev("beta-") == pytest.approx(0.1819, rel=FOUR_SIG)
    assert i.energy_per_decay_mev("electrons") == pytest.approx(0.1918, rel=FOUR_SIG)
    assert i.energy_per_decay_mev("photons") == pytest.approx(0.3828, rel=FOUR_SIG)
    (main,) = i.lines("gamma", min_yield=0.5)
    assert main.energy_mev == pytest.approx(0.364489) and main.yield_per_decay == 0.817


def test_energy_groups_are_sums_of_classes() -> None:
    for name in ("Lu-177", "I-131", "F-18", "Ac-225"):
        n = get_nuclide(name)
        parts = sum(n.energy_per_decay_mev(c) for c in ("beta-", "beta+", "ie", "auger"))
        assert n.energy_per_decay_mev("electrons") == pytest.approx(parts, rel=1e-12)
        total = sum(line.energy_per_decay_mev for line in n.lines("total"))
        assert n.energy_per_decay_mev("total") == pytest.approx(total, rel=1e-12)


@pytest.mark.parametrize("name", ["Lu-177", "Y-90", "I-131"])
def test_beta_spectrum_moments_match_line_data(name: str) -> None:
    # ∫N(E)dE = β yield per decay and ∫E N(E)dE = mean β energy per decay (ICRP-107 BET vs RAD).
    # Tolerance 0.5%: the BET grid (~100 points, trapezoid rule) integrates the tabulated
    # spectrum to a few 1e-3; both come from the same evaluation.
    n = get_nuclide(name)
    e, density = n.beta_spectrum()
    yield_beta = sum(line.yield_per_decay for line in n.lines("beta-"))
    assert np.trapezoid(density, e) == pytest.approx(yield_beta, rel=5e-3)
    assert np.trapezoid(e * density, e) == pytest.approx(n.energy_per_decay_mev("beta-"), rel=5e-3)


def test_no_beta_spectrum_without_beta_decay() -> None:
    with pytest.raises(NuclideError, match="no beta spectrum"):
        get_nuclide("I-125").beta_spectrum()  # electron capture only


def test_decay_factor_identities() -> None:
    lu = get_nuclide("Lu-177")
    t0 = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)
    one_half_life = t0 + timedelta(days=6.647)
    assert lu.decay_factor(t0, one_half_life) == pytest.approx(0.5, rel=1e-12)
    assert lu.decay_factor(one_half_life, t0) == pytest.approx(2.0, rel=1e-12)
    assert lu.decay_constant_per_s == pytest.approx(math.log(2) / (6.647 * 86400), rel=1e-12)


def test_naive_datetime_refused() -> None:
    lu = get_nuclide("Lu-177")
    with pytest.raises(ValidationError, match="timezone-aware"):
        lu.decay_factor(datetime(2025, 1, 1), datetime(2025, 1, 2, tzinfo=UTC))


def test_unknown_radiation_class() -> None:
    with pytest.raises(ValidationError, match="radiation"):
        get_nuclide("Lu-177").energy_per_decay_mev("muons")  # type: ignore[arg-type]
