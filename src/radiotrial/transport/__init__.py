"""Radiation transport: electron and photon dose kernels, sphere model and dose engines.

Everything is computed from the nuclide's ICRP-107 emissions (:mod:`radiotrial.nuclides`), the
Bethe stopping power and xraydb photon cross sections, for any nuclide, voxel size and tissue:

* :func:`electron_point_kernel` — β + IE + Auger dose point kernels from radiotrial's
  condensed-history electron model (range-scaled to any material);
* :func:`photon_point_kernel` — photon point kernels from the photon Monte Carlo;
* :func:`voxel_s_kernel` — voxel S-values (1–10 mm, anisotropic) with exact voxel averaging;
* :func:`sphere_s_value` — self-dose S-values of spheres (0.01–5000 g, 0.3–2.0 g/cm³), and
  :func:`sphere_absorbed_fraction` — their absorbed fractions for monoenergetic electrons or
  photons, the quantity published sphere tables list;
* :func:`compute_dose` — LED, kernel convolution and Monte Carlo dose engines behind one
  interface (TIA map + CT → dose in Gy with uncertainty);
* :func:`load_phantom_s_matrix` — cached organ S-value matrices of the female and male
  reference phantoms, mass-scalable (:meth:`PhantomSMatrix.scaled`).
"""

from __future__ import annotations

from radiotrial.transport._ct import HUCalibration, ct_to_materials, hu_calibration
from radiotrial.transport._electron_kernel import (
    electron_components,
    electron_point_kernel,
    monoenergetic_electron_kernel,
)
from radiotrial.transport._engines import DoseResult, compute_dose
from radiotrial.transport._materials import Material, get_material, list_materials
from radiotrial.transport._phantom_svalues import (
    PhantomSMatrix,
    compute_phantom_s_matrix,
    load_phantom_s_matrix,
)
from radiotrial.transport._photon_kernel import photon_lines, photon_point_kernel
from radiotrial.transport._radial import RadialKernel
from radiotrial.transport._sphere import (
    SphereSValue,
    sphere_absorbed_fraction,
    sphere_electron_absorbed_fraction,
    sphere_s_value,
)
from radiotrial.transport._stopping import collision_stopping_power, csda_range_g_cm2
from radiotrial.transport._svalues import VoxelSKernel, voxel_s_kernel

__all__ = [
    "DoseResult",
    "HUCalibration",
    "Material",
    "PhantomSMatrix",
    "RadialKernel",
    "SphereSValue",
    "VoxelSKernel",
    "collision_stopping_power",
    "compute_dose",
    "compute_phantom_s_matrix",
    "csda_range_g_cm2",
    "ct_to_materials",
    "electron_components",
    "electron_point_kernel",
    "get_material",
    "hu_calibration",
    "list_materials",
    "load_phantom_s_matrix",
    "monoenergetic_electron_kernel",
    "photon_lines",
    "photon_point_kernel",
    "sphere_absorbed_fraction",
    "sphere_electron_absorbed_fraction",
    "sphere_s_value",
    "voxel_s_kernel",
]
