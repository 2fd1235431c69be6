"""A throwaway PostgreSQL server for the registry and services tests.

The server is the Debian ``postgresql`` package's own binaries (``initdb``, ``pg_ctl`` under
``/usr/lib/postgresql/<major>/bin``), started once per test session in a fresh temporary
directory, listening only on a unix socket in that directory (no TCP port), with ``fsync`` off
(the crash tests kill clients, not the server). PostgreSQL refuses to run as root, so when the
tests run as root the cluster is owned by the ``postgres`` system user (created by the Debian
package, or here with ``useradd``) and every server command runs through ``runuser``.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PostgresServer", "find_pg_bin", "shared_server"]


def find_pg_bin() -> Path | None:
    """``$RADIOTRIAL_PG_BIN``, else the newest ``/usr/lib/postgresql/*/bin``, if it holds
    ``initdb`` and ``pg_ctl``; else None."""
    env = os.environ.get("RADIOTRIAL_PG_BIN")
    # an explicit override is the only candidate: a wrong one must not fall back silently
    candidates = (
        [env]
        if env
        else sorted(
            glob.glob("/usr/lib/postgresql/*/bin"),
            key=lambda p: int(Path(p).parent.name),
            reverse=True,
        )
    )
    for cand in candidates:
        if cand and (Path(cand) / "initdb").exists() and (Path(cand) / "pg_ctl").exists():
            return Path(cand)
    return None


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory, reached over a unix socket."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        # /tmp when root: the postgres user must traverse the path, and a unix-socket path must
        # stay under 107 bytes, which a deep $TMPDIR may not allow
        base = "/tmp" if os.geteuid() == 0 and os.path.isdir("/tmp") else None
        self.root = Path(tempfile.mkdtemp(prefix="radiotrial-pg-", dir=base))
        self.data = self.root / "data"
        self.socket_dir = self.root
        self.log = self.root / "server.log"
        self._user: str | None = None
        self._started = False
        self._db_counter = 0
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                subprocess.run(
                    ["useradd", "--system", "--no-create-home", "postgres"],
                    check=True,
                    capture_output=True,
                )
            self._user = "postgres"
            shutil.chown(self.root, user="postgres")
            os.chmod(self.root, 0o755)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self._user is not None:
            cmd = ["runuser", "-u", self._user, "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)

    @property
    def role(self) -> str:
        return self._user or pwd.getpwuid(os.geteuid()).pw_name

    def start(self) -> None:
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.role,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        opts = (
            f"-c listen_addresses='' -c unix_socket_directories={self.socket_dir} "
            "-c max_connections=60 -c shared_buffers=32MB "
            # a client killed mid-transaction is what the crash tests model, not a power cut:
            # server-side durability is irrelevant here and fsync would dominate the runtime
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "start",
        )
        self._started = True

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3 driver) of ``database`` over the unix socket."""
        return f"postgresql+psycopg://{self.role}@/{database}?host={self.socket_dir}"

    def create_database(self, prefix: str = "t", *, template: str | None = None) -> str:
        """A fresh database (empty, or a file copy of ``template``); returns its URL."""
        import psycopg

        self._db_counter += 1
        name = f"{prefix}_{os.getpid()}_{self._db_counter}"
        sql = f'CREATE DATABASE "{name}"'
        if template is not None:
            sql += f' TEMPLATE "{template}"'
        with psycopg.connect(
            host=str(self.socket_dir), user=self.role, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql)
        return self.url(name)

    def stop(self) -> None:
        if self._started:
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run(
                    str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"
                )
            self._started = False
        shutil.rmtree(self.root, ignore_errors=True)


_SERVER: PostgresServer | None = None
_FAILED: str | None = None


def shared_server() -> PostgresServer:
    """The session's server, started on first use and stopped at interpreter exit.

    Raises
    ------
    RuntimeError
        When PostgreSQL is not installed (``tools/system-packages.txt`` lists it) or fails to start.
    """
    global _SERVER, _FAILED
    if _SERVER is not None:
        return _SERVER
    if _FAILED is not None:
        raise RuntimeError(_FAILED)
    bin_dir = find_pg_bin()
    if bin_dir is None:
        where = os.environ.get("RADIOTRIAL_PG_BIN") or "/usr/lib/postgresql/*/bin"
        _FAILED = f"PostgreSQL server binaries (initdb, pg_ctl) not found in {where}"
        raise RuntimeError(_FAILED)
    server = PostgresServer(bin_dir)
    try:
        server.start()
    except subprocess.CalledProcessError as exc:
        log = server.log.read_text() if server.log.exists() else ""
        server.stop()
        _FAILED = f"PostgreSQL failed to start: {exc.stderr}\n{log}"
        raise RuntimeError(_FAILED) from exc
    _SERVER = server
    atexit.register(server.stop)
    return server


def stop_shared_server() -> None:
    """Stop the session's server now (pytest_sessionfinish)."""
    global _SERVER
    if _SERVER is not None:
        _SERVER.stop()
        _SERVER = None
