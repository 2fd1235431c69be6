"""Voxel S-values against a published Monte Carlo database (Lanconelli et al. 2012).

The reference values, with their provenance, are in
``radiotrial/data/transport/reference_voxel_s_values.yaml``. Tolerances:

* 3 % on self and face-neighbour S-values, the voxels that hold > 95 % of the electron energy.
  A 2 % change of the electron length scale (ICRU Report 37 quotes 1–2 % uncertainty for the
  collision stopping power of low-Z media above 100 keV, and the range follows it) moves these
  S-values by up to 1.9 % (computed with our kernels); the database's three significant digits
  add up to 0.5 %, and the reference transports bremsstrahlung that our kernels let escape
  (0.5 % of the Y-90 energy) — together ≈ 3 %.
* Lu-177: the database's values are consistent with a source of β particles without the
  ICRP-107 conversion and Auger electrons (0.0147 MeV per decay): its absorbed energy in the
  11³-voxel cube is lower than ours by the same amount at every voxel size (a transport
  difference would scale with the cube's surface-to-volume ratio), and only a β-only kernel
  reproduces its spatial shape. The electron transport is therefore compared on
  energy-normalised fractions with our β-only kernel; ICRP-107-complete S-values, which
  radiotrial uses, are 8–9 % above the database's self S-values (docs/dosimetry-methods.md).
"""

from __future__ import annotations

import itertools
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import yaml

from radiotrial.nuclides import get_nuclide
from radiotrial.transport import electron_point_kernel, get_material, voxel_s_kernel
from radiotrial.transport._voxel_kernel import voxel_s_octant

RHO = 1.04  # the database's soft tissue
_ORDER = [(i, j, k) for i in range(6) for j in range(i, 6) for k in range(j, 6)]
# multiplicity of an octant entry in the full 11³ cube (mirror images)
_MULT = np.where(np.arange(6) == 0, 1.0, 2.0)
_WEIGHT = _MULT[:, None, None] * _MULT[None, :, None] * _MULT[None, None, :]


@cache
def _sets() -> tuple[dict[str, Any], ...]:
    text = (
        resources.files("radiotrial.data")
        .joinpath("transport", "reference_voxel_s_values.yaml")
        .read_text("utf-8")
    )
    return tuple(yaml.safe_load(text)["sets"])


def _octant(values: list[float]) -> npt.NDArray[np.float64]:
    by_offset = dict(zip(_ORDER, values, strict=True))
    out = np.empty((6, 6, 6))
    for i, j, k in itertools.product(range(6), repeat=3):
        out[i, j, k] = by_offset[tuple(sorted((i, j, k)))]
    return out


def _reference(nuclide: str, voxel_mm: float) -> npt.NDArray[np.float64]:
    for s in _sets():
        if s["nuclide"] == nuclide and s["voxel_mm"] == voxel_mm:
            return _octant(s["values"])
    raise KeyError((nuclide, voxel_mm))


def _cube_energy_mev(octant: npt.NDArray[np.float64], voxel_mm: float) -> float:
    """Energy per decay absorbed in the 11³ voxels around the source, MeV."""
    mass_kg = voxel_mm**3 * 1e-6 * RHO
    return float((octant * _WEIGHT).sum()) * 1e-9 * mass_kg / 1.602176634e-13


def _fractions(octant: npt.NDArray[np.float64]) -> tuple[float, float]:
    """Self and (six) face-neighbour shares of the energy absorbed in the 11³ cube."""
    total = float((octant * _WEIGHT).sum())
    return float(octant[0, 0, 0]) / total, 6.0 * float(octant[0, 0, 1]) / total


def _cases(nuclide: str) -> list[float]:
    return [s["voxel_mm"] for s in _sets() if s["nuclide"] == nuclide]


def test_reference_octants_fall_off_with_distance() -> None:
    # guards the transcription: every value decreases when any offset grows by one voxel
    assert len(_sets()) == 9
    for s in _sets():
        o = _octant(s["values"])
        assert np.all(np.diff(o, axis=0) < 0), s["voxel_mm"]


@pytest.mark.parametrize("voxel_mm", _cases("Y-90"))
def test_y90_self_and_face_s_values_match_lanconelli(voxel_mm: float) -> None:
    ref = _reference("Y-90", voxel_mm)
    ours = voxel_s_kernel("Y-90", voxel_mm, density_g_cm3=RHO, half_width=1).octant
    # Y-90 is a pure β emitter: no emission data differ; 3 % (see module notes)
    assert ours[0, 0, 0] == pytest.approx(ref[0, 0, 0], rel=0.03)
    assert ours[0, 0, 1] == pytest.approx(ref[0, 0, 1], rel=0.03)


@cache
def _lu177_beta_only(voxel_mm: float) -> npt.NDArray[np.float64]:
    """Our Lu-177 octant with β electrons only (plus all photons), ρ 1.04."""
    tissue = get_material("soft-tissue").with_density(RHO)
    beta = electron_point_kernel("Lu-177", tissue, emissions=("beta",))
    full = voxel_s_kernel("Lu-177", voxel_mm, density_g_cm3=RHO, half_width=5)
    return voxel_s_octant(beta, (voxel_mm,) * 3, 5) + full.photon_octant


@pytest.mark.parametrize("voxel_mm", _cases("Lu-177"))
def test_lu177_beta_kernel_shape_matches_lanconelli(voxel_mm: float) -> None:
    ref_self, ref_face = _fractions(_reference("Lu-177", voxel_mm))
    self_b, face_b = _fractions(_lu177_beta_only(voxel_mm))
    # energy-normalised, so independent of the emitted energy; 3 % (see module notes)
    assert self_b == pytest.approx(ref_self, rel=0.03)
    assert face_b == pytest.approx(ref_face, rel=0.03)


def test_lu177_reference_lacks_the_conversion_and_auger_electrons() -> None:
    nuc = get_nuclide("Lu-177")
    ie_auger = nuc.energy_per_decay_mev("ie") + nuc.energy_per_decay_mev("auger")
    deficits = []
    for voxel_mm in _cases("Lu-177"):
        ref = _reference("Lu-177", voxel_mm)
        full = voxel_s_kernel("Lu-177", voxel_mm, density_g_cm3=RHO, half_width=5).octant
        deficits.append(_cube_energy_mev(full, voxel_mm) - _cube_energy_mev(ref, voxel_mm))
        # with the complete ICRP-107 emission the face share misses the reference by > 6 %,
        # with β only it is within 3 % (test above): the shape is that of a β-only source
        assert _fractions(full)[1] < 0.94 * _fractions(ref)[1]
    d = np.asarray(deficits)
    # the same energy per decay is missing at 2.21–9.28 mm (spread < 5 % of it): a source
    # difference, since a transport difference would change with the voxel size; it is
    # positive and below the ICRP-107 conversion + Auger energy (0.0147 MeV)
    assert float(np.ptp(d)) < 0.05 * float(d.mean())
    assert float(d.min()) > 0.0 and float(d.max()) < ie_auger


@pytest.mark.parametrize("voxel_mm", _cases("Lu-177"))
def test_lu177_photon_voxel_s_values_match_lanconelli(voxel_mm: float) -> None:
    ref = _reference("Lu-177", voxel_mm)
    k = voxel_s_kernel("Lu-177", voxel_mm, density_g_cm3=RHO, half_width=5)
    idx = np.indices((6, 6, 6)).reshape(3, -1).T
    gap_mm = np.sqrt((np.clip(idx - 1, 0, None) ** 2).sum(axis=1)) * voxel_mm
    far = gap_mm > 2.5  # beyond every Lu-177 electron track (R_CSDA(Emax) = 1.8 mm)
    assert np.all(k.electron_octant.reshape(-1)[far] == 0.0)
    ratio = k.octant.reshape(-1)[far] / ref.reshape(-1)[far]
    # mean over ~200 photon-only voxels: 2 % covers the μ_en/ρ of two cross-section libraries
    # (≈ 1 %) and both Monte Carlo estimates; single voxels scatter by up to 7 % (2.21 mm)
    assert float(ratio.mean()) == pytest.approx(1.0, abs=0.02)
