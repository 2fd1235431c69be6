"""The ``radiotrial`` command line (Typer).

Each command group lives in its own module and is mounted here. Errors raised on purpose
(:class:`radiotrial.errors.RadiotrialError`) print one clear line and exit with status 2;
``--debug`` adds the traceback.
"""

from __future__ import annotations

import sys

import typer

from radiotrial.cli import _output
from radiotrial.cli.ctcae import ctcae_app
from radiotrial.cli.demo import demo
from radiotrial.cli.design import design_app
from radiotrial.cli.dose import dose_app
from radiotrial.cli.dosimetry import dose_plan, dose_run
from radiotrial.cli.eligibility import eligibility_app
from radiotrial.cli.imaging import imaging_app
from radiotrial.cli.nuclide import nuclide
from radiotrial.cli.phantom import phantom_app
from radiotrial.cli.protocol import protocol_app
from radiotrial.cli.registry import register_registry_commands
from radiotrial.cli.transport import register as register_transport
from radiotrial.cli.web import serve

__all__ = ["app", "main"]

app = typer.Typer(
    name="radiotrial",
    help="radiotrial: run a phase 1 radioligand-therapy trial from screening to dosimetry.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    """radiotrial command line."""
    _output.STATE.debug = debug


app.command(name="nuclide")(nuclide)
app.command(name="demo")(demo)
app.add_typer(protocol_app, name="protocol")
app.command(name="serve")(serve)
app.add_typer(eligibility_app, name="eligibility")
app.add_typer(ctcae_app, name="ctcae")
app.add_typer(imaging_app, name="imaging")
app.add_typer(phantom_app, name="phantom")
app.add_typer(design_app, name="design")
dose_app.command(name="run")(dose_run)
dose_app.command(name="plan")(dose_plan)
app.add_typer(dose_app, name="dose")
register_transport(app)
register_registry_commands(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and turn domain errors into one-line messages."""
    sys.exit(_output.run_app(app, sys.argv[1:] if argv is None else argv))
