"""``radiotrial serve``: run the web platform (public portal and staff application)."""

from __future__ import annotations

import logging
import os
import secrets
import threading
from pathlib import Path
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
                    password=password, one_time=not given)  # fmt: skip
    except AuthenticationError:  # accounts exist already: nothing to bootstrap
        return None
    return None if given else password


DEV_VAULT_KEY_FILE = Path("var/vault.key")


def _development_vault_key(path: Path) -> Path:
    """A vault key file for development (created once, owner-only), used when none is set."""
    from radiotrial.registry import generate_key

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(generate_key())
    os.environ["RADIOTRIAL_VAULT_KEY_FILE"] = str(path)
    return path


def _registry_counts(ctx: Any) -> tuple[int, int]:
    """(accounts, subjects) in the registry."""
    import sqlalchemy as sa

    from radiotrial.registry import Subject, User

    with ctx.registry.read() as session:
        users = session.execute(sa.select(sa.func.count()).select_from(User)).scalar_one()
        subjects = session.execute(sa.select(sa.func.count()).select_from(Subject)).scalar_one()
    return int(users), int(subjects)


def _seed_demo(ctx: Any, dosimetry: str, n_cohorts: int, quiet: bool) -> dict[str, Any]:
    """Seed the demo study into an empty registry (once); what happened, for the console."""
    from radiotrial.services import seed_demo_trial

    users, subjects = _registry_counts(ctx)
    if users or subjects:
        reason = (
            f"the database holds {users} account(s) and {subjects} subject(s): the demo "
            "study is seeded only into an empty one"
        )
        return {"seeded": False, "reason": reason}
    with console.status("seeding the demo study …", spinner="dots") as status:

        def progress(message: str) -> None:
            if not quiet:
                status.update(f"seeding the demo study: {message}")

        summary = seed_demo_trial(
            ctx,
            dosimetry=dosimetry,  # type: ignore[arg-type]
            n_cohorts=n_cohorts,
            progress=progress,
        )
    return {"seeded": True, "summary": summary}


RETENTION_ACTOR = ("retention", "retention", "scheduled retention purge")


def _retention_loop(ctx: Any, every_s: float, stop: threading.Event) -> None:
    """Run ``purge_prescreen`` now and every ``every_s`` seconds until ``stop`` is set."""
    from radiotrial.errors import RadiotrialError
    from radiotrial.registry import Actor
    from radiotrial.services import purge_prescreen

    log = logging.getLogger("radiotrial.retention")
    actor = Actor(*RETENTION_ACTOR)
    while not stop.is_set():
        try:
            result = purge_prescreen(ctx, actor)
        except RadiotrialError as exc:  # e.g. no vault key: retried at the next run
            log.error("retention purge failed: %s", exc)
        else:
            log.info(
                "retention purge: %d person(s), %d request(s), %d unsent e-mail(s) removed",
                len(result.purged), result.requests, result.outbox,
            )  # fmt: skip
        stop.wait(every_s)


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
    seed_demo: bool = typer.Option(
        False,
        "--seed-demo",
        help="On an empty database, seed the synthetic demo study first (once): staff accounts "
        "(admin password from $RADIOTRIAL_ADMIN_PASSWORD, staff from $RADIOTRIAL_DEMO_PASSWORD, "
        "else one-time passwords printed once), virtual patients through screening, cohorts, "
        "cycles, dosimetry, adverse events and DLT adjudication. In development mode without a "
        "vault key, var/vault.key is created and used.",
    ),
    demo_dosimetry: str = typer.Option(
        "population",
        "--demo-dosimetry",
        help="Dosimetry of the demo: 'population' (NeoRay Gy/GBq × activity, seconds) or "
        "'image' (a virtual patient analysed end to end per cohort, minutes).",
    ),
    demo_cohorts: int = typer.Option(
        5, "--demo-cohorts", min=1, help="Cohorts the demo plays to the end of their DLT window."
    ),
    check: bool = typer.Option(
        False, "--check", help="Build the app, print its configuration and exit (no server)."
    ),
    purge_every_h: float = typer.Option(
        24.0,
        "--purge-every-h",
        min=0.0,
        help="Run the retention purge (radiotrial registry purge) at start and every this many "
        "hours while serving; 0 turns it off (then schedule the command yourself).",
    ),
    as_json: bool = json_option,
) -> None:
    """Serve the bilingual public portal and the staff application with uvicorn.

    Settings come from RADIOTRIAL_* environment variables (RADIOTRIAL_SMTP_URL,
    RADIOTRIAL_SECRET_KEY, RADIOTRIAL_VAULT_KEY, RADIOTRIAL_MODE, ...); see docs/web.md.
    """
    import uvicorn

    from radiotrial.errors import ValidationError
    from radiotrial.registry import upgrade
    from radiotrial.web import create_app, load_settings

    if demo_dosimetry not in ("population", "image"):
        raise ValidationError("--demo-dosimetry", demo_dosimetry, "population or image")
    overrides = {"db_url": db} if db else {}
    settings = load_settings(**overrides)
    revision = upgrade(settings.db_url) if migrate else None
    vault_file = None
    if (
        seed_demo
        and settings.mode == "development"
        and settings.vault_key is None
        and not os.environ.get("RADIOTRIAL_VAULT_KEY")
        and not os.environ.get("RADIOTRIAL_VAULT_KEY_FILE")
    ):
        vault_file = _development_vault_key(DEV_VAULT_KEY_FILE)
    app = create_app(settings)
    admin_password = None
    demo: dict[str, Any] | None = None
    if seed_demo and app.state.services is not None:
        demo = _seed_demo(app.state.services, demo_dosimetry, demo_cohorts, as_json)
    if bootstrap_admin and app.state.services is not None and not (demo and demo["seeded"]):
        admin_password = _bootstrap_admin(app.state.services)
    info = {
        "url": f"http://{host}:{port}/",
        "mode": settings.mode,
        "database": app.state.services.registry.url if app.state.services else None,
        "schema_revision": revision,
        "mail": repr(settings.smtp) if settings.smtp else "outbox table + log",
        "retention_purge_every_h": purge_every_h or None,
        "vault_key_file": None if vault_file is None else str(vault_file),
    }
    if demo is not None:
        info["demo"] = demo["summary"].to_dict() | {"seeded": True} if demo["seeded"] else demo
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
    if vault_file is not None:
        console.print(f"development vault key: {vault_file} (keep it with the database)")
    if demo is not None:
        _print_demo(demo)
    if check:
        return
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    if purge_every_h > 0 and app.state.services is not None:
        threading.Thread(
            target=_retention_loop,
            args=(app.state.services, purge_every_h * 3600.0, stop),
            name="radiotrial-retention",
            daemon=True,
        ).start()
    try:
        uvicorn.run(app, host=host, port=port, proxy_headers=settings.trust_forwarded_for)
    finally:
        stop.set()


def _print_demo(demo: dict[str, Any]) -> None:
    if not demo["seeded"]:
        console.print(f"demo study not seeded: {demo['reason']}", highlight=False)
        return
    summary = demo["summary"]
    rec = summary.recommendation
    console.print(
        f"seeded the demo study ({summary.design}, seed {summary.seed}): "
        f"{len(summary.candidates)} candidates, {summary.counts.get('enrolments', 0)} enrolled, "
        f"outcomes {summary.outcomes}; design says {rec.get('action')}",
        highlight=False,
    )
    if summary.admin_password is not None:
        console.print(
            f"account [bold]{summary.admin_username}[/] one-time password "
            f"[bold]{summary.admin_password}[/] (shown once; sign in at /staff/login)",
            highlight=False,
        )
    else:
        console.print(f"account [bold]{summary.admin_username}[/]: password from "
                      "$RADIOTRIAL_ADMIN_PASSWORD", highlight=False)  # fmt: skip
    names = ", ".join(summary.staff.values())
    if summary.staff_password is not None:
        console.print(
            f"staff accounts {names}: one-time password [bold]{summary.staff_password}[/]",
            highlight=False,
        )
    else:
        console.print(f"staff accounts {names}: password from $RADIOTRIAL_DEMO_PASSWORD",
                      highlight=False)  # fmt: skip
