"""The request forms: minimal questions, separate unticked consents, receipt, never a verdict."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from radiotrial.protocol import bundled_protocol
from radiotrial.web import MemoryBackend
from radiotrial.web._forms import CONSENTS, MEDICAL_QUESTIONS, validate_form
from radiotrial.web._i18n import countries

from .conftest import reference_of, submit, valid_answers

CODES = frozenset(code for code, _ in countries("en"))


@pytest.mark.parametrize("kind", ["prescreening", "consultation"])
def test_consents_are_separate_and_unticked(client: TestClient, kind: str) -> None:
    html = client.get(f"/en/{kind}").text
    boxes = re.findall(r'<input type="checkbox" name="(\w+)"[^>]*>', html)
    assert boxes == list(CONSENTS)
    assert not re.search(r'type="checkbox"[^>]*checked', html)


def test_every_medical_question_offers_not_sure(client: TestClient) -> None:
    html = client.get("/en/prescreening").text
    for q in MEDICAL_QUESTIONS:
        assert f'name="{q.name}" value="not_sure"' in html
    assert "Is the patient at least 18 years old?" in html  # protocol I-AGE threshold


@pytest.mark.parametrize(("lang", "kind"), [("zh", "prescreening"), ("en", "consultation")])
def test_submission_gives_reference_next_steps_and_retention(
    client: TestClient, memory: MemoryBackend, lang: str, kind: str
) -> None:
    r = submit(client, lang, kind)
    assert r.status_code == 200
    ref = reference_of(r.text)
    assert ref in memory.requests
    stored = memory.requests[ref]
    assert stored.kind == kind and stored.language == lang
    assert stored.identity == {
        "full_name": "李华",
        "email": "li.hua@example.com",
        "phone": "+86 21 6417 5590",
    }
    assert "full_name" not in stored.answers and "email" not in stored.answers
    assert stored.consents == {"contact": True, "storage": True, "other_trials": False}
    days = bundled_protocol().retention.prescreen_contact_data.to("d")
    text = re.sub(r"<[^>]+>", "", r.text)
    if lang == "zh":
        assert "接下来会怎样" in text and f"{days:g}天" in text
    else:
        assert (
            "What happens next" in text and f"deleted {days:g} days after your last request" in text
        )
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("answer", ["yes", "no", "not_sure"])
def test_confirmation_never_gives_an_eligibility_verdict(client: TestClient, answer: str) -> None:
    overrides = {q.name: answer for q in MEDICAL_QUESTIONS}
    r = submit(client, "en", "prescreening", **overrides)
    text = re.sub(r"<[^>]+>", " ", r.text).lower()
    for verdict in ("you are eligible", "you are not eligible", "ineligible", "not suitable"):
        assert verdict not in text
    assert "not a medical decision" in text


def test_missing_required_consents_are_refused(client: TestClient, memory: MemoryBackend) -> None:
    r = submit(client, "en", consent_contact=None, consent_storage=None)  # type: ignore[arg-type]
    assert r.status_code == 422
    assert r.text.count("We can only handle your request with this consent.") == 2
    assert memory.requests == {}
    assert 'value="李华"' in r.text  # answers kept for correction


def test_cross_border_consent_only_for_people_abroad() -> None:
    abroad = valid_answers(country="DE", time_zone="Europe/Berlin")
    res = validate_form("prescreening", abroad, country_codes=CODES, trial_country="CN")
    assert res.errors == {
        "consent_cross_border": (
            "You live outside the trial country: we need this consent to reply to you."
        )
    }
    abroad["consent_cross_border"] = "yes"
    res = validate_form("prescreening", abroad, country_codes=CODES, trial_country="CN")
    assert res.ok and res.consents["cross_border"] is True
    home = valid_answers(country="CN")
    res = validate_form("prescreening", home, country_codes=CODES, trial_country="CN")
    assert res.ok and "cross_border" not in res.consents


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("requester_type", "robot"),
        ("country", "XX"),
        ("time_zone", "Mars/Olympus"),
        ("q_her2_negative", "maybe"),
        ("email", "not-an-address"),
        ("phone", "call me"),
        ("full_name", ""),
        ("full_name", "x" * 101),
        ("full_name", "bad\x00name"),
        ("contact_channel", "pigeon"),
    ],
)
def test_invalid_answers_name_the_field(field: str, value: str) -> None:
    data = valid_answers(**{field: value})
    res = validate_form("prescreening", data, country_codes=CODES, trial_country="CN")
    assert set(res.errors) == {field}


def test_channel_decides_which_contact_is_required() -> None:
    data = valid_answers(contact_channel="wechat", phone="", email="")
    res = validate_form("prescreening", data, country_codes=CODES, trial_country="CN")
    assert set(res.errors) == {"phone"}
    data = valid_answers(contact_channel="email", phone="", email="")
    res = validate_form("prescreening", data, country_codes=CODES, trial_country="CN")
    assert set(res.errors) == {"email"}


def test_reload_of_the_same_form_does_not_file_twice(
    client: TestClient, memory: MemoryBackend
) -> None:
    from .conftest import csrf_token

    token = csrf_token(client.get("/en/prescreening").text)
    data = {"csrf_token": token, **valid_answers()}
    first = reference_of(client.post("/en/prescreening", data=data).text)
    second = reference_of(client.post("/en/prescreening", data=data).text)
    assert first == second
    assert len(memory.requests) == 1
    assert len([m for m, _ in memory.outbox if m.kind == "investigator_notice"]) == 1


def test_blank_form_cached_with_a_fresh_token_each_time(
    client: TestClient, memory: MemoryBackend
) -> None:
    """The blank form is rendered once per language and path; every view gets its own token,
    and each token files its own request."""
    import re

    from .conftest import csrf_token, valid_answers

    pages = [client.get("/zh/prescreening").text for _ in range(3)]
    tokens = [csrf_token(p) for p in pages]
    assert len(set(tokens)) == 3
    assert len({p.replace(t, "") for p, t in zip(pages, tokens, strict=True)}) == 1
    assert "RT-CSRF-TOKEN-SLOT" not in pages[-1]
    assert '<html lang="en">' in client.get("/en/prescreening").text  # cached per language
    refs = set()
    for token in tokens:
        r = client.post("/zh/prescreening", data={"csrf_token": token, **valid_answers()})
        match = re.search(r'id="reference">([A-Z0-9-]+)<', r.text)
        assert r.status_code == 200 and match
        refs.add(match.group(1))
    assert len(refs) == 3
