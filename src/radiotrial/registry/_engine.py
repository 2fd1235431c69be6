"""Database engines, write transactions and Alembic migrations.

SQLite (default, ``var/radiotrial.db``) runs in WAL mode with foreign keys on and
``synchronous=FULL``; every write transaction starts with ``BEGIN IMMEDIATE`` so that writers
queue at the start instead of failing on lock upgrade. On PostgreSQL a write transaction first
locks the single ``audit_head`` row (``SELECT … FOR UPDATE``). Either way write transactions are
serialised: the audit chain needs a total order, and enrolment reads cohort occupancy and assigns
a slot in the same critical section. A phase 1 trial writes a few records a minute at most, so
the serialisation costs nothing that matters.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from radiotrial.errors import ValidationError
from radiotrial.registry._errors import ConflictError, SchemaError

__all__ = [
    "DEFAULT_DB_PATH",
    "Registry",
    "current_revision",
    "database_url",
    "head_revision",
    "make_engine",
    "upgrade",
]

DEFAULT_DB_PATH = Path("var") / "radiotrial.db"
_WRITE = "radiotrial_write"


def database_url(url: str | None = None) -> str:
    """The URL to use: ``url``, else ``$RADIOTRIAL_DB_URL``, else SQLite ``var/radiotrial.db``."""
    chosen = url or os.environ.get("RADIOTRIAL_DB_URL") or f"sqlite:///{DEFAULT_DB_PATH}"
    try:
        parsed = sa.engine.make_url(chosen)
    except sa.exc.ArgumentError as exc:
        raise ValidationError("url", chosen, f"not a database URL ({exc})") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ValidationError(
            "url", chosen, "only sqlite:/// and postgresql+psycopg:// are supported"
        )
    if backend == "postgresql" and parsed.drivername == "postgresql":
        chosen = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return chosen


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # take transaction control from pysqlite so that BEGIN IMMEDIATE can be issued
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=60000")
    # overwrite deleted content (purged identities) instead of leaving it in free pages
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    write = conn.get_execution_options().get(_WRITE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _private_file(path: Path) -> None:
    """Create a new SQLite file readable by its owner only (0600, in a 0700 folder if the
    folder is new): it holds the sealed identities and trial data, and the ``-wal``/``-shm``
    files SQLite adds take the database file's mode. Existing files keep their mode."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)  # an empty file is an empty SQLite database


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (see :func:`database_url`) with the registry's connection settings."""
    resolved = database_url(url)
    parsed = sa.engine.make_url(resolved)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            _private_file(Path(db))
        engine = sa.create_engine(resolved, connect_args={"timeout": 60})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(resolved, pool_pre_ping=True)


class Registry:
    """A database with the registry schema: engine, sessions and transactions.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL; default from :func:`database_url`.
    engine : Engine, optional
        Use this engine instead of creating one.
    """

    def __init__(self, url: str | None = None, *, engine: Engine | None = None) -> None:
        self.engine = engine if engine is not None else make_engine(url)
        self.url = self.engine.url.render_as_string(hide_password=True)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One serialised write transaction: commit on success, roll back on any error."""
        with self._sessions() as session:
            try:
                conn = session.connection(execution_options={_WRITE: True})
                if self.dialect == "postgresql":
                    conn.exec_driver_sql("SELECT last_seq FROM audit_head WHERE id = 1 FOR UPDATE")
                yield session
                session.commit()
            except (sa.exc.IntegrityError, StaleDataError) as exc:
                session.rollback()
                # the schema's unique/version guards caught what the application did not
                raise ConflictError(f"conflicting change refused by the database: {exc}") from exc
            except sa.exc.OperationalError as exc:
                session.rollback()
                if "locked" in str(exc) or "busy" in str(exc):
                    raise ConflictError(f"database busy, try again: {exc.orig}") from exc
                raise
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (rolled back at the end; audit reads of identity use write())."""
        with self._sessions() as session:
            try:
                yield session
            finally:
                session.rollback()

    def dispose(self) -> None:
        self.engine.dispose()

    def checkpoint(self) -> None:
        """SQLite: copy the WAL into the database file and truncate it, so that page images
        of deleted rows do not linger in ``-wal``; PostgreSQL: nothing (see docs/registry.md)."""
        if self.dialect == "sqlite":
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def require_current_schema(self) -> str:
        """Raise :class:`SchemaError` unless the database is at the newest shipped revision."""
        rev = current_revision(engine=self.engine)
        head = head_revision()
        if rev is None:
            raise SchemaError(f"{self.url}: no registry schema; run `radiotrial db init`")
        if rev != head:
            raise SchemaError(
                f"{self.url}: schema revision {rev}, this radiotrial needs {head}; "
                "run `radiotrial db upgrade`"
            )
        return rev


def _alembic_config(connection: sa.Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    script_dir = resources.files("radiotrial.registry").joinpath("migrations")
    cfg.set_main_option("script_location", str(script_dir))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(url: str | None = None, revision: str = "head", *, engine: Engine | None = None) -> str:
    """Create or migrate the schema to ``revision`` (default: the newest); returns the revision."""
    from alembic import command

    eng = engine if engine is not None else make_engine(url)
    try:
        with eng.begin() as conn:
            command.upgrade(_alembic_config(conn), revision)
        return current_revision(engine=eng) or "base"
    finally:
        if engine is None:
            eng.dispose()


def current_revision(url: str | None = None, *, engine: Engine | None = None) -> str | None:
    """The schema revision stamped in the database (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    eng = engine if engine is not None else make_engine(url)
    try:
        with eng.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        if engine is None:
            eng.dispose()


def head_revision() -> str:
    """The newest revision shipped with this version of radiotrial."""
    from alembic.script import ScriptDirectory

    script_dir = resources.files("radiotrial.registry").joinpath("migrations")
    head = ScriptDirectory(str(script_dir)).get_current_head()
    if head is None:  # pragma: no cover - the package always ships a migration
        raise RuntimeError("no Alembic revision shipped")
    return head
