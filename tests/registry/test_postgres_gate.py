"""The PostgreSQL half of the registry tests fails without a server, unless explicitly skipped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run_pg_test(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(
        "from tests.registry._fixtures import pg_server  # noqa: F401\n", "utf-8"
    )
    (tmp_path / "test_needs_pg.py").write_text("def test_pg(pg_server):\n    pass\n", "utf-8")
    run_env = {k: v for k, v in os.environ.items() if k != "RADIOTRIAL_SKIP_POSTGRES"}
    run_env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    run_env.update(env)
    args = ["-q", "-p", "no:cacheprovider", "-p", "no:cov", "--rootdir", str(tmp_path)]
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args, str(tmp_path)],
        cwd=tmp_path,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_missing_server_fails_and_opt_out_skips(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-postgres-here")
    failed = _run_pg_test(tmp_path, RADIOTRIAL_PG_BIN=missing)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "not found in " + missing in failed.stdout
    assert "RADIOTRIAL_SKIP_POSTGRES=1" in failed.stdout
    skipped = _run_pg_test(tmp_path, RADIOTRIAL_PG_BIN=missing, RADIOTRIAL_SKIP_POSTGRES="1")
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "1 skipped" in skipped.stdout
