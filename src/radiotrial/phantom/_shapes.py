"""Analytic primitives (ellipsoid, elliptic cylinder, banded rib-cage shell) on voxel grids.

Every primitive answers two questions, vectorised over points: *is this point inside?* and
*what box bounds me?* Painting a primitive evaluates it only on the sub-grid of its bounding box,
so the cost is proportional to the primitive's size, never to the whole grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from radiotrial.errors import ValidationError

__all__ = ["Grid", "Primitive", "rotation_matrix"]

F64 = npt.NDArray[np.float64]
BoolArr = npt.NDArray[np.bool_]
Kind = Literal["ellipsoid", "cylinder", "ribcage"]


def rotation_matrix(rot_deg: tuple[float, float, float]) -> F64:
    """Rotation ``R = Rz · Ry · Rx`` from angles (degrees) about the x, y and z axes.

    A primitive's local coordinates are ``R.T @ (p − centre)``.
    """
    ax, ay, az = (math.radians(v) for v in rot_deg)
    cx, sx, cy, sy, cz, sz = (
        math.cos(ax),
        math.sin(ax),
        math.cos(ay),
        math.sin(ay),
        math.cos(az),
        math.sin(az),
    )
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return np.asarray(rz @ ry @ rx, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Primitive:
    """One analytic solid in patient coordinates (LPS, mm).

    Parameters
    ----------
    kind : {"ellipsoid", "cylinder", "ribcage"}
        ``ellipsoid``: ``Σ (l_i / s_i)² ≤ 1`` in local coordinates ``l``. ``cylinder``: elliptic
        cylinder along local z, ``(l_x/s_x)² + (l_y/s_y)² ≤ 1`` and ``|l_z| ≤ s_z``.
        ``ribcage``: elliptic shell between semi-axes ``(s_x, s_y)`` and ``(s_x − t, s_y − t)``
        for ``z0 ≤ z ≤ z1``, kept only in bands ``(z − z0) mod period < width`` (the ribs).
    centre_mm : (3,) tuple
        Centre ``(x, y, z)``; for ``ribcage`` only x and y are used.
    semi_mm : (3,) tuple
        Semi-axes (mm); for ``ribcage`` the third entry is unused.
    rotation : (3, 3) ndarray
        Local-to-patient rotation (identity for ``ribcage``).
    extra : tuple
        ``ribcage`` only: ``(thickness, z0, z1, period, width)`` in mm.
    """

    kind: Kind
    centre_mm: tuple[float, float, float]
    semi_mm: tuple[float, float, float]
    rotation: F64
    extra: tuple[float, ...] = ()

    @classmethod
    def from_spec(
        cls, spec: dict[str, Any], *, s_xy: float, s_z: float, s_size: float
    ) -> Primitive:
        """Build from a data-file entry, with layout scales for positions and sizes."""
        kind = spec.get("kind")
        if kind not in ("ellipsoid", "cylinder", "ribcage"):
            raise ValidationError("primitive.kind", kind, "use ellipsoid, cylinder or ribcage")
        cx, cy, cz = (float(v) for v in spec["centre"])
        centre = (cx * s_xy, cy * s_xy, cz * s_z)
        if kind == "ribcage":
            a, b = (float(v) for v in spec["semi"])
            z0, z1 = (float(v) * s_z for v in spec["z"])
            extra = (
                float(spec["thickness"]) * s_size,
                z0,
                z1,
                float(spec["period"]) * s_z,
                float(spec["width"]) * s_z,
            )
            return cls(kind, centre, (a * s_xy, b * s_xy, 0.0), np.eye(3), extra)
        sa, sb, sc = (float(v) for v in spec["semi"])
        rot = rotation_matrix(tuple(float(v) for v in spec.get("rot_deg", (0, 0, 0))))  # type: ignore[arg-type]
        # sizes follow the organ scale; the long axis of a rotated shape is not split by axes
        return cls(kind, centre, (sa * s_size, sb * s_size, sc * s_size), rot)

    def scaled(self, factor: float) -> Primitive:
        """The same primitive with its semi-axes multiplied by ``factor`` about its centre."""
        if self.kind == "ribcage":
            return self
        return replace(self, semi_mm=tuple(v * factor for v in self.semi_mm))  # type: ignore[arg-type]

    def bbox_mm(self) -> tuple[F64, F64]:
        """Axis-aligned bounding box ``(low, high)``, each ``(x, y, z)`` in mm."""
        c = np.asarray(self.centre_mm)
        if self.kind == "ribcage":
            a, b, _ = self.semi_mm
            z0, z1 = self.extra[1], self.extra[2]
            return np.array([c[0] - a, c[1] - b, z0]), np.array([c[0] + a, c[1] + b, z1])
        s = np.asarray(self.semi_mm)
        if self.kind == "ellipsoid":
            # exact half-extent of a rotated ellipsoid along each patient axis
            half = np.sqrt(((self.rotation * s[None, :]) ** 2).sum(axis=1))
        else:
            half = np.abs(self.rotation) @ s  # box enclosing the cylinder
        return c - half, c + half

    def volume_mm3(self) -> float:
        """Analytic volume (mm³) of the primitive on its own."""
        a, b, c = self.semi_mm
        if self.kind == "ellipsoid":
            return 4.0 / 3.0 * math.pi * a * b * c
        if self.kind == "cylinder":
            return math.pi * a * b * 2.0 * c
        t, z0, z1, period, width = self.extra
        ring = math.pi * (a * b - (a - t) * (b - t))
        n_full, rest = divmod(z1 - z0, period)
        return ring * (n_full * width + min(rest, width))

    def contains(self, x: F64, y: F64, z: F64) -> BoolArr:
        """Whether points are inside; ``x, y, z`` (mm) broadcast against each other."""
        cx, cy, cz = self.centre_mm
        dx, dy, dz = x - cx, y - cy, z - cz
        if self.kind == "ribcage":
            a, b, _ = self.semi_mm
            t, z0, z1, period, width = self.extra
            outer = (dx / a) ** 2 + (dy / b) ** 2 <= 1.0
            inner = (dx / (a - t)) ** 2 + (dy / (b - t)) ** 2 < 1.0
            band = (z >= z0) & (z <= z1) & (np.mod(z - z0, period) < width)
            return np.asarray(outer & ~inner & band)
        r = self.rotation
        lx = r[0, 0] * dx + r[1, 0] * dy + r[2, 0] * dz
        ly = r[0, 1] * dx + r[1, 1] * dy + r[2, 1] * dz
        lz = r[0, 2] * dx + r[1, 2] * dy + r[2, 2] * dz
        a, b, c = self.semi_mm
        if self.kind == "ellipsoid":
            return np.asarray((lx / a) ** 2 + (ly / b) ** 2 + (lz / c) ** 2 <= 1.0)
        return np.asarray(((lx / a) ** 2 + (ly / b) ** 2 <= 1.0) & (np.abs(lz) <= c))


@dataclass(frozen=True, slots=True)
class Grid:
    """Voxel-centre coordinates of an axis-aligned grid (LPS, mm), array order ``(Z, Y, X)``.

    Parameters
    ----------
    z_mm, y_mm, x_mm : (Z,), (Y,), (X,) ndarray
        Coordinates of voxel centres along each axis, increasing.
    step_mm : (dz, dy, dx)
        Voxel size, mm.
    """

    z_mm: F64
    y_mm: F64
    x_mm: F64
    step_mm: tuple[float, float, float]

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(Z, Y, X)``."""
        return (self.z_mm.size, self.y_mm.size, self.x_mm.size)

    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        """``(dz, dy, dx)`` in mm (as requested, not re-derived from the coordinates)."""
        return self.step_mm

    @property
    def origin_mm(self) -> tuple[float, float, float]:
        """LPS ``(x, y, z)`` of voxel ``[0, 0, 0]``."""
        return (float(self.x_mm[0]), float(self.y_mm[0]), float(self.z_mm[0]))

    def box(self, low: F64, high: F64) -> tuple[slice, slice, slice] | None:
        """Index slices ``(z, y, x)`` of the voxels whose centres lie in ``[low, high]``."""
        out = []
        for axis, lo, hi in (
            (self.z_mm, low[2], high[2]),
            (self.y_mm, low[1], high[1]),
            (self.x_mm, low[0], high[0]),
        ):
            i0 = int(np.searchsorted(axis, lo, side="left"))
            i1 = int(np.searchsorted(axis, hi, side="right"))
            if i1 <= i0:
                return None
            out.append(slice(i0, i1))
        return (out[0], out[1], out[2])

    def mask_in_box(self, prim: Primitive) -> tuple[tuple[slice, slice, slice], BoolArr] | None:
        """The primitive's mask on the sub-grid of its bounding box (``None`` if outside)."""
        low, high = prim.bbox_mm()
        sl = self.box(low, high)
        if sl is None:
            return None
        z = self.z_mm[sl[0]][:, None, None]
        y = self.y_mm[sl[1]][None, :, None]
        x = self.x_mm[sl[2]][None, None, :]
        return sl, prim.contains(x, y, z)
