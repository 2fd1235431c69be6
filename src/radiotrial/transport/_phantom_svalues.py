"""Organ S-value matrices (target ← source) for radiotrial's female and male reference phantoms.

Notes
-----
For each source region of the virtual anatomy (:func:`radiotrial.phantom.make_anatomy`, ICRP-89
reference masses), 1 MBq·h is distributed uniformly per unit mass over the region and the dose is
computed with a radiotrial dose engine (kernel convolution by default; ``method="mc"`` for the
Monte Carlo engine). S(t ← s) is the mass-weighted mean dose in target t, mGy/(MBq·h), stored
separately for electrons and photons. Matrices are cached as JSON data files
(``data/transport/phantom_s_values_<sex>_<nuclide>.json``) and regenerated with
``python -m radiotrial.transport._phantom_svalues``.

Mass scaling to a patient (MIRD practice; Stabin, J. Nucl. Med. 2008): the self-dose electron part
scales with m_ref/m_patient, the self-dose photon part with (m_ref/m_patient)^(2/3), cross-doses
are kept.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from radiotrial.errors import InputFileError, ValidationError
from radiotrial.nuclides import get_nuclide

__all__ = ["PhantomSMatrix", "compute_phantom_s_matrix", "load_phantom_s_matrix"]


@dataclass(frozen=True)
class PhantomSMatrix:
    """S-values between the regions of a reference phantom.

    Attributes
    ----------
    regions : tuple of str
        Region names; rows are targets, columns sources.
    masses_g : (R,) ndarray
        Region masses in the phantom, g.
    electron, photon : (R, R) ndarray
        S(target ← source) components, mGy/(MBq h).
    """

    nuclide: str
    sex: str
    regions: tuple[str, ...]
    masses_g: npt.NDArray[np.float64]
    electron: npt.NDArray[np.float64]
    photon: npt.NDArray[np.float64]
    metadata: dict[str, Any]

    @property
    def total(self) -> npt.NDArray[np.float64]:
        """S(target ← source), mGy/(MBq h)."""
        return np.asarray(self.electron + self.photon)

    def s_value(self, target: str, source: str) -> float:
        """One S-value, mGy/(MBq h)."""
        for name in (target, source):
            if name not in self.regions:
                raise ValidationError(
                    "region", name, f"not a phantom region; use one of {', '.join(self.regions)}"
                )
        return float(self.total[self.regions.index(target), self.regions.index(source)])

    def scaled(self, masses_g: dict[str, float]) -> PhantomSMatrix:
        """Mass-scale the self-dose terms to patient organ masses (g), see module notes."""
        e = self.electron.copy()
        p = self.photon.copy()
        for name, m in masses_g.items():
            if name not in self.regions:
                raise ValidationError("masses_g", name, "not a phantom region")
            if not m > 0:
                raise ValidationError(f"masses_g[{name!r}]", m, "mass must be positive")
            i = self.regions.index(name)
            ratio = self.masses_g[i] / m
            e[i, i] *= ratio
            p[i, i] *= ratio ** (2.0 / 3.0)
        masses = self.masses_g.copy()
        for name, m in masses_g.items():
            masses[self.regions.index(name)] = m
        return PhantomSMatrix(
            self.nuclide,
            self.sex,
            self.regions,
            masses,
            e,
            p,
            {**self.metadata, "mass_scaled": True},
        )


def compute_phantom_s_matrix(
    sex: Literal["female", "male"],
    nuclide: str = "Lu-177",
    *,
    spacing_mm: float = 4.8,
    method: Literal["kernel", "mc"] = "kernel",
    n_histories: int = 400_000,
    progress: Any = None,
) -> PhantomSMatrix:
    """Compute the S-value matrix of a reference phantom with a dose engine (see module notes)."""
    from radiotrial.phantom import make_anatomy
    from radiotrial.transport._engines import compute_dose

    nuc = get_nuclide(nuclide)
    anat = make_anatomy(sex=sex, spacing_mm=spacing_mm)
    labels = np.asarray(anat.labels.array).astype(np.int64)
    density = np.asarray(anat.density.array, dtype=np.float64)
    regions = [r for r in anat.regions if r.kind != "tumour" and np.any(labels == r.label)]
    voxel_g = float(np.prod(anat.labels.spacing_mm)) * 1e-3
    masses = np.array([float(density[labels == r.label].sum() * voxel_g) for r in regions])
    n = len(regions)
    s_e = np.zeros((n, n))
    s_p = np.zeros((n, n))
    for j, src in enumerate(regions):
        sel = labels == src.label
        tia = np.zeros(labels.shape)
        tia[sel] = density[sel] / density[sel].sum()  # 1 MBq h, uniform per mass
        res = compute_dose(
            tia,
            nuclide=nuc.name,
            spacing_mm=anat.labels.spacing_mm,
            ct_hu=anat.ct,
            density_g_cm3=density,
            method=method,
            n_histories=n_histories,
        )
        mass_v = density * voxel_g
        for i, tgt in enumerate(regions):
            m = labels == tgt.label
            w = mass_v[m]
            s_e[i, j] = float((res.electron_dose_gy[m] * w).sum() / w.sum()) * 1e3
            s_p[i, j] = float((res.photon_dose_gy[m] * w).sum() / w.sum()) * 1e3
        if progress is not None:
            progress(f"{sex} {src.name}: {j + 1}/{n}")
    meta = {
        "method": method,
        "spacing_mm": spacing_mm,
        "generated": datetime.date.today().isoformat(),
        "regenerate": "python -m radiotrial.transport._phantom_svalues",
        "unit": "mGy/(MBq h)",
        "anatomy": "radiotrial.phantom.make_anatomy (ICRP-89 reference masses)",
    }
    return PhantomSMatrix(nuc.name, sex, tuple(r.name for r in regions), masses, s_e, s_p, meta)


def _file_name(sex: str, nuclide: str) -> str:
    return f"phantom_s_values_{sex}_{get_nuclide(nuclide).name}.json"


def save_phantom_s_matrix(s: PhantomSMatrix, path: str | None = None) -> str:
    """Write a matrix as JSON (atomically); default: the package data folder."""
    if path is None:
        path = str(
            resources.files("radiotrial.data").joinpath("transport", _file_name(s.sex, s.nuclide))
        )
    data = {
        "nuclide": s.nuclide,
        "sex": s.sex,
        "regions": list(s.regions),
        "masses_g": s.masses_g.tolist(),
        "electron_mgy_per_mbq_h": s.electron.tolist(),
        "photon_mgy_per_mbq_h": s.photon.tolist(),
        "metadata": s.metadata,
    }
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=1)
    os.replace(tmp, path)
    return path


def load_phantom_s_matrix(
    sex: Literal["female", "male"], nuclide: str = "Lu-177"
) -> PhantomSMatrix:
    """Load a cached matrix from the package data.

    Raises
    ------
    InputFileError
        If no cached matrix exists for this sex and nuclide (compute it with
        :func:`compute_phantom_s_matrix`).
    """
    if sex not in ("female", "male"):
        raise ValidationError("sex", sex, "use female or male")
    ref = resources.files("radiotrial.data").joinpath("transport", _file_name(sex, nuclide))
    if not ref.is_file():
        raise InputFileError(
            str(ref),
            "no cached phantom S-values; run python -m radiotrial.transport._phantom_svalues",
        )
    data = json.loads(ref.read_text("utf-8"))
    return PhantomSMatrix(
        data["nuclide"],
        data["sex"],
        tuple(data["regions"]),
        np.asarray(data["masses_g"], dtype=np.float64),
        np.asarray(data["electron_mgy_per_mbq_h"], dtype=np.float64),
        np.asarray(data["photon_mgy_per_mbq_h"], dtype=np.float64),
        dict(data["metadata"]),
    )


if __name__ == "__main__":  # pragma: no cover
    for sex_ in ("female", "male"):
        matrix = compute_phantom_s_matrix(sex_, "Lu-177", progress=print)
        print(save_phantom_s_matrix(matrix))
