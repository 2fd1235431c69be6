"""Red-marrow absorbed dose: the blood-based and the image-based method.

Notes
-----
Both methods give the red-marrow self-dose D = Ã_RM · S(RM←RM), with S from the sphere model of
:mod:`radiotrial.transport` for the red-marrow mass (cross-dose from the rest of the body is not
included; for 177Lu it is a few per cent of the self-dose for peptides, EANM guideline,
Hindorf et al., EJNMMI 2010;37:1238).

Blood-based (Sgouros, J Nucl Med 1993;34:689; EANM 2010): the red-marrow activity concentration
equals RMBLR times the blood concentration, so Ã_RM = RMBLR · ã_blood · m_RM/ρ_RM, with ã_blood
the time-integrated blood activity concentration (Bq·s/mL) from blood samples or, without
them, from the image-derived blood pool (the heart), which sees only the imaging times.

Image-based: the partial-volume-corrected TIA of the imaged marrow-containing bone sites, whose
share f of the whole-body red marrow is anatomical data, gives the concentration Ã_sites/m_sites
and Ã_RM = Ã_sites · m_RM/m_sites.

Uncertainty: the TIA SD of the blood curve (its fit, with the documented fallback where the
fit has no residual degrees of freedom) or of the bone sites (all components of
:func:`radiotrial.dosimetry.region_doses`), carried to the dose; image-derived blood also
carries the camera calibration and the heart's recovery uncertainty. Not included: RMBLR
itself, the anatomical marrow shares and the reference marrow mass (population values).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from radiotrial.dosimetry._data import value
from radiotrial.dosimetry._tia import fit_rsd
from radiotrial.errors import ValidationError
from radiotrial.kinetics import FitWarning, fit_tac
from radiotrial.transport import sphere_s_value

__all__ = [
    "MarrowDose",
    "planning_marrow",
    "planning_marrow_row",
    "red_marrow_blood_based",
    "red_marrow_image_based",
    "self_dose_gy",
]


@dataclass(frozen=True, slots=True)
class MarrowDose:
    """Red-marrow dose by one method."""

    method: str
    tia_bq_s: float
    tia_sd_bq_s: float
    mass_g: float
    dose_gy: float
    dose_sd_gy: float
    source: str = ""
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "source": self.source,
            "tia_mbq_h": self.tia_bq_s / 3.6e9,
            "tia_sd_mbq_h": self.tia_sd_bq_s / 3.6e9,
            "mass_g": self.mass_g,
            "dose_gy": self.dose_gy,
            "dose_sd_gy": self.dose_sd_gy,
            "notes": list(self.notes),
        }


def self_dose_gy(nuclide: str, tia_bq_s: float, mass_g: float) -> float:
    """Red-marrow self-dose (Gy) of ``tia_bq_s`` in ``mass_g`` (sphere model at 1.03 g/cm³)."""
    rho = value("red_marrow", "density_g_cm3")
    s = sphere_s_value(nuclide, mass_g, density_g_cm3=rho, n_photon_histories=20_000)
    return tia_bq_s / 3.6e9 * s.s_mgy_per_mbq_h * 1e-3


def red_marrow_blood_based(
    times_h: npt.ArrayLike,
    blood_bq_per_ml: npt.ArrayLike,
    *,
    nuclide: str,
    marrow_mass_g: float,
    rmblr: float | None = None,
    image_derived: bool = False,
    calibration_rel_sd: float = 0.0,
    recovery_rel_sd: float = 0.0,
    source: str = "blood samples",
) -> MarrowDose:
    """Red-marrow dose from blood activity concentrations (Bq/mL) at ``times_h``.

    Method ``"blood"`` for measured samples, ``"blood_pool_image"`` with ``image_derived``
    (the heart's concentration at the imaging times). ``calibration_rel_sd`` and
    ``recovery_rel_sd`` (shared by every value) apply to an image-derived blood pool.
    """
    conc = np.asarray(blood_bq_per_ml, dtype=np.float64)
    if conc.ndim != 1 or np.any(conc <= 0) or not np.all(np.isfinite(conc)):
        raise ValidationError(
            "blood_bq_per_ml", conc.tolist(), "blood concentrations must be finite and > 0"
        )
    if marrow_mass_g <= 0:
        raise ValidationError("marrow_mass_g", marrow_mass_g, "must be > 0")
    ratio = value("red_marrow", "rmblr") if rmblr is None else rmblr
    with warnings.catch_warnings():
        # a fit without an estimable SD gets the documented fallback of fit_rsd (noted)
        warnings.simplefilter("ignore", FitWarning)
        fit = fit_tac(times_h, conc * 1e-6, nuclide=nuclide)  # "MBq"/mL
    rho = value("red_marrow", "density_g_cm3")
    tia = ratio * fit.tia_mbq_h * 3.6e9 * marrow_mass_g / rho
    rsd, fallback = fit_rsd(fit, None)
    rsd = math.sqrt(rsd**2 + calibration_rel_sd**2 + recovery_rel_sd**2)
    dose = self_dose_gy(nuclide, tia, marrow_mass_g)
    notes = (*fit.notes, *([fallback] if fallback else []))
    method = "blood_pool_image" if image_derived else "blood"
    return MarrowDose(method, tia, tia * rsd, marrow_mass_g, dose, dose * rsd, source, notes)


def red_marrow_image_based(
    sites_tia_bq_s: float,
    sites_tia_sd_bq_s: float,
    *,
    nuclide: str,
    sites_marrow_mass_g: float,
    marrow_mass_g: float,
    first_scan_h: float | None = None,
) -> MarrowDose:
    """Red-marrow dose from the TIA (± SD) of imaged marrow sites holding ``sites_marrow_mass_g``.

    ``first_scan_h`` adds the note that blood-borne marrow activity before the first scan is
    only extrapolated.
    """
    if sites_marrow_mass_g <= 0 or marrow_mass_g <= 0:
        raise ValidationError(
            "marrow_mass_g", (sites_marrow_mass_g, marrow_mass_g), "marrow masses must be > 0"
        )
    if not (math.isfinite(sites_tia_sd_bq_s) and sites_tia_sd_bq_s >= 0):
        raise ValidationError(
            "sites_tia_sd_bq_s", sites_tia_sd_bq_s, "give a finite SD (0 only if known exactly)"
        )
    scale = marrow_mass_g / sites_marrow_mass_g
    tia = sites_tia_bq_s * scale
    dose = self_dose_gy(nuclide, tia, marrow_mass_g)
    rsd = sites_tia_sd_bq_s / sites_tia_bq_s if sites_tia_bq_s > 0 else 0.0
    notes: tuple[str, ...] = ()
    if first_scan_h is not None:
        notes = (
            f"blood-borne marrow activity before the first scan ({first_scan_h:g} h), the "
            "blood distribution phase, is extrapolated, not imaged; blood samples from minutes "
            "after injection measure it",
        )
    return MarrowDose(
        "image",
        tia,
        sites_tia_sd_bq_s * scale,
        marrow_mass_g,
        dose,
        dose * rsd,
        "imaged bone sites",
        notes,
    )


def planning_marrow(marrow: list[MarrowDose]) -> MarrowDose | None:
    """The red-marrow result the next-cycle plan uses.

    The blood-based result from blood samples (the EANM reference method) where there is one;
    otherwise the larger dose of the available methods, conservative for an organ at risk
    whose early (blood-borne) kinetics the images do not see.
    """
    sampled = next((m for m in marrow if m.method == "blood"), None)
    return sampled or max(marrow, key=lambda m: m.dose_gy, default=None)


def planning_marrow_row(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The ``red_marrow`` entry of a ``results.json`` that the plan uses.

    ``red_marrow_for_planning`` names it; results written before that key existed used the
    image-based estimate (else the first one).
    """
    rows = [m for m in doc.get("red_marrow") or [] if isinstance(m, dict)]
    if "red_marrow_for_planning" in doc:
        chosen = doc["red_marrow_for_planning"]
        return next((m for m in rows if m.get("method") == chosen), None)
    return next((m for m in rows if m.get("method") == "image"), None) or next(iter(rows), None)
