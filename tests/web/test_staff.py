"""Staff application and API: the whole screening path, and refusal on every route."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from radiotrial.protocol import bundled_protocol
from radiotrial.registry import Actor, permission_matrix
from radiotrial.web._auth import SessionStore, TokenSigner
from tests.services._helpers import ELIGIBLE

from .conftest import ROLES, SECRET, api_token, login, login_form, reference_of, submit


def _confirm_all(page: str, **overrides: tuple[str, str]) -> dict[str, str]:
    """The decide form's per-criterion fields as the page shows them: every criterion
    confirmed, except ``overrides`` (criterion id with '-' as '_' → (status, reason))."""
    fields: dict[str, str] = {}
    for cid, sha in re.findall(r'name="sha_([A-Z0-9-]+)" value="([0-9a-f]{64})"', page):
        fields[f"sha_{cid}"] = sha
        fields[f"action_{cid}"] = "confirm"
        key = cid.replace("-", "_")
        if key in overrides:
            fields[f"action_{cid}"] = "override"
            fields[f"status_{cid}"], fields[f"reason_{cid}"] = overrides[key]
    assert fields, "no per-criterion decision fields on the page"
    return fields


def _evidence(observed: datetime) -> list[dict[str, Any]]:
    return [
        {
            "variable": var,
            "value": value,
            "unit": unit,
            "observed_at": observed.isoformat(),
            "source_document": f"screening file, {var}",
            "test_id": test,
        }
        for var, value, unit, test in ELIGIBLE
    ]


def subject_of(client: TestClient, reference: str) -> str:
    """The subject a request belongs to, as its staff page links it."""
    page = client.get(f"/staff/requests/{reference}")
    assert page.status_code == 200, page.text[:300]
    match = re.search(r'id="subject-link" href="/staff/subjects/(RT-[0-9A-Z]+)"', page.text)
    assert match
    return match.group(1)


def test_request_to_enrolment(staff_app: Any) -> None:
    with TestClient(staff_app) as public:
        req = reference_of(submit(public, "zh").text)
    with TestClient(staff_app) as coord:
        csrf = login(coord, "coordinator")
        queue = coord.get("/staff/")
        assert req in queue.text
        # the e-mail link leads to the request, and the request to its subject
        ref = subject_of(coord, req)
        page = coord.get(f"/staff/subjects/{ref}")
        assert f"Subject {ref}" in page.text and "potential-candidate" in page.text
        assert f'href="/staff/requests/{req}"' in page.text
        r = coord.post(
            f"/staff/subjects/{ref}/forward",
            data={"csrf_token": csrf, "to": "screening", "note": "called back"},
        )
        assert r.status_code == 200 and 'id="status" class="status">screening<' in r.text
        # one lab through the form (site time), the rest through the API
        r = coord.post(
            f"/staff/subjects/{ref}/evidence",
            data={
                "csrf_token": csrf,
                "variable": "haemoglobin",
                "value": "7.5",
                "unit": "g/dL",
                "observed_at": (datetime.now(UTC) - timedelta(days=2))
                .astimezone()
                .strftime("%Y-%m-%dT%H:%M"),
                "source_document": "lab report 1",
                "test_id": "labs",
            },
        )
        assert r.status_code == 200
        assert re.search(r"<td>I-HB</td><td>[^<]*</td><td class=\"outcome-fail\">not_met<", r.text)
        headers = api_token(coord, "coordinator")
        observed = datetime.now(UTC) - timedelta(days=1)
        r = coord.post(f"/api/v1/subjects/{ref}/evidence", json=_evidence(observed),
                       headers=headers)  # fmt: skip
        assert r.status_code == 201, r.text
        screening = coord.get(f"/api/v1/subjects/{ref}/screening", headers=headers).json()
        assert screening["overall"] == "eligible"
        assert {t["status"] for t in screening["checklist"]} == {"complete"}
        hb = next(c for c in screening["criteria"] if c["id"] == "I-HB")
        assert hb["status"] == "met"  # the later 11.8 g/dL replaces 7.5 g/dL
        # a coordinator may not decide eligibility
        r = coord.post(f"/staff/subjects/{ref}/decide",
                       data={"csrf_token": csrf, "overall": "eligible", "reason": "x",
                             "password": "correct horse battery staple 7"})  # fmt: skip
        assert r.status_code == 403
    with TestClient(staff_app) as inv:
        csrf = login(inv, "investigator")
        page = inv.get(f"/staff/subjects/{ref}")
        assert 'id="overall">eligible<' in page.text
        base = {"csrf_token": csrf, "overall": "eligible", "reason": "all met"}
        signing = {**base, "password": "correct horse battery staple 7"}
        confirmed = _confirm_all(page.text)
        # every criterion needs its own decision: none is signed blindly
        r = inv.post(f"/staff/subjects/{ref}/decide", data=signing)
        assert r.status_code == 422 and "action_I-AGE" in r.text
        r = inv.post(f"/staff/subjects/{ref}/decide",
                     data={**base, **confirmed, "password": "wrong password"})  # fmt: skip
        assert r.status_code == 403  # the signature needs the signer's password
        # an override without a reason is refused; 'eligible' with a criterion failing too
        no_reason = _confirm_all(page.text, I_ECOG=("not_met", ""))
        r = inv.post(f"/staff/subjects/{ref}/decide", data={**signing, **no_reason})
        assert r.status_code == 422 and "override needs a reason" in r.text
        failing = _confirm_all(page.text, I_ECOG=("not_met", "ECOG 2 at the visit"))
        r = inv.post(f"/staff/subjects/{ref}/decide", data={**signing, **failing})
        assert r.status_code == 422 and "failing: I-ECOG" in r.text
        # a judgement that changed after the page was shown is not signed unseen
        stale = {**confirmed, "sha_I-PLT": "0" * 64}
        r = inv.post(f"/staff/subjects/{ref}/decide", data={**signing, **stale})
        assert r.status_code == 422 and "changed since it was reviewed" in r.text
        r = inv.post(f"/staff/subjects/{ref}/decide", data={**signing, **confirmed})
        assert r.status_code == 200 and ">eligible<" in r.text
        elig = bundled_protocol().eligibility
        n_criteria = len(elig.inclusion) + len(elig.exclusion)
        assert (
            f"criteria confirmed: {n_criteria}" in r.text and 'class="small override"' not in r.text
        )
        r = inv.post(f"/staff/subjects/{ref}/enrol", data={"csrf_token": csrf})
        assert r.status_code == 200
        assert "enrolled-cohort-1-level-1" in r.text
        status = inv.get(f"/api/v1/subjects/{ref}", headers=api_token(inv, "investigator"))
        assert status.json()["dose_level"] == 1
        esc = inv.get("/staff/escalation").text
        assert "Recommendation:" in esc and f'href="/staff/subjects/{ref}"' in esc
        assert re.search(r"<tr><td>1</td><td>1\.85</td>", esc)  # protocol level 1
    with TestClient(staff_app) as mon:
        login(mon, "monitor")
        assert "Hash chain intact" in mon.get("/staff/audit").text
        page = mon.get(f"/staff/subjects/{ref}")
        assert "Show identity" not in page.text  # monitors never see identity data


def _flat(routes: list[Any]) -> list[Any]:
    out = []
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's included routers
        out.extend(_flat(included.routes) if included is not None else [route])
    return out


def _routes(app: Any) -> list[tuple[str, str, str]]:
    out = []
    for route in _flat(app.routes):
        path = getattr(route, "path", "")
        if not (path.startswith("/staff") or path.startswith("/api/v1")):
            continue
        actions = [getattr(dep.call, "action", None) for dep in route.dependant.dependencies]
        action = next((a for a in actions if a), None)
        for method in route.methods - {"HEAD"}:
            out.append((method, path, action or ""))
    return out


def _url(path: str) -> str:
    """A concrete URL for a route pattern (the refusal comes before any lookup)."""
    for name, value in (("{code}", "RT-00000000"), ("{cycle}", "1"), ("{aespid}", "1"),
                        ("{name}", "dvh.png"), ("{reference}", "PS-0000-0000")):  # fmt: skip
        path = path.replace(name, value)
    assert "{" not in path, path
    return path


def test_every_route_refuses_anonymous_and_wrong_roles(staff_app: Any) -> None:
    routes = _routes(staff_app)
    public = {("GET", "/staff/login"), ("POST", "/staff/login"), ("POST", "/api/v1/token"),
              ("GET", "/staff/language/{lang}")}  # fmt: skip
    guarded = [r for r in routes if (r[0], r[1]) not in public]
    assert len(guarded) >= 60
    assert all(action for _, _, action in guarded), "a staff route without a permission"
    matrix = permission_matrix()
    with TestClient(staff_app) as anon:
        for method, path, _ in guarded:
            url = _url(path)
            r = anon.request(method, url, follow_redirects=False)
            if path.startswith("/api/"):
                assert r.status_code == 401, (method, path)
            else:
                assert (r.status_code, r.headers.get("location")) == (303, "/staff/login"), (
                    method,
                    path,
                )
    for role in ROLES:
        with TestClient(staff_app) as c:
            csrf = login(c, role)
            headers = api_token(c, role)
            for method, path, action in guarded:
                if matrix.allows(role, action):
                    continue
                url = _url(path)
                r = c.request(method, url, headers=headers, data={"csrf_token": csrf},
                              follow_redirects=False)  # fmt: skip
                assert r.status_code == 403, (role, method, path, r.status_code)


def test_every_staff_action_has_an_api_endpoint(staff_app: Any) -> None:
    """What a role can do on the staff pages it can do through the API, under the same
    permission (a programmatic client is never stuck at a page)."""
    routes = _routes(staff_app)
    pages = {action for _, path, action in routes if path.startswith("/staff") and action}
    api = {action for _, path, action in routes if path.startswith("/api/v1") and action}
    assert pages <= api, sorted(pages - api)


def test_login_throttling(staff_app: Any) -> None:
    with TestClient(staff_app) as c:
        form = login_form(c)
        codes = [
            c.post(
                "/staff/login", data={**form, "username": "coordinator", "password": "nope"}
            ).status_code
            for _ in range(6)
        ]
        assert codes == [401] * 5 + [429]
        # even the right password waits until the lock-out ends
        r = c.post("/staff/login", data={**form, "username": "coordinator",
                                         "password": "correct horse battery staple 7"})  # fmt: skip
        assert r.status_code == 429


def test_login_throttle_counts_failed_sign_ins_only(staff_app: Any) -> None:
    """An expired sign-in form or a successful sign-in is not a failure: a user whose form
    timed out ten times still signs in. Failures from one address add up across the staff
    sign-in and the API token, and a success does not wipe the address's count (else a valid
    account would reset an attacker's budget)."""
    form_password = "correct horse battery staple 7"
    with TestClient(staff_app) as c:
        for _ in range(10):
            r = c.post("/staff/login", data={"csrf_token": "expired", "username": "monitor",
                                             "password": form_password})  # fmt: skip
            assert r.status_code == 403
        for _ in range(4):
            r = c.post("/staff/login", data={**login_form(c), "username": "monitor",
                                             "password": "nope"})  # fmt: skip
            assert r.status_code == 401
        for _ in range(3):
            api_token(c, "monitor")
            login(c, "monitor")
        r = c.post("/api/v1/token", json={"username": "admin", "password": "nope"})
        assert r.status_code == 401  # the fifth failure from this address
        r = c.post("/api/v1/token", json={"username": "monitor", "password": form_password})
        assert r.status_code == 429


def test_session_cookie_flags_and_logout(staff_app: Any) -> None:
    with TestClient(staff_app) as c:
        r = c.post("/staff/login", data={**login_form(c), "username": "monitor",
                                         "password": "correct horse battery staple 7"},
                   follow_redirects=False)  # fmt: skip
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "Path=/staff" in cookie
        assert "samesite=strict" in cookie.lower()
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/staff/").text)
        assert csrf
        assert c.post("/staff/logout", data={"csrf_token": "forged"}).status_code == 403
        c.post("/staff/logout", data={"csrf_token": csrf.group(1)})
        assert c.get("/staff/", follow_redirects=False).status_code == 303


def test_idle_and_absolute_timeouts() -> None:
    now = [0.0]
    store = SessionStore(idle_s=60, max_s=300, clock=lambda: now[0])
    s = store.create(Actor("c", "coordinator"))
    now[0] = 59
    assert store.get(s.id) is s  # touching renews the idle timer
    now[0] = 118
    assert store.get(s.id) is s
    now[0] = 179
    assert store.get(s.id) is None  # idle for 61 s
    s = store.create(Actor("c", "coordinator"))
    for t in range(200, 480, 50):
        now[0] = t
        assert store.get(s.id) is s
    now[0] = 181 + 300
    assert store.get(s.id) is None  # absolute lifetime


def test_api_tokens(staff_app: Any) -> None:
    signer = TokenSigner(SECRET, max_age_s=60)
    token = signer.issue(Actor("monitor", "monitor"))
    assert signer.verify(token) == (Actor("monitor", "monitor"), 0)
    assert signer.verify(token + "x") is None
    assert TokenSigner(SECRET, max_age_s=-1).verify(token) is None
    with TestClient(staff_app) as c:
        assert c.get("/api/v1/me", headers={"Authorization": "Bearer junk"}).status_code == 401
        r = c.post("/api/v1/token", json={"username": "monitor", "password": "wrong"})
        assert r.status_code == 401
        me = c.get("/api/v1/me", headers=api_token(c, "monitor")).json()
        assert me == {"username": "monitor", "role": "monitor", "full_name": "Monitor"}


@pytest.mark.parametrize("role", ["coordinator", "investigator"])
def test_identity_read_is_audited(staff_app: Any, role: str) -> None:
    with TestClient(staff_app) as public:
        req = reference_of(submit(public, "en", full_name="Maria Rossi").text)
    with TestClient(staff_app) as c:
        csrf = login(c, role)
        ref = subject_of(c, req)
        r = c.post(f"/staff/subjects/{ref}/identity",
                   data={"csrf_token": csrf, "reason": "call back"})  # fmt: skip
        assert "Maria Rossi" in r.text
        r = c.post(f"/staff/subjects/{ref}/identity", data={"csrf_token": csrf, "reason": ""})
        assert r.status_code == 422  # a reason is required
        assert "Maria Rossi" not in r.text


def test_staff_language_switch(staff_app: Any) -> None:
    """The staff pages in Chinese after the switch; the switch only redirects within /staff/."""
    with TestClient(staff_app) as c:
        r = c.get("/staff/language/zh?next=/staff/login", follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/staff/login")
        assert (
            "rt_staff_lang=zh" in r.headers["set-cookie"]
            and "Path=/staff" in r.headers["set-cookie"]
        )
        login(c, "monitor")
        page = c.get("/staff/escalation").text
        assert '<html lang="zh-Hans">' in page and "剂量转换路径" in page and "审计追踪" in page
        assert 'id="staff-lang">English<' in page
        for target in ("https://evil.example/", "//evil.example/staff/", "/en/"):
            r = c.get(f"/staff/language/en?next={target}", follow_redirects=False)
            assert r.headers["location"] == "/staff/", target
        assert c.get("/staff/language/fr").status_code == 404
        assert "Dose-transition pathways" in c.get("/staff/escalation").text
