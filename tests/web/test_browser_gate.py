"""The gate fails, not skips, when the browser test cannot run — unless a person opts out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run_browser_test(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "RADIOTRIAL_SKIP_BROWSER_TESTS"}
    environ |= {"RADIOTRIAL_CHROMIUM": str(tmp_path / "no-chromium"), **env}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--no-cov", "-p", "no:cacheprovider",
         "tests/web/test_browser.py"],
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("opt_out", "rc", "outcome"), [(None, 1, "1 error"), ("1", 0, "1 skipped")]
)
def test_missing_chromium_fails_the_gate(
    tmp_path: Path, opt_out: str | None, rc: int, outcome: str
) -> None:
    env = {} if opt_out is None else {"RADIOTRIAL_SKIP_BROWSER_TESTS": opt_out}
    done = _run_browser_test(tmp_path, **env)
    assert done.returncode == rc, done.stdout[-2000:]
    assert outcome in done.stdout and "no-chromium missing" in done.stdout + done.stderr
