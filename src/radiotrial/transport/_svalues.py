"""Public voxel S-value kernels for any nuclide, voxel size and material."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from radiotrial.errors import ValidationError
from radiotrial.nuclides import get_nuclide
from radiotrial.transport._electron_kernel import electron_point_kernel
from radiotrial.transport._materials import Material, get_material
from radiotrial.transport._photon_kernel import photon_point_kernel
from radiotrial.transport._units import MEV_TO_J
from radiotrial.transport._voxel_kernel import check_voxel_mm, full_kernel, voxel_s_octant

__all__ = ["VoxelSKernel", "voxel_s_kernel"]


@dataclass(frozen=True)
class VoxelSKernel:
    """Voxel S-values of one nuclide, voxel size and material.

    Attributes
    ----------
    octant : (hz+1, hy+1, hx+1) ndarray
        ``octant[i, j, k]``: mean absorbed dose in the voxel at offset (i, j, k) (array order
        z, y, x) per unit cumulated activity in the source voxel, mGy/(MBq s).
    electron_octant, photon_octant : ndarray
        Electron and photon components of ``octant``; for α emitters ``octant[0, 0, 0]`` also
        holds the locally absorbed α and recoil energy.
    voxel_mm : tuple of 3 float
        ``(dz, dy, dx)``.
    """

    nuclide: str
    material: str
    density_g_cm3: float
    voxel_mm: tuple[float, float, float]
    octant: npt.NDArray[np.float64]
    electron_octant: npt.NDArray[np.float64]
    photon_octant: npt.NDArray[np.float64]

    def full(self) -> npt.NDArray[np.float64]:
        """The whole (2hz+1, 2hy+1, 2hx+1) kernel, source at the centre, mGy/(MBq s)."""
        return full_kernel(self.octant)


@cache
def _kernel(
    nuclide: str,
    mat: Material,
    voxel: tuple[float, float, float],
    hw: tuple[int, int, int],
    photons: bool,
) -> VoxelSKernel:
    e_oct = voxel_s_octant(electron_point_kernel(nuclide, mat), voxel, hw)
    if photons:
        p_oct = voxel_s_octant(photon_point_kernel(nuclide, mat), voxel, hw)
    else:
        p_oct = np.zeros_like(e_oct)
    for a in (e_oct, p_oct):
        a.setflags(write=False)
    total = e_oct + p_oct
    e_alpha = get_nuclide(nuclide).energy_per_decay_mev("alpha") + get_nuclide(
        nuclide
    ).energy_per_decay_mev("alpha-recoil")
    if e_alpha > 0:  # α and recoil energy stays in the source voxel (ranges < 0.1 mm)
        total = total.copy()
        total[0, 0, 0] += (
            e_alpha * MEV_TO_J * 1e6 / (math.prod(voxel) * 1e-6 * mat.density_g_cm3) * 1e3
        )
    total.setflags(write=False)
    return VoxelSKernel(nuclide, mat.name, mat.density_g_cm3, voxel, total, e_oct, p_oct)


def voxel_s_kernel(
    nuclide: str,
    voxel_mm: float | tuple[float, float, float],
    *,
    material: str = "soft-tissue",
    density_g_cm3: float | None = None,
    half_width: int | tuple[int, int, int] = 5,
    photons: bool = True,
) -> VoxelSKernel:
    """Voxel S-value kernel (electrons from the physical point kernel + photons by Monte Carlo).

    Parameters
    ----------
    nuclide : str
        Any ICRP-107 nuclide.
    voxel_mm : float or (dz, dy, dx)
        Voxel size, 1–10 mm per axis (anisotropic allowed).
    material : str, default "soft-tissue"
        Homogeneous medium.
    density_g_cm3 : float, optional
        Override the material density.
    half_width : int or (hz, hy, hx), default 5
        Largest offset kept along each axis (0–200).
    photons : bool, default True
        Include the photon contribution.

    Returns
    -------
    VoxelSKernel

    Raises
    ------
    ValidationError
        Voxel size outside 1–10 mm, negative half-width, unknown material.
    NuclideError
        Nuclide not in ICRP-107.

    Notes
    -----
    Voxel averaging over source and target is exact up to quadrature
    (:mod:`radiotrial.transport._voxel_kernel`); the sum of S · m over the whole space equals the
    absorbed energy per decay.
    """
    voxel = check_voxel_mm(voxel_mm)
    hw_arr = np.broadcast_to(np.asarray(half_width), (3,))
    if hw_arr.dtype.kind not in "iu" or np.any(hw_arr < 0) or np.any(hw_arr > 200):
        raise ValidationError("half_width", half_width, "expected an integer 0–200 (or three)")
    hw = (int(hw_arr[0]), int(hw_arr[1]), int(hw_arr[2]))
    mat = get_material(material)
    if density_g_cm3 is not None:
        mat = mat.with_density(density_g_cm3)
    return _kernel(get_nuclide(nuclide).name, mat, voxel, hw, bool(photons))
