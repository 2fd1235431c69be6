"""CT calibration: Hounsfield units to material and mass density (versioned data file)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt
import yaml

from radiotrial.errors import ValidationError
from radiotrial.transport._materials import Material, get_material

__all__ = ["HUCalibration", "ct_to_materials", "hu_calibration"]


@dataclass(frozen=True)
class HUCalibration:
    """HU → density (piecewise linear) and HU → material (thresholds).

    Attributes
    ----------
    hu_points, density_points : (P,) ndarray
        Calibration nodes, HU and g/cm³.
    upper_hu : (M,) ndarray
        Upper HU bound of each material class (increasing).
    materials : tuple of Material
        Material of each class.
    """

    hu_points: npt.NDArray[np.float64]
    density_points: npt.NDArray[np.float64]
    upper_hu: npt.NDArray[np.float64]
    materials: tuple[Material, ...]


@cache
def hu_calibration() -> HUCalibration:
    """The bundled generic calibration (``data/transport/hu_calibration.yaml``)."""
    text = (
        resources.files("radiotrial.data")
        .joinpath("transport", "hu_calibration.yaml")
        .read_text("utf-8")
    )
    data = yaml.safe_load(text)
    pts = np.asarray(data["density_points"], dtype=np.float64)
    classes = data["materials"]
    return HUCalibration(
        hu_points=pts[:, 0],
        density_points=pts[:, 1],
        upper_hu=np.asarray([float(c["upper_hu"]) for c in classes]),
        materials=tuple(get_material(c["material"]) for c in classes),
    )


def ct_to_materials(
    ct_hu: npt.ArrayLike, calibration: HUCalibration | None = None
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32], tuple[Material, ...]]:
    """Map a CT (HU) to per-voxel material index and density.

    Parameters
    ----------
    ct_hu : (Z, Y, X) array_like
        CT numbers, HU.
    calibration : HUCalibration, optional
        Defaults to :func:`hu_calibration`.

    Returns
    -------
    material_index : (Z, Y, X) int8 ndarray
        Index into ``materials``.
    density_g_cm3 : (Z, Y, X) float32 ndarray
    materials : tuple of Material
    """
    cal = calibration or hu_calibration()
    hu = np.asarray(ct_hu, dtype=np.float64)
    if hu.ndim != 3 or hu.size == 0:
        raise ValidationError("ct_hu", hu.shape, "expected a non-empty (Z, Y, X) array of HU")
    if not np.all(np.isfinite(hu)):
        raise ValidationError("ct_hu", "non-finite values", "the CT contains NaN or infinite HU")
    density = np.interp(hu, cal.hu_points, cal.density_points).astype(np.float32)
    idx = (
        np.searchsorted(cal.upper_hu, hu, side="right")
        .clip(0, len(cal.materials) - 1)
        .astype(np.int8)
    )
    return idx, density, cal.materials
