"""Tumour specification strings and seeded placement of lesions in the anatomy."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from radiotrial.errors import ValidationError
from radiotrial.phantom._data import load_data, value_of

if TYPE_CHECKING:
    from radiotrial.phantom._anatomy import BodySize, Region
    from radiotrial.phantom._shapes import Grid

__all__ = ["TUMOUR_LABEL_BASE", "TUMOUR_SITES", "parse_tumour_spec", "place_tumours"]

TUMOUR_LABEL_BASE: Final = 100
TUMOUR_SITES: Final = ("liver", "bone", "lymph_node", "breast", "lung")
_ALIASES: Final = {
    "node": "lymph_node",
    "ln": "lymph_node",
    "lymph": "lymph_node",
    "lymphnode": "lymph_node",
}
_ITEM: Final = re.compile(
    r"^\s*(?P<site>[A-Za-z_]+)\s*:\s*(?:(?P<n>\d+)\s*[x×*]\s*)?(?P<v>[0-9.eE+-]+)\s*(?:ml|mL)?\s*$"
)
_STATION_JITTER_MM: Final = 8.0  # spread of a node around its nodal station


def parse_tumour_spec(spec: str | Sequence[tuple[str, float]] | None) -> list[tuple[str, float]]:
    """Parse a lesion list such as ``"liver:20,bone:5,breast:10"`` (volumes in mL).

    ``site:N x V`` (``"liver:3x10"``) adds N lesions of V mL. Sites: liver, bone, lymph_node
    (alias node), breast, lung. An empty string or ``None`` means no tumour.

    Returns
    -------
    list of (site, volume_ml)

    Raises
    ------
    ValidationError
        Unknown site, unparsable item, or a volume outside 0.5-300 mL.

    Examples
    --------
    >>> parse_tumour_spec("liver:20, node:2x1.5")
    [('liver', 20.0), ('lymph_node', 1.5), ('lymph_node', 1.5)]
    """
    limits = load_data("anatomy.yaml")["tumour_volume_ml"]
    vmin, vmax = float(limits["min"]), float(limits["max"])
    items: list[tuple[str, float]] = []
    if spec is None:
        return items
    if isinstance(spec, str):
        raw: list[tuple[str, float, int]] = []
        for part in filter(None, (p.strip() for p in spec.split(","))):
            m = _ITEM.match(part)
            if m is None:
                raise ValidationError(
                    "tumours", part, "expected SITE:VOLUME_ML or SITE:NxVOLUME_ML, e.g. liver:20"
                )
            try:
                vol = float(m["v"])
            except ValueError:
                raise ValidationError("tumours", part, "volume is not a number") from None
            raw.append((m["site"], vol, int(m["n"] or 1)))
    else:
        raw = [(str(s), float(v), 1) for s, v in spec]
    for site_in, vol, n in raw:
        site = _ALIASES.get(site_in.lower(), site_in.lower())
        if site not in TUMOUR_SITES:
            raise ValidationError(
                "tumours", site_in, f"unknown site; use one of {', '.join(TUMOUR_SITES)}"
            )
        if not (math.isfinite(vol) and vmin <= vol <= vmax):
            raise ValidationError(
                "tumours", f"{site_in}:{vol:g}", f"volume must be within {vmin:g}-{vmax:g} mL"
            )
        if not 1 <= n <= 50:
            raise ValidationError("tumours", f"{site_in}:{n}x{vol:g}", "count must be within 1-50")
        items.extend([(site, vol)] * n)
    return items


def _carve(
    centre_idx: npt.NDArray[np.float64],
    n_voxels: int,
    grid: Grid,
    free: npt.NDArray[np.bool_],
) -> tuple[tuple[slice, slice, slice], npt.NDArray[np.bool_]]:
    """The ``n_voxels`` free voxels nearest a centre: a voxelised sphere of exact volume."""
    spacing = np.asarray(grid.spacing_mm)
    r_mm = (3.0 * n_voxels * float(np.prod(spacing)) / (4.0 * math.pi)) ** (1.0 / 3.0)
    half = np.ceil(1.6 * r_mm / spacing).astype(int) + 1
    c = np.round(centre_idx).astype(int)
    sl = tuple(
        slice(max(0, c[i] - half[i]), min(grid.shape[i], c[i] + half[i] + 1)) for i in range(3)
    )
    zz, yy, xx = np.meshgrid(*(np.arange(s.start, s.stop) for s in sl), indexing="ij")
    d2 = ((zz - centre_idx[0]) * spacing[0]) ** 2 + ((yy - centre_idx[1]) * spacing[1]) ** 2
    d2 = d2 + ((xx - centre_idx[2]) * spacing[2]) ** 2
    d2 = np.where(free[sl], d2, np.inf).ravel()
    n = min(n_voxels, int(np.isfinite(d2).sum()))
    keep = np.zeros(d2.size, dtype=bool)
    if n > 0:
        keep[np.argpartition(d2, n - 1)[:n]] = True
    return sl, keep.reshape(zz.shape)  # type: ignore[return-value]


def place_tumours(
    specs: list[tuple[str, float]],
    labels: npt.NDArray[np.int16],
    grid: Grid,
    size: BodySize,
    regions: list[Region],
    rng: np.random.Generator,
) -> list[Region]:
    """Paint lesions into ``labels`` (in place) and return their regions.

    A lesion of volume V is the set of round(V / voxel volume) voxels nearest its centre (at
    least one), so its voxelised volume equals V to within one voxel. Its centre is drawn
    uniformly among host voxels at least one lesion radius inside the host (liver, bone sites,
    breast, lung) and clear of earlier lesions; where no such voxel exists the deepest host voxel
    is used and the lesion protrudes. Lymph nodes sit at a random nodal station (± 8 mm).

    Notes
    -----
    Lesions replace the tissue they occupy (bone lesions are soft-tissue density, i.e. lytic).
    """
    from radiotrial.phantom._anatomy import Region

    data = load_data("anatomy.yaml")
    sites = data["tumour_sites"]
    by_name = {r.name: r for r in regions}
    spacing = np.asarray(grid.spacing_mm)
    voxel_ml = float(np.prod(spacing)) / 1000.0
    out: list[Region] = []
    taken = np.zeros(labels.shape, dtype=bool)
    for i, (site, vol) in enumerate(specs):
        label = TUMOUR_LABEL_BASE + i
        if label > np.iinfo(np.int16).max:
            raise ValidationError("tumours", len(specs), "too many lesions")
        n_vox = max(1, round(vol / voxel_ml))
        r_mm = (3.0 * vol * 1000.0 / (4.0 * math.pi)) ** (1.0 / 3.0)
        if site == "lymph_node":
            stations = np.asarray(sites["lymph_node"]["stations"], dtype=np.float64)
            st = stations[rng.integers(len(stations))] * np.array([size.s_xy, size.s_xy, size.s_z])
            p = st + rng.normal(0.0, _STATION_JITTER_MM, 3)
            centre = np.array(
                [
                    (p[2] - grid.z_mm[0]) / spacing[0],
                    (p[1] - grid.y_mm[0]) / spacing[1],
                    (p[0] - grid.x_mm[0]) / spacing[2],
                ]
            )
        else:
            host_labels = [by_name[h].label for h in sites[site]["hosts"] if h in by_name]
            if not host_labels:
                raise ValidationError("tumours", site, "no host organ for this site in the field")
            host = np.isin(labels, host_labels) & ~taken
            if not host.any():
                raise ValidationError("tumours", site, "host organs are fully occupied by lesions")
            # distance to the host's boundary, computed on the host's padded bounding box only
            box = tuple(
                slice(max(0, int(ix.min()) - 1), int(ix.max()) + 2) for ix in np.nonzero(host)
            )
            sub = np.pad(host[box], 1)
            depth = ndimage.distance_transform_edt(sub, sampling=spacing)[1:-1, 1:-1, 1:-1]
            ok = np.flatnonzero(depth.ravel() >= r_mm)
            flat = int(rng.choice(ok)) if ok.size else int(np.argmax(depth))
            local = np.unravel_index(flat, depth.shape)
            centre = np.array([box[a].start + local[a] for a in range(3)], dtype=np.float64)
        free = labels > 0
        free &= ~taken
        sl, keep = _carve(centre, n_vox, grid, free)
        labels[sl][keep] = label
        taken[sl] |= keep
        out.append(
            Region(
                f"tumour_{i + 1}",
                label,
                "tumour",
                "soft_tissue",
                target_mass_g=vol * float(value_of(data["tissues"]["soft_tissue"]["density"])),
                site=site,
                nominal_volume_ml=vol,
            )
        )
    return out
