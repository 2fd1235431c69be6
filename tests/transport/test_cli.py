"""``radiotrial kernel`` and ``radiotrial sphere`` JSON contracts and errors."""

from __future__ import annotations

import json

import pytest

from radiotrial.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), out.out, out.err


def test_kernel_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "kernel",
        "--nuclide",
        "Lu-177",
        "--voxel-mm",
        "4.8",
        "--material",
        "soft-tissue",
        "--half-width",
        "2",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert {"nuclide", "voxel_mm", "material", "unit", "octant"} <= set(data)
    assert data["unit"] == "mGy/(MBq s)" and data["voxel_mm"] == 4.8
    octant = data["octant"]
    assert len(octant) == 3 and len(octant[0]) == 3 and len(octant[0][0]) == 3
    # symmetric offsets give the same value (cubic voxels)
    assert octant[0][0][1] == pytest.approx(octant[1][0][0], rel=1e-4)


def test_sphere_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "sphere", "--nuclide", "Lu-177", "--mass-g", "10", "--density", "1.0", "--json"
    )
    assert code == 0
    data = json.loads(out)
    assert {"s_mgy_per_mbq_h", "electron_absorbed_fraction", "photon_absorbed_fraction"} <= set(
        data
    )
    assert 0.9 < data["electron_absorbed_fraction"] <= 1.0
    assert 0.0 < data["photon_absorbed_fraction"] < 0.2


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["kernel", "--nuclide", "Lu-177", "--voxel-mm", "12"], "voxel_mm"),
        (["kernel", "--nuclide", "Qq-1", "--voxel-mm", "4"], "Qq-1"),
        (["sphere", "--nuclide", "Lu-177", "--mass-g", "0.001"], "mass_g"),
    ],
)
def test_errors_are_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2 and needle in err and err.count("\n") == 1
