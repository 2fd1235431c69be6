"""``radiotrial kernel`` and ``radiotrial sphere``: voxel S-values and sphere S-values."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from radiotrial.cli._output import console, json_option, print_json
from radiotrial.errors import ValidationError

__all__ = ["kernel", "sphere"]


def _parse_voxel(text: str) -> float | tuple[float, float, float]:
    parts = [p for p in text.replace("x", ",").split(",") if p.strip()]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValidationError(
            "--voxel-mm", text, "expected a number or three numbers dz,dy,dx in mm"
        ) from None
    if len(values) == 1:
        return values[0]
    if len(values) == 3:
        return (values[0], values[1], values[2])
    raise ValidationError("--voxel-mm", text, "expected a number or three numbers dz,dy,dx in mm")


def kernel(
    nuclide: str = typer.Option(
        ..., "--nuclide", help="ICRP-107 nuclide, e.g. Lu-177, Y-90, I-131."
    ),
    voxel_mm: str = typer.Option(
        ..., "--voxel-mm", help="Voxel size in mm (1-10): '4.8' or 'dz,dy,dx'."
    ),
    material: str = typer.Option(
        "soft-tissue", "--material", help="water, soft-tissue, lung, bone, adipose."
    ),
    half_width: int = typer.Option(5, "--half-width", help="Largest voxel offset kept per axis."),
    density: float | None = typer.Option(
        None, "--density", help="Override the material density, g/cm3."
    ),
    no_photons: bool = typer.Option(False, "--no-photons", help="Electrons only."),
    as_json: bool = json_option,
) -> None:
    """Voxel S-value kernel (mGy per MBq s) from the nuclide's ICRP-107 electrons and photons.

    octant[i][j][k] is the mean dose to the voxel at offset (i, j, k) (z, y, x order) from a
    source uniformly distributed in the centre voxel.
    """
    from radiotrial.transport import voxel_s_kernel

    with console.status("computing voxel S-values…"):
        k = voxel_s_kernel(
            nuclide,
            _parse_voxel(voxel_mm),
            material=material,
            density_g_cm3=density,
            half_width=half_width,
            photons=not no_photons,
        )
    data: dict[str, Any] = {
        "nuclide": k.nuclide,
        "voxel_mm": k.voxel_mm[0] if len(set(k.voxel_mm)) == 1 else list(k.voxel_mm),
        "material": k.material,
        "density_g_cm3": k.density_g_cm3,
        "unit": "mGy/(MBq s)",
        "octant": k.octant.tolist(),
    }
    if as_json:
        print_json(data)
        return
    table = Table(title=f"{k.nuclide} voxel S-values, {k.voxel_mm} mm, {k.material} — mGy/(MBq s)")
    for col in ("offset (i,j,k)", "total", "electrons", "photons"):
        table.add_column(col, justify="right")
    hz, hy, hx = k.octant.shape
    for i in range(min(hz, 3)):
        for j in range(min(hy, 3)):
            for kk in range(min(hx, 4)):
                table.add_row(
                    f"({i},{j},{kk})",
                    f"{k.octant[i, j, kk]:.4e}",
                    f"{k.electron_octant[i, j, kk]:.4e}",
                    f"{k.photon_octant[i, j, kk]:.4e}",
                )
    console.print(table)


def sphere(
    nuclide: str = typer.Option(..., "--nuclide", help="ICRP-107 nuclide, e.g. Lu-177."),
    mass_g: float = typer.Option(..., "--mass-g", help="Sphere mass, 0.01-5000 g."),
    density: float = typer.Option(1.0, "--density", help="Density, 0.3-2.0 g/cm3."),
    as_json: bool = json_option,
) -> None:
    """Self-dose S-value of a uniformly filled soft-tissue sphere (tumour), electrons + photons."""
    from radiotrial.transport import sphere_s_value

    with console.status("computing sphere S-value…"):
        s = sphere_s_value(nuclide, mass_g, density_g_cm3=density)
    data = {
        "nuclide": s.nuclide,
        "mass_g": s.mass_g,
        "density_g_cm3": s.density_g_cm3,
        "radius_mm": s.radius_mm,
        "s_mgy_per_mbq_h": s.s_mgy_per_mbq_h,
        "electron_absorbed_fraction": s.electron_absorbed_fraction,
        "photon_absorbed_fraction": s.photon_absorbed_fraction,
        "photon_absorbed_fraction_std": s.photon_absorbed_fraction_std,
    }
    if as_json:
        print_json(data)
        return
    console.print(
        f"[bold]{s.nuclide}[/] sphere {s.mass_g:g} g "
        f"(ρ {s.density_g_cm3:g} g/cm³, r {s.radius_mm:.2f} mm): "
        f"S = {s.s_mgy_per_mbq_h:.4g} mGy/(MBq h); φ_e = {s.electron_absorbed_fraction:.4f}, "
        f"φ_γ = {s.photon_absorbed_fraction:.4f} ± {s.photon_absorbed_fraction_std:.4f}"
    )


def register(app: typer.Typer) -> None:
    """Mount ``kernel`` and ``sphere`` as top-level commands of ``app``."""
    app.command(name="kernel")(kernel)
    app.command(name="sphere")(sphere)
