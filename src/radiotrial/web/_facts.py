"""The public facts of a trial, taken from its protocol, for the plain-language pages.

Nothing here is typed by hand: every number comes from the protocol file or from the nuclear
data of :mod:`radiotrial.nuclides`; free text of the protocol is passed through the catalogue
(see :func:`protocol_texts`, whose strings the catalogue test requires in every language),
except the patient information, which the protocol holds in both languages
(:class:`radiotrial.protocol.PatientText`, shown with the ``local`` template filter).
"""

from __future__ import annotations

from dataclasses import dataclass

from babel import Locale

from radiotrial.nuclides import get_nuclide
from radiotrial.protocol import PatientText, Protocol

__all__ = ["ContactFact", "PublicFacts", "ScreeningFact", "protocol_texts", "public_facts"]


@dataclass(frozen=True)
class ScreeningFact:
    id: str
    name: str
    window_d: float


@dataclass(frozen=True)
class ContactFact:
    role: str
    name: str
    email: str
    phone: str | None
    languages: tuple[str, ...]
    handles: tuple[str, ...]
    placeholder: bool


@dataclass(frozen=True)
class PublicFacts:
    """Protocol facts shown to the public, in protocol units converted for reading.

    ``*_text`` fields hold protocol free text (English source strings, translated at render).
    """

    protocol_id: str
    title_text: str
    phase: str
    registration: str | None
    site_name_text: str
    department_text: str
    city_text: str
    country_text: str
    country_code: str | None
    time_zone: str
    population_text: str
    free_of_charge: bool
    expatriates_eligible: bool
    product: str
    nuclide: str
    ligand_name: str
    half_life_d: float
    target_receptor_text: str
    companion_imaging: str | None
    min_age_years: float | None
    max_cycles: int
    cycle_interval_weeks: float
    dlt_window_d: float
    imaging_timepoints_h: tuple[float, ...]
    imaging_modality_text: str
    first_activity_gbq: float
    highest_activity_gbq: float
    n_dose_levels: int
    screening: tuple[ScreeningFact, ...]
    contacts: tuple[ContactFact, ...]
    retention_days: float
    condition: PatientText
    inclusion: tuple[PatientText, ...]
    exclusion: tuple[PatientText, ...]
    radiation_safety: tuple[PatientText, ...]

    def contacts_for(self, handle: str) -> tuple[ContactFact, ...]:
        """Contacts responsible for ``handle`` (``prescreening``, ``consultation``, ...)."""
        return tuple(c for c in self.contacts if handle in c.handles)


def _country_code(name: str) -> str | None:
    """ISO 3166-1 alpha-2 code of an English country name (CLDR names via Babel)."""
    wanted = name.strip().casefold()
    for code, label in Locale.parse("en").territories.items():
        if isinstance(code, str) and len(code) == 2 and str(label).casefold() == wanted:
            return code
    return None


def _min_age(protocol: Protocol) -> float | None:
    for crit in protocol.eligibility.inclusion:
        value = crit.threshold
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if crit.variable == "age" and crit.operator in (">=", ">") and numeric:
            return float(value)  # type: ignore[arg-type]
    return None


def public_facts(protocol: Protocol) -> PublicFacts:
    """Extract the public facts of ``protocol`` (the app computes them once, at start)."""
    rp = protocol.radiopharmaceutical
    levels = protocol.dose_levels.activity_gbq
    start = protocol.dose_levels.starting_level
    return PublicFacts(
        protocol_id=protocol.id,
        title_text=protocol.title,
        phase=protocol.phase,
        registration=protocol.registration,
        site_name_text=protocol.site.name,
        department_text=protocol.site.department,
        city_text=protocol.site.city,
        country_text=protocol.site.country,
        country_code=_country_code(protocol.site.country),
        time_zone=protocol.site.time_zone,
        population_text=protocol.population,
        free_of_charge=protocol.free_of_charge,
        expatriates_eligible=protocol.expatriates_eligible,
        product=rp.name,
        nuclide=rp.nuclide,
        ligand_name=rp.ligand_name,
        half_life_d=get_nuclide(rp.nuclide).half_life("d"),
        target_receptor_text=rp.target_receptor,
        companion_imaging=rp.companion_imaging,
        min_age_years=_min_age(protocol),
        max_cycles=int(protocol.treatment.max_cycles.value),
        cycle_interval_weeks=protocol.treatment.cycle_interval.to("week"),
        dlt_window_d=protocol.dlt.window.to("d"),
        imaging_timepoints_h=tuple(protocol.imaging_schedule.timepoints_h),
        imaging_modality_text=protocol.imaging_schedule.modality,
        first_activity_gbq=levels[start - 1],
        highest_activity_gbq=levels[-1],
        n_dose_levels=len(levels),
        screening=tuple(
            ScreeningFact(t.id, t.name, t.window.to("d")) for t in protocol.screening_tests
        ),
        contacts=tuple(
            ContactFact(
                c.role,
                c.name,
                c.email,
                c.phone,
                tuple(c.languages),
                tuple(c.handles),
                c.placeholder,
            )
            for c in protocol.contacts
        ),
        retention_days=protocol.retention.prescreen_contact_data.to("d"),
        condition=protocol.patient_information.condition,
        inclusion=tuple(protocol.plain_criteria("inclusion")),
        exclusion=tuple(protocol.plain_criteria("exclusion")),
        radiation_safety=tuple(
            PatientText(en=a.en, zh=a.zh) for a in protocol.patient_information.radiation_safety
        ),
    )


def protocol_texts(f: PublicFacts) -> tuple[str, ...]:
    """Every protocol free-text string the public pages show (each needs a translation)."""
    texts = [
        f.title_text,
        f.site_name_text,
        f.department_text,
        f.city_text,
        f.country_text,
        f.population_text,
        f.target_receptor_text,
        f.imaging_modality_text,
        *(s.name for s in f.screening),
        *(c.role for c in f.contacts),
        *(c.name for c in f.contacts),
    ]
    return tuple(dict.fromkeys(texts))
