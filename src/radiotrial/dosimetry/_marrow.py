"""Red-marrow absorbed dose: the blood-based and the image-based method.

Notes
-----
Both methods give the red-marrow self-dose D = Ã_RM · S(RM←RM), with S from the sphere model of
:mod:`radiotrial.transport` for the red-marrow mass (cross-dose from the rest of the body is not
included; for 177Lu it is a few per cent of the self-dose for peptides, EANM guideline,
Hindorf et al., EJNMMI 2010;37:1238).

Blood-based (Sgouros, J Nucl Med 1993;34:689; EANM 2010): the red-marrow activity concentration
equals RMBLR times the blood concentration, so Ã_RM = RMBLR · ã_blood · m_RM/ρ_RM, with ã_blood
the time-integrated blood activity concentration (Bq·s/mL) from blood samples (or, here, from
the image-derived blood pool).

Image-based: the partial-volume-corrected TIA of the imaged marrow-containing bone sites, whose
share f of the whole-body red marrow is anatomical data, gives the concentration Ã_sites/m_sites
and Ã_RM = Ã_sites · m_RM/m_sites.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from radiotrial.dosimetry._data import value
from radiotrial.errors import ValidationError
from radiotrial.kinetics import fit_tac
from radiotrial.transport import sphere_s_value

__all__ = ["MarrowDose", "red_marrow_blood_based", "red_marrow_image_based"]


@dataclass(frozen=True, slots=True)
class MarrowDose:
    """Red-marrow dose by one method."""

    method: str
    tia_bq_s: float
    tia_sd_bq_s: float
    mass_g: float
    dose_gy: float
    dose_sd_gy: float

    def as_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "tia_mbq_h": self.tia_bq_s / 3.6e9,
            "tia_sd_mbq_h": self.tia_sd_bq_s / 3.6e9,
            "mass_g": self.mass_g,
            "dose_gy": self.dose_gy,
            "dose_sd_gy": self.dose_sd_gy,
        }


def _self_dose(nuclide: str, tia_bq_s: float, mass_g: float) -> float:
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
) -> MarrowDose:
    """Red-marrow dose from blood activity concentrations (Bq/mL) at ``times_h``."""
    conc = np.asarray(blood_bq_per_ml, dtype=np.float64)
    if conc.ndim != 1 or np.any(conc <= 0) or not np.all(np.isfinite(conc)):
        raise ValidationError(
            "blood_bq_per_ml", conc.tolist(), "blood concentrations must be finite and > 0"
        )
    if marrow_mass_g <= 0:
        raise ValidationError("marrow_mass_g", marrow_mass_g, "must be > 0")
    ratio = value("red_marrow", "rmblr") if rmblr is None else rmblr
    fit = fit_tac(times_h, conc * 1e-6, nuclide=nuclide)  # "MBq"/mL
    rho = value("red_marrow", "density_g_cm3")
    tia = ratio * fit.tia_mbq_h * 3.6e9 * marrow_mass_g / rho
    tia_sd = ratio * fit.tia_sd_mbq_h * 3.6e9 * marrow_mass_g / rho
    dose = _self_dose(nuclide, tia, marrow_mass_g)
    rsd = tia_sd / tia if np.isfinite(tia_sd) else 0.0
    return MarrowDose("blood", tia, tia_sd, marrow_mass_g, dose, dose * rsd)


def red_marrow_image_based(
    sites_tia_bq_s: float,
    sites_tia_sd_bq_s: float,
    *,
    nuclide: str,
    sites_marrow_mass_g: float,
    marrow_mass_g: float,
) -> MarrowDose:
    """Red-marrow dose from the TIA of imaged marrow sites holding ``sites_marrow_mass_g``."""
    if sites_marrow_mass_g <= 0 or marrow_mass_g <= 0:
        raise ValidationError(
            "marrow_mass_g", (sites_marrow_mass_g, marrow_mass_g), "marrow masses must be > 0"
        )
    scale = marrow_mass_g / sites_marrow_mass_g
    tia = sites_tia_bq_s * scale
    dose = _self_dose(nuclide, tia, marrow_mass_g)
    rsd = sites_tia_sd_bq_s / sites_tia_bq_s if sites_tia_bq_s > 0 else 0.0
    return MarrowDose("image", tia, sites_tia_sd_bq_s * scale, marrow_mass_g, dose, dose * rsd)
