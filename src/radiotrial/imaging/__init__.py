"""Quantitative imaging: volumes with geometry, DICOM/NIfTI I/O, resampling, registration.

Public names are re-exported here; the modules that pull in pydicom, highdicom, nibabel and
SimpleITK are imported lazily on first use so that ``import radiotrial.imaging`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from radiotrial.imaging._volume import VOLUME_UNITS, Volume, quantity_kind

if TYPE_CHECKING:  # pragma: no cover
    from radiotrial.imaging._ct import read_ct_series, write_ct_series
    from radiotrial.imaging._dicom_common import DicomStudy, new_uid
    from radiotrial.imaging._inspect import inspect_path
    from radiotrial.imaging._nifti import read_nifti, sidecar_path, write_nifti
    from radiotrial.imaging._nm import (
        EnergyWindow,
        NMImage,
        Radiopharmaceutical,
        TomoRotation,
        read_nm_image,
        write_nm_image,
    )
    from radiotrial.imaging._regions import read_rtstruct, read_seg, write_rtstruct, write_seg
    from radiotrial.imaging._register import Registration, register, target_registration_error
    from radiotrial.imaging._resample import resample
    from radiotrial.imaging._rtdose import (
        RTDoseInfo,
        administration_uid,
        read_rtdose,
        read_rtdose_info,
        write_rtdose,
    )
    from radiotrial.imaging._series import DicomSeries, find_series, single_series

__all__ = [
    "VOLUME_UNITS",
    "DicomSeries",
    "DicomStudy",
    "EnergyWindow",
    "NMImage",
    "RTDoseInfo",
    "Radiopharmaceutical",
    "Registration",
    "TomoRotation",
    "Volume",
    "administration_uid",
    "find_series",
    "inspect_path",
    "new_uid",
    "quantity_kind",
    "read_ct_series",
    "read_nifti",
    "read_nm_image",
    "read_rtdose",
    "read_rtdose_info",
    "read_rtstruct",
    "read_seg",
    "register",
    "resample",
    "sidecar_path",
    "single_series",
    "target_registration_error",
    "write_ct_series",
    "write_nifti",
    "write_nm_image",
    "write_rtdose",
    "write_rtstruct",
    "write_seg",
]

# public name -> private module holding it (loaded on first attribute access)
_LAZY: dict[str, str] = {
    "DicomStudy": "_dicom_common",
    "new_uid": "_dicom_common",
    "DicomSeries": "_series",
    "find_series": "_series",
    "single_series": "_series",
    "read_ct_series": "_ct",
    "write_ct_series": "_ct",
    "EnergyWindow": "_nm",
    "NMImage": "_nm",
    "Radiopharmaceutical": "_nm",
    "TomoRotation": "_nm",
    "read_nm_image": "_nm",
    "write_nm_image": "_nm",
    "read_rtstruct": "_regions",
    "read_seg": "_regions",
    "write_rtstruct": "_regions",
    "write_seg": "_regions",
    "read_nifti": "_nifti",
    "sidecar_path": "_nifti",
    "write_nifti": "_nifti",
    "resample": "_resample",
    "RTDoseInfo": "_rtdose",
    "administration_uid": "_rtdose",
    "read_rtdose": "_rtdose",
    "read_rtdose_info": "_rtdose",
    "write_rtdose": "_rtdose",
    "Registration": "_register",
    "register": "_register",
    "target_registration_error": "_register",
    "inspect_path": "_inspect",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'radiotrial.imaging' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"radiotrial.imaging.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
