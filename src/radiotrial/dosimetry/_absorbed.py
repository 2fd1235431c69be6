"""Absorbed dose per region and voxel, its uncertainty, BED, EUD and dose-volume histograms.

Notes
-----
Region dose is the mass-weighted mean of the voxel dose over the region's labels. Its relative
standard uncertainty follows the EANM guidance (Gear et al., EJNMMI 2018;45:2456), first-order
propagation of independent components:

u(D)/D = √[ u(Ã)²/Ã² + u_V² + u_MC² ],
u(Ã)²/Ã² = u_fit² + u_head² + u_cal² + u_RC²

- u_fit, u_head: the TAC fit covariance (count statistics and scatter through the weighted
  residuals) and the type-B spread of the TIA before the first scan
  (:mod:`radiotrial.dosimetry._tia`);
- u_cal, u_RC: camera calibration and recovery (partial-volume correction), shared by every
  session and so fully correlated between them: they scale the TIA and add in quadrature
  (:func:`radiotrial.kinetics.total_tia_sd_mbq_h`); u_RC is the change of the region's
  corrected activity when the assumed FWHM changes by its uncertainty
  (:mod:`radiotrial.dosimetry._quantify`);
- u_V: the volume. A boundary error δr of the delineation changes the mass by 3δr/r (sphere
  of the region's volume) *and*, through the partial-volume correction, the activity
  attributed to the region: an outward shift adds the shell's own activity, at the
  concentration c_out just outside the region. Activity and mass are therefore correlated
  (Gear et al. 2018 treat recovery coefficient and mass as functions of the same VOI volume);
  with D ∝ Ã/m the sensitivity is ∂ln D/∂ln V = c_out/c_in − 1, so
  u_V = |1 − c_out/c_in|·3δr/r, with δr = ``delineation_voxels`` × the voxel of the grid the
  regions were drawn on (:attr:`Study.delineation_mm`). A region with cold surroundings keeps
  the full 3δr/r; a region in equally active tissue is insensitive to its boundary;
- u_MC: the Monte Carlo standard error where that engine is used.

Not included: α/β and T_rep (the BED SD carries the dose SD only), the S-values of the dose
engines (validated separately in ``tests/transport``), and the TIA of a kinetic phase before
the first scan that the schedule never samples (a warning in the region's notes says when).

BED uses the fitted dose-rate shape: the region's dose rate is the fitted TAC scaled by D/Ã,
a sum of exponentials R(t) = Σ aᵢ e^{−λᵢt}, and BED = D(1 + G D/(α/β)) follows from
:func:`radiotrial.radiobiology.bed_sum_exponentials`; its SD is (1 + 2GD/(α/β))·u(D) (G depends
on the shape only). The BED map applies each region's G and α/β to its voxels' doses; tumour
EUD and EUBED (O'Donoghue 1999; Prideaux et al. 2007) use the voxel doses and BEDs of the
tumour with the tumour α of ``data/radiobiology.yaml``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from radiotrial.dosimetry._data import dosimetry_data, value
from radiotrial.dosimetry._quantify import Quantified
from radiotrial.dosimetry._study import Region, Study
from radiotrial.dosimetry._tia import RegionKinetics, exponential_terms
from radiotrial.imaging import Volume
from radiotrial.kinetics import total_tia_sd_mbq_h
from radiotrial.radiobiology import (
    bed_sum_exponentials,
    eqd2,
    eubed,
    eud,
    lea_catcheside_g,
    tissue_parameters,
)
from radiotrial.transport import DoseResult

__all__ = ["RegionDose", "bed_map", "dvh", "region_doses", "tissue_for", "volume_sensitivity"]

F64 = npt.NDArray[np.float64]
BQ_S_PER_MBQ_H = 3.6e9


@dataclass(frozen=True, slots=True)
class RegionDose:
    """Absorbed dose in one region for one cycle (every value ± 1 SD)."""

    name: str
    kind: str
    mass_g: float
    volume_ml: float
    tia_bq_s: float
    tia_sd_bq_s: float
    dose_gy: float
    dose_sd_gy: float
    dose_per_gbq_gy: float
    bed_gy: float | None
    eqd2_gy: float | None
    tissue: str | None
    model: str
    effective_half_life_h: float
    components_rsd: dict[str, float]
    bed_g_factor: float | None = None
    alpha_beta_gy: float | None = None
    bed_sd_gy: float | None = None
    eqd2_sd_gy: float | None = None
    eud_gy: float | None = None
    eubed_gy: float | None = None
    tia_before_first_scan_fraction: float = 0.0
    tia_after_last_scan_fraction: float = 0.0
    first_scan_deviation: float | None = None
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, object]:
        return {
            "region": self.name,
            "kind": self.kind,
            "mass_g": self.mass_g,
            "volume_ml": self.volume_ml,
            "tia_mbq_h": self.tia_bq_s / BQ_S_PER_MBQ_H,
            "tia_sd_mbq_h": self.tia_sd_bq_s / BQ_S_PER_MBQ_H,
            "dose_gy": self.dose_gy,
            "dose_sd_gy": self.dose_sd_gy,
            "dose_per_gbq_gy": self.dose_per_gbq_gy,
            "bed_gy": self.bed_gy,
            "bed_sd_gy": self.bed_sd_gy,
            "eqd2_gy": self.eqd2_gy,
            "eqd2_sd_gy": self.eqd2_sd_gy,
            "eud_gy": self.eud_gy,
            "eubed_gy": self.eubed_gy,
            "tissue": self.tissue,
            "tac_model": self.model,
            "effective_half_life_h": self.effective_half_life_h,
            "uncertainty_components_rsd": self.components_rsd,
            "bed_g_factor": self.bed_g_factor,
            "alpha_beta_gy": self.alpha_beta_gy,
            "tia_before_first_scan_fraction": self.tia_before_first_scan_fraction,
            "tia_after_last_scan_fraction": self.tia_after_last_scan_fraction,
            "first_scan_deviation": self.first_scan_deviation,
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }


def tissue_for(region: Region) -> str | None:
    """Radiobiology tissue of a reporting region (``data/dosimetry.yaml``), if any."""
    table: dict[str, str] = dosimetry_data()["tissue_of_region"]
    if region.kind == "tumour":
        return table["tumour"]
    return table.get(region.name)


def volume_sensitivity(labels: npt.NDArray[np.int64], mask_labels: tuple[int, ...], tia: F64,
                       mass_g: F64) -> float:  # fmt: skip
    """|∂ln D/∂ln V| = |1 − c_out/c_in| of a region (module notes).

    c_in is the TIA per gram inside the region, c_out that of the one-voxel shell of body
    voxels just outside it (face neighbours).
    """
    mask = np.isin(labels, mask_labels)
    found = ndimage.find_objects(mask.astype(np.int8))
    if not found or found[0] is None:
        return 1.0
    box = tuple(
        slice(max(s.start - 1, 0), min(s.stop + 1, n))
        for s, n in zip(found[0], labels.shape, strict=True)
    )
    inner = mask[box]
    shell = ndimage.binary_dilation(inner) & ~inner & (labels[box] > 0)
    m_in, m_out = float(mass_g[box][inner].sum()), float(mass_g[box][shell].sum())
    if m_in <= 0 or m_out <= 0:
        return 1.0
    c_in = float(tia[box][inner].sum()) / m_in
    c_out = float(tia[box][shell].sum()) / m_out
    return abs(1.0 - c_out / c_in) if c_in > 0 else 1.0


def _volume_rsd(volume_ml: float, boundary_mm: float, sensitivity: float) -> float:
    r_mm = (3.0 * volume_ml * 1e3 / (4.0 * math.pi)) ** (1.0 / 3.0)
    return float(
        sensitivity * 3.0 * value("uncertainty", "delineation_voxels") * boundary_mm / r_mm
    )


def region_doses(
    study: Study,
    dose: DoseResult,
    density: Volume,
    kinetics: dict[str, RegionKinetics],
    *,
    quantified: Quantified | None = None,
    tia: Volume | None = None,
    lq_overrides: dict[str, tuple[float, float]] | None = None,
) -> list[RegionDose]:
    """Dose, uncertainty, BED (± SD), and for tumours EUD/EUBED, of every reporting region.

    ``quantified`` supplies the recovery uncertainty and ``tia`` (the voxel TIA map) the
    activity outside each region for the volume-recovery correlation; without them those
    terms are 0 and 1·3δr/r (uncorrelated). ``lq_overrides`` maps a tissue to (α/β Gy, T_rep
    h) from the protocol.
    """
    lab = np.asarray(study.labels.array).astype(np.int64)
    rho = np.asarray(density.array, dtype=np.float64)
    voxel_ml = study.labels.voxel_volume_ml
    mass_per_voxel_g = rho * voxel_ml
    mass_by_label = np.bincount(lab.ravel(), weights=mass_per_voxel_g.ravel())
    energy_by_label = np.bincount(lab.ravel(), weights=(dose.dose_gy * mass_per_voxel_g).ravel())
    mc_var_by_label = np.bincount(
        lab.ravel(), weights=((dose.uncertainty_gy * mass_per_voxel_g) ** 2).ravel()
    )
    count_by_label = np.bincount(lab.ravel())
    tia_map = None if tia is None else np.asarray(tia.array, dtype=np.float64)
    a_gbq = study.administered.gbq
    u_cal = value("uncertainty", "calibration_rsd")
    out: list[RegionDose] = []
    for region in study.regions:
        lbs = [lb for lb in region.labels if lb < mass_by_label.size]
        mass = float(mass_by_label[lbs].sum())
        if mass <= 0:
            continue
        d = float(energy_by_label[lbs].sum() / mass)
        u_mc = math.sqrt(float(mc_var_by_label[lbs].sum())) / mass / d if d > 0 else 0.0
        vol = float(count_by_label[lbs].sum()) * voxel_ml
        kin = kinetics[region.name]
        tia_bq_s = kin.tia_bq_s
        u_rc = 0.0 if quantified is None else quantified.recovery_rsd(region.labels)
        tia_sd = float(
            total_tia_sd_mbq_h(
                tia_bq_s, kin.tia_sd_bq_s, calibration_rel_sd=u_cal, recovery_rel_sd=u_rc
            )
        )
        sens = (
            1.0
            if tia_map is None
            else volume_sensitivity(lab, region.labels, tia_map, mass_per_voxel_g)
        )
        u_v = _volume_rsd(vol, study.delineation_mm, sens)
        comps = {
            "tia_fit": kin.fit_rsd,
            "tia_before_first_scan": kin.extrapolation_rsd,
            "calibration": u_cal,
            "recovery": u_rc,
            "volume": u_v,
            "monte_carlo": u_mc,
        }
        rsd = math.sqrt(sum(c * c for c in comps.values()))
        tissue = tissue_for(region)
        bed = eq = g = ab = bed_sd = eq_sd = eud_gy = eubed_gy = None
        mask = np.isin(lab, lbs)
        if tissue is not None and d > 0 and tia_bq_s > 0:
            ab, trep = (lq_overrides or {}).get(tissue) or _lq(tissue)
            amps, rates = exponential_terms(kin.fit)
            # dose rate (Gy/h) = TAC (MBq) × D/Ã, with Ã in MBq·h
            scale = d / kin.fit.tia_mbq_h
            bed = float(
                bed_sum_exponentials(amps * scale, rates, alpha_beta_gy=ab, t_repair_h=trep)
            )
            g = float(lea_catcheside_g(amps * scale, rates, trep)[1])
            eq = float(eqd2(bed, alpha_beta_gy=ab))
            bed_sd = (1.0 + 2.0 * g * d / ab) * d * rsd
            eq_sd = bed_sd / (1.0 + 2.0 / ab)
            alpha = tissue_parameters(tissue).alpha_per_gy
            if region.kind == "tumour" and alpha is not None:
                voxel_d = dose.dose_gy[mask]
                weights = mass_per_voxel_g[mask]
                eud_gy = eud(voxel_d, alpha_per_gy=alpha, volumes=weights)
                eubed_gy = eubed(
                    voxel_d * (1.0 + g * voxel_d / ab), alpha_per_gy=alpha, volumes=weights
                )
        half_lives = kin.fit.effective_half_lives_h
        out.append(
            RegionDose(
                name=region.name,
                kind=region.kind,
                mass_g=mass,
                volume_ml=vol,
                tia_bq_s=tia_bq_s,
                tia_sd_bq_s=tia_sd,
                dose_gy=d,
                dose_sd_gy=d * rsd,
                dose_per_gbq_gy=d / a_gbq,
                bed_gy=bed,
                eqd2_gy=eq,
                tissue=tissue,
                model=kin.fit.model,
                effective_half_life_h=float(half_lives[0]) if half_lives else float("nan"),
                components_rsd=comps,
                bed_g_factor=g,
                alpha_beta_gy=ab,
                bed_sd_gy=bed_sd,
                eqd2_sd_gy=eq_sd,
                eud_gy=eud_gy,
                eubed_gy=eubed_gy,
                tia_before_first_scan_fraction=kin.before_first_scan_fraction,
                tia_after_last_scan_fraction=kin.after_last_scan_fraction,
                first_scan_deviation=kin.first_scan_deviation,
                notes=kin.notes,
                warnings=kin.warnings,
            )
        )
    return out


def bed_map(study: Study, dose_gy: F64, regions: list[RegionDose]) -> F64:
    """Voxel BED (Gy): each voxel's dose with its region's dose-rate shape G and α/β.

    BED_v = D_v (1 + G D_v/(α/β)); voxels of regions without radiobiology parameters are 0.
    """
    lab = np.asarray(study.labels.array)
    spec = {r.name: r for r in study.regions}
    out = np.zeros(lab.shape, dtype=np.float64)
    d = np.asarray(dose_gy, dtype=np.float64)
    for r in regions:
        if r.bed_g_factor is None or r.alpha_beta_gy is None:
            continue
        mask = np.isin(lab, spec[r.name].labels)
        out[mask] = d[mask] * (1.0 + r.bed_g_factor * d[mask] / r.alpha_beta_gy)
    return out


def _lq(tissue: str) -> tuple[float, float]:
    p = tissue_parameters(tissue)
    return p.alpha_beta_gy, p.t_repair_h


def dvh(
    dose_gy: F64, mask: npt.NDArray[np.bool_], *, bins: int = 200, max_gy: float | None = None
) -> tuple[F64, F64]:
    """Cumulative dose-volume histogram of the voxels in ``mask``.

    Returns
    -------
    dose_gy : (bins,) ndarray
        Dose levels from 0 to ``max_gy`` (default the maximum in the mask).
    volume_fraction : (bins,) ndarray
        Fraction of the region's voxels receiving at least each dose level.
    """
    values = np.asarray(dose_gy)[mask]
    if values.size == 0:
        return np.zeros(bins), np.zeros(bins)
    top = float(values.max()) if max_gy is None else max_gy
    levels = np.linspace(0.0, top if top > 0 else 1.0, bins)
    sorted_values = np.sort(values)
    at_least = values.size - np.searchsorted(sorted_values, levels, side="left")
    return levels, at_least / values.size
