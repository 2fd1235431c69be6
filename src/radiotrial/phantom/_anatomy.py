"""Parametric adult anatomy on a voxel grid: label, tissue, mass-density and CT maps.

The layout (``data/phantom/anatomy.yaml``) is a set of analytic primitives in patient
coordinates (LPS, mm). For a patient of a given sex, height and weight:

* z positions scale with height, in-plane positions with the lean-body frame, the body contour
  with weight (fat), and organ *masses* with lean body mass (Janmahasatian et al. 2005);
* each mass-carrying organ is sized so that its volume, once the structures painted after it
  have carved their overlap out, equals ``mass / density`` (ICRP-89 reference masses). The
  carved volume is estimated by Monte Carlo on fixed quasi-random points, so sizing does not
  depend on the voxel size; the voxelised masses then converge to the targets as voxels shrink.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from radiotrial.errors import ValidationError
from radiotrial.imaging import Volume
from radiotrial.phantom._data import load_data, value_of
from radiotrial.phantom._shapes import Grid, Primitive
from radiotrial.phantom._tissues import ct_number_hu, get_tissue, list_tissues, lookup

__all__ = [
    "REMAINDER_LABEL",
    "Anatomy",
    "BodySize",
    "Region",
    "Sex",
    "Structure",
    "body_size",
    "layout",
    "make_anatomy",
]

Sex = Literal["female", "male"]
RegionKind = Literal["remainder", "organ", "bone", "tumour"]
F64 = npt.NDArray[np.float64]

REMAINDER_LABEL: Final = 1
_MC_POINTS: Final = 60_000  # Monte Carlo points per sizing step: ~0.5 % relative standard error
_MC_SEED: Final = 20_240_242  # fixed: the layout is a deterministic function of body size
_DEFAULT_FOV_MM: Final = 614.4  # 128 × 4.8 mm, a clinical SPECT matrix


@dataclass(frozen=True, slots=True)
class BodySize:
    """Scale factors from the reference-female layout to one patient.

    Attributes
    ----------
    sex, height_cm, weight_kg
        The patient.
    s_z : float
        Scale of z positions (height ratio to the reference female).
    s_xy : float
        Scale of in-plane organ positions (lean frame).
    s_body : float
        Scale of the body contour's in-plane semi-axes (weight per height).
    organ_mass_factor : float
        Organ masses relative to the sex's ICRP reference: ratio of lean body masses.
    """

    sex: Sex
    height_cm: float
    weight_kg: float
    s_z: float
    s_xy: float
    s_body: float
    organ_mass_factor: float


def _lbm_kg(sex: Sex, height_cm: float, weight_kg: float) -> float:
    # Janmahasatian et al. 2005, Clin Pharmacokinet 44:1051, eq. 3-4
    bmi = weight_kg / (height_cm / 100.0) ** 2
    if sex == "male":
        return 9270.0 * weight_kg / (6680.0 + 216.0 * bmi)
    return 9270.0 * weight_kg / (8780.0 + 244.0 * bmi)


def body_size(
    sex: Sex = "female", height_cm: float | None = None, weight_kg: float | None = None
) -> BodySize:
    """Scale factors for a patient; ``None`` means the ICRP reference individual of ``sex``.

    Raises
    ------
    ValidationError
        For an unknown sex, or height outside 120-220 cm, or weight outside 30-200 kg.
    """
    sexes = load_data("anatomy.yaml")["sexes"]
    if sex not in sexes:
        raise ValidationError("sex", sex, "use 'female' or 'male'")
    ref = sexes[sex]
    h_ref = float(value_of(ref["height_cm"]))
    w_ref = float(value_of(ref["weight_kg"]))
    h = h_ref if height_cm is None else float(height_cm)
    w = w_ref if weight_kg is None else float(weight_kg)
    if not 120.0 <= h <= 220.0:
        raise ValidationError("height_cm", height_cm, "adult height must be within 120-220 cm")
    if not 30.0 <= w <= 200.0:
        raise ValidationError("weight_kg", weight_kg, "adult weight must be within 30-200 kg")
    h_female = float(value_of(sexes["female"]["height_cm"]))
    inplane = float(value_of(ref["inplane_scale"]))
    lbm_ratio = _lbm_kg(sex, h, w) / _lbm_kg(sex, h_ref, w_ref)
    s_xy = inplane * math.sqrt(lbm_ratio / (h / h_ref))
    s_body = inplane * math.sqrt((w / w_ref) / (h / h_ref))
    return BodySize(sex, h, w, h / h_female, s_xy, s_body, lbm_ratio)


@dataclass(frozen=True, slots=True)
class Structure:
    """One labelled structure of the layout, sized for one patient.

    Attributes
    ----------
    name, label, tissue
        Structure name, its integer label and tissue medium.
    primitives : tuple of Primitive
        Its solids (union), already scaled and mass-calibrated.
    target_mass_g : float or None
        Mass the structure was sized to (None: geometry as drawn, e.g. bones).
    red_marrow_share : float
        Fraction of the whole-body red marrow in this bone site (Cristy 1981); 0 for organs.
    """

    name: str
    label: int
    tissue: str
    primitives: tuple[Primitive, ...]
    target_mass_g: float | None
    red_marrow_share: float


def _union(prims: tuple[Primitive, ...], x: F64, y: F64, z: F64) -> npt.NDArray[np.bool_]:
    out = np.zeros(x.shape, dtype=bool)
    for p in prims:
        out |= p.contains(x, y, z)
    return out


def _bbox(prims: tuple[Primitive, ...]) -> tuple[F64, F64]:
    lows, highs = zip(*(p.bbox_mm() for p in prims), strict=True)
    return np.min(lows, axis=0), np.max(highs, axis=0)


def _carved_volume_mm3(prims: tuple[Primitive, ...], later: list[Primitive], unit: F64) -> float:
    low, high = _bbox(prims)
    pts = low + unit * (high - low)
    inside = _union(prims, pts[:, 0], pts[:, 1], pts[:, 2])
    n_total = inside.size
    pts = pts[inside]  # only points inside the structure can be carved away
    for p in later:
        plo, phi = p.bbox_mm()
        if np.any(plo > high) or np.any(phi < low):
            continue
        pts = pts[~p.contains(pts[:, 0], pts[:, 1], pts[:, 2])]
    return float(pts.shape[0] / n_total * np.prod(high - low))


@cache
def layout(
    sex: Sex = "female",
    height_cm: float | None = None,
    weight_kg: float | None = None,
    mass_factors: tuple[tuple[str, float], ...] = (),
) -> tuple[Structure, ...]:
    """The patient's structures in paint order, organs sized to their target masses.

    Parameters
    ----------
    sex, height_cm, weight_kg
        The patient (``None``: ICRP reference of ``sex``).
    mass_factors : tuple of (structure name, factor)
        Per-structure multipliers of the target mass (inter-patient organ-size variability).

    Returns
    -------
    tuple of Structure
        Paint order; later structures overwrite earlier ones where they overlap.

    Notes
    -----
    Target mass of organ *o*: :math:`m_o = m_{o,\\mathrm{ICRP}} \\cdot s_o \\cdot
    (\\mathrm{LBM}/\\mathrm{LBM}_\\mathrm{ref}) \\cdot f_o` with share :math:`s_o` (e.g. one kidney
    of two). The size factor *k* of the organ's primitives solves
    :math:`V_\\mathrm{carved}(k) = m_o/ρ_o` by the fixed-point iteration
    :math:`k ← k (V^*/V(k))^{1/3}`, in reverse paint order so that every carving structure is
    final when an organ is sized.
    """
    data = load_data("anatomy.yaml")
    size = body_size(sex, height_cm, weight_kg)
    factors = dict(mass_factors)
    masses = data["masses_g"]
    unit = np.random.default_rng(_MC_SEED).random((_MC_POINTS, 3))
    specs: list[dict[str, Any]] = data["structures"]
    built: list[Structure] = []
    later: list[Primitive] = []
    s_size = size.s_xy  # drawn sizes follow the lean frame; organs are then sized by mass
    for spec in reversed(specs):
        prims = tuple(
            Primitive.from_spec(p, s_xy=size.s_xy, s_z=size.s_z, s_size=s_size)
            for p in spec["primitives"]
        )
        target: float | None = None
        if "mass" in spec:
            key = spec["mass"]
            ref_mass = float(masses[key][sex])
            target = ref_mass * float(spec.get("share", 1.0)) * size.organ_mass_factor
            target *= factors.get(spec["name"], 1.0)
            v_target = target / get_tissue(spec["tissue"]).density_g_cm3 * 1000.0  # mm³
            k = 1.0
            for it in range(14):
                # coarse steps on a quarter of the points, the last ones on all of them
                pts = unit[: _MC_POINTS // 4] if it < 4 else unit
                v = _carved_volume_mm3(tuple(p.scaled(k) for p in prims), later, pts)
                if v <= 0:
                    raise ValidationError(
                        f"structures.{spec['name']}", v, "structure is fully carved by later ones"
                    )
                step = (v_target / v) ** (1.0 / 3.0)
                k *= step
                if it >= 4 and abs(step - 1.0) < 2e-4:
                    break
            prims = tuple(p.scaled(k) for p in prims)
        built.append(
            Structure(
                name=str(spec["name"]),
                label=int(spec["label"]),
                tissue=str(spec["tissue"]),
                primitives=prims,
                target_mass_g=target,
                red_marrow_share=float(spec.get("red_marrow_share", 0.0)),
            )
        )
        later.extend(prims)
    return tuple(reversed(built))


@dataclass(frozen=True, slots=True)
class Region:
    """A labelled region of the anatomy.

    Attributes
    ----------
    name : str
        ``remainder``, an organ or bone-site name, or ``tumour_<n>``.
    label : int
        Value in the label map.
    kind : {"remainder", "organ", "bone", "tumour"}
        Category.
    tissue : str
        Tissue medium.
    target_mass_g : float or None
        Reference (sized-to) mass; for tumours the nominal volume × density.
    red_marrow_mass_g : float
        Red marrow contained (bone sites), g.
    site : str or None
        Tumour site (``liver``, ``bone``, ``lymph_node``, ``breast``, ``lung``).
    nominal_volume_ml : float or None
        Tumour volume requested.
    """

    name: str
    label: int
    kind: RegionKind
    tissue: str
    target_mass_g: float | None = None
    red_marrow_mass_g: float = 0.0
    site: str | None = None
    nominal_volume_ml: float | None = None


@dataclass(frozen=True, eq=False)
class Anatomy:
    """A voxelised virtual patient anatomy.

    Attributes
    ----------
    labels : Volume
        ``(Z, Y, X)`` int16 label map (0 outside the body), units ``label``.
    tissue : Volume
        ``(Z, Y, X)`` uint8 tissue code, index into ``tissue_names``.
    density : Volume
        ``(Z, Y, X)`` float32 mass density, g/cm³ (air outside the body).
    ct : Volume
        ``(Z, Y, X)`` float32 CT numbers, HU.
    regions : tuple of Region
        Every label present, remainder first.
    tissue_names : tuple of str
        Tissue media by code.
    size : BodySize
        Sex, height, weight and scale factors.
    ct_tissue : Volume or None
        Tissue codes on the optional finer CT grid (each SPECT voxel split into k³, same
        physical extent), ``None`` when the CT shares the SPECT grid. See :meth:`ct_on_ct_grid`.
    """

    labels: Volume
    tissue: Volume
    density: Volume
    ct: Volume
    regions: tuple[Region, ...]
    tissue_names: tuple[str, ...]
    size: BodySize
    ct_tissue: Volume | None = None
    _index: dict[str, Region] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index.update({r.name: r for r in self.regions})

    def region(self, name: str) -> Region:
        """The region called ``name``.

        Raises
        ------
        ValidationError
            If there is no such region.
        """
        try:
            return self._index[name]
        except KeyError:
            raise ValidationError(
                "region", name, f"no such region; have {sorted(self._index)}"
            ) from None

    def ct_on_ct_grid(self, tissue: npt.NDArray[np.uint8] | None = None) -> Volume:
        """CT (HU) on the CT grid: the finer grid when one was requested, else the SPECT grid.

        ``tissue`` replaces the reference tissue codes of that grid (a moved session's).
        """
        grid = self.ct_tissue if self.ct_tissue is not None else self.tissue
        codes = grid.array if tissue is None else tissue
        return grid.with_array(_hu_lut(self.tissue_names)[codes], units="HU")

    def mask(self, name: str) -> npt.NDArray[np.bool_]:
        """Boolean ``(Z, Y, X)`` mask of one region."""
        return np.asarray(self.labels.array == self.region(name).label)

    @property
    def tumours(self) -> tuple[Region, ...]:
        """The tumour regions."""
        return tuple(r for r in self.regions if r.kind == "tumour")

    def region_masses_g(self) -> dict[str, float]:
        """Voxelised mass (g) of every region: Σ density × voxel volume."""
        labels = self.labels.array.ravel()
        dens = self.density.array.ravel().astype(np.float64)
        n = int(labels.max()) + 1
        mass = np.bincount(labels, weights=dens, minlength=n) * self.labels.voxel_volume_ml
        return {r.name: float(mass[r.label]) for r in self.regions}

    def region_volumes_ml(self) -> dict[str, float]:
        """Voxelised volume (mL) of every region."""
        counts = np.bincount(self.labels.array.ravel(), minlength=int(self.labels.array.max()) + 1)
        return {r.name: float(counts[r.label]) * self.labels.voxel_volume_ml for r in self.regions}


def _grid(
    size: BodySize,
    spacing_mm: tuple[float, float, float],
    subdivide: tuple[int, int, int] = (1, 1, 1),
) -> Grid:
    """The body-centred grid; ``subdivide`` (kz, ky, kx) splits every voxel into kz·ky·kx
    (same physical extent: a finer CT grid that nests in the SPECT grid)."""
    body = load_data("anatomy.yaml")["body"]
    knots = np.asarray(body["knots"], dtype=np.float64)
    dz, dy, dx = spacing_mm
    z0, z1 = (float(v) * size.s_z for v in body["field_z_mm"])
    half_x = max(_DEFAULT_FOV_MM / 2.0, float(knots[:, 1].max()) * size.s_body + 40.0)
    half_y = max(_DEFAULT_FOV_MM / 2.0, float(knots[:, 2].max()) * size.s_body + 80.0)
    kz, ky, kx = subdivide
    nx = max(1, math.ceil(2.0 * half_x / dx - 1e-9)) * kx
    ny = max(1, math.ceil(2.0 * half_y / dy - 1e-9)) * ky
    nz = max(1, math.ceil((z1 - z0) / dz - 1e-9)) * kz
    dz, dy, dx = dz / kz, dy / ky, dx / kx
    x = (np.arange(nx, dtype=np.float64) - (nx - 1) / 2.0) * dx
    y = (np.arange(ny, dtype=np.float64) - (ny - 1) / 2.0) * dy
    z = z0 + dz / 2.0 + np.arange(nz, dtype=np.float64) * dz
    return Grid(z, y, x, (dz, dy, dx))


def _paint_body(
    grid: Grid, size: BodySize, labels: npt.NDArray[np.int16], fat: npt.NDArray[np.bool_]
) -> None:
    data = load_data("anatomy.yaml")
    knots = np.asarray(data["body"]["knots"], dtype=np.float64)
    t_fat = float(value_of(data["ct"]["subcutaneous_fat_mm"])) * size.s_body
    kz = knots[:, 0] * size.s_z
    a = np.interp(grid.z_mm, kz, knots[:, 1] * size.s_body)[:, None, None]
    b = np.interp(grid.z_mm, kz, knots[:, 2] * size.s_body)[:, None, None]
    yc = np.interp(grid.z_mm, kz, knots[:, 3] * size.s_xy)[:, None, None]
    x = grid.x_mm[None, None, :]
    y = grid.y_mm[None, :, None] - yc
    inside = (x / a) ** 2 + (y / b) ** 2 <= 1.0
    core = (x / np.maximum(a - t_fat, 1.0)) ** 2 + (y / np.maximum(b - t_fat, 1.0)) ** 2 <= 1.0
    labels[inside] = REMAINDER_LABEL
    fat[...] = inside & ~core


def _paint(
    grid: Grid, size: BodySize, structures: tuple[Structure, ...]
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.bool_]]:
    """Label map and subcutaneous-fat mask of the body and every structure, in paint order."""
    labels = np.zeros(grid.shape, dtype=np.int16)
    fat = np.zeros(grid.shape, dtype=bool)
    _paint_body(grid, size, labels, fat)
    for st in structures:
        for prim in st.primitives:
            hit = grid.mask_in_box(prim)
            if hit is not None:
                sl, m = hit
                labels[sl][m] = st.label
    return labels, fat


def make_anatomy(
    *,
    sex: Sex = "female",
    height_cm: float | None = None,
    weight_kg: float | None = None,
    spacing_mm: float | tuple[float, float, float] = 4.8,
    tumours: str | list[tuple[str, float]] | None = None,
    seed: int | None = None,
    organ_size_cv: float = 0.0,
    ct_spacing_mm: float | tuple[float, float, float] | None = None,
) -> Anatomy:
    """Build a voxelised adult anatomy.

    Parameters
    ----------
    sex : {"female", "male"}, default "female"
        ICRP-89 reference individual the layout and masses are taken from.
    height_cm, weight_kg : float, optional
        Body size; default the reference individual (163 cm / 60 kg, 176 cm / 73 kg).
    spacing_mm : float or (dz, dy, dx), default 4.8
        Voxel size in mm (4.8 mm: a 128-matrix SPECT grid; 1-2 mm for a CT grid).
    tumours : str or list of (site, volume_ml), optional
        Lesions, e.g. ``"liver:20,bone:5,breast:10"`` (mL). See :func:`parse_tumour_spec`.
    seed : int, optional
        Seeds tumour placement and organ-size variability (one seed, one patient).
    organ_size_cv : float, default 0
        Coefficient of variation of log-normal organ-mass multipliers (0: reference masses).
    ct_spacing_mm : float or (dz, dy, dx), optional
        A finer CT grid: ``spacing_mm`` must be an integer multiple k of it along every axis,
        so that each SPECT voxel holds exactly k³ CT voxels and both grids share the physical
        extent. Organs are painted from the same analytic primitives on it; lesions (placed on
        the SPECT grid, where their truth lives) fill the CT voxels of their SPECT voxels.

    Returns
    -------
    Anatomy
        Label, tissue, density and CT volumes on a grid centred on the body (LPS, mm), plus
        ``ct_tissue`` on the finer CT grid when requested.

    Raises
    ------
    ValidationError
        Bad sex, body size, spacing, CT spacing, tumour spec or CV.

    Examples
    --------
    >>> anat = make_anatomy(spacing_mm=9.6)
    >>> round(anat.region_masses_g()["liver"] / 1400, 1)
    1.0
    """
    from radiotrial.phantom._tumours import TUMOUR_LABEL_BASE, parse_tumour_spec, place_tumours

    sp = np.broadcast_to(np.asarray(spacing_mm, dtype=np.float64), (3,))
    spacing = (float(sp[0]), float(sp[1]), float(sp[2]))
    if not all(0.5 <= v <= 20.0 for v in spacing):
        raise ValidationError("spacing_mm", spacing_mm, "voxel size must be within 0.5-20 mm")
    if not 0.0 <= organ_size_cv <= 0.5:
        raise ValidationError("organ_size_cv", organ_size_cv, "use a CV within 0-0.5")
    specs = parse_tumour_spec(tumours)
    k = None if ct_spacing_mm is None else _subdivision(spacing, ct_spacing_mm)
    rng = np.random.default_rng(seed)
    size = body_size(sex, height_cm, weight_kg)
    factors: tuple[tuple[str, float], ...] = ()
    data = load_data("anatomy.yaml")
    if organ_size_cv > 0:
        sigma = math.sqrt(math.log1p(organ_size_cv**2))
        names = [s["name"] for s in data["structures"] if "mass" in s]
        draws = np.exp(sigma * rng.standard_normal(len(names)))
        factors = tuple((n, float(f)) for n, f in zip(names, draws, strict=True))
    structures = layout(sex, size.height_cm, size.weight_kg, factors)
    grid = _grid(size, spacing)
    labels, fat = _paint(grid, size, structures)
    rm_total = float(data["masses_g"]["red_marrow"][sex]) * size.organ_mass_factor
    regions: list[Region] = [Region("remainder", REMAINDER_LABEL, "remainder", "soft_tissue")]
    present = set(np.unique(labels).tolist())
    for st in structures:
        if st.label not in present:
            continue
        kind: RegionKind = "bone" if st.red_marrow_share > 0 else "organ"
        regions.append(
            Region(
                st.name,
                st.label,
                kind,
                st.tissue,
                target_mass_g=st.target_mass_g,
                red_marrow_mass_g=rm_total * st.red_marrow_share,
            )
        )
    tumour_regions = place_tumours(specs, labels, grid, size, regions, rng)
    regions.extend(tumour_regions)
    anatomy = _finish(labels, fat, grid, size, tuple(regions))
    if k is None:
        return anatomy
    fine = _grid(size, spacing, k)
    f_labels, f_fat = _paint(fine, size, structures)
    # lesions: the CT voxels of each lesion's SPECT voxels (the truth is on the SPECT grid)
    coarse = np.where(labels >= TUMOUR_LABEL_BASE, labels, 0)
    up = coarse.repeat(k[0], axis=0).repeat(k[1], axis=1).repeat(k[2], axis=2)
    np.copyto(f_labels, up, where=up > 0)
    tissue_of = {st.label: st.tissue for st in structures} | {r.label: r.tissue for r in regions}
    codes = _tissue_codes(f_labels, f_fat, tissue_of, anatomy.tissue_names)
    ct_tissue = Volume(codes, units="label", spacing_mm=fine.spacing_mm, origin_mm=fine.origin_mm)
    return replace(anatomy, ct_tissue=ct_tissue, _index={})


def _subdivision(
    spacing: tuple[float, float, float], ct_spacing_mm: float | tuple[float, float, float]
) -> tuple[int, int, int]:
    ct = np.broadcast_to(np.asarray(ct_spacing_mm, dtype=np.float64), (3,))
    ratio = np.asarray(spacing) / ct
    k = np.round(ratio).astype(int)
    if not (np.all(np.isfinite(ratio)) and np.all(k >= 1) and np.allclose(ratio, k, atol=1e-6)):
        raise ValidationError(
            "ct_spacing_mm",
            ct_spacing_mm,
            f"the SPECT voxel ({spacing[0]:g} mm) must be a whole multiple of the CT voxel, "
            "e.g. 4.8 / 2 = 2.4 mm",
        )
    if float(ct.min()) < 0.5:
        raise ValidationError("ct_spacing_mm", ct_spacing_mm, "CT voxels must be ≥ 0.5 mm")
    return (int(k[0]), int(k[1]), int(k[2]))


def _hu_lut(names: tuple[str, ...]) -> npt.NDArray[np.float32]:
    lut = lookup({n: ct_number_hu(n) for n in names}).astype(np.float32)
    lut[names.index("air")] = -1000.0  # definition of the HU scale
    return lut


def _tissue_codes(
    labels: npt.NDArray[np.int16],
    fat: npt.NDArray[np.bool_],
    tissue_of: dict[int, str],
    names: tuple[str, ...],
) -> npt.NDArray[np.uint8]:
    code = {n: i for i, n in enumerate(names)}
    label_tissue = np.full(int(labels.max()) + 1, code["air"], dtype=np.uint8)
    for label, name in tissue_of.items():
        if label < label_tissue.size:
            label_tissue[label] = code[name]
    out = label_tissue[labels]
    out[(labels == REMAINDER_LABEL) & fat] = code["adipose"]
    return np.asarray(out, dtype=np.uint8)


def _finish(
    labels: npt.NDArray[np.int16],
    fat: npt.NDArray[np.bool_],
    grid: Grid,
    size: BodySize,
    regions: tuple[Region, ...],
) -> Anatomy:
    names = list_tissues()
    tissue = _tissue_codes(labels, fat, {r.label: r.tissue for r in regions}, names)
    dens_lut = lookup({n: get_tissue(n).density_g_cm3 for n in names}).astype(np.float32)
    hu_lut = _hu_lut(names)
    geo: dict[str, Any] = {"spacing_mm": grid.spacing_mm, "origin_mm": grid.origin_mm}
    return Anatomy(
        labels=Volume(labels, units="label", **geo),
        tissue=Volume(tissue, units="label", **geo),
        density=Volume(dens_lut[tissue], units="g/cm3", **geo),
        ct=Volume(hu_lut[tissue], units="HU", **geo),
        regions=regions,
        tissue_names=names,
        size=size,
    )
