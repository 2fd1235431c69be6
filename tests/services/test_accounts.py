"""Accounts (bootstrap, authentication, deactivation) and identity corrections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from radiotrial.errors import ValidationError
from radiotrial.registry import (
    AuditEntry,
    AuthenticationError,
    DuplicateSubjectError,
    PermissionDeniedError,
)
from radiotrial.services import (
    ServiceContext,
    authenticate,
    change_role,
    correct_identity,
    create_user,
    current_account,
    deactivate_user,
    register_prescreen,
    reveal_identity,
    sign_in,
)
from tests.registry._fixtures import PASSWORD, SQLITE_ONLY, Staff
from tests.services._helpers import identity


@SQLITE_ONLY
def test_bootstrap_and_authentication(ctx: ServiceContext) -> None:
    with pytest.raises(AuthenticationError, match="first account"):
        create_user(ctx, None, username="c", full_name="C", role="coordinator", password=PASSWORD)
    admin = create_user(ctx, None, username="root", full_name="R", role="admin", password=PASSWORD)
    with pytest.raises(AuthenticationError, match="first account"):
        create_user(ctx, None, username="root2", full_name="R", role="admin", password=PASSWORD)
    coord = create_user(
        ctx, admin, username="coord", full_name="C", role="coordinator", password=PASSWORD
    )
    with pytest.raises(PermissionDeniedError):
        create_user(ctx, coord, username="x", full_name="X", role="admin", password=PASSWORD)
    with pytest.raises(ValidationError, match="taken"):
        create_user(ctx, admin, username="coord", full_name="C", role="monitor", password=PASSWORD)
    for system_role in ("portal", "retention"):  # act in the code, never sign in
        with pytest.raises(ValidationError, match="role"):
            create_user(ctx, admin, username="p", full_name="P", role=system_role,
                        password=PASSWORD)  # fmt: skip
    assert authenticate(ctx, "coord", PASSWORD) == coord
    # one message for every failure: no hint whether the account exists
    for user, pw in (("coord", "wrong password!"), ("nobody", PASSWORD)):
        with pytest.raises(AuthenticationError) as info:
            authenticate(ctx, user, pw)
        assert str(info.value) == "unknown user, inactive account or wrong password"
    deactivate_user(ctx, admin, "coord", reason="left the team")
    with pytest.raises(AuthenticationError):
        authenticate(ctx, "coord", PASSWORD)
    with ctx.registry.read() as s:
        texts = [str(e.new) for e in s.execute(sa.select(AuditEntry)).scalars()]
    assert all("$argon2id$" not in t for t in texts)  # password hashes never reach the trail


@SQLITE_ONLY
def test_identity_correction_is_audited_and_rehashed(ctx: ServiceContext, staff: Staff) -> None:
    code = register_prescreen(ctx, identity(70), consents={"contact": True}).reference
    with pytest.raises(ValidationError, match="reason"):
        correct_identity(ctx, staff.coordinator, code, {"family_name": "Zhao"}, reason="")
    with pytest.raises(PermissionDeniedError):
        correct_identity(ctx, staff.investigator, code, {"family_name": "Zhao"}, reason="typo")
    with pytest.raises(ValidationError, match="identity.email"):
        correct_identity(ctx, staff.coordinator, code, {"email": "nope"}, reason="typo")
    correct_identity(ctx, staff.coordinator, code, {"family_name": "Zhao70"}, reason="typo")
    assert reveal_identity(ctx, staff.coordinator, code, reason="check").family_name == "Zhao70"
    # the keyed hash follows the correction: the corrected person is now found as a duplicate
    with pytest.raises(DuplicateSubjectError):
        register_prescreen(
            ctx, identity(70, family_name="ZHAO70", document_number="Q1234567"),
            consents={"contact": True},
        )  # fmt: skip
    register_prescreen(
        ctx, identity(70, document_number="Q7654321"), consents={"contact": True}
    )  # the old name is free again
    with ctx.registry.read() as s:
        upd = s.execute(
            sa.select(AuditEntry).where(
                AuditEntry.action == "update", AuditEntry.table_name == "identities"
            )
        ).scalar_one()
        assert "family_name" in (upd.reason or "") and "Zhao70" not in (upd.new or "")


@SQLITE_ONLY
def test_role_change_and_the_account_epoch(ctx: ServiceContext) -> None:
    """Every change of what a sign-in stands for moves ``auth_epoch`` on by one; a rehash of
    the same password or a refused change does not."""
    admin = create_user(ctx, None, username="root", full_name="R", role="admin", password=PASSWORD)
    coord = create_user(
        ctx, admin, username="coord", full_name="C", role="coordinator", password=PASSWORD
    )
    account = sign_in(ctx, "coord", PASSWORD)
    assert (account.actor, account.auth_epoch) == (coord, 0)
    with pytest.raises(PermissionDeniedError):
        change_role(ctx, coord, "coord", "admin", reason="promote myself")
    with pytest.raises(ValidationError, match="role"):
        change_role(ctx, admin, "coord", "portal", reason="system roles never sign in")
    with pytest.raises(ValidationError, match="reason"):
        change_role(ctx, admin, "coord", "investigator", reason="")
    change_role(ctx, admin, "coord", "coordinator", reason="no change")  # same role: nothing
    assert current_account(ctx, "coord") == account
    change_role(ctx, admin, "coord", "investigator", reason="now a sub-investigator")
    now = current_account(ctx, "coord")
    assert now is not None and (now.actor.role, now.auth_epoch) == ("investigator", 1)
    deactivate_user(ctx, admin, "coord", reason="left the team")
    assert current_account(ctx, "coord") is None
    with ctx.registry.read() as s:
        new = s.execute(
            sa.select(AuditEntry.new)
            .where(AuditEntry.table_name == "users")
            .order_by(AuditEntry.seq.desc())
            .limit(1)
        ).scalar_one()
    assert json.loads(new or "{}")["auth_epoch"] == 2


def test_cli_changes_a_role_and_deactivates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from radiotrial.cli import main
    from radiotrial.registry import generate_key

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("RADIOTRIAL_VAULT_KEY", generate_key())
    monkeypatch.setenv("RADIOTRIAL_PASSWORD", PASSWORD)
    monkeypatch.setenv("RADIOTRIAL_NEW_PASSWORD", PASSWORD)

    def run(*args: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) as info:
            main([*args, "--url", url])
        return int(info.value.code or 0), capsys.readouterr().out

    assert run("db", "init", "--admin", "root")[0] == 0
    assert run("user", "add", "c", "--role", "coordinator", "--name", "C", "--user", "root")[0] == 0
    promote = ("user", "role", "c", "--role", "investigator", "--user", "root")
    assert run(*promote, "--reason", "")[0] == 2  # a reason is required
    code, out = run(*promote, "--reason", "promoted", "--json")
    assert code == 0 and json.loads(out) == {"username": "c", "role": "investigator"}
    # a non-admin may not deactivate anyone
    assert run("user", "deactivate", "root", "--reason", "x", "--user", "c")[0] == 2
    assert run("user", "deactivate", "c", "--reason", "left", "--user", "root")[0] == 0
    assert run("user", "deactivate", "root", "--reason", "x", "--user", "c")[0] == 2  # inactive
