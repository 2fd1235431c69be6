"""``radiotrial serve``: schema creation, admin bootstrap, configuration check."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from radiotrial.cli import app
from radiotrial.registry import Actor
from radiotrial.services import authenticate, password_change_required
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
    assert password_change_required(ctx, "admin")  # printed once: changed at first sign-in
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


def test_serve_seed_demo_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--seed-demo`` fills an empty database once, with a development vault key, and the
    staff pages show the seeded study (dosimetry recorded without run folders included)."""
    from fastapi.testclient import TestClient

    from .conftest import PASSWORD, change_password, login

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RADIOTRIAL_SECRET_KEY", "s" * 40)
    for name in ("RADIOTRIAL_VAULT_KEY", "RADIOTRIAL_VAULT_KEY_FILE", "RADIOTRIAL_DEMO_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RADIOTRIAL_ADMIN_PASSWORD", "admin password 12345")
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    runner = CliRunner()
    args = ["serve", "--db", url, "--seed-demo", "--demo-cohorts", "1", "--check"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert (tmp_path / "var" / "vault.key").stat().st_mode & 0o077 == 0  # owner-only key file
    staff_password = re.search(r"one-time password (\S+)", first.output)
    assert staff_password and "password from $RADIOTRIAL_ADMIN_PASSWORD" in first.output
    second = runner.invoke(app, [*args, "--json"])
    assert second.exit_code == 0, second.output
    info = json.loads(second.output[second.output.index("{") :])
    assert info["demo"]["seeded"] is False  # once only
    webapp = create_app(load_settings(db_url=url))
    ctx = webapp.state.services
    assert authenticate(ctx, "admin", "admin password 12345").role == "admin"
    assert not password_change_required(ctx, "admin")  # chosen by the operator
    with TestClient(webapp) as c:
        csrf = login(c, "physicist", staff_password.group(1))
        # a generated one-time password opens nothing but the password change
        r = c.get("/staff/escalation", follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/staff/password")
        r = change_password(c, csrf, staff_password.group(1), PASSWORD)
        assert r.status_code == 303, r.text
        esc = c.get("/staff/escalation").text
        code = re.search(r'href="/staff/subjects/(RT-[0-9A-Z]+)"', esc)
        assert code and "Recommendation:" in esc
        page = c.get(f"/staff/subjects/{code.group(1)}/cycles/1/dosimetry")
        assert page.status_code == 200
        # recorded doses without a run folder: shown from the registry, and planned from them
        assert 'id="recorded-only"' in page.text and 'id="max-activity"' in page.text
