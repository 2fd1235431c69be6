"""``radiotrial serve``: run the web platform (public portal and staff application)."""

from __future__ import annotations

import logging
import os
import secrets
from typing import Any

import typer

from radiotrial.cli._output import console, json_option, print_json

__all__ = ["serve"]


def _bootstrap_admin(ctx: Any) -> str | None:
    """Create the first admin on an empty registry; return the generated password, if any."""
    from radiotrial.registry import AuthenticationError
    from radiotrial.services import create_user

    given = os.environ.get("RADIOTRIAL_ADMIN_PASSWORD")
    password = given or secrets.token_urlsafe(12)
    try:
        create_user(ctx, None, username="admin", full_name="Administrator", role="admin",
                    password=password)  # fmt: skip
    except AuthenticationError:  # accounts exist already: nothing to bootstrap
        return None
    return None if given else password


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    db: str | None = typer.Option(
        None,
        "--db",
        help="Database URL (default $RADIOTRIAL_DB_URL, else SQLite var/radiotrial.db).",
    ),
    migrate: bool = typer.Option(
        True, "--migrate/--no-migrate", help="Create or upgrade the database schema first."
    ),
    bootstrap_admin: bool = typer.Option(
        True,
        "--bootstrap-admin/--no-bootstrap-admin",
        help="On an empty database, create the 'admin' account: password from "
        "$RADIOTRIAL_ADMIN_PASSWORD, else a one-time password printed once.",
    ),
    check: bool = typer.Option(
        False, "--check", help="Build the app, print its configuration and exit (no server)."
    ),
    as_json: bool = json_option,
) -> None:
    """Serve the bilingual public portal and the staff application with uvicorn.

    Settings come from RADIOTRIAL_* environment variables (RADIOTRIAL_SMTP_URL,
    RADIOTRIAL_SECRET_KEY, RADIOTRIAL_VAULT_KEY, RADIOTRIAL_MODE, ...); see docs/web.md.
    """
    import uvicorn

    from radiotrial.registry import upgrade
    from radiotrial.web import create_app, load_settings

    overrides = {"db_url": db} if db else {}
    settings = load_settings(**overrides)
    revision = upgrade(settings.db_url) if migrate else None
    app = create_app(settings)
    admin_password = None
    if bootstrap_admin and app.state.services is not None:
        admin_password = _bootstrap_admin(app.state.services)
    info = {
        "url": f"http://{host}:{port}/",
        "mode": settings.mode,
        "database": app.state.services.registry.url if app.state.services else None,
        "schema_revision": revision,
        "mail": repr(settings.smtp) if settings.smtp else f"outbox {settings.outbox_dir}",
    }
    if as_json and check:
        print_json(info)
        return
    console.print(
        f"radiotrial web ({info['mode']}) on [bold]{info['url']}[/] · database {info['database']}"
        f" · mail: {info['mail']}",
        highlight=False,
    )
    if admin_password is not None:
        console.print(
            "created account [bold]admin[/] with one-time password "
            f"[bold]{admin_password}[/] (shown once; sign in at /staff/login and change it)",
            highlight=False,
        )
    if check:
        return
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    uvicorn.run(app, host=host, port=port, proxy_headers=settings.trust_forwarded_for)
