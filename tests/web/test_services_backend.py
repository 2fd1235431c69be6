"""The portal on the real services layer: request records, identity vault, matching, outbox."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from radiotrial.registry import (
    Actor,
    AuditEntry,
    Identity,
    OutboxMail,
    Request,
    RequestContact,
    Subject,
)
from radiotrial.services import (
    list_requests,
    purge_prescreen,
    reveal_identity,
    reveal_request_contact,
    verify_audit,
)

from .conftest import login, reference_of, submit

COORD = Actor("coordinator", "coordinator", "Coordinator")
REFERENCE = re.compile(r"^(PS|CR)-[0-9A-Z]{4}-[0-9A-Z]{4}$")


def _db_bytes(app: Any) -> bytes:
    db = Path(str(app.state.services.registry.engine.url.database))
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


def _requests(app: Any) -> dict[str, tuple[Request, Subject]]:
    with app.state.services.registry.read() as s:
        rows = s.execute(sa.select(Request, Subject).join(Subject)).all()
        s.expunge_all()  # plain objects after the read session ends
        return {r.reference: (r, subj) for r, subj in rows}


def test_request_is_stored_with_answers_and_the_identity_in_the_vault(services_app: Any) -> None:
    with TestClient(services_app) as c:
        ref = reference_of(
            submit(
                c,
                "zh",
                full_name="赵敏",
                email="zhao.min@example.cn",
                phone="+86 21 5555 0101",
                interpreter="not_sure",
                consent_other_trials="yes",
                q_er_positive="yes",
            ).text
        )
    assert REFERENCE.match(ref)
    ctx = services_app.state.services
    ((request, subject),) = _requests(services_app).values()
    assert request.reference == ref and request.kind == "prescreening"
    assert (request.requester_type, request.language) == ("patient", "zh")
    assert request.answers["q_er_positive"] == "yes" and request.answers["q_adult"] == "not_sure"
    assert set(request.answers) == {
        "q_advanced",
        "q_er_positive",
        "q_her2_negative",
        "q_prior_endocrine",
        "q_prior_radioligand",
        "q_adult",
        "q_self_care",
    }
    assert (request.country, request.travel, request.interpreter) == ("CN", "yes", "not_sure")
    assert (request.contact_channel, request.contact_time, request.time_zone) == (
        "email",
        "morning",
        "Asia/Shanghai",
    )
    assert request.consents == {
        "contact": True,
        "health_data": True,
        "cross_border_transfer": None,
        "other_trials": True,
    }
    assert (subject.status, subject.source, request.match) == (
        "potential-candidate",
        "portal",
        "new",
    )
    identity = reveal_identity(ctx, COORD, subject.code, reason="call back the requester")
    assert (identity.family_name, identity.email, identity.preferred_language) == (
        "赵敏",
        "zhao.min@example.cn",
        "zh",
    )
    contact = reveal_request_contact(ctx, COORD, ref, reason="call back")
    assert contact.requester.full_name == "赵敏" and contact.patient is None
    raw = _db_bytes(services_app)
    for secret in ("赵敏", "zhao.min@example.cn", "5555 0101"):
        assert secret.encode() not in raw  # sealed, never in clear (database and WAL)
    with ctx.registry.read() as s:
        created = s.execute(
            sa.select(AuditEntry.new).where(
                AuditEntry.table_name == "requests", AuditEntry.action == "create"
            )
        ).scalar_one()
    assert '"content_sha256"' in created and "q_er_positive" not in created  # no answers
    assert verify_audit(ctx, Actor("mon", "monitor")).ok


def test_two_people_with_one_name_are_both_stored_and_flagged(staff_app: Any) -> None:
    """The audit's case: a second request under the same name (two women called 王芳) was
    silently dropped. Now both are stored, each with its own subject, and the second is a
    possible match for staff to resolve; both staff links work."""
    with TestClient(staff_app) as c:
        first = reference_of(
            submit(
                c, "zh", full_name="王芳", email="wang1@example.cn", phone="+86 21 1111 1111"
            ).text
        )
        second = reference_of(
            submit(
                c, "zh", full_name="王 芳", email="wang2@example.cn", phone="+86 10 2222 2222"
            ).text
        )
    rows = _requests(staff_app)
    assert set(rows) == {first, second} and REFERENCE.match(second)
    s1, (r2, s2) = rows[first][1], rows[second]
    assert s1.code != s2.code and {s1.status, s2.status} == {"potential-candidate"}
    assert (r2.match, r2.match_codes) == ("possible", [s1.code])
    with TestClient(staff_app) as staff:
        login(staff, "coordinator")
        queue = staff.get("/staff/").text
        assert first in queue and second in queue and "possible match" in queue
        for ref in (first, second):
            page = staff.get(f"/staff/requests/{ref}")
            assert page.status_code == 200 and ref in page.text


def test_repeat_from_a_known_person_is_a_new_request_of_the_same_subject(
    services_app: Any,
) -> None:
    with TestClient(services_app) as c:
        first = reference_of(
            submit(
                c, "en", full_name="Anna Schmidt", email="anna@example.de", phone="+49 30 1234567"
            ).text
        )
        # same name and e-mail, a new telephone: the same person
        second = reference_of(
            submit(
                c,
                "en",
                "consultation",
                full_name="anna schmidt",
                email="Anna@Example.de",
                phone="+49 30 7654321",
            ).text
        )
    assert REFERENCE.match(first) and REFERENCE.match(second) and first != second
    rows = _requests(services_app)
    assert rows[first][1].code == rows[second][1].code
    assert (rows[second][0].match, rows[second][0].kind) == ("known", "consultation")
    with services_app.state.services.registry.read() as s:
        assert s.execute(sa.select(sa.func.count(Subject.id))).scalar_one() == 1
        assert s.execute(sa.select(sa.func.count(Identity.id))).scalar_one() == 1
    views = list_requests(services_app.state.services, COORD, subject=rows[first][1].code)
    assert {v.reference for v in views} == {first, second}


def test_relatives_and_physicians_never_merge_on_their_own_identity(services_app: Any) -> None:
    """A referring physician sending two patients, a relative asking twice: the sender's name
    and contacts say nothing about who the patient is."""
    with TestClient(services_app) as c:
        refs = [
            reference_of(submit(c, "en", requester_type="physician", full_name="Dr Li").text),
            reference_of(submit(c, "en", requester_type="physician", full_name="Dr Li").text),
            reference_of(
                submit(
                    c,
                    "zh",
                    requester_type="relative",
                    full_name="周丽",
                    patient_name="周明",
                    patient_phone="+86 21 3333 3333",
                ).text
            ),
        ]
    rows = _requests(services_app)
    assert len({rows[r][1].code for r in refs}) == 3
    assert {rows[r][0].match for r in refs} == {"new"}
    assert rows[refs[0]][1].source == "referral"
    ctx = services_app.state.services
    contact = reveal_request_contact(ctx, COORD, refs[2], reason="call the relative")
    assert contact.requester.full_name == "周丽"
    assert contact.patient is not None and contact.patient.full_name == "周明"
    # the subject's identity is the patient's, reachable through the given telephone
    patient = reveal_identity(ctx, COORD, rows[refs[2]][1].code, reason="check")
    assert (patient.family_name, patient.phone) == ("周明", "+86 21 3333 3333")


def test_unsent_mail_is_kept_in_the_outbox_table_with_sealed_recipients(
    services_app: Any, tmp_path: Path
) -> None:
    with TestClient(services_app) as c:
        ref = reference_of(submit(c, "en", email="li.hua@example.com").text)
    with services_app.state.services.registry.read() as s:
        rows = s.execute(sa.select(OutboxMail).order_by(OutboxMail.id)).scalars().all()
        request_id = s.execute(sa.select(Request.id)).scalar_one()
        s.expunge_all()
    assert sorted(r.kind for r in rows) == ["investigator_notice", "requester_confirmation"]
    assert {(r.reference, r.request_id) for r in rows} == {(ref, request_id)}
    assert all(r.reason.startswith("no SMTP server configured") for r in rows)
    assert b"li.hua@example.com" not in _db_bytes(services_app)  # the recipient is sealed
    assert not list(tmp_path.rglob("*.json"))  # no files any more


def test_concurrent_posts_of_one_form_file_one_request(services_app: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from radiotrial.web import PortalRequest, ServicesBackend

    backend = services_app.state.web.backend
    other_process = ServicesBackend(services_app.state.services)  # shares nothing in memory
    request = PortalRequest(
        kind="prescreening",
        requester_type="patient",
        language="en",
        identity={"full_name": "Parallel Person", "email": "p@example.org"},
        answers={
            "country": "CN",
            "travel": "yes",
            "interpreter": "no",
            "preferred_language": "en",
            "contact_channel": "email",
            "contact_time": "any",
            "time_zone": "Asia/Shanghai",
            "requester_type": "patient",
            "q_adult": "yes",
        },
        consents={"contact": True, "storage": True},
        submitted_at=datetime.now(UTC),
        idempotency_key="same-form-token",
    )
    backends = [backend, other_process] * 4
    with ThreadPoolExecutor(8) as pool:
        receipts = list(pool.map(lambda b: b.submit_request(request), backends))
    assert len({r.reference for r in receipts}) == 1
    assert sum(r.created for r in receipts) == 1
    assert len(_requests(services_app)) == 1


def test_retention_purges_requests_contacts_and_outbox(staff_app: Any) -> None:
    services_app = staff_app
    ctx = services_app.state.services
    with TestClient(services_app) as c:
        ref = reference_of(
            submit(
                c,
                "en",
                full_name="Old Request",
                email="old@example.org",
                country="DE",
                time_zone="Europe/Berlin",
                consent_cross_border="yes",
            ).text
        )
    ((_, subject),) = _requests(services_app).values()
    admin = Actor("admin", "admin")
    assert purge_prescreen(ctx, admin).purged == []  # not yet 180 days old
    ctx.clock = lambda: datetime.now(UTC) + timedelta(days=181)
    result = purge_prescreen(ctx, admin)
    assert (result.purged, result.requests, result.outbox) == ([subject.code], 1, 2)
    with ctx.registry.read() as s:
        for model in (Request, RequestContact, OutboxMail, Identity):
            assert s.execute(sa.select(sa.func.count()).select_from(model)).scalar_one() == 0
        assert s.get(Subject, subject.id).status == "not-registered"
        purges = s.execute(sa.select(AuditEntry).where(AuditEntry.action == "purge")).scalars()
        tables = sorted(p.table_name for p in purges)
        trail = " ".join(
            f"{e.old} {e.new} {e.reason}" for e in s.execute(sa.select(AuditEntry)).scalars()
        )
    assert tables == [
        "identities",
        "identity_keys",
        "identity_keys",
        "identity_keys",
        "outbox",
        "outbox",
        "request_contacts",
        "requests",
    ]
    for secret in ("Old Request", "old@example.org", "q_er_positive", "Europe/Berlin"):
        assert secret not in trail  # nothing identifying or answered is left in the trail
    assert b"old@example.org" not in _db_bytes(services_app)
    assert verify_audit(ctx, Actor("mon", "monitor")).ok
    with TestClient(services_app) as staff:
        login(staff, "coordinator")
        assert staff.get(f"/staff/requests/{ref}").status_code == 404
