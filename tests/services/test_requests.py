"""Portal requests in the services layer, on SQLite and PostgreSQL: every request stored,
people matched only by keys that identify them, staff resolution, retention, the outbox."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from radiotrial.errors import ValidationError
from radiotrial.registry import (
    AuditEntry,
    IdentityKey,
    OutboxMail,
    Request,
    Subject,
    WorkflowError,
    verify_chain,
)
from radiotrial.services import (
    QueuedMail,
    RequestSubmission,
    ServiceContext,
    deliver_outbox,
    file_request,
    list_outbox,
    list_requests,
    mark_request_handled,
    purge_prescreen,
    queue_mails,
    register_prescreen,
    request_detail,
    resolve_request_match,
)
from tests.registry._fixtures import SQLITE_ONLY, Clock, Staff

from ._helpers import identity


def submission(
    name: str,
    *,
    email: str | None = None,
    phone: str | None = None,
    requester: str = "patient",
    patient: dict[str, Any] | None = None,
    form_key: str | None = None,
    **extra: Any,
) -> RequestSubmission:
    base: dict[str, Any] = {
        "kind": "prescreening",
        "requester_type": requester,
        "language": "zh",
        "contact": {
            "requester": {"full_name": name, "email": email, "phone": phone or "+86 21 0000 0001"},
            "patient": patient,
        },
        "answers": {"q_er_positive": "yes", "q_adult": "not_sure"},
        "country": "CN",
        "travel": "yes",
        "interpreter": "no",
        "preferred_language": "zh",
        "contact_channel": "phone",
        "contact_time": "any",
        "time_zone": "Asia/Shanghai",
        "consents": {"contact": True, "health_data": True, "other_trials": False},
        "form_key": form_key,
    }
    return RequestSubmission(**{**base, **extra})


def test_every_request_is_stored_and_people_are_matched_by_strong_keys(
    ctx: ServiceContext,
) -> None:
    a = file_request(ctx, submission("王芳", phone="+86 21 1111 1111"))
    b = file_request(ctx, submission("王芳", phone="+86 21 2222 2222"))  # another 王芳
    c = file_request(ctx, submission("王芳", phone="0086 21 1111 1111"))  # the first, again
    assert (a.match, b.match, c.match) == ("new", "possible", "known")
    assert a.subject != b.subject and c.subject == a.subject
    assert len({a.reference, b.reference, c.reference}) == 3
    views = {v.reference: v for v in list_requests(ctx, _reader())}
    assert set(views) == {a.reference, b.reference, c.reference}
    assert views[b.reference].match_codes == [a.subject] and views[b.reference].match_open
    assert request_detail(ctx, _reader(), a.reference).other_requests == [c.reference]
    with ctx.registry.read() as s:
        assert s.execute(sa.select(sa.func.count(Subject.id))).scalar_one() == 2
        assert verify_chain(s).ok


def test_a_repeated_form_files_nothing_new(ctx: ServiceContext) -> None:
    first = file_request(ctx, submission("Li Hua", email="li@example.org", form_key="tok-1"))
    again = file_request(ctx, submission("Li Hua", email="li@example.org", form_key="tok-1"))
    assert (again.reference, again.created, first.created) == (first.reference, False, True)
    with ctx.registry.read() as s:
        assert s.execute(sa.select(sa.func.count(Request.id))).scalar_one() == 1


def test_staff_entry_and_portal_share_the_keys(ctx: ServiceContext) -> None:
    """A person registered by a coordinator (name, birth date, e-mail) who then writes through
    the portal with the same e-mail is known; a namesake with another e-mail is only possible."""
    code = register_prescreen(
        ctx, identity(7, given_name=None, family_name="Zhang Wei7"), consents={"contact": True}
    ).reference
    known = file_request(ctx, submission("zhang wei7", email="patient7@example.org"))
    namesake = file_request(
        ctx, submission("Zhang Wei7", email="other@example.org", phone="+86 10 9999 9999")
    )
    assert (known.match, known.subject) == ("known", code)
    assert namesake.match == "possible" and namesake.subject != code


def test_bad_submissions_name_the_field(ctx: ServiceContext) -> None:
    cases = [
        ({"country": "China"}, "request.country"),
        ({"time_zone": "Mars/Olympus"}, "request.time_zone"),
        ({"travel": "maybe"}, "request.travel"),
        ({"answers": {"q_er_positive": "<script>"}}, "request.answers.q_er_positive"),
        ({"consents": {"contact": True, "health_data": False}}, "request.consents.health_data"),
        (
            {"consents": {"contact": True, "health_data": True, "marketing": True}},
            "request.consents",
        ),
    ]
    for change, field in cases:
        with pytest.raises(ValidationError) as info:
            file_request(ctx, submission("X Y", **change))
        assert info.value.field == field
    with pytest.raises(ValidationError, match="contact.contact"):
        file_request(ctx, submission("X Y", contact={"requester": {"full_name": "X Y"}}))
    with ctx.registry.read() as s:  # nothing half-written
        assert s.execute(sa.select(sa.func.count(Request.id))).scalar_one() == 0
        assert s.execute(sa.select(sa.func.count(Subject.id))).scalar_one() == 0


def test_resolving_a_possible_match(ctx: ServiceContext, staff: Staff) -> None:
    first = file_request(ctx, submission("Maria Rossi", email="m1@example.it"))
    second = file_request(
        ctx, submission("Maria Rossi", email="m2@example.it", phone="+39 06 1234 5678")
    )
    with pytest.raises(ValidationError, match="same_as"):
        resolve_request_match(
            ctx, staff.coordinator, second.reference, same_as="RT-NOTTHERE", reason="checked"
        )
    resolve_request_match(
        ctx,
        staff.coordinator,
        second.reference,
        same_as=first.subject,
        reason="same person, new e-mail",
    )
    view = request_detail(ctx, staff.coordinator, second.reference)
    assert (view.subject, view.resolution, view.match_open) == (first.subject, "same", False)
    with ctx.registry.read() as s:
        provisional = s.execute(
            sa.select(Subject).where(Subject.code == second.subject)
        ).scalar_one()
        assert provisional.status == "not-registered"
        keys = s.execute(
            sa.select(sa.func.count(IdentityKey.id)).where(IdentityKey.subject_id == provisional.id)
        ).scalar_one()
        assert keys == 0  # they moved to the known person
    # the new e-mail now finds the person
    third = file_request(
        ctx, submission("maria rossi", email="m2@example.it", phone="+39 02 0000 0000")
    )
    assert (third.match, third.subject) == ("known", first.subject)
    with pytest.raises(WorkflowError):
        resolve_request_match(
            ctx, staff.coordinator, second.reference, same_as=None, reason="again"
        )


def test_handled_requests_leave_the_open_list(ctx: ServiceContext, staff: Staff) -> None:
    r = file_request(ctx, submission("Q R"))
    with pytest.raises(ValidationError, match="reason"):
        mark_request_handled(ctx, staff.coordinator, r.reference, note=" ")
    mark_request_handled(ctx, staff.investigator, r.reference, note="answered by phone")
    assert list_requests(ctx, staff.monitor) == []
    handled = list_requests(ctx, staff.monitor, open_only=False)
    assert [v.handled_by for v in handled] == [staff.investigator.username]


def test_retention_counts_from_the_newest_request(
    ctx: ServiceContext, staff: Staff, clock: Clock
) -> None:
    first = file_request(ctx, submission("Old Person", email="old@example.org"))
    clock.advance(days=170)
    file_request(ctx, submission("old person", email="old@example.org"))  # asks again
    queue_mails(
        ctx,
        [
            (
                QueuedMail(
                    "requester_confirmation", ("old@example.org",), "s", "b", "zh", first.reference
                ),
                "no SMTP",
            )
        ],
    )
    clock.advance(days=20)  # the first request is 190 days old, the second 20
    assert purge_prescreen(ctx, staff.admin).purged == []
    clock.advance(days=170)
    result = purge_prescreen(ctx, staff.admin)
    assert (result.purged, result.requests, result.outbox) == ([first.subject], 2, 1)
    with ctx.registry.read() as s:
        assert s.execute(sa.select(sa.func.count(Request.id))).scalar_one() == 0
        assert s.execute(sa.select(sa.func.count(OutboxMail.id))).scalar_one() == 0
        purges = s.execute(sa.select(AuditEntry).where(AuditEntry.action == "purge")).scalars()
        assert all("Old Person" not in f"{e.old}{e.reason}" for e in purges)
        assert verify_chain(s).ok


@SQLITE_ONLY
def test_outbox_delivery_keeps_failures(ctx: ServiceContext, staff: Staff) -> None:
    r = file_request(ctx, submission("S T", email="st@example.org"))
    queue_mails(
        ctx,
        [
            (
                QueuedMail(
                    "investigator_notice", ("pi@example.org",), "notice", "body", "en", r.reference
                ),
                "no SMTP",
            ),
            (
                QueuedMail(
                    "requester_confirmation",
                    ("st@example.org",),
                    "confirm",
                    "body",
                    "zh",
                    r.reference,
                ),
                "no SMTP",
            ),
        ],
    )
    entries = list_outbox(ctx, staff.admin)
    assert [e.reference for e in entries] == [r.reference] * 2
    sent: list[tuple[str, ...]] = []

    def send(mail: QueuedMail) -> None:
        if mail.kind == "requester_confirmation":
            raise ConnectionRefusedError("server down")
        sent.append(mail.recipients)

    report = deliver_outbox(ctx, staff.admin, send)
    assert sent == [("pi@example.org",)] and len(report.sent) == 1
    (left,) = list_outbox(ctx, staff.admin)
    assert (left.kind, left.attempts) == ("requester_confirmation", 1)
    assert "ConnectionRefusedError: server down" in left.reason
    with pytest.raises(Exception, match="outbox.manage"):
        list_outbox(ctx, staff.coordinator)


def _reader() -> Any:
    from radiotrial.registry import Actor

    return Actor("monitor", "monitor")


def test_subject_status_lists_its_requests(ctx: ServiceContext, clock: Clock) -> None:
    from radiotrial.services import subject_status

    r1 = file_request(ctx, submission("U V", email="uv@example.org"))
    clock.advance(hours=1)
    r2 = file_request(ctx, submission("U V", email="uv@example.org"))
    status = subject_status(ctx, _reader(), r1.subject)
    assert [q["reference"] for q in status["requests"]] == [r1.reference, r2.reference]
    assert (
        timedelta(0) < status["requests"][1]["received_at"] - status["requests"][0]["received_at"]
    )
