"""The :class:`Volume` value object: a 3-D array with its patient-space geometry.

Geometry convention (DICOM patient coordinates, LPS, millimetres), identical to ITK's:

* ``array`` is indexed ``array[k, j, i]`` (slice, row, column), i.e. shape ``(Z, Y, X)``;
* ``spacing_mm`` is ``(dz, dy, dx)``, in array order;
* ``origin_mm`` is the LPS position ``(x, y, z)`` of the *centre* of voxel ``[0, 0, 0]``;
* ``direction`` is a 3×3 orthonormal matrix whose column ``c`` is the LPS unit vector along
  index axis ``c`` in ``(i, j, k)`` = ``(X, Y, Z)`` order (ITK ``GetDirection()`` laid out
  row-major), so that

  ``p_LPS = origin_mm + direction @ diag(dx, dy, dz) @ (i, j, k)``.

This is the convention of DICOM PS3.3 C.7.6.2.1.1 (Image Position / Orientation (Patient)):
``direction[:, 0]`` is the row direction cosine, ``direction[:, 1]`` the column direction
cosine of an image slice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from radiotrial.errors import UnitError, ValidationError
from radiotrial.units import check_aware

__all__ = ["VOLUME_UNITS", "Volume", "quantity_kind"]

QuantityKind = Literal["extensive", "intensive", "label"]

#: Units a :class:`Volume` may carry, with how the quantity behaves under resampling:
#: ``extensive`` values add up when voxels merge (activity or counts *per voxel*),
#: ``intensive`` values are densities (per mL, HU, Gy), ``label`` values are categories.
VOLUME_UNITS: Final[MappingProxyType[str, QuantityKind]] = MappingProxyType(
    {
        "Bq": "extensive",  # activity in the voxel
        "MBq": "extensive",
        "Bq*s": "extensive",  # time-integrated activity in the voxel
        "counts": "extensive",
        "cps": "extensive",
        "Bq/mL": "intensive",  # activity concentration (DICOM Units BQML)
        "HU": "intensive",
        "g/cm3": "intensive",
        "1/cm": "intensive",  # linear attenuation coefficient
        "Gy": "intensive",
        "Gy/s": "intensive",
        "1": "intensive",  # dimensionless (ratios, probabilities)
        "label": "label",
    }
)

_ORTHO_TOL: Final = 1e-4  # DICOM direction cosines are written with ~6 significant digits


def quantity_kind(units: str) -> QuantityKind:
    """How a volume unit behaves under resampling (extensive, intensive or label).

    Raises
    ------
    UnitError
        If ``units`` is not one of :data:`VOLUME_UNITS`.
    """
    try:
        return VOLUME_UNITS[units]
    except KeyError:
        raise UnitError(
            "units", units, f"unknown volume unit; use one of {sorted(VOLUME_UNITS)}"
        ) from None


def _triple(
    name: str, value: Sequence[float] | npt.ArrayLike, *, positive: bool
) -> tuple[float, ...]:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (3,) or not np.all(np.isfinite(arr)):
        raise ValidationError(name, value, "expected three finite numbers")
    if positive and np.any(arr <= 0):
        raise ValidationError(name, value, "spacing must be > 0 mm along every axis")
    return (float(arr[0]), float(arr[1]), float(arr[2]))


def _check_direction(value: npt.ArrayLike) -> npt.NDArray[np.float64]:
    d = np.array(value, dtype=np.float64)
    if d.shape != (3, 3) or not np.all(np.isfinite(d)):
        raise ValidationError(
            "direction", value, "expected a finite 3x3 matrix of direction cosines"
        )
    err = float(np.max(np.abs(d.T @ d - np.eye(3))))
    if err > _ORTHO_TOL:
        raise ValidationError(
            "direction", d.tolist(), f"columns must be orthonormal (max |DᵀD − I| = {err:.2g})"
        )
    d.setflags(write=False)
    return d


@dataclass(frozen=True, eq=False)
class Volume:
    """An immutable 3-D image on a regular grid in DICOM patient space (LPS, mm).

    Parameters
    ----------
    array : (Z, Y, X) ndarray
        Voxel values; stored as a read-only array (copied if the input is writeable).
    spacing_mm : tuple of 3 float
        Voxel size ``(dz, dy, dx)`` in mm, array order; each > 0.
    origin_mm : tuple of 3 float, default (0, 0, 0)
        LPS position ``(x, y, z)`` in mm of the centre of voxel ``[0, 0, 0]``.
    direction : (3, 3) array_like, default identity
        Column ``c`` is the LPS unit vector of index axis ``c`` in ``(X, Y, Z)`` order.
    units : str, default "1"
        One of :data:`VOLUME_UNITS` (``"Bq"``, ``"Bq/mL"``, ``"counts"``, ``"HU"``, ...).
    acquisition_time : datetime, optional
        Timezone-aware datetime the image represents (SPECT acquisition start, CT scan).

    Notes
    -----
    The voxel→patient affine (homogeneous, index order ``(i, j, k) = (X, Y, Z)``) is

    .. math:: A = \\begin{pmatrix} D\\,\\mathrm{diag}(d_x, d_y, d_z) & o \\\\ 0 & 1 \\end{pmatrix}

    with :math:`D` = ``direction`` and :math:`o` = ``origin_mm`` (DICOM PS3.3 C.7.6.2.1.1).

    Examples
    --------
    >>> import numpy as np
    >>> v = Volume(np.zeros((2, 3, 4)), spacing_mm=(2.0, 1.0, 1.0), units="Bq")
    >>> v.shape, v.voxel_volume_ml
    ((2, 3, 4), 0.002)
    """

    array: npt.NDArray[Any]
    spacing_mm: tuple[float, float, float]
    origin_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: npt.NDArray[np.float64] = field(default_factory=lambda: np.eye(3))
    units: str = "1"
    acquisition_time: datetime | None = None

    def __post_init__(self) -> None:
        arr = np.asarray(self.array)
        if arr.ndim != 3 or min(arr.shape) < 1:
            raise ValidationError("array", arr.shape, "expected a non-empty (Z, Y, X) array")
        if arr.dtype.kind not in "biuf":
            raise ValidationError(
                "array", str(arr.dtype), "expected a boolean, integer or float array"
            )
        if arr.flags.writeable:
            arr = arr.copy()
            arr.setflags(write=False)
        object.__setattr__(self, "array", arr)
        object.__setattr__(
            self, "spacing_mm", _triple("spacing_mm", self.spacing_mm, positive=True)
        )
        object.__setattr__(self, "origin_mm", _triple("origin_mm", self.origin_mm, positive=False))
        object.__setattr__(self, "direction", _check_direction(self.direction))
        quantity_kind(self.units)
        if self.acquisition_time is not None:
            check_aware("acquisition_time", self.acquisition_time)

    # ---- geometry ------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int]:
        """Array shape ``(Z, Y, X)``."""
        z, y, x = self.array.shape
        return (int(z), int(y), int(x))

    @property
    def spacing_xyz_mm(self) -> tuple[float, float, float]:
        """Voxel size in index order ``(dx, dy, dz)`` (the order ITK and DICOM use)."""
        dz, dy, dx = self.spacing_mm
        return (dx, dy, dz)

    @property
    def voxel_volume_ml(self) -> float:
        """Volume of one voxel in mL (1 mL = 1000 mm³)."""
        return math.prod(self.spacing_mm) / 1000.0

    @property
    def affine(self) -> npt.NDArray[np.float64]:
        """4×4 voxel→LPS (mm) affine acting on homogeneous ``(i, j, k, 1)`` = (X, Y, Z) indices."""
        a = np.eye(4)
        a[:3, :3] = self.direction * np.asarray(self.spacing_xyz_mm)[None, :]
        a[:3, 3] = self.origin_mm
        return a

    @property
    def kind(self) -> QuantityKind:
        """``extensive``, ``intensive`` or ``label`` (see :data:`VOLUME_UNITS`)."""
        return quantity_kind(self.units)

    def index_to_lps(self, ijk: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """LPS positions (mm) of continuous indices.

        Parameters
        ----------
        ijk : (..., 3) array_like
            Indices in ``(i, j, k)`` = ``(X, Y, Z)`` order (note: reversed from array order).

        Returns
        -------
        (..., 3) ndarray
            LPS coordinates in mm.
        """
        idx = np.asarray(ijk, dtype=np.float64)
        a = self.affine
        return np.asarray(idx @ a[:3, :3].T + a[:3, 3], dtype=np.float64)

    def lps_to_index(self, xyz_mm: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Continuous ``(i, j, k)`` indices of LPS positions (inverse of :meth:`index_to_lps`)."""
        pts = np.asarray(xyz_mm, dtype=np.float64) - np.asarray(self.origin_mm)
        m = self.direction * np.asarray(self.spacing_xyz_mm)[None, :]
        return np.asarray(pts @ np.linalg.inv(m).T, dtype=np.float64)

    def same_grid(self, other: Volume, *, tol_mm: float = 1e-3) -> bool:
        """Whether ``other`` has the same shape, spacing, origin and direction.

        Parameters
        ----------
        other : Volume
            Volume to compare with.
        tol_mm : float, default 1e-3
            Tolerance on spacing and origin (mm); direction cosines are compared to
            ``1e-4``, the precision DICOM files carry.
        """
        return (
            self.shape == other.shape
            and bool(np.allclose(self.spacing_mm, other.spacing_mm, rtol=0, atol=tol_mm))
            and bool(np.allclose(self.origin_mm, other.origin_mm, rtol=0, atol=tol_mm))
            and bool(np.allclose(self.direction, other.direction, rtol=0, atol=_ORTHO_TOL))
        )

    # ---- derived volumes -----------------------------------------------------------------
    def with_array(self, array: npt.ArrayLike, *, units: str | None = None) -> Volume:
        """A new volume on the same grid with other values (and optionally other units).

        Raises
        ------
        ValidationError
            If ``array`` does not have this volume's shape.
        """
        arr = np.asarray(array)
        if arr.shape != self.shape:
            raise ValidationError("array", arr.shape, f"expected the grid's shape {self.shape}")
        return Volume(
            arr,
            spacing_mm=self.spacing_mm,
            origin_mm=self.origin_mm,
            direction=self.direction,
            units=self.units if units is None else units,
            acquisition_time=self.acquisition_time,
        )

    def with_time(self, acquisition_time: datetime | None) -> Volume:
        """A copy with another acquisition time (the array is shared, it is read-only)."""
        return Volume(
            self.array,
            spacing_mm=self.spacing_mm,
            origin_mm=self.origin_mm,
            direction=self.direction,
            units=self.units,
            acquisition_time=acquisition_time,
        )

    def total(self) -> float:
        """Integral of the volume: sum for extensive units, Σ value × voxel mL for intensive.

        For ``Bq/mL`` this is the total activity in Bq; for ``Bq`` the plain sum.

        Raises
        ------
        ValidationError
            For label volumes, which have no integral.
        """
        if self.kind == "label":
            raise ValidationError("units", self.units, "a label volume has no integral")
        s = float(np.sum(self.array, dtype=np.float64))
        return s if self.kind == "extensive" else s * self.voxel_volume_ml

    def geometry(self) -> dict[str, Any]:
        """Geometry and metadata as plain JSON-ready data (no voxel values)."""
        return {
            "shape_zyx": list(self.shape),
            "spacing_mm_zyx": list(self.spacing_mm),
            "origin_mm_lps": list(self.origin_mm),
            "direction": self.direction.tolist(),
            "units": self.units,
            "dtype": str(self.array.dtype),
            "acquisition_time": None
            if self.acquisition_time is None
            else self.acquisition_time.isoformat(),
        }

    def __repr__(self) -> str:
        return (
            f"Volume(shape={self.shape}, spacing_mm={self.spacing_mm}, origin_mm={self.origin_mm}, "
            f"units={self.units!r}, dtype={self.array.dtype}, acquisition_time="
            f"{None if self.acquisition_time is None else self.acquisition_time.isoformat()})"
        )
