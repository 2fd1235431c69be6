"""The portal on the real services layer: SQLite registry, identity vault, audit chain."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from radiotrial.registry import Actor, Identity, Subject
from radiotrial.services import reveal_identity, verify_audit

from .conftest import reference_of, submit


def test_request_becomes_potential_candidate_with_identity_in_the_vault(
    services_app: object,
) -> None:
    with TestClient(services_app) as c:  # type: ignore[arg-type]
        ref = reference_of(submit(c, "zh", full_name="赵敏", email="zhao.min@example.cn").text)
    ctx = services_app.state.services  # type: ignore[attr-defined]
    with ctx.registry.read() as session:
        subject = session.execute(sa.select(Subject).where(Subject.code == ref)).scalar_one()
        assert subject.status == "potential-candidate"
        assert subject.source == "portal"
        assert subject.consents == {
            "contact": True,
            "health_data": True,
            "cross_border_transfer": False,
        }
        (row,) = session.execute(sa.select(Identity)).scalars()
        assert b"zhao" not in row.ciphertext  # sealed, not stored in clear
    coordinator = Actor("coord", "coordinator", "Coordinator")
    identity = reveal_identity(ctx, coordinator, ref, reason="call back the requester")
    assert (identity.family_name, identity.email) == ("赵敏", "zhao.min@example.cn")
    assert identity.preferred_language == "zh"
    assert verify_audit(ctx, Actor("mon", "monitor")).ok


def test_repeat_request_of_a_registered_person_is_not_revealed(
    services_app: object, tmp_path: Path
) -> None:
    with TestClient(services_app) as c:  # type: ignore[arg-type]
        first = reference_of(submit(c, "en", full_name="Anna Schmidt").text)
        second = reference_of(submit(c, "en", full_name="Anna Schmidt").text)
    assert first != second  # the public never learns that the person is already registered
    notices = [
        json.loads(p.read_text("utf-8")) for p in sorted((tmp_path / "outbox").glob("*.json"))
    ]
    staff = [n for n in notices if n["kind"] == "investigator_notice"]
    assert len(staff) == 2
    assert f"already registered as {first}" in staff[1]["body"] or (
        f"已登记为{first}" in staff[1]["body"]
    )


def test_outbox_files_are_complete_json(services_app: object, tmp_path: Path) -> None:
    with TestClient(services_app) as c:  # type: ignore[arg-type]
        ref = reference_of(submit(c, "en").text)
    files = sorted((tmp_path / "outbox").glob("*.json"))
    assert len(files) == 2
    assert not list((tmp_path / "outbox").glob(".*.tmp"))
    records = [json.loads(f.read_text("utf-8")) for f in files]
    assert {r["reference"] for r in records} == {ref}
    assert all(r["reason"].startswith("no SMTP server configured") for r in records)


def test_concurrent_posts_of_one_form_file_one_request(services_app: object) -> None:
    from concurrent.futures import ThreadPoolExecutor
    from datetime import UTC, datetime

    from radiotrial.web import PortalRequest

    backend = services_app.state.web.backend  # type: ignore[attr-defined]
    request = PortalRequest(
        kind="prescreening",
        requester_type="patient",
        language="en",
        identity={"full_name": "Parallel Person", "email": "p@example.org"},
        answers={"preferred_language": "en"},
        consents={"contact": True, "storage": True},
        submitted_at=datetime.now(UTC),
        idempotency_key="same-form-token",
    )
    with ThreadPoolExecutor(8) as pool:
        receipts = list(pool.map(lambda _: backend.submit_request(request), range(8)))
    assert len({r.reference for r in receipts}) == 1
    assert sum(r.created for r in receipts) == 1
    ctx = services_app.state.services  # type: ignore[attr-defined]
    with ctx.registry.read() as session:
        assert session.execute(sa.select(sa.func.count(Subject.id))).scalar_one() == 1
