"""Walk subjects through the services to enrolment and treatment, on a controllable clock,
and write dosimetry-run folders in the format of ``radiotrial dose run``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from radiotrial.registry import Actor
from radiotrial.services import (
    ServiceContext,
    decide_eligibility,
    enrol,
    open_screening,
    record_administration,
    record_evidence,
    register_prescreen,
)
from tests.services._helpers import confirm_all, screening_evidence

from .conftest import PASSWORD

COORDINATOR = Actor("coordinator", "coordinator", "Coordinator")
INVESTIGATOR = Actor("investigator", "investigator", "Investigator")
PHYSICIST = Actor("physicist", "physicist", "Physicist")


@dataclass
class Clock:
    """A clock the test moves forward (the services read it through ``ctx.clock``)."""

    now: datetime = field(default_factory=lambda: datetime(2025, 5, 6, 2, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def eligible_subject(ctx: ServiceContext, i: int) -> str:
    """Pre-screen → screening → evidence → engine → signed 'eligible'; returns the code."""
    code = register_prescreen(
        ctx,
        {"family_name": f"Test{i}", "email": f"p{i}@example.org", "preferred_language": "en"},
        consents={"contact": True, "health_data": True},
    ).reference
    open_screening(ctx, COORDINATOR, code)
    record_evidence(ctx, COORDINATOR, code, screening_evidence(ctx))
    decisions = confirm_all(ctx, INVESTIGATOR, code)
    decide_eligibility(ctx, INVESTIGATOR, code, overall="eligible", decisions=decisions,
                       reason="all criteria met", password=PASSWORD)  # fmt: skip
    return code


def treated_subject(ctx: ServiceContext, clock: Clock, i: int) -> tuple[str, float]:
    """An enrolled subject given cycle 1 one hour later; returns (code, net activity MBq)."""
    code = eligible_subject(ctx, i)
    result = enrol(ctx, INVESTIGATOR, code)
    clock.advance(hours=1)
    t0 = clock.now - timedelta(minutes=30)
    adm = record_administration(
        ctx, INVESTIGATOR, code, pre_activity_mbq=result.activity_gbq * 1e3 + 40.0,
        pre_measured_at=t0, residual_activity_mbq=40.0,
        residual_measured_at=t0 + timedelta(minutes=20), administered_at=t0 + timedelta(minutes=10),
    )  # fmt: skip
    return code, adm.net_activity_mbq


# organ: (mass g, Gy/GBq, BED factor G, α/β Gy) — values in the range NeoRay reported
ORGANS: dict[str, tuple[float, float, float | None, float | None]] = {
    "kidneys": (310.0, 0.10, 0.025, 2.6),
    "pancreas": (140.0, 0.055, None, None),
    "liver": (1800.0, 0.03, None, None),
}


def write_run(folder: Path, *, cycle: int, activity_gbq: float, plots: bool = True) -> Path:
    """A ``radiotrial dose run`` output folder whose region and marrow entries are written by
    the dosimetry package's own serialisers (so the keys are the real ones)."""
    from radiotrial.dosimetry import MarrowDose, RegionDose
    from radiotrial.imaging import Volume, write_nifti
    from radiotrial.radiobiology import eqd2

    folder.mkdir(parents=True)
    regions = []
    for name, (mass, coeff, g, ab) in ORGANS.items():
        dose = coeff * activity_gbq
        bed = None if g is None or ab is None else dose * (1 + g * dose / ab)
        regions.append(
            RegionDose(
                name,
                "organ",
                mass,
                mass / 1.05,
                1e12,
                1e11,
                dose,
                0.1 * dose,
                coeff,
                bed,
                None if bed is None or ab is None else float(eqd2(bed, alpha_beta_gy=ab)),
                "kidney" if g else None,
                "bi",
                60.0,
                {"tia_fit": 0.08},
                g,
                ab,
            ).as_dict()
        )
    # the imaged bone region called red_marrow: not the marrow dose the 2 Gy limit applies to
    regions.append(
        RegionDose(
            "red_marrow",
            "bone",
            4000.0,
            3000.0,
            1e11,
            1e10,
            0.0057 * activity_gbq,
            0.001,
            0.0057,
            None,
            None,
            None,
            "mono",
            45.0,
            {},
        ).as_dict()
    )
    regions.append(
        RegionDose(
            "remainder",
            "remainder",
            5e4,
            5e4,
            1e13,
            1e12,
            0.05,
            0.01,
            0.007,
            None,
            None,
            None,
            "mono",
            40.0,
            {},
        ).as_dict()
    )
    marrow = [
        MarrowDose("blood", 1e10, 1e9, 1170.0, 0.02 * activity_gbq, 0.004).as_dict(),
        MarrowDose("image", 1e10, 1e9, 1170.0, 0.018 * activity_gbq, 0.004).as_dict(),
    ]
    dose = np.zeros((6, 8, 10))
    dose[3, 4, 5] = 2.5
    write_nifti(Volume(dose, spacing_mm=(4.0, 4.0, 4.0), units="Gy"), folder / "dose.nii.gz")
    files = ["results.json", "dose.nii.gz"]
    if plots:
        import matplotlib.pyplot as plt

        (folder / "plots").mkdir()
        for name in ("tac_kidneys.png", "dvh.png"):
            fig, ax = plt.subplots(figsize=(2, 2))
            ax.plot([0, 1], [1, 0])
            fig.savefig(folder / "plots" / name)
            plt.close(fig)
            files.append(f"plots/{name}")
    doc: dict[str, Any] = {
        "patient_id": "VP-web", "cycle": cycle, "nuclide": "Lu-177",
        "administered_activity_gbq": activity_gbq, "injection_time": "2025-05-06T10:00:00+08:00",
        "session_times_h": [4.0, 24.0, 96.0], "engine": "kernel", "regions": regions,
        "red_marrow": marrow, "plan": None, "files": files,
    }  # fmt: skip
    (folder / "results.json").write_text(json.dumps(doc), encoding="utf-8")
    return folder
