"""Registry commands: ``db``, ``user``, ``subject``, ``trial``, ``audit``, ``registry``, ``export``.

The acting user is ``--user`` (or ``$RADIOTRIAL_USER``); the password comes from
``$RADIOTRIAL_PASSWORD`` or a hidden prompt. The database is ``--url`` (or
``$RADIOTRIAL_DB_URL``, default SQLite ``var/radiotrial.db``); the vault key comes from
``$RADIOTRIAL_VAULT_KEY`` or ``$RADIOTRIAL_VAULT_KEY_FILE``.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from radiotrial.cli._output import console, err_console, json_option, print_json
from radiotrial.eligibility import apply_decisions
from radiotrial.errors import InputFileError, ValidationError
from radiotrial.protocol import bundled_protocol, load_protocol
from radiotrial.registry import (
    Actor,
    AuthenticationError,
    Registry,
    current_revision,
    head_revision,
    upgrade,
)
from radiotrial.services import (
    CriterionDecision,
    EvidenceItem,
    ServiceContext,
    adjudicate_dlt,
    authenticate,
    change_role,
    change_status,
    create_user,
    deactivate_user,
    decide_eligibility,
    enrol,
    evaluate_record,
    evaluate_subject,
    export_data,
    open_screening,
    propose_dlt,
    purge_prescreen,
    record_administration,
    record_evidence,
    record_patient_record,
    register_prescreen,
    report_adverse_event,
    reveal_identity,
    sign_decisions,
    subject_status,
    trial_status,
    verify_audit,
)

__all__ = ["register_registry_commands"]

db_app = typer.Typer(help="Create or migrate the registry database.", no_args_is_help=True)
user_app = typer.Typer(help="User accounts (admin).", no_args_is_help=True)
subject_app = typer.Typer(
    help="A subject's path: pre-screen, screening, eligibility, enrolment, cycles, AEs, DLTs.",
    no_args_is_help=True,
)
trial_app = typer.Typer(help="The trial as a whole.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
registry_app = typer.Typer(help="Registry maintenance (retention).", no_args_is_help=True)
export_app = typer.Typer(help="Pseudonymous exports (CSV, CDISC ODM 1.3.2).", no_args_is_help=True)

UrlOpt = typer.Option(None, "--url", help="Database URL (default $RADIOTRIAL_DB_URL or SQLite).")
UserOpt = typer.Option(
    None, "--user", envvar="RADIOTRIAL_USER", help="Acting user name ($RADIOTRIAL_USER)."
)
ProtocolOpt = typer.Option(None, "--protocol", help="Protocol YAML (default: bundled protocol).")


def _password(prompt: str = "Password") -> str:
    env = os.environ.get("RADIOTRIAL_PASSWORD")
    if env:
        return env
    return str(typer.prompt(prompt, hide_input=True))


def _context(url: str | None, protocol: Path | None) -> ServiceContext:
    proto = bundled_protocol() if protocol is None else load_protocol(protocol)
    registry = Registry(url)
    registry.require_current_schema()
    return ServiceContext(registry, protocol=proto)


def _login(ctx: ServiceContext, user: str | None) -> Actor:
    if not user:
        raise AuthenticationError("give --user (or set RADIOTRIAL_USER)")
    return authenticate(ctx, user, _password())


_KW = inspect.Parameter.KEYWORD_ONLY


def _acting(*, protocol: bool) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Command decorator: the acting user logs in before the command body runs.

    The decorated function takes the service context and the logged-in actor first; the
    command gains ``--user`` and ``--url`` (and ``--protocol`` when ``protocol``), placed
    before ``--json`` in its help, so that every registry command opens and authenticates
    the registry the same way.
    """

    def decorate(body: Callable[..., None]) -> Callable[..., None]:
        # Typer passes every parameter by name: all keyword-only, in help order
        own = [
            p.replace(kind=_KW)
            for p in list(inspect.signature(body, eval_str=True).parameters.values())[2:]
        ]
        shared = [
            inspect.Parameter("user", _KW, default=UserOpt, annotation=str | None),
            inspect.Parameter("url", _KW, default=UrlOpt, annotation=str | None),
        ]
        if protocol:
            shared.append(
                inspect.Parameter("protocol", _KW, default=ProtocolOpt, annotation=Path | None)
            )
        tail = [p for p in own if p.name == "as_json"]
        params = [p for p in own if p.name != "as_json"] + shared + tail

        @functools.wraps(body)
        def command(
            *, user: str | None, url: str | None, protocol: Path | None = None, **kw: Any
        ) -> None:
            ctx = _context(url, protocol)
            body(ctx, _login(ctx, user), **kw)

        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params} | {"return": None}
        return command

    return decorate


def _when(value: str, name: str) -> datetime:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            name, value, "ISO 8601 date-time, e.g. 2025-05-06T09:30+08:00"
        ) from None
    if when.tzinfo is None:
        raise ValidationError(name, value, "give the UTC offset, e.g. +08:00")
    return when


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise InputFileError(str(path), "file not found") from None
    except json.JSONDecodeError as exc:
        raise InputFileError(str(path), f"invalid JSON at line {exc.lineno}: {exc.msg}") from None


def _emit(data: dict[str, Any], as_json: bool, title: str) -> None:
    if as_json:
        print_json(data)
        return
    table = Table(title=title, show_header=False)
    for k, v in data.items():
        table.add_row(
            k, v if isinstance(v, str) else json.dumps(v, default=str, ensure_ascii=False)
        )
    console.print(table)


# ----------------------------------------------------------------------------------------- db
@db_app.command("init")
def db_init(
    url: str | None = UrlOpt,
    admin: str | None = typer.Option(None, "--admin", help="Create the first admin account."),
    admin_name: str = typer.Option("Administrator", "--admin-name", help="Its full name."),
    as_json: bool = json_option,
) -> None:
    """Create the schema (all migrations) and optionally the first admin account."""
    revision = upgrade(url)
    out: dict[str, Any] = {"revision": revision, "head": head_revision()}
    if admin:
        ctx = _context(url, None)
        create_user(ctx, None, username=admin, full_name=admin_name, role="admin",
                    password=_password("New admin password"))  # fmt: skip
        ctx.registry.dispose()
        out["admin"] = admin
    _emit(out, as_json, "Database initialised")


@db_app.command("upgrade")
def db_upgrade(url: str | None = UrlOpt, as_json: bool = json_option) -> None:
    """Apply the migrations this version of radiotrial ships (to the newest revision)."""
    before = current_revision(url)
    after = upgrade(url)
    _emit({"from": before, "to": after}, as_json, "Database upgraded")


@db_app.command("status")
def db_status(url: str | None = UrlOpt, as_json: bool = json_option) -> None:
    """Show the schema revision in the database and the newest one shipped."""
    rev = current_revision(url)
    head = head_revision()
    _emit({"revision": rev, "head": head, "up_to_date": rev == head}, as_json, "Database")


# --------------------------------------------------------------------------------------- user
@user_app.command("add")
@_acting(protocol=False)
def user_add(
    ctx: ServiceContext,
    actor: Actor,
    username: str = typer.Argument(..., help="New account name."),
    role: str = typer.Option(..., "--role", help="coordinator, investigator, physicist, …"),
    full_name: str = typer.Option(..., "--name", help="Full name (printed on e-signatures)."),
    as_json: bool = json_option,
) -> None:
    """Create an account (the acting user must be an admin). Asks for the new password."""
    new_pw = os.environ.get("RADIOTRIAL_NEW_PASSWORD") or str(
        typer.prompt("New user's password", hide_input=True, confirmation_prompt=True)
    )
    made = create_user(ctx, actor, username=username, full_name=full_name, role=role,
                       password=new_pw)  # fmt: skip
    _emit({"username": made.username, "role": made.role}, as_json, "User created")


@user_app.command("role")
@_acting(protocol=False)
def user_role(
    ctx: ServiceContext,
    actor: Actor,
    username: str = typer.Argument(..., help="Account name."),
    role: str = typer.Option(..., "--role", help="The new role (data/roles.yaml)."),
    reason: str = typer.Option(..., "--reason", help="Reason (audited)."),
    as_json: bool = json_option,
) -> None:
    """Give an account another role; its web sessions and API tokens end (admin)."""
    change_role(ctx, actor, username, role, reason=reason)
    _emit({"username": username, "role": role}, as_json, "Role changed")


@user_app.command("deactivate")
@_acting(protocol=False)
def user_deactivate(
    ctx: ServiceContext,
    actor: Actor,
    username: str = typer.Argument(..., help="Account name."),
    reason: str = typer.Option(..., "--reason", help="Reason (audited)."),
    as_json: bool = json_option,
) -> None:
    """Deactivate an account (kept for the audit trail); its sessions and tokens end (admin)."""
    deactivate_user(ctx, actor, username, reason=reason)
    _emit({"username": username, "active": False}, as_json, "User deactivated")


# ------------------------------------------------------------------------------------ subject
@subject_app.command("prescreen")
@_acting(protocol=False)
def subject_prescreen(
    ctx: ServiceContext,
    actor: Actor,
    identity: Path = typer.Argument(..., help="JSON: identity fields and 'consents'."),
    as_json: bool = json_option,
) -> None:
    """Register a pre-screening request received outside the portal (referral, clinic)."""
    data = _read_json(identity)
    if not isinstance(data, dict):
        raise InputFileError(str(identity), "must hold a JSON object")
    consents = data.pop("consents", {})
    receipt = register_prescreen(ctx, data, consents=consents, actor=actor, source="referral")
    _emit(receipt.to_dict(), as_json, "Pre-screening request registered")


@subject_app.command("screen")
@_acting(protocol=False)
def subject_screen(
    ctx: ServiceContext,
    actor: Actor,
    code: str = typer.Argument(..., help="Subject code (RT-…)."),
    as_json: bool = json_option,
) -> None:
    """Take a candidate forward and open screening."""
    open_screening(ctx, actor, code)
    _emit(subject_status(ctx, actor, code), as_json, f"Subject {code}")


@subject_app.command("evidence")
@_acting(protocol=True)
def subject_evidence(
    ctx: ServiceContext,
    actor: Actor,
    code: str = typer.Argument(..., help="Subject code."),
    items: Path = typer.Argument(
        ...,
        help="JSON list of observations (variable, value, unit, observed_at, source_document, "
        "test_id), or a patient record (radiotrial.eligibility format) to file as evidence.",
    ),
    as_json: bool = json_option,
) -> None:
    """Record screening evidence (all items or none)."""
    raw = _read_json(items)
    if isinstance(raw, dict):
        ids = record_patient_record(ctx, actor, code, raw)
        _emit({"subject": code, "recorded": len(ids)}, as_json, "Evidence recorded")
        return
    if not isinstance(raw, list):
        raise InputFileError(str(items), "must hold a JSON list of observations or a record")
    parsed = []
    for i, it in enumerate(raw):
        try:
            parsed.append(EvidenceItem(
                variable=it["variable"], value=it["value"], unit=it.get("unit"),
                observed_at=_when(it["observed_at"], f"[{i}].observed_at"),
                source_document=it["source_document"], test_id=it.get("test_id"),
            ))  # fmt: skip
        except KeyError as exc:
            raise InputFileError(str(items), f"item {i} lacks {exc.args[0]!r}") from None
    ids = record_evidence(ctx, actor, code, parsed)
    _emit({"subject": code, "recorded": len(ids)}, as_json, "Evidence recorded")


def _criteria_table(title: str, criteria: list[dict[str, Any]]) -> Table:
    table = Table(title=title)
    for col in ("criterion", "status", "evidence", "reason", "sha256"):
        table.add_column(col)
    for c in criteria:
        evidence = "; ".join(
            f"{e['value']}{' ' + e['unit'] if e.get('unit') else ''} ({e['date']}, {e['source']})"
            for e in c["evidence"]
        )
        table.add_row(c["id"], c["status"], evidence, c["reason"], c["content_sha256"][:12])
    return table


@subject_app.command("evaluate")
@_acting(protocol=True)
def subject_evaluate(
    ctx: ServiceContext,
    actor: Actor,
    code: str = typer.Argument(..., help="Subject code."),
    record: Path | None = typer.Argument(
        None, help="Patient record JSON to preview (default: the evidence in the registry)."
    ),
    as_json: bool = json_option,
) -> None:
    """The eligibility engine, as of today, on the recorded evidence (nothing is written)."""
    if record is None:
        result = evaluate_subject(ctx, actor, code).to_dict()
    else:
        result = evaluate_record(ctx, actor, code, _read_json(record))
    if as_json:
        print_json(result)
        return
    console.print(_criteria_table(f"{code}: {result['overall']} ({result['as_of']})",
                                  result["criteria"]))  # fmt: skip


def _parse_override(text: str) -> tuple[str, str, str]:
    cid, _, rest = text.partition("=")
    status, _, reason = rest.partition(":")
    if not cid.strip() or status.strip() not in ("met", "not_met", "not_applicable"):
        raise ValidationError(
            "--override", text, "write ID=STATUS:REASON, STATUS met, not_met or not_applicable"
        )
    return cid.strip(), status.strip(), reason.strip()


def _file_decisions(path: Path, digests: dict[str, str]) -> list[CriterionDecision]:
    raw = _read_json(path)
    if not isinstance(raw, list):
        raise InputFileError(str(path), "must hold a JSON list of per-criterion decisions")
    out = []
    for i, d in enumerate(raw):
        if not isinstance(d, dict) or d.get("action") not in ("confirm", "override"):
            raise InputFileError(
                str(path), f"item {i}: needs criterion and action confirm|override"
            )
        try:
            cid = str(d["criterion"])
        except KeyError:
            raise InputFileError(str(path), f"item {i} lacks 'criterion'") from None
        out.append(CriterionDecision(
            cid, d["action"], status=d.get("status"), reason=d.get("reason") or "",
            content_sha256=d.get("content_sha256") or digests.get(cid),
        ))  # fmt: skip
    return out


def _ask(c: dict[str, Any]) -> CriterionDecision:
    """Ask the investigator at the console about one criterion."""
    err_console.print(f"{c['id']} {c['status']}: {c['reason']}", markup=False, highlight=False)
    answer = typer.prompt("  confirm or override? [c/o]", default="c", err=True)
    if answer.strip().lower() in ("c", "confirm"):
        return CriterionDecision(c["id"], "confirm", content_sha256=c["content_sha256"])
    if answer.strip().lower() not in ("o", "override"):
        raise ValidationError(c["id"], answer, "answer c (confirm) or o (override)")
    status = typer.prompt("  new status (met, not_met, not_applicable)", err=True)
    reason = typer.prompt("  reason for the override", err=True)
    return CriterionDecision(c["id"], "override", status=status.strip(), reason=reason,
                             content_sha256=c["content_sha256"])  # fmt: skip


@subject_app.command("decide")
@_acting(protocol=True)
def subject_decide(
    ctx: ServiceContext,
    actor: Actor,
    code: str = typer.Argument(..., help="Subject code."),
    reason: str = typer.Option(..., "--reason", help="Reason for the decision."),
    confirm: list[str] = typer.Option(
        [], "--confirm", help="Confirm this criterion as the engine judged it ('all': the rest)."
    ),
    override: list[str] = typer.Option(
        [], "--override", help="ID=STATUS:REASON, e.g. 'I-ECOG=met:ECOG 1 on repeat visit'."
    ),
    decisions_file: Path | None = typer.Option(
        None, "--decisions", help="JSON list: criterion, action, status, reason, content_sha256."
    ),
    overall: str | None = typer.Option(
        None, "--overall", help="eligible or ineligible (default: what the decisions give)."
    ),
    as_json: bool = json_option,
) -> None:
    """Confirm or override each criterion of the engine's evaluation and e-sign the decision.

    The engine evaluates the recorded evidence as of today; the table shows what you sign.
    Criteria not decided by --confirm, --override or --decisions are asked at the console.
    The password is asked again for the signature.
    """
    result = evaluate_subject(ctx, actor, code)
    data = result.to_dict()
    title = f"{code}: engine says {data['overall']} ({data['as_of']})"
    err_console.print(_criteria_table(title, data["criteria"]))
    digests = {c.id: c.content_sha256 for c in result.criteria}
    given = [] if decisions_file is None else _file_decisions(decisions_file, digests)
    for text in override:
        cid, status, why = _parse_override(text)
        given.append(
            CriterionDecision(
                cid,
                "override",
                status=status,  # type: ignore[arg-type]
                reason=why,
                content_sha256=digests.get(cid),
            )
        )
    given += [CriterionDecision(cid, "confirm", content_sha256=digests.get(cid))
              for cid in confirm if cid != "all"]  # fmt: skip
    chosen: dict[str, CriterionDecision] = {}
    for d in given:
        if d.criterion_id in chosen:
            raise ValidationError("--confirm/--override", d.criterion_id, "decided twice")
        chosen[d.criterion_id] = d
    rest = [c for c in data["criteria"] if c["id"] not in chosen]
    if rest and "all" in confirm:
        for c in rest:
            chosen[c["id"]] = CriterionDecision(
                c["id"], "confirm", content_sha256=c["content_sha256"]
            )
    elif rest and not sys.stdin.isatty():
        raise ValidationError(
            "--confirm/--override",
            [c["id"] for c in rest],
            "undecided: decide each, or --confirm all",
        )
    for c in rest:
        if c["id"] not in chosen:
            chosen[c["id"]] = _ask(c)
    decisions = list(chosen.values())
    signed = sign_decisions(
        result,
        decisions,
        signer_id=actor.username,
        signer_name=actor.full_name or actor.username,
        signed_at=ctx.now(),
    )
    preview = apply_decisions(result, signed)
    decision = overall or preview.overall
    if decision not in ("eligible", "ineligible"):
        raise ValidationError(
            "--overall",
            decision,
            "the criteria as decided are pending: record the missing evidence",
        )
    decide_eligibility(ctx, actor, code, overall=decision, decisions=decisions,  # type: ignore[arg-type]
                       reason=reason, password=_password("Signature password"))  # fmt: skip
    _emit(subject_status(ctx, actor, code), as_json, f"Subject {code}")


@subject_app.command("identity")
@_acting(protocol=False)
def subject_identity(
    ctx: ServiceContext,
    actor: Actor,
    code: str = typer.Argument(..., help="Subject code."),
    reason: str = typer.Option(..., "--reason", help="Why you read identifying data (audited)."),
    as_json: bool = json_option,
) -> None:
    """Decrypt and show a subject's identity (coordinator/investigator; the read is audited)."""
    rec = reveal_identity(ctx, actor, code, reason=reason)
    _emit(rec.model_dump(mode="json"), as_json, f"Identity of {code}")


@subject_app.command("dlt-proposal")
@_acting(protocol=True)
def subject_dlt_proposal(
    ctx: ServiceContext,
    actor: Actor,
    code: str = typer.Argument(..., help="Subject code."),
    as_json: bool = json_option,
) -> None:
    """Rule-based DLT verdicts (radiotrial.safety) for the investigator to confirm."""
    _emit(propose_dlt(ctx, actor, code), as_json, f"DLT proposal for {code}")


@subject_app.command("enrol")
@_acting(protocol=True)
def subject_enrol(
    ctx: ServiceContext,
    actor: Actor,
    code: str = typer.Argument(..., help="Subject code."),
    as_json: bool = json_option,
) -> None:
    """Enrol an eligible subject in the open cohort at the design's recommended level."""
    _emit(enrol(ctx, actor, code).to_dict(), as_json, "Enrolled")


@subject_app.command("administer")
@_acting(protocol=True)
def subject_administer(
    ctx: ServiceContext,
    actor: Actor,
    code: str = typer.Argument(..., help="Subject code."),
    pre_mbq: float = typer.Option(
        ..., "--pre-mbq", help="Syringe activity before injection (MBq)."
    ),
    pre_at: str = typer.Option(
        ..., "--pre-at", help="Time of that reading (ISO 8601 with offset)."
    ),
    residual_mbq: float = typer.Option(
        ..., "--residual-mbq", help="Residual activity after (MBq)."
    ),
    residual_at: str = typer.Option(..., "--residual-at", help="Time of the residual reading."),
    at: str = typer.Option(..., "--at", help="Injection time."),
    calibrator: str | None = typer.Option(None, "--calibrator", help="Dose calibrator id."),
    as_json: bool = json_option,
) -> None:
    """Record the next cycle's administration; net activity is decay-corrected to --at."""
    res = record_administration(
        ctx, actor, code, pre_activity_mbq=pre_mbq, pre_measured_at=_when(pre_at, "--pre-at"),
        residual_activity_mbq=residual_mbq,
        residual_measured_at=_when(residual_at, "--residual-at"),
        administered_at=_when(at, "--at"), calibrator=calibrator,
    )  # fmt: skip
    _emit(res.to_dict(), as_json, "Administration recorded")


@subject_app.command("ae")
@_acting(protocol=True)
def subject_ae(
    ctx: ServiceContext,
    actor: Actor,
    code: str = typer.Argument(..., help="Subject code."),
    term: str = typer.Option(..., "--term", help="AETERM (CTCAE v5.0 term)."),
    grade: int = typer.Option(..., "--grade", help="AETOXGR, CTCAE grade 1-5."),
    start: str = typer.Option(..., "--start", help="AESTDTC (ISO 8601 with offset)."),
    attribution: str = typer.Option(..., "--attribution", help="AEREL: unrelated … definite."),
    haematologic: bool = typer.Option(..., "--haematologic/--non-haematologic", help="Category."),
    serious: bool = typer.Option(False, "--serious", help="AESER = Y."),
    end: str | None = typer.Option(None, "--end", help="AEENDTC."),
    as_json: bool = json_option,
) -> None:
    """Report an adverse event (CDISC SDTM AE fields)."""
    aespid = report_adverse_event(
        ctx, actor, code, aeterm=term, aetoxgr=grade, aestdtc=_when(start, "--start"),
        aerel=attribution, haematologic=haematologic,  # type: ignore[arg-type]
        aeser="Y" if serious else "N", aeendtc=None if end is None else _when(end, "--end"),
    )  # fmt: skip
    _emit({"subject": code, "AESPID": aespid}, as_json, "Adverse event reported")


@subject_app.command("dlt")
@_acting(protocol=True)
def subject_dlt(
    ctx: ServiceContext,
    actor: Actor,
    code: str = typer.Argument(..., help="Subject code."),
    aespid: int = typer.Argument(..., help="AESPID of the adverse event."),
    is_dlt: bool = typer.Option(..., "--dlt/--no-dlt", help="The adjudication."),
    rule: str | None = typer.Option(None, "--rule", help="Protocol DLT rule id (for a DLT)."),
    rationale: str = typer.Option(..., "--rationale", help="Why."),
    as_json: bool = json_option,
) -> None:
    """Adjudicate whether an adverse event is a DLT (investigator; e-signed)."""
    out = adjudicate_dlt(ctx, actor, code, aespid, is_dlt=is_dlt, rationale=rationale,
                         rule_id=rule, password=_password("Signature password"))  # fmt: skip
    _emit(out, as_json, "DLT adjudication")


@subject_app.command("withdraw")
@_acting(protocol=False)
def subject_withdraw(
    ctx: ServiceContext,
    actor: Actor,
    code: str = typer.Argument(..., help="Subject code."),
    reason: str = typer.Option(..., "--reason", help="Reason (audited)."),
    to: str = typer.Option(
        "withdrawn", "--to", help="withdrawn, off-study, follow-up or not-registered."
    ),
    as_json: bool = json_option,
) -> None:
    """Move a subject to follow-up, off-study, withdrawn or not-registered."""
    change_status(ctx, actor, code, to, reason=reason)  # type: ignore[arg-type]
    _emit(subject_status(ctx, actor, code), as_json, f"Subject {code}")


@subject_app.command("status")
@_acting(protocol=True)
def subject_show(
    ctx: ServiceContext,
    actor: Actor,
    code: str = typer.Argument(..., help="Subject code."),
    as_json: bool = json_option,
) -> None:
    """A subject's status, milestones, cycles, adverse events and signatures."""
    _emit(subject_status(ctx, actor, code), as_json, f"Subject {code}")


# -------------------------------------------------------------------------------------- trial
@trial_app.command("status")
@_acting(protocol=True)
def trial_show(
    ctx: ServiceContext,
    actor: Actor,
    as_json: bool = json_option,
) -> None:
    """Dose levels, cohorts, DLTs and the escalation design's current recommendation."""
    data = trial_status(ctx, actor)
    if as_json:
        print_json(data)
        return
    table = Table(title=f"{data['protocol']} — {data['design']}")
    for col in ("level", "GBq", "evaluated", "DLTs"):
        table.add_column(col, justify="right")
    for lv in data["dose_levels"]:
        table.add_row(str(lv["level"]), f"{lv['activity_gbq']:g}", str(lv["n_evaluated"]),
                      str(lv["n_dlt"]))  # fmt: skip
    console.print(table)
    rec = data["recommendation"]
    console.print(f"Recommendation: [bold]{rec['action']}[/] — {rec['reason']}")


# -------------------------------------------------------------------------------------- audit
@audit_app.command("verify")
@_acting(protocol=False)
def audit_verify(
    ctx: ServiceContext,
    actor: Actor,
    as_json: bool = json_option,
) -> None:
    """Verify the hash chain; exit status 1 when any entry was altered, removed or reordered."""
    report = verify_audit(ctx, actor)
    if as_json:
        print_json(report.to_dict())
    elif report.ok:
        console.print(
            f"audit trail intact: {report.n_entries} entries, last hash {report.last_hash[:16]}…"
        )
    else:
        for p in report.problems:
            console.print(f"[red]{p.kind}[/] at seq {p.seq}: {p.detail}")
    if not report.ok:
        raise typer.Exit(1)


# ----------------------------------------------------------------------------------- registry
@registry_app.command("purge")
@_acting(protocol=True)
def registry_purge(
    ctx: ServiceContext,
    actor: Actor,
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be purged."),
    as_json: bool = json_option,
) -> None:
    """Purge pre-screen contact data not taken forward within the protocol's retention period."""
    _emit(purge_prescreen(ctx, actor, dry_run=dry_run).to_dict(), as_json, "Retention purge")


# ------------------------------------------------------------------------------------- export
def _export(ctx: ServiceContext, actor: Actor, fmt: str, directory: Path, as_json: bool) -> None:
    res = export_data(ctx, actor, fmt, directory)  # type: ignore[arg-type]
    _emit(res.to_dict(), as_json, f"Export ({fmt})")


@export_app.command("csv")
@_acting(protocol=False)
def export_csv_cmd(
    ctx: ServiceContext,
    actor: Actor,
    directory: Path = typer.Argument(..., help="Output directory."),
    as_json: bool = json_option,
) -> None:
    """One CSV per table (SDTM AE names for adverse events); no identity data."""
    _export(ctx, actor, "csv", directory, as_json)


@export_app.command("odm")
@_acting(protocol=False)
def export_odm_cmd(
    ctx: ServiceContext,
    actor: Actor,
    directory: Path = typer.Argument(..., help="Output directory."),
    as_json: bool = json_option,
) -> None:
    """CDISC ODM 1.3.2 snapshot, validated against the official XML schema."""
    _export(ctx, actor, "odm", directory, as_json)


def register_registry_commands(app: typer.Typer) -> None:
    """Mount the registry command groups on the main app."""
    app.add_typer(db_app, name="db")
    app.add_typer(user_app, name="user")
    app.add_typer(subject_app, name="subject")
    app.add_typer(trial_app, name="trial")
    app.add_typer(audit_app, name="audit")
    app.add_typer(registry_app, name="registry")
    app.add_typer(export_app, name="export")
