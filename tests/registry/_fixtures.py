"""Fixtures shared by tests/registry and tests/services (imported by both conftest files).

Every test that takes ``registry`` runs twice: on a fresh SQLite file and on a fresh database
of the session's throwaway PostgreSQL server (see ``_postgres.py``).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from radiotrial.registry import Actor, Registry, User, Vault, audited_create, hash_password, upgrade
from radiotrial.services import ServiceContext, create_user
from tests.registry._postgres import shared_server

BACKENDS = ["sqlite", "postgresql"]
# for tests whose subject does not depend on the backend (the backend-sensitive paths, i.e.
# triggers, locking, migrations, datetime round trips, run on both)
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
PASSWORD = "correct horse battery staple"
SKIP_POSTGRES_ENV = "RADIOTRIAL_SKIP_POSTGRES"


@pytest.fixture(scope="session")
def pg_server():  # type: ignore[no-untyped-def]
    # the gate runs every registry test on PostgreSQL too: a missing or broken server fails
    # those tests, and only an explicit opt-out turns them into skips
    if os.environ.get(SKIP_POSTGRES_ENV) == "1":
        pytest.skip(f"PostgreSQL half skipped: {SKIP_POSTGRES_ENV}=1")
    try:
        return shared_server()
    except RuntimeError as exc:
        pytest.fail(
            f"{exc}\nInstall it (tools/system-deps.sh, as root) or set {SKIP_POSTGRES_ENV}=1 "
            "to skip the PostgreSQL half of the registry and services tests",
            pytrace=False,
        )


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database (no schema) on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    server = request.getfixturevalue("pg_server")
    return str(server.create_database())


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "registry.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template(pg_server) -> str:  # type: ignore[no-untyped-def]
    url = pg_server.create_database("template")
    upgrade(url)  # disposes its engine: a template must have no open connection
    name = sa.engine.make_url(url).database
    assert name is not None
    return name


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database with the migrated schema (a copy of a once-migrated template)."""
    if request.param == "sqlite":
        path = tmp_path / "registry.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    server = request.getfixturevalue("pg_server")
    return str(server.create_database(template=request.getfixturevalue("pg_template")))


@pytest.fixture
def registry(db_url: str) -> Iterator[Registry]:
    reg = Registry(db_url)
    yield reg
    reg.dispose()


@pytest.fixture(scope="session")
def vault_key() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture
def vault(vault_key: bytes) -> Vault:
    return Vault(vault_key)


@dataclass
class Clock:
    """A settable clock: services read ``now`` through ``ServiceContext.clock``."""

    now: datetime = field(default_factory=lambda: datetime(2025, 5, 6, 1, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now = self.now + timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ctx(registry: Registry, vault: Vault, clock: Clock) -> ServiceContext:
    return ServiceContext(registry, vault=vault, clock=clock)


@dataclass(frozen=True)
class Staff:
    admin: Actor
    coordinator: Actor
    investigator: Actor
    physicist: Actor
    statistician: Actor
    monitor: Actor


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def staff(ctx: ServiceContext, password_hash: str) -> Staff:
    """One account per role. The first admin goes through ``create_user`` (bootstrap path); the
    others reuse one Argon2id hash, because hashing costs ~50 ms of CPU each (by design)."""
    admin = create_user(
        ctx, None, username="admin", full_name="Ada Admin", role="admin", password=PASSWORD
    )
    made = {"admin": admin}
    with ctx.registry.write() as session:
        for role in ("coordinator", "investigator", "physicist", "statistician", "monitor"):
            name = role[:5]
            user = User(
                username=name,
                full_name=f"Dr {role}",
                role=role,
                password_hash=password_hash,
                active=True,
            )
            audited_create(session, admin, user)
            made[role] = Actor(name, role, f"Dr {role}")
    return Staff(**made)
