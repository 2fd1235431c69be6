"""Patient dosimetry from serial quantitative SPECT/CT.

Calibration and registration of sessions, geometric-transfer-matrix partial-volume correction,
region and voxel time-integrated activity (voxel-wise fits with a region-informed fallback),
absorbed dose with the engines of :mod:`radiotrial.transport`, uncertainty per the EANM guidance,
BED and EQD2, red-marrow dose by the blood- and image-based methods, dose-volume histograms,
next-cycle planning against the protocol's organ limits, and report writing.
"""

from radiotrial.dosimetry._absorbed import RegionDose, bed_map, dvh, region_doses
from radiotrial.dosimetry._marrow import (
    MarrowDose,
    planning_marrow,
    planning_marrow_row,
    red_marrow_blood_based,
    red_marrow_image_based,
)
from radiotrial.dosimetry._mird import (
    load_s_table_csv,
    mird_label_dose_sds,
    mird_label_doses,
    sphere_dose_gy,
)
from radiotrial.dosimetry._planning import (
    CycleDose,
    OrganPlan,
    Plan,
    plan_next_cycle,
    therapeutic_index,
)
from radiotrial.dosimetry._quantify import Quantified, calibrate, gtm_matrix, quantify
from radiotrial.dosimetry._report import write_report
from radiotrial.dosimetry._study import (
    Region,
    Session,
    Study,
    load_study,
    study_from_virtual_patient,
)
from radiotrial.dosimetry._tia import RegionKinetics, VoxelTia, fit_regions, voxel_tia
from radiotrial.dosimetry._workflow import DosimetryResult, Engine, run_dosimetry

__all__ = [
    "CycleDose",
    "DosimetryResult",
    "Engine",
    "MarrowDose",
    "OrganPlan",
    "Plan",
    "Quantified",
    "Region",
    "RegionDose",
    "RegionKinetics",
    "Session",
    "Study",
    "VoxelTia",
    "bed_map",
    "calibrate",
    "dvh",
    "fit_regions",
    "gtm_matrix",
    "load_s_table_csv",
    "load_study",
    "mird_label_dose_sds",
    "mird_label_doses",
    "plan_next_cycle",
    "planning_marrow",
    "planning_marrow_row",
    "quantify",
    "red_marrow_blood_based",
    "red_marrow_image_based",
    "region_doses",
    "run_dosimetry",
    "sphere_dose_gy",
    "study_from_virtual_patient",
    "therapeutic_index",
    "voxel_tia",
    "write_report",
]
