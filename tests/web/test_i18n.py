"""Catalogues complete in both languages; language negotiation; switch on every page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from radiotrial.protocol import bundled_protocol
from radiotrial.web._catalog import extract
from radiotrial.web._facts import protocol_texts, public_facts
from radiotrial.web._i18n import LANGUAGES, catalogue, negotiate, translator
from radiotrial.web._portal import PAGES

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@pytest.fixture(scope="module")
def extracted() -> list[str | tuple[str, ...]]:
    return [m.id for m in extract() if m.id]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated(lang: str, extracted: list[str | tuple[str, ...]]) -> None:
    cat = catalogue(lang)  # type: ignore[arg-type]
    assert len(extracted) > 150  # the portal's pages, forms and e-mails
    problems = []
    for msgid in extracted:
        msg = cat.get(msgid)
        if msg is None:
            problems.append(f"missing: {msgid!r}")
            continue
        strings = msg.string if isinstance(msg.string, tuple) else (msg.string,)
        if not all(strings):
            problems.append(f"untranslated: {msgid!r}")
        if msg.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for text in strings:
            # every placeholder kept (plural forms may drop %(num)s where the language says it)
            if set(PLACEHOLDER.findall(text or "")) - {"num"} != wanted - {"num"}:
                problems.append(f"placeholders differ: {msgid!r} -> {text!r}")
    assert problems == []


def test_protocol_free_text_is_in_the_catalogue() -> None:
    texts = protocol_texts(public_facts(bundled_protocol()))
    assert "Fudan University Shanghai Cancer Center (FUSCC)" in texts
    zh = translator("zh")
    untranslated = [t for t in texts if zh.gettext(t) == t and not t.startswith("[68Ga]")]
    assert untranslated == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "zh"),
        ("", "zh"),
        ("en-US,en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("fr-FR,fr;q=0.9,en;q=0.5,zh;q=0.4", "en"),
        ("de, zh-TW;q=0.3", "zh"),
        ("en;q=0, zh;q=0.1", "zh"),
        ("en;q=abc, zh;q=0.2", "zh"),
        ("fr, de", "zh"),
    ],
)
def test_negotiate(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


@given(st.text(max_size=300))
def test_negotiate_never_fails(header: str) -> None:
    assert negotiate(header) in LANGUAGES


@pytest.mark.parametrize(("header", "lang"), [("en-GB,en;q=0.8", "en"), ("zh-CN", "zh")])
def test_root_redirects_by_accept_language(client: TestClient, header: str, lang: str) -> None:
    r = client.get("/", headers={"Accept-Language": header}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/{lang}/"
    assert "Accept-Language" in r.headers["vary"]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("page", [*PAGES, "prescreening", "consultation"])
def test_every_page_has_language_and_switch(client: TestClient, lang: str, page: str) -> None:
    r = client.get(f"/{lang}/{page}")
    assert r.status_code == 200
    html_lang = "zh-Hans" if lang == "zh" else "en"
    assert f'<html lang="{html_lang}">' in r.text
    other = "en" if lang == "zh" else "zh"
    assert f'href="/{other}/{page}"' in r.text  # the switch keeps the page
    assert r.headers["content-type"].startswith("text/html; charset=utf-8")


def test_pages_are_in_the_chosen_language(client: TestClient) -> None:
    zh = client.get("/zh/").text
    en = client.get("/en/").text
    assert "免费" in zh and "Free of charge" not in zh
    assert "Free of charge" in en and "免费" not in en
    assert "复旦大学附属肿瘤医院" in zh  # protocol site name through the catalogue


# what may stay Latin in a Chinese staff title or menu: the product name, subject codes and
# references, acronyms (API, BOIN, CRM)
_LATIN_OK = re.compile(r"radiotrial|[A-Z]{2}-[0-9A-Z]{4,12}(-[0-9A-Z]{4})?|\b[A-Z][A-Z0-9]+\b")


def _latin_words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z]{2,}", _LATIN_OK.sub("", text))


def test_staff_titles_and_menu_are_chinese_in_chinese(trial: object) -> None:
    """Every staff page's <title>, heading and menu go through the catalogue: none shows an
    English word once the staff language is Chinese (and each has one in English)."""
    from ._trial import treated_subject
    from .conftest import login, reference_of, submit

    app: Any = trial
    code, _ = treated_subject(app.state.services, app.state.clock, 9)
    with TestClient(app) as public:
        ref = reference_of(submit(public, "zh").text)
    pages = ["/staff/", "/staff/requests", f"/staff/requests/{ref}", "/staff/subjects",
             f"/staff/subjects/{code}", f"/staff/subjects/{code}/cycles/1/dosimetry",
             "/staff/escalation", "/staff/audit", "/staff/password",
             "/staff/subjects/RT-MISSING0"]  # fmt: skip
    for lang in LANGUAGES:
        with TestClient(app) as c:
            c.get(f"/staff/language/{lang}")
            login_page = c.get("/staff/login").text
            seen = {"/staff/login": login_page}
            login(c, "investigator")
            for p in pages:
                r = c.get(p)
                assert r.status_code == (404 if "MISSING" in p else 200), p
                seen[p] = r.text
            login(c, "admin")
            seen["/staff/outbox"] = c.get("/staff/outbox").text
            login(c, "monitor")
            seen["/staff/exports"] = c.get("/staff/exports").text
        for path, html in seen.items():
            title = re.search(r"<title>(.*?)</title>", html, re.S)
            heading = re.search(r"<h1>(.*?)</h1>", html, re.S)
            nav = re.search(r'<nav class="main.*?</nav>', html, re.S)
            assert title and heading, path
            # a FHIR status code beside the heading is data, not a title
            shown = re.sub(r'<small[^>]*class="status".*?</small>', " ", heading.group(1))
            parts = [title.group(1), re.sub(r"<[^>]+>", " ", shown)]
            if nav:
                parts.append(re.sub(r"<[^>]+>|aria-label=\"[^\"]*\"", " ", nav.group(0)))
            text = " ".join(parts)
            if lang == "zh":
                assert _latin_words(text) == [], (path, text)
            else:
                assert _latin_words(text), (path, text)
