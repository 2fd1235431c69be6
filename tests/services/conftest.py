"""Service tests run on SQLite and on a real PostgreSQL server started for the session."""

from tests.registry._fixtures import (  # noqa: F401 - pytest fixtures
    clock,
    ctx,
    db_url,
    empty_db_url,
    password_hash,
    pg_server,
    pg_template,
    registry,
    sqlite_template,
    staff,
    vault,
    vault_key,
)
from tests.registry._postgres import stop_shared_server


def pytest_sessionfinish(session, exitstatus):  # type: ignore[no-untyped-def]
    stop_shared_server()
