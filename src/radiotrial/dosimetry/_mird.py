"""Organ-level MIRD dose with S-value matrices, and the sphere model for tumours.

Notes
-----
MIRD schema (Bolch et al., MIRD Pamphlet No. 21, J Nucl Med 2009;50:477): the mean absorbed dose
to target t is D_t = Σ_s Ã_s S(t ← s). S comes from radiotrial's reference-phantom matrices
(:mod:`radiotrial.transport`, computed with its own engines and mass-scaled to the patient's
organ masses: self-dose electrons ∝ 1/m, photons ∝ m^(−2/3), cross-doses kept) or from a user's
CSV table. Tumours use the sphere model: D = Ã S_sphere(m, ρ) (self-dose only).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from radiotrial.errors import InputFileError
from radiotrial.transport import PhantomSMatrix, load_phantom_s_matrix, sphere_s_value

__all__ = [
    "load_s_table_csv",
    "mird_label_dose_sds",
    "mird_label_doses",
    "phantom_s_matrix",
    "sphere_dose_gy",
]

_UNIT_TO_MGY_PER_MBQ_H = {"mGy/(MBq*h)": 1.0, "mGy/(MBq*s)": 3600.0, "Gy/(Bq*s)": 3.6e12}


def phantom_s_matrix(sex: str, nuclide: str) -> PhantomSMatrix:
    """radiotrial's reference-phantom S matrix for ``sex`` and ``nuclide`` (cached data)."""
    return load_phantom_s_matrix("male" if sex == "male" else "female", nuclide)


def load_s_table_csv(path: str | Path, *, nuclide: str) -> PhantomSMatrix:
    """Read a user's S-value table.

    Columns: ``target``, ``source``, ``s_value``, ``unit`` (``mGy/(MBq*h)``, ``mGy/(MBq*s)`` or
    ``Gy/(Bq*s)``) and, for mass scaling, ``target_mass_g`` on the self-dose rows. The table is
    treated as electron-like for mass scaling (∝ 1/m) since it gives no photon split.

    Raises
    ------
    InputFileError
        Missing columns, unknown units, non-numeric or negative values, naming the row.
    """
    p = Path(path)
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(str(p), f"cannot read the S-value table ({exc})") from None
    needed = {"target", "source", "s_value", "unit"}
    if not rows or not needed <= set(rows[0]):
        raise InputFileError(str(p), f"needs columns {sorted(needed)} (and optional target_mass_g)")
    regions = sorted({r["target"] for r in rows} | {r["source"] for r in rows})
    index = {n: i for i, n in enumerate(regions)}
    s = np.zeros((len(regions), len(regions)))
    masses = np.full(len(regions), np.nan)
    for line, r in enumerate(rows, start=2):
        unit = r["unit"].strip()
        if unit not in _UNIT_TO_MGY_PER_MBQ_H:
            raise InputFileError(
                str(p), f"row {line}: unit {unit!r} not one of {list(_UNIT_TO_MGY_PER_MBQ_H)}"
            )
        try:
            value = float(r["s_value"])
            mass = float(r["target_mass_g"]) if r.get("target_mass_g") else None
        except ValueError:
            raise InputFileError(
                str(p), f"row {line}: s_value/target_mass_g must be numbers"
            ) from None
        if not value >= 0 or (mass is not None and not mass > 0):
            raise InputFileError(str(p), f"row {line}: S must be ≥ 0 and masses > 0")
        s[index[r["target"]], index[r["source"]]] = value * _UNIT_TO_MGY_PER_MBQ_H[unit]
        if mass is not None:
            masses[index[r["target"]]] = mass
    return PhantomSMatrix(
        nuclide=nuclide,
        sex="custom",
        regions=tuple(regions),
        masses_g=masses,
        electron=s,
        photon=np.zeros_like(s),
        metadata={"source": str(p)},
    )


def _scaled(masses_g: dict[str, float], s: PhantomSMatrix) -> PhantomSMatrix:
    scalable = {
        n: m
        for n, m in masses_g.items()
        if n in s.regions and np.isfinite(s.masses_g[s.regions.index(n)])
    }
    return s.scaled(scalable) if scalable else s


def mird_label_doses(
    tia_bq_s: dict[str, float], masses_g: dict[str, float], s: PhantomSMatrix
) -> dict[str, float]:
    """Mean dose (Gy) of every target region of ``s`` from region TIAs (Bq·s) by MIRD.

    Regions of the TIA missing from the matrix are ignored (reported by the caller); masses of
    matrix regions known in ``masses_g`` scale the self-dose terms.
    """
    scaled = _scaled(masses_g, s)
    a = np.array([tia_bq_s.get(n, 0.0) / 3.6e9 for n in scaled.regions])  # MBq·h
    dose_mgy = scaled.total @ a
    return {n: float(d) * 1e-3 for n, d in zip(scaled.regions, dose_mgy, strict=True)}


def mird_label_dose_sds(
    tia_sd_bq_s: dict[str, float], masses_g: dict[str, float], s: PhantomSMatrix
) -> dict[str, float]:
    """SD (Gy) of :func:`mird_label_doses` from the source TIA SDs (Bq·s).

    u(D_t)² = Σ_s (S(t←s) u(Ã_s))²: first-order propagation with independent source TIAs
    (the S-values themselves are taken as exact).
    """
    scaled = _scaled(masses_g, s)
    u = np.array([tia_sd_bq_s.get(n, 0.0) / 3.6e9 for n in scaled.regions])
    sd_mgy = np.sqrt((scaled.total**2) @ (u**2))
    return {n: float(v) * 1e-3 for n, v in zip(scaled.regions, sd_mgy, strict=True)}


def sphere_dose_gy(nuclide: str, tia_bq_s: float, mass_g: float, density_g_cm3: float) -> float:
    """Self-dose of a uniformly filled sphere (tumour) from its TIA, Gy."""
    rho = min(max(density_g_cm3, 0.3), 2.0)
    s = sphere_s_value(
        nuclide, min(max(mass_g, 0.01), 5000.0), density_g_cm3=rho, n_photon_histories=20_000
    )
    return tia_bq_s / 3.6e9 * s.s_mgy_per_mbq_h * 1e-3
