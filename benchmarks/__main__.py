"""Run every benchmark module and print each result with its speed ratio against a baseline.

Each ``benchmarks/bench_<area>.py`` exposes ``run() -> list[dict]`` whose dicts hold ``name``,
``value``, ``unit``, ``target``, ``baseline_name``, ``baseline_value`` and ``ratio`` (baseline
measured in the same run, divided by the measured value). Select modules by name:
``python -m benchmarks kinetics escalation``.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def _modules(selected: list[str]) -> list[str]:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    if selected:
        names = [n for n in names if n.removeprefix("bench_") in selected or n in selected]
    return names


def main(argv: list[str]) -> int:
    as_json = "--json" in argv
    selected = [a for a in argv if not a.startswith("-")]
    console = Console(stderr=as_json)
    results: list[dict[str, Any]] = []
    for name in _modules(selected):
        console.print(f"[bold]running {name}[/]")
        module = importlib.import_module(f"benchmarks.{name}")
        for row in module.run():
            results.append({"module": name, **row})
    if as_json:
        print(json.dumps(results, indent=2))
        return 0
    table = Table(title="radiotrial benchmarks")
    for col in ("benchmark", "value", "target", "baseline", "ratio"):
        table.add_column(col)
    for r in results:
        table.add_row(
            str(r["name"]),
            f"{r['value']:.4g} {r['unit']}",
            str(r.get("target", "")),
            f"{r['baseline_name']}: {r['baseline_value']:.4g} {r['unit']}",
            f"{r['ratio']:.3g}×",
        )
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
