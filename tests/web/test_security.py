"""CSRF, rate limits, body size, malformed encodings, injection strings, headers."""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from radiotrial.web import MemoryBackend, create_app
from radiotrial.web._security import CsrfError, CsrfSigner, RateLimiter

from .conftest import SECRET, csrf_token, reference_of, settings, submit, valid_answers

INJECTIONS = [
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "'; DROP TABLE subjects; --",
    "1' OR '1'='1",
    "{{ 7*7 }}{% raw %}",
    "%(days)s %s %d",
    "\u202etxt.exe",
    "😀" * 30,
]
TEXT_FIELDS = ["full_name", "email", "phone"]
CHOICE_FIELDS = ["requester_type", "contact_channel", "country", "time_zone", "q_adult", "topic"]


def _post(client: TestClient, body: bytes | str, content_type: str, lang: str = "en") -> object:
    return client.post(
        f"/{lang}/prescreening", content=body, headers={"Content-Type": content_type}
    )


def test_post_without_csrf_token_files_nothing(client: TestClient, memory: MemoryBackend) -> None:
    client.get("/en/prescreening")  # sets the cookie
    r = client.post("/en/prescreening", data=valid_answers())
    assert r.status_code == 403
    assert "could not be verified" in r.text
    assert memory.requests == {}


def test_token_from_another_browser_or_form_is_refused(memory: MemoryBackend) -> None:
    app = create_app(settings(), backend=memory)
    with TestClient(app) as victim, TestClient(app) as attacker:
        token = csrf_token(attacker.get("/en/prescreening").text)
        victim.get("/en/prescreening")
        r = victim.post("/en/prescreening", data={"csrf_token": token, **valid_answers()})
        assert r.status_code == 403
        other_form = csrf_token(victim.get("/en/consultation").text)
        r = victim.post("/en/prescreening", data={"csrf_token": other_form, **valid_answers()})
        assert r.status_code == 403
    assert memory.requests == {}


def test_csrf_signer_rules() -> None:
    signer = CsrfSigner(SECRET, max_age_s=60)
    token = signer.issue("cookie-a", "prescreening")
    assert signer.verify(token, "cookie-a", "prescreening").nonce
    for bad_token, cookie, purpose in [
        (token, "cookie-b", "prescreening"),
        (token, "cookie-a", "consultation"),
        (token[:-2] + "xx", "cookie-a", "prescreening"),
        (None, "cookie-a", "prescreening"),
        (token, None, "prescreening"),
        (CsrfSigner("another-secret-" + "z" * 32, 60).issue("cookie-a", "prescreening"),
         "cookie-a", "prescreening"),
    ]:  # fmt: skip
        with pytest.raises(CsrfError):
            signer.verify(bad_token, cookie, "prescreening" if purpose is None else purpose)
    expired = CsrfSigner(SECRET, max_age_s=-1)
    with pytest.raises(CsrfError, match="expired"):
        expired.verify(token, "cookie-a", "prescreening")


def test_rate_limit_per_client(memory: MemoryBackend) -> None:
    app = create_app(settings(form_rate_limit=3), backend=memory)
    with TestClient(app) as c:
        codes = [submit(c, "en").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = submit(c, "zh")
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) > 0
        assert "请求过多" in r.text
    assert len(memory.requests) == 3


def test_rate_limit_counts_filed_requests_not_corrections(memory: MemoryBackend) -> None:
    """A person who mistypes fields (or whose form expired) is not throttled for it: only
    filed requests count, and a double click files, and counts, once."""
    app = create_app(settings(form_rate_limit=2), backend=memory)
    with TestClient(app) as c:
        for _ in range(5):  # five rejected attempts: e-mail mistyped, then no consent
            assert submit(c, "en", email="li.hua@").status_code == 422
            assert submit(c, "en", consent_contact=None).status_code == 422
        r = c.post("/en/prescreening", data={"csrf_token": "expired", **valid_answers()})
        assert r.status_code == 403
        page = c.get("/en/prescreening")
        form = {"csrf_token": csrf_token(page.text), **valid_answers()}
        first = c.post("/en/prescreening", data=form)
        again = c.post("/en/prescreening", data=form)  # double click: the same request
        assert (first.status_code, again.status_code) == (200, 200)
        assert reference_of(first.text) == reference_of(again.text)
        assert submit(c, "en").status_code == 200  # the second filed request
        assert submit(c, "en").status_code == 429  # the third is over the limit
        assert submit(c, "en", email="x@").status_code == 429  # and so is any further post
    assert len(memory.requests) == 2


def test_rate_limiter_window_with_a_fake_clock() -> None:
    now = [0.0]
    limiter = RateLimiter(2, 10.0, max_keys=2, clock=lambda: now[0])
    assert limiter.hit("a") is None and limiter.hit("a") is None
    assert limiter.hit("a") == pytest.approx(10.0)
    now[0] = 9.5
    assert limiter.hit("a") == pytest.approx(0.5)
    assert limiter.hit("b") is None
    now[0] = 10.0  # the first two events have left the window
    assert limiter.hit("a") is None
    limiter.hit("c")  # evicts the least recently used key ("b")
    assert limiter.blocked_for("b") is None


def test_oversize_body_is_413(client: TestClient, memory: MemoryBackend) -> None:
    client.get("/en/prescreening")
    r = _post(client, "full_name=" + "a" * 70_000, "application/x-www-form-urlencoded")
    assert r.status_code == 413  # type: ignore[attr-defined]
    assert memory.requests == {}


def test_streamed_oversize_body_without_length_is_413(client: TestClient) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(80):
            yield b"a" * 1024

    r = client.post(
        "/en/prescreening",
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413
    assert "Traceback" not in r.text


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"full_name=%FF%FE%FD", "application/x-www-form-urlencoded", 400),  # not UTF-8
        (b"full_name=\xff\xfe", "application/x-www-form-urlencoded", 400),  # raw bytes
        (b"full_name=a&full_name=b", "application/x-www-form-urlencoded", 400),
        (b"full_name=a", "application/x-www-form-urlencoded; charset=latin-1", 415),
        (b"--x\r\n", "multipart/form-data; boundary=x", 415),
        (b'{"full_name": "a"}', "application/json", 415),
        ("&".join(f"f{i}=1" for i in range(200)).encode(), "application/x-www-form-urlencoded",
         400),
    ],
)  # fmt: skip
def test_malformed_bodies_get_a_plain_error(
    client: TestClient, memory: MemoryBackend, body: bytes, content_type: str, status: int
) -> None:
    client.get("/en/prescreening")
    r = _post(client, body, content_type)
    assert r.status_code == status  # type: ignore[attr-defined]
    text = r.text  # type: ignore[attr-defined]
    assert "Traceback" not in text and "starlette" not in text.lower()
    assert memory.requests == {}


def _echoed_value(page: str, name: str) -> str:
    """The ``value`` attribute of input ``name`` as the browser would read it."""
    match = re.search(rf'<input id="{name}" name="{name}" type="[a-z]+" value="([^"]*)"', page)
    assert match, f"input {name} not re-rendered"
    raw = match.group(1)
    assert "<" not in raw and ">" not in raw  # nothing can open a tag or end the attribute
    return html.unescape(raw)


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_strings_are_escaped_in_every_field(
    client: TestClient, memory: MemoryBackend, payload: str
) -> None:
    page = client.get("/en/prescreening")
    data = {"csrf_token": csrf_token(page.text), **valid_answers()}
    for name in TEXT_FIELDS + CHOICE_FIELDS:
        data[name] = payload
    r = client.post("/en/prescreening", data=data)
    assert r.status_code == 422
    assert "Traceback" not in r.text
    if any(ch in payload for ch in "<>\"'"):
        assert payload not in r.text
    for name in TEXT_FIELDS:
        assert _echoed_value(r.text, name) == payload  # round trip: shown as text, verbatim
    assert "{{ 7*7 }}" not in payload or "49" not in r.text  # no template evaluation
    assert memory.requests == {}


def test_injection_in_a_valid_name_is_stored_verbatim_and_never_executed(
    client: TestClient, memory: MemoryBackend
) -> None:
    name = "<script>alert(1)</script>'; DROP TABLE subjects; --"
    r = submit(client, "en", full_name=name)
    assert r.status_code == 200
    (stored,) = memory.requests.values()
    assert stored.identity["full_name"] == name
    assert "<script>alert" not in r.text


@hsettings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(min_size=1, max_size=120))
def test_any_text_in_any_field_is_handled(client: TestClient, text: str) -> None:
    page = client.get("/en/consultation")
    data = {"csrf_token": csrf_token(page.text), **valid_answers("consultation")}
    data["full_name"] = text
    data["email"] = text
    body = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in data.items())
    r = client.post(
        "/en/consultation",
        content=body.encode("ascii"),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code in (200, 422)  # surrogates cannot be percent-encoded: never sent
    assert "Traceback" not in r.text
    if r.status_code == 422:
        shown = _echoed_value(r.text, "email")
        assert shown == unicodedata.normalize("NFC", text).strip()


def test_security_headers(client: TestClient) -> None:
    r = client.get("/en/")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in r.headers  # development: no TLS


def test_csrf_cookie_flags(client: TestClient) -> None:
    r = client.get("/en/prescreening")
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")


def test_production_needs_secrets() -> None:
    from radiotrial.errors import ValidationError

    with pytest.raises(ValidationError, match="RADIOTRIAL_SECRET_KEY"):
        settings(mode="production", secret_key=None, vault_key=None)
    with pytest.raises(ValidationError, match="at least 32"):
        settings(secret_key="short")
