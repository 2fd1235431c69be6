"""Radiation protection after radionuclide therapy.

Dose rate at 1 m from the body activity (measured patient coefficient, or computed from
ICRP-107 photon lines with xraydb μ_en/ρ of air and ICRP 74 H*(10)/K_a), the discharge time under
configurable rule sets (China GBZ 120-2020, US 10 CFR 35.75) and close-contact restriction days
from the point-source model. Rule sets and contact scenarios live in
``radiotrial/data/radioprotection/*.yaml`` with their sources.
"""

from radiotrial.radioprotection._release import (
    BodyRetention,
    ContactRestriction,
    DischargeDecision,
    air_kerma_rate_constant,
    ambient_dose_rate_constant,
    discharge,
    dose_rate_at_1m_usv_h,
    dose_to_contact_msv,
    klein_nishina_transfer_fraction,
    mu_en_air_cm2_g,
    restriction_days,
    rule_sets,
)

__all__ = [
    "BodyRetention",
    "ContactRestriction",
    "DischargeDecision",
    "air_kerma_rate_constant",
    "ambient_dose_rate_constant",
    "discharge",
    "dose_rate_at_1m_usv_h",
    "dose_to_contact_msv",
    "klein_nishina_transfer_fraction",
    "mu_en_air_cm2_g",
    "restriction_days",
    "rule_sets",
]
