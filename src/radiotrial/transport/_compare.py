"""Measure how the dose engines differ, overall and at lung and bone interfaces."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from radiotrial.transport._ct import ct_to_materials
from radiotrial.transport._engines import DoseResult, compute_dose

__all__ = ["compare_engines", "interface_masks"]


def interface_masks(ct_hu: npt.ArrayLike) -> dict[str, npt.NDArray[np.bool_]]:
    """Voxels on either side of lung/soft-tissue and bone/soft-tissue boundaries.

    Returns masks ``lung_at_interface`` (lung voxels with a soft-tissue face neighbour),
    ``tissue_at_lung``, ``bone_at_interface`` and ``tissue_at_bone``, from the HU calibration.
    """
    idx, _, mats = ct_to_materials(ct_hu)
    names = np.array([m.name for m in mats])[idx]
    lung = names == "lung"
    bone = names == "bone"
    tissue = np.isin(names, ["soft-tissue", "adipose"])
    grow = ndimage.generate_binary_structure(3, 1)
    return {
        "lung_at_interface": lung & ndimage.binary_dilation(tissue, grow),
        "tissue_at_lung": tissue & ndimage.binary_dilation(lung, grow),
        "bone_at_interface": bone & ndimage.binary_dilation(tissue, grow),
        "tissue_at_bone": tissue & ndimage.binary_dilation(bone, grow),
    }


def compare_engines(
    tia: Any,
    *,
    nuclide: str,
    ct_hu: Any,
    spacing_mm: Any = None,
    labels: Any = None,
    n_histories: int = 1_000_000,
    seed: int = 1,
) -> dict[str, Any]:
    """Run LED, kernel and MC on one case and summarise their differences.

    Returns
    -------
    dict
        ``results`` (method → DoseResult), ``interfaces`` (mask → method → mean dose, Gy) and
        ``regions`` (label → method → mean dose, Gy). Interface means are taken twice: over
        the mask's voxels that receive at least 0.1 % of the maximum kernel-engine dose
        (``<mask>``), and
        over those of them that hold no activity (``<mask>/cross``), where only dose carried
        across the interface counts and the engines differ most.
    """
    results: dict[str, DoseResult] = {}
    for method in ("led", "kernel", "mc"):
        results[method] = compute_dose(
            tia,
            nuclide=nuclide,
            ct_hu=ct_hu,
            spacing_mm=spacing_mm,
            labels=labels,
            method=method,
            n_histories=n_histories,
            seed=seed,
        )
    ct = np.asarray(getattr(ct_hu, "array", ct_hu), dtype=np.float64)
    ref = results["mc"].dose_gy
    # select on the deterministic kernel dose: selecting on the noisy MC dose itself would
    # bias the MC mean upwards
    sel_dose = results["kernel"].dose_gy
    hot = sel_dose >= 1e-3 * float(sel_dose.max())
    tia_arr = np.asarray(getattr(tia, "array", tia), dtype=np.float64)
    interfaces: dict[str, dict[str, float]] = {}
    for name, mask in interface_masks(ct).items():
        for suffix, sel in (("", mask & hot), ("/cross", mask & hot & (tia_arr == 0))):
            if not np.any(sel):
                continue
            row = {m: float(r.dose_gy[sel].mean()) for m, r in results.items()}
            row["voxels"] = float(sel.sum())
            row["mc_photon_fraction"] = float(
                results["mc"].photon_dose_gy[sel].mean() / max(ref[sel].mean(), 1e-300)
            )
            interfaces[name + suffix] = row
    regions = {
        int(r): {m: res.region_mean_gy.get(int(r), float("nan")) for m, res in results.items()}
        for r in results["mc"].region_mean_gy
    }
    return {"results": results, "interfaces": interfaces, "regions": regions}
