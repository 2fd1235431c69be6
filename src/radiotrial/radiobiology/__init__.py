"""Linear-quadratic radiobiology: BED for sum-of-exponentials dose rates, EQD2, EUD, cumulative BED.

Tissue α/β, repair half-times and α come from ``radiotrial/data/radiobiology.yaml`` with their
sources (the protocol can override them).
"""

from radiotrial.radiobiology._lq import (
    TissueLQ,
    bed_mono,
    bed_sum_exponentials,
    bed_uptake,
    cumulative_bed,
    dose_for_bed,
    dose_for_bed_mono,
    eqd2,
    eubed,
    eud,
    geud,
    lea_catcheside_g,
    tissue_parameters,
)

__all__ = [
    "TissueLQ",
    "bed_mono",
    "bed_sum_exponentials",
    "bed_uptake",
    "cumulative_bed",
    "dose_for_bed",
    "dose_for_bed_mono",
    "eqd2",
    "eubed",
    "eud",
    "geud",
    "lea_catcheside_g",
    "tissue_parameters",
]
