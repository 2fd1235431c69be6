"""The public request forms: their questions, choices and validation.

Following the trial's rules for a public pre-screening form (radiotrial REFERENCE.md, China
PIPL): the form is a contact request, not a medical decision. It asks the fewest questions that
let the team prepare a first call, every medical question has a "not sure" answer, and each
consent is its own unticked box. Validation returns message ids (English source strings) that the
caller translates; nothing here renders HTML. There is deliberately no free-text field: a
free-text box invites medical records and third parties' data that the request does not need
(data minimisation, PIPL Art. 6); the investigator asks for details when calling back.
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Final

from radiotrial.services import REQUEST_CHOICES
from radiotrial.web._ports import RequesterType, RequestKind

__all__ = [
    "CONSENTS",
    "MEDICAL_QUESTIONS",
    "N_",
    "ChoiceField",
    "FormResult",
    "time_zones",
    "validate_form",
]


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    """Mark ``message`` for extraction into the catalogue; translated where it is shown."""
    return message


def _labelled(name: str, labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The registry's codes for ``name`` with their labels (every code needs one)."""
    codes = REQUEST_CHOICES[name]
    if set(codes) != set(labels):
        raise RuntimeError(f"labels of {name} {sorted(labels)} differ from the codes {codes}")
    return tuple((code, labels[code]) for code in codes)


YES_NO_NOT_SURE: Final = _labelled(
    "travel", {"yes": N_("Yes"), "no": N_("No"), "not_sure": N_("Not sure")}
)


@dataclass(frozen=True)
class ChoiceField:
    name: str
    label: str
    choices: tuple[tuple[str, str], ...]
    help: str | None = None
    short: str = ""
    """The label in the staff queue's compact answer list."""


REQUESTER_TYPES: Final[tuple[tuple[RequesterType, str], ...]] = (
    ("patient", N_("I am the patient")),
    ("relative", N_("I am a relative or friend of the patient")),
    ("physician", N_("I am the patient's doctor (referring physician)")),
)
if tuple(c for c, _ in REQUESTER_TYPES) != REQUEST_CHOICES["requester_type"]:
    raise RuntimeError("requester types differ from the registry's codes")
# how staff pages name the requester
REQUESTER_NAMES: Final = _labelled(
    "requester_type",
    {"patient": N_("the patient"), "relative": N_("a relative or friend"),
     "physician": N_("a referring physician")},
)  # fmt: skip
CONTACT_CHANNELS: Final = _labelled(
    "contact_channel",
    {"email": N_("E-mail"), "phone": N_("Telephone"), "wechat": N_("WeChat"),
     "whatsapp": N_("WhatsApp")},
)  # fmt: skip
CONTACT_TIMES: Final = _labelled(
    "contact_time",
    {"any": N_("Any time"), "morning": N_("Morning"), "afternoon": N_("Afternoon"),
     "evening": N_("Evening")},
)  # fmt: skip
LANGUAGE_CHOICES: Final = _labelled(
    "preferred_language", {"zh": N_("Chinese"), "en": N_("English"), "other": N_("Other")}
)
CONSULTATION_TOPICS: Final = (
    ("trial_question", N_("A question about the trial")),
    ("participation", N_("Whether taking part could be possible")),
    ("referral", N_("Referring a patient")),
    ("other", N_("Something else")),
)

MEDICAL_QUESTIONS: Final[tuple[ChoiceField, ...]] = (
    ChoiceField(
        "q_advanced",
        N_(
            "Has the patient been told that the breast cancer has spread (metastatic) "
            "or cannot be removed by surgery?"
        ),
        YES_NO_NOT_SURE,
        short=N_("Metastatic or unresectable"),
    ),
    ChoiceField(
        "q_er_positive",
        N_("Is the cancer oestrogen-receptor positive (ER-positive, hormone-receptor positive)?"),
        YES_NO_NOT_SURE,
        N_("You can find this in the pathology report."),
        short=N_("ER-positive"),
    ),
    ChoiceField(
        "q_her2_negative",
        N_("Is the cancer HER2-negative?"),
        YES_NO_NOT_SURE,
        N_("You can find this in the pathology report."),
        short=N_("HER2-negative"),
    ),
    ChoiceField(
        "q_prior_endocrine",
        N_("Has the patient received hormone (endocrine) therapy for this cancer?"),
        YES_NO_NOT_SURE,
        short=N_("Prior endocrine therapy"),
    ),
    ChoiceField(
        "q_prior_radioligand",
        N_("Has the patient received a radioligand (radionuclide) therapy before?"),
        YES_NO_NOT_SURE,
        short=N_("Prior radioligand therapy"),
    ),
    ChoiceField(
        "q_adult",
        N_("Is the patient at least %(age)s years old?"),
        YES_NO_NOT_SURE,
        short=N_("Adult"),
    ),
    ChoiceField(
        "q_self_care",
        N_("Is the patient able to look after themselves and up and about most of the day?"),
        YES_NO_NOT_SURE,
        short=N_("Self-care"),
    ),
)

CONSENTS: Final[dict[str, str]] = {
    "consent_contact": N_(
        "I agree that the trial team contacts me about this request through the channel I chose."
    ),
    "consent_storage": N_(
        "I agree that my answers and contact details are stored securely and, if the request "
        "is not taken forward, deleted %(days)s days after my last request. Health information "
        "is sensitive personal information; I give this consent separately."
    ),
    "consent_cross_border": N_(
        "I live outside %(country)s. I agree that the trial team exchanges my request with me "
        "and, if I ask, with my doctors across the border."
    ),
    "consent_other_trials": N_(
        "Optional: I agree to be told about other trials I might be able to join."
    ),
}

# limits keep a public form from becoming a file store; names in CJK or Latin scripts are short
MAX_LEN: Final = {
    "full_name": 100,
    "email": 254,
    "phone": 24,
    "patient_name": 100,
    "patient_email": 254,
    "patient_phone": 24,
}
_EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[^@\s<>\"']+\.[^@\s<>\"'.]{2,}$")
# as the identity vault accepts it (radiotrial.registry.IdentityRecord.phone)
_PHONE = re.compile(r"^\+?[0-9 ()\-]{6,24}$")


@cache
def time_zones() -> tuple[str, ...]:
    """IANA time zones offered on the form (tz database via :mod:`zoneinfo`)."""
    return tuple(
        sorted(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith("Etc/"))
    )


@dataclass
class FormResult:
    """Cleaned values split by destination, and field errors as message ids."""

    kind: RequestKind
    values: dict[str, str] = field(default_factory=dict)
    identity: dict[str, str] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)
    consents: dict[str, bool] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def requester_type(self) -> RequesterType:
        value = self.answers["requester_type"]
        for choice, _ in REQUESTER_TYPES:
            if choice == value:
                return choice
        raise KeyError(value)


def _clean_text(raw: str) -> tuple[str, str | None]:
    """NFC-normalised one-line text with control characters refused (returns text, error id)."""
    text = unicodedata.normalize("NFC", raw).strip()
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn"):
            return text, N_("This field contains characters that are not allowed.")
    return text, None


def validate_form(
    kind: RequestKind,
    data: Mapping[str, str],
    *,
    country_codes: frozenset[str],
    trial_country: str | None,
) -> FormResult:
    """Validate a submitted request form.

    Parameters
    ----------
    kind : {"prescreening", "consultation"}
    data : mapping of str to str
        Form fields as received (one value per name; checkboxes present when ticked).
    country_codes : frozenset of str
        Valid ISO 3166-1 alpha-2 codes for ``country``.
    trial_country : str or None
        ISO code of the trial site's country; living elsewhere requires the cross-border consent.

    Returns
    -------
    FormResult
        ``identity`` (to the vault), ``answers`` and ``consents`` when ``ok``; otherwise
        ``errors`` maps field names to message ids.
    """
    res = FormResult(kind)
    errors = res.errors

    def text(name: str, *, required: bool) -> str:
        raw = data.get(name, "")
        value, problem = _clean_text(raw)
        res.values[name] = value
        if problem:
            errors[name] = problem
        elif required and not value:
            errors[name] = N_("Please fill in this field.")
        elif len(value) > MAX_LEN[name]:
            errors[name] = N_("This answer is too long.")
        return value

    def choice(name: str, options: tuple[tuple[str, str], ...] | frozenset[str]) -> str:
        value = data.get(name, "")
        res.values[name] = value
        valid = options if isinstance(options, frozenset) else {c for c, _ in options}
        if value not in valid:
            errors[name] = N_("Please choose one of the options.")
        return value

    requester = choice("requester_type", REQUESTER_TYPES)
    name = text("full_name", required=True)
    channel = choice("contact_channel", CONTACT_CHANNELS)
    email = text("email", required=channel == "email")
    phone = text("phone", required=channel in ("phone", "wechat", "whatsapp"))
    # the patient, when someone else writes (optional: the team may ask when calling back)
    about_other = requester in ("relative", "physician")
    patient_name = text("patient_name", required=False) if about_other else ""
    patient_email = text("patient_email", required=False) if about_other else ""
    patient_phone = text("patient_phone", required=False) if about_other else ""
    if (patient_email or patient_phone) and not patient_name and "patient_name" not in errors:
        errors["patient_name"] = N_("Please give the patient's name with their contact details.")
    for field_name, value in (("email", email), ("patient_email", patient_email)):
        if value and field_name not in errors and not _EMAIL.match(value):
            errors[field_name] = N_("Please enter a valid e-mail address.")
    for field_name, value in (("phone", phone), ("patient_phone", patient_phone)):
        if value and field_name not in errors and not _PHONE.match(value):
            errors[field_name] = N_(
                "Please enter a valid telephone number, for example +86 21 1234 5678."
            )
    contact_time = choice("contact_time", CONTACT_TIMES)
    tz = choice("time_zone", frozenset(time_zones()))
    language = choice("preferred_language", LANGUAGE_CHOICES)
    interpreter = choice("interpreter", YES_NO_NOT_SURE)
    country = choice("country", country_codes)
    travel = choice("travel", YES_NO_NOT_SURE)

    answers = {
        "requester_type": requester,
        "contact_channel": channel,
        "contact_time": contact_time,
        "time_zone": tz,
        "preferred_language": language,
        "interpreter": interpreter,
        "country": country,
        "travel": travel,
    }
    if kind == "prescreening":
        for q in MEDICAL_QUESTIONS:
            answers[q.name] = choice(q.name, q.choices)
    else:
        answers["topic"] = choice("topic", CONSULTATION_TOPICS)

    consents = {name: data.get(name) == "yes" for name in CONSENTS}
    for required in ("consent_contact", "consent_storage"):
        if not consents[required]:
            errors[required] = N_("We can only handle your request with this consent.")
    abroad = "country" not in errors and trial_country is not None and country != trial_country
    if abroad and not consents["consent_cross_border"]:
        errors["consent_cross_border"] = N_(
            "You live outside the trial country: we need this consent to reply to you."
        )
    if not abroad:
        consents.pop("consent_cross_border")

    given = (
        ("full_name", name), ("email", email), ("phone", phone), ("patient_name", patient_name),
        ("patient_email", patient_email), ("patient_phone", patient_phone),
    )  # fmt: skip
    res.identity = {k: v for k, v in given if v}
    res.answers = answers
    res.consents = {k.removeprefix("consent_"): v for k, v in consents.items()}
    return res
