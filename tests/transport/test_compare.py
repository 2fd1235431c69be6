"""compare_engines: the three engines on one case, interface sets and the report tables."""

from __future__ import annotations

import numpy as np
import pytest

from radiotrial.transport import compute_dose
from radiotrial.transport._compare import compare_engines, format_comparison, interface_masks


def _slab_case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # soft tissue with a lung slab (x ≥ 10) and a bone slab (x < 3); activity in the tissue
    n = 16
    ct = np.full((n, n, n), 40.0)
    ct[:, :, 10:] = -700.0
    ct[:, :, :3] = 1200.0
    tia = np.zeros((n, n, n))
    tia[4:12, 4:12, 3:10] = 1.0
    labels = np.zeros((n, n, n), dtype=int)
    labels[4:12, 4:12, 3:10] = 1
    labels[4:12, 4:12, 10:13] = 2  # lung next to the source
    return tia, ct, labels


def test_interface_masks_lie_on_both_sides_of_each_boundary() -> None:
    _, ct, _ = _slab_case()
    m = interface_masks(ct)
    assert set(np.unique(np.nonzero(m["lung_at_interface"])[2])) == {10}
    assert set(np.unique(np.nonzero(m["tissue_at_lung"])[2])) == {9}
    assert set(np.unique(np.nonzero(m["bone_at_interface"])[2])) == {2}
    assert set(np.unique(np.nonzero(m["tissue_at_bone"])[2])) == {3}


def test_compare_engines_summarises_the_engines_it_ran() -> None:
    tia, ct, labels = _slab_case()
    kw = {"nuclide": "Lu-177", "ct_hu": ct, "spacing_mm": (4.0, 4.0, 4.0), "labels": labels}
    s = compare_engines(tia, n_histories=100_000, seed=2, **kw)
    assert set(s["results"]) == {"led", "kernel", "mc"}
    # the regions are the engines' own region means
    k = compute_dose(tia, method="kernel", **kw)
    assert s["regions"][1]["kernel"] == pytest.approx(k.region_mean_gy[1], rel=1e-12)
    mc = s["results"]["mc"]
    assert s["regions"][2]["mc"] == pytest.approx(mc.region_mean_gy[2], rel=1e-12)
    # lung voxels without activity get no LED dose: only transport carries dose across
    cross = s["interfaces"]["lung_at_interface/cross"]
    assert cross["led"] == 0.0
    assert cross["kernel"] > 0.0 and cross["mc"] > 0.0
    # the density-scaled kernel packs the electron energy that leaves the tissue into the
    # first lung layer; transport spreads it over a 1/ρ-times longer range (docs)
    assert cross["kernel"] > cross["mc"]
    assert 0.0 < cross["mc_photon_fraction"] < 1.0
    table = format_comparison(s, {1: "source", 2: "lung"})
    assert "| source |" in table and "| lung |" in table
    assert "| lung_at_interface/cross |" in table
    led_over_mc = s["regions"][1]["led"] / s["regions"][1]["mc"]
    assert f"| {led_over_mc:.2f} |" in table.splitlines()[2]


def test_the_documented_comparison_can_be_regenerated(capsys: pytest.CaptureFixture[str]) -> None:
    from radiotrial.transport._compare import main

    # the docs' command at coarse settings (9.6 mm, 20 000 histories) to keep the test fast
    assert main(["--histories", "20000", "--spacing-mm", "9.6"]) == 0
    out = capsys.readouterr().out
    assert "virtual patient (female, seed 1, 9.6 mm)" in out
    for row in ("| kidney_left |", "| liver |", "| ribs |", "| bone_at_interface |"):
        assert row in out
