"""Tumour-level rules: HER2 status (ASCO/CAP 2018), RECIST 1.1 measurability, 68Ga-NeoB PET rule.

Each function returns the derived value together with the reason in words; ``None`` means the
data do not decide it yet (an equivocal IHC without reflex ISH, an unread lesion), which the
eligibility engine reports as *pending*, never as met or not met.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from radiotrial.eligibility._constants import lab_constants
from radiotrial.errors import ValidationError

__all__ = [
    "Her2Ihc",
    "IshResult",
    "LesionKind",
    "Measurability",
    "her2_status",
    "ish_group",
    "lesion_measurability",
    "neob_pet_positive",
]

Her2Ihc = Literal["0", "1+", "2+", "3+"]
IshResult = Literal["positive", "negative"]
LesionKind = Literal[
    "non_nodal", "lymph_node", "bone_soft_tissue", "bone_blastic", "non_measurable"
]
Method = Literal["CT", "MRI", "caliper", "chest_xray", "PET"]


def ish_group(ratio: float, copies_per_cell: float) -> int:
    """Dual-probe ISH group 1–5 of the ASCO/CAP 2018 HER2 guideline.

    Parameters
    ----------
    ratio : float
        HER2/CEP17 signal ratio (> 0).
    copies_per_cell : float
        Average HER2 signals per cell (≥ 0).

    Notes
    -----
    Group 1: ratio ≥ 2.0 and copies ≥ 4.0; group 2: ratio ≥ 2.0, copies < 4.0; group 3:
    ratio < 2.0, copies ≥ 6.0; group 4: ratio < 2.0, 4.0 ≤ copies < 6.0; group 5: ratio < 2.0,
    copies < 4.0.

    References
    ----------
    Wolff AC et al., J Clin Oncol 2018;36:2105-2122, doi:10.1200/JCO.2018.77.8738.

    Examples
    --------
    >>> ish_group(2.0, 4.0), ish_group(2.5, 3.0), ish_group(1.5, 6.0), ish_group(1.5, 5.0)
    (1, 2, 3, 4)
    """
    if not ratio > 0:
        raise ValidationError("ish_ratio", ratio, "HER2/CEP17 ratio must be > 0")
    if not copies_per_cell >= 0:
        raise ValidationError("ish_copies_per_cell", copies_per_cell, "must be ≥ 0")
    c = lab_constants()["her2_asco_cap_2018"]
    if ratio >= c["ratio_cutoff"]:
        return 1 if copies_per_cell >= c["copy_number_cutoff"] else 2
    if copies_per_cell >= c["high_copy_number_cutoff"]:
        return 3
    if copies_per_cell >= c["copy_number_cutoff"]:
        return 4
    return 5


def her2_status(
    ihc: Her2Ihc | None,
    *,
    ish_ratio: float | None = None,
    ish_copies_per_cell: float | None = None,
    ish_result: IshResult | None = None,
) -> tuple[Literal["negative", "positive"] | None, str]:
    """HER2 status from IHC score and ISH by the ASCO/CAP 2018 algorithm.

    Returns
    -------
    status : {"negative", "positive"} or None
        ``None`` when the data do not decide (IHC 2+ without ISH; ISH groups 2–4 without the
        concurrent IHC; discordant IHC 3+ with negative ISH, which needs pathologist review).
    reason : str

    Notes
    -----
    IHC 0/1+ negative, 3+ positive, 2+ equivocal → reflex ISH. Dual-probe ISH: group 1
    positive; group 5 negative; group 2 positive only with IHC 3+; group 3 positive with IHC 2+
    or 3+; group 4 positive only with IHC 3+. With a qualitative ISH result only, that result
    decides an IHC 2+ case.

    Examples
    --------
    >>> her2_status("2+", ish_ratio=1.2, ish_copies_per_cell=2.1)[0]
    'negative'
    >>> her2_status("2+")[0] is None
    True
    """
    if ish_ratio is not None or ish_copies_per_cell is not None:
        if ish_ratio is None or ish_copies_per_cell is None:
            return None, "dual-probe ISH needs both the HER2/CEP17 ratio and the HER2 copy number"
        g = ish_group(ish_ratio, ish_copies_per_cell)
        what = (
            f"ISH group {g} (HER2/CEP17 {ish_ratio:g}, {ish_copies_per_cell:g} HER2 signals/cell)"
        )
        if g == 1:
            return "positive", f"{what}: amplified"
        if g == 5:
            if ihc == "3+":
                return None, f"IHC 3+ discordant with {what}: needs pathologist review"
            return "negative", f"{what}: not amplified"
        if ihc is None:
            return None, f"{what} needs the concurrent IHC score (ASCO/CAP 2018 work-up)"
        positive = (
            (g == 2 and ihc == "3+") or (g == 3 and ihc in ("2+", "3+")) or (g == 4 and ihc == "3+")
        )
        return ("positive" if positive else "negative"), f"{what} with concurrent IHC {ihc}"
    if ish_result is not None:
        if ihc == "3+" and ish_result == "negative":
            return None, "IHC 3+ discordant with negative ISH: needs pathologist review"
        if ihc == "3+":
            return "positive", "IHC 3+"
        return ish_result, f"IHC {ihc or 'not done'}, ISH {ish_result}"
    if ihc is None:
        return None, "no HER2 IHC or ISH result"
    if ihc in ("0", "1+"):
        return "negative", f"IHC {ihc}"
    if ihc == "3+":
        return "positive", "IHC 3+"
    return None, "IHC 2+ is equivocal: reflex ISH result needed"


@dataclass(frozen=True, slots=True)
class Measurability:
    """RECIST 1.1 verdict on one lesion."""

    lesion_id: str
    measurable: bool
    reason: str


def lesion_measurability(
    lesion_id: str,
    kind: LesionKind,
    *,
    method: Method,
    long_axis_mm: float | None = None,
    short_axis_mm: float | None = None,
    slice_thickness_mm: float | None = None,
    previously_irradiated: bool = False,
    progressed_after_irradiation: bool = False,
) -> Measurability:
    """Whether a baseline lesion is measurable by RECIST 1.1.

    Notes
    -----
    Non-nodal lesions (and lytic/mixed bone lesions with a soft-tissue component, measured on
    that component): longest diameter ≥ 10 mm on CT/MRI with slices ≤ 5 mm (else ≥ 2× the
    slice thickness), ≥ 10 mm by calipers, ≥ 20 mm on chest X-ray. Lymph nodes: short axis
    ≥ 15 mm. Blastic bone lesions, PET-only lesions and truly non-measurable disease are not
    measurable; lesions in a previously irradiated field only after documented progression.

    References
    ----------
    Eisenhauer EA et al., Eur J Cancer 2009;45:228-247, doi:10.1016/j.ejca.2008.10.026, §3.1.
    """
    r = lab_constants()["recist_1_1"]
    tag = f"lesion {lesion_id}"
    if kind in ("bone_blastic", "non_measurable"):
        what = "blastic bone lesion" if kind == "bone_blastic" else "non-measurable disease"
        return Measurability(lesion_id, False, f"{tag}: {what} (RECIST 1.1 §3.1.2)")
    if previously_irradiated and not progressed_after_irradiation:
        return Measurability(
            lesion_id, False, f"{tag}: in a previously irradiated field without progression"
        )
    if method == "PET":
        return Measurability(lesion_id, False, f"{tag}: measured on PET only (not RECIST 1.1)")
    if kind == "lymph_node":
        if short_axis_mm is None:
            return Measurability(lesion_id, False, f"{tag}: lymph node without short axis")
        need = float(r["min_node_short_axis_mm"])
        ok = short_axis_mm >= need
        return Measurability(
            lesion_id,
            ok,
            f"{tag}: node short axis {short_axis_mm:g} mm {'≥' if ok else '<'} {need:g} mm",
        )
    if long_axis_mm is None:
        return Measurability(lesion_id, False, f"{tag}: longest diameter not recorded")
    if method in ("CT", "MRI"):
        need = float(r["min_long_axis_mm"])
        if (
            slice_thickness_mm is not None
            and slice_thickness_mm > r["max_slice_for_fixed_minimum_mm"]
        ):
            need = float(r["slice_thickness_multiple"]) * slice_thickness_mm
    elif method == "caliper":
        need = float(r["min_caliper_mm"])
    else:  # chest X-ray
        need = float(r["min_chest_xray_mm"])
    ok = long_axis_mm >= need
    return Measurability(
        lesion_id,
        ok,
        f"{tag}: longest diameter {long_axis_mm:g} mm {'≥' if ok else '<'} {need:g} mm ({method})",
    )


def neob_pet_positive(
    lesions: Sequence[Measurability], avid: Mapping[str, bool | None]
) -> tuple[bool | None, str]:
    """The 68Ga-NeoB PET selection rule with three-valued logic.

    Positive when more than 50% of the conventional-imaging lesions are NeoB-avid and at least
    one measurable lesion is NeoB-avid (NeoRay, NCT03872778). Lesions not read on PET are
    unknown: the result is ``None`` (pending) unless it is decided whatever they turn out to be.

    Parameters
    ----------
    lesions : sequence of Measurability
        All conventional-imaging lesions with their RECIST verdict.
    avid : mapping of lesion id to bool or None
        NeoB avidity per lesion (``None`` or absent: not read).

    Examples
    --------
    >>> m = [Measurability("L1", True, ""), Measurability("L2", False, "")]
    >>> neob_pet_positive(m, {"L1": True, "L2": True})[0]
    True
    >>> neob_pet_positive(m, {"L1": True})[0] is None
    True
    """
    rule = lab_constants()["neob_pet_rule"]
    n = len(lesions)
    if n == 0:
        return False, "no conventional-imaging lesions to compare with PET"
    states = [avid.get(m.lesion_id) for m in lesions]
    a = sum(s is True for s in states)
    u = sum(s is None for s in states)
    frac_need = float(rule["min_avid_fraction_exclusive"])
    need_measurable = int(rule["min_measurable_avid_lesions"])
    frac_true = a > frac_need * n
    frac_possible = a + u > frac_need * n
    meas_avid = sum(m.measurable and s is True for m, s in zip(lesions, states, strict=True))
    meas_maybe = sum(m.measurable and s is not False for m, s in zip(lesions, states, strict=True))
    counts = f"{a}/{n} lesions NeoB-avid ({u} not read), {meas_avid} measurable avid"
    if not frac_possible:
        return False, f"{counts}: not more than {frac_need:.0%} avid"
    if meas_maybe < need_measurable:
        return False, f"{counts}: no measurable NeoB-avid lesion"
    if frac_true and meas_avid >= need_measurable:
        return True, f"{counts}: > {frac_need:.0%} avid and ≥ {need_measurable} measurable avid"
    return None, f"{counts}: PET read incomplete"
