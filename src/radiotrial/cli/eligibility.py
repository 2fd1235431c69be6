"""``radiotrial eligibility``: evaluate a patient record against a protocol's criteria."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from radiotrial.cli._output import console, json_option, print_json
from radiotrial.eligibility import (
    EvaluationOptions,
    evaluate_eligibility,
    example_record,
    load_patient_record,
    patient_record_schema,
)
from radiotrial.errors import ValidationError
from radiotrial.protocol import bundled_protocol, load_protocol

__all__ = ["eligibility_app"]

eligibility_app = typer.Typer(
    help="Evaluate patient records against the protocol's eligibility criteria.",
    no_args_is_help=True,
)

_STYLE = {"pass": "green", "fail": "red", "pending": "yellow", "not_applicable": "dim"}
_OVERALL = {"eligible": "green", "ineligible": "red", "pending": "yellow"}


def _parse_date(text: str, option: str) -> date:
    try:
        d = date.fromisoformat(text)
    except ValueError:
        raise ValidationError(option, text, "not an ISO date (YYYY-MM-DD)") from None
    if d > date.today():
        raise ValidationError(option, text, "the assessment date cannot be in the future")
    return d


@eligibility_app.command("check")
def check(
    record: Path = typer.Argument(
        ..., help="Patient record JSON (docs/patient-record.schema.json)."
    ),
    protocol: Path | None = typer.Option(
        None, "--protocol", help="Protocol YAML (default: the bundled [177Lu]Lu-NeoB protocol)."
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Assessment date YYYY-MM-DD (default: the record's assessment_date, else today).",
    ),
    cg_weight: str = typer.Option(
        "actual", "--cg-weight", help="Body weight in Cockcroft–Gault: actual, ideal or adjusted."
    ),
    as_json: bool = json_option,
) -> None:
    """Judge every inclusion and exclusion criterion: met / not met / pending, with evidence.

    Missing or out-of-window data make a criterion pending, never met or not met. An exclusion
    criterion that is met excludes the patient. Exit status 0 whatever the verdict.
    """
    p = bundled_protocol() if protocol is None else load_protocol(protocol)
    rec = load_patient_record(record)
    if as_of is not None:
        when = _parse_date(as_of, "--as-of")
    elif rec.assessment_date is not None:
        when = rec.assessment_date
    else:
        when = date.today()
    if cg_weight not in ("actual", "ideal", "adjusted"):
        raise ValidationError("--cg-weight", cg_weight, "must be actual, ideal or adjusted")
    result = evaluate_eligibility(
        rec,
        p,
        as_of=when,
        options=EvaluationOptions(cg_weight=cg_weight),  # type: ignore[arg-type]
    )
    data: dict[str, Any] = result.to_dict()
    data["record"] = str(record)
    if as_json:
        print_json(data)
        return
    colour = _OVERALL[result.overall]
    console.print(
        f"[bold]{result.subject_id}[/] against {result.protocol_id} on {result.as_of}: "
        f"[bold {colour}]{result.overall.upper()}[/]"
    )
    table = Table(show_lines=False)
    for col in ("criterion", "type", "status", "outcome", "reason"):
        table.add_column(col, overflow="fold")
    for c in result.criteria:
        style = _STYLE[c.outcome]
        table.add_row(c.id, c.kind, c.status, f"[{style}]{c.outcome}[/]", c.reason)
    console.print(table)
    if result.pending:
        console.print(f"[yellow]pending[/]: {', '.join(result.pending)}")
    if result.failed:
        console.print(f"[red]not satisfied[/]: {', '.join(result.failed)}")
    console.print(
        "Each result needs the investigator's confirmation (e-signature) before enrolment."
    )


@eligibility_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of the patient-record format."""
    typer.echo(json.dumps(patient_record_schema(), indent=2, ensure_ascii=False))


@eligibility_app.command("example")
def example(
    name: str = typer.Argument(..., help="eligible, ineligible, pending or expatriate."),
) -> None:
    """Print one of the documented example patient records as JSON."""
    rec = example_record(name)  # type: ignore[arg-type]
    print_json(rec.model_dump(mode="json", exclude_none=True))
