"""Measure how the dose engines differ, overall and at lung and bone interfaces."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from radiotrial.transport._ct import ct_to_materials
from radiotrial.transport._engines import DoseResult, compute_dose

__all__ = ["compare_engines", "format_comparison", "interface_masks", "main"]


def interface_masks(ct_hu: npt.ArrayLike) -> dict[str, npt.NDArray[np.bool_]]:
    """Voxels on either side of lung/soft-tissue and bone/soft-tissue boundaries.

    "Soft tissue" here is every soft class of the HU calibration (soft tissue, adipose, water).

    Returns masks ``lung_at_interface`` (lung voxels with a soft-tissue face neighbour),
    ``tissue_at_lung``, ``bone_at_interface`` and ``tissue_at_bone``, from the HU calibration.
    """
    idx, _, mats = ct_to_materials(ct_hu)
    names = np.array([m.name for m in mats])[idx]
    lung = names == "lung"
    bone = names == "bone"
    tissue = np.isin(names, ["soft-tissue", "adipose", "water"])
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


def format_comparison(summary: dict[str, Any], region_names: dict[int, str] | None = None) -> str:
    """Markdown tables of a :func:`compare_engines` summary: ratios to the MC dose.

    One row per region (MC mean dose, LED/MC, kernel/MC with the MC relative standard error)
    and one per interface set (voxels, LED/MC, kernel/MC, photon share of the MC dose).
    """
    names = region_names or {}
    mc = summary["results"]["mc"]
    lines = [
        "| region | MC dose (Gy) | MC rel. SE | LED/MC | kernel/MC |",
        "|---|---|---|---|---|",
    ]
    for r, row in summary["regions"].items():
        se = mc.region_uncertainty_gy.get(r, float("nan")) / row["mc"]
        lines.append(
            f"| {names.get(r, str(r))} | {row['mc']:.4g} | {se:.1%} | "
            f"{row['led'] / row['mc']:.2f} | {row['kernel'] / row['mc']:.2f} |"
        )
    lines += [
        "",
        "| interface set | voxels | LED/MC | kernel/MC | MC photon share |",
        "|---|---|---|---|---|",
    ]
    for name, row in summary["interfaces"].items():
        lines.append(
            f"| {name} | {int(row['voxels'])} | {row['led'] / row['mc']:.2f} | "
            f"{row['kernel'] / row['mc']:.2f} | {row['mc_photon_fraction']:.0%} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Regenerate the virtual-patient engine comparison of docs/dosimetry-methods.md.

    ``python -m radiotrial.transport._compare [--histories N] [--seed S] [--spacing-mm H]``
    builds the female virtual patient (``radiotrial.phantom.make_patient``, seed 1, no image
    noise, 177Lu-NeoB TIA), runs the three engines and prints the tables.
    """
    import argparse

    from radiotrial.phantom import make_patient

    ap = argparse.ArgumentParser(prog="python -m radiotrial.transport._compare")
    ap.add_argument("--histories", type=int, default=4_000_000)
    ap.add_argument("--seed", type=int, default=1, help="patient and Monte Carlo seed")
    ap.add_argument("--spacing-mm", type=float, default=4.8)
    ap.add_argument("--sex", choices=["female", "male"], default="female")
    args = ap.parse_args(argv)
    p = make_patient(
        seed=args.seed, sex=args.sex, time_points_h=[24], spacing_mm=args.spacing_mm, noise=False
    )
    summary = compare_engines(
        p.tia_voxel,
        nuclide="Lu-177",
        ct_hu=p.anatomy.ct,
        labels=p.anatomy.labels,
        n_histories=args.histories,
        seed=args.seed,
    )
    names = {r.label: r.name for r in p.anatomy.regions}
    print(
        f"virtual patient ({args.sex}, seed {args.seed}, {args.spacing_mm:g} mm), Lu-177, "
        f"{args.histories} MC histories"
    )
    print(format_comparison(summary, names))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
