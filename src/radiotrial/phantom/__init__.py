"""Virtual patients with known ground truth for 177Lu-NeoB dosimetry.

Parametric adult anatomy (ICRP-89 masses) with tumours, seeded 177Lu-NeoB biokinetics with
analytic time-integrated activities, and image-space simulation of serial quantitative SPECT/CT
(attenuation, system resolution, Poisson noise, calibration, patient motion).

Examples
--------
>>> from radiotrial.phantom import make_patient
>>> p = make_patient(seed=1, spacing_mm=9.6, time_points_h=[24])  # doctest: +SKIP
>>> p.time_points[0].spect.units
'Bq/mL'
"""

from __future__ import annotations

from radiotrial.phantom._anatomy import (
    REMAINDER_LABEL,
    Anatomy,
    BodySize,
    Region,
    Sex,
    Structure,
    body_size,
    layout,
    make_anatomy,
)
from radiotrial.phantom._io import labels_on_ct_grid, write_patient
from radiotrial.phantom._kinetics import (
    PatientKinetics,
    RegionKinetics,
    default_kinetics,
    organ_self_dose_gy,
    photon_self_absorbed_fraction,
    sample_kinetics,
)
from radiotrial.phantom._patient import (
    DEFAULT_INJECTION_TIME,
    TimePoint,
    VirtualPatient,
    make_patient,
)
from radiotrial.phantom._spect import (
    AcquisitionSettings,
    Motion,
    acquisition_settings,
    mean_transmission,
    sample_motion,
    simulate_counts,
    system_fwhm_mm,
    warp_labels,
)
from radiotrial.phantom._tissues import Tissue, ct_number_hu, get_tissue, list_tissues, mu_per_cm
from radiotrial.phantom._tumours import TUMOUR_LABEL_BASE, TUMOUR_SITES, parse_tumour_spec

__all__ = [
    "DEFAULT_INJECTION_TIME",
    "REMAINDER_LABEL",
    "TUMOUR_LABEL_BASE",
    "TUMOUR_SITES",
    "AcquisitionSettings",
    "Anatomy",
    "BodySize",
    "Motion",
    "PatientKinetics",
    "Region",
    "RegionKinetics",
    "Sex",
    "Structure",
    "TimePoint",
    "Tissue",
    "VirtualPatient",
    "acquisition_settings",
    "body_size",
    "ct_number_hu",
    "default_kinetics",
    "get_tissue",
    "labels_on_ct_grid",
    "layout",
    "list_tissues",
    "make_anatomy",
    "make_patient",
    "mean_transmission",
    "mu_per_cm",
    "organ_self_dose_gy",
    "parse_tumour_spec",
    "photon_self_absorbed_fraction",
    "sample_kinetics",
    "sample_motion",
    "simulate_counts",
    "system_fwhm_mm",
    "warp_labels",
    "write_patient",
]
