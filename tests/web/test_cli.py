"""``radiotrial serve``: schema creation, admin bootstrap, configuration check."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from radiotrial.cli import app
from radiotrial.registry import Actor
from radiotrial.services import authenticate
from radiotrial.web import create_app, load_settings


def test_serve_check_creates_schema_and_one_time_admin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vault_key: str
) -> None:
    monkeypatch.setenv("RADIOTRIAL_SECRET_KEY", "s" * 40)
    monkeypatch.delenv("RADIOTRIAL_ADMIN_PASSWORD", raising=False)
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    runner = CliRunner()
    first = runner.invoke(app, ["serve", "--db", url, "--check"])
    assert first.exit_code == 0, first.output
    match = re.search(r"one-time password (\S+)", first.output)
    assert match, first.output
    ctx = create_app(load_settings(db_url=url)).state.services
    assert authenticate(ctx, "admin", match.group(1)) == Actor("admin", "admin", "Administrator")
    second = runner.invoke(app, ["serve", "--db", url, "--check", "--json"])
    assert second.exit_code == 0
    info = json.loads(second.output[second.output.index("{") :])
    assert info["schema_revision"] and info["mode"] == "development"
    assert "one-time password" not in second.output  # only on the first start


def test_serve_refuses_production_without_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RADIOTRIAL_SECRET_KEY", raising=False)
    monkeypatch.delenv("RADIOTRIAL_VAULT_KEY", raising=False)
    monkeypatch.setenv("RADIOTRIAL_MODE", "production")
    from radiotrial.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["serve", "--db", f"sqlite:///{tmp_path / 'p.db'}", "--check"])
    assert exc.value.code == 2
