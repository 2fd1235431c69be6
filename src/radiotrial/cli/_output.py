"""Shared output and error handling for CLI commands."""

from __future__ import annotations

import json
import math
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import typer
from rich.console import Console

from radiotrial.errors import RadiotrialError

__all__ = ["STATE", "console", "err_console", "json_option", "print_json", "run_app"]

# messages carry UIDs, paths and one-time passwords: never hard-wrap them (tables still fit)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


@dataclass
class _State:
    debug: bool = False


STATE = _State()

json_option = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables.")


def _default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _finite(obj: Any) -> Any:
    """Replace NaN/inf by None so that the output is strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def print_json(data: Any) -> None:
    """Print ``data`` as strict JSON (no NaN) to standard output."""
    text = json.dumps(
        _finite(json.loads(json.dumps(data, default=_default))), ensure_ascii=False, indent=2
    )
    typer.echo(text)


def run_app(app: Callable[..., Any], argv: list[str]) -> int:
    """Run a Typer app, mapping domain errors to a single line and exit status 2."""
    try:
        app(args=argv, prog_name="radiotrial")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except RadiotrialError as exc:
        if STATE.debug:
            err_console.print(traceback.format_exc(), markup=False, highlight=False)
        err_console.print(f"error: {exc}", markup=False, highlight=False)
        return 2
    return 0
