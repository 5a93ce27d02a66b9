"""Model quality in one run: every task's model against its baselines on held-out data, a table, then one
JSON line.

    python bench/models.py [--only churn,intent] [--quick] [--customers N] [--check]

Each task is a section module beside this file, `bench/models_<section>.py`, with one function:

    run(quick: bool) -> {"rows": [{"task": ..., "metric": ..., "model": float, "baseline": float, ...}],
                         "figures": {"churn_auc": 0.71, ...}}

A section whose `run` also takes `customers` gets --customers (the size of the generated retail scenario);
without it each section picks its own default (smaller with --quick). Sections run in the order of SECTIONS;
a section module that is missing stops the run before any section starts, naming it, unless --only leaves it
out. The table has a column per row key (task, metric, model, baseline, then any others the sections give);
the last line on stdout is one JSON object: every section's figures plus `seconds`, the wall time per section.
Progress goes to stderr. `--check` imports every selected section and stops.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import sys
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from prerequisites import CHECK_HELP, check_only

SECTIONS = ("churn", "intent", "forecast", "recommend")
REQUIRED_COLUMNS = ("task", "metric", "model", "baseline")

Loader = Callable[[str], ModuleType]


def load_sections(names: Sequence[str], load: Loader = importlib.import_module) -> dict[str, ModuleType]:
    """The section modules `models_<name>`, all of them or a SystemExit naming the missing ones."""
    found: dict[str, ModuleType] = {}
    missing = []
    for name in names:
        module_name = f"models_{name}"
        try:
            found[name] = load(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise  # the section exists but something it imports does not: its own traceback says what
            missing.append(name)
    if missing:
        files = ", ".join(f"bench/models_{name}.py" for name in missing)
        others = ",".join(name for name in names if name not in missing)
        hint = f"add it, or leave it out with --only {others}" if others else "add it"
        raise SystemExit(f"section module missing: {files}; {hint}")
    for name, module in found.items():
        if not callable(getattr(module, "run", None)):
            raise SystemExit(f"bench/models_{name}.py has no run(quick) function")
    return found


def run_section(name: str, module: ModuleType, quick: bool, customers: int | None) -> dict[str, Any]:
    """One section's result, checked against the contract (rows with the required keys, figures a dict)."""
    run = module.run
    accepts_customers = "customers" in inspect.signature(run).parameters
    result = run(quick, customers=customers) if accepts_customers and customers else run(quick)
    rows = result.get("rows") if isinstance(result, dict) else None
    figures = result.get("figures") if isinstance(result, dict) else None
    if not isinstance(rows, list) or not isinstance(figures, dict):
        raise SystemExit(f"bench/models_{name}.py: run() must return {{'rows': [...], 'figures': {{...}}}}")
    for row in rows:
        lacking = [key for key in REQUIRED_COLUMNS if key not in row]
        if lacking:
            raise SystemExit(f"bench/models_{name}.py: a row lacks {', '.join(lacking)}: {row}")
    return {"rows": rows, "figures": figures}


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as one plain-text table: the required columns first, then every other key in first-seen order."""
    columns = list(REQUIRED_COLUMNS)
    for row in rows:
        columns += [key for key in row if key not in columns]
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max([len(column), *(len(line[k]) for line in cells)]) for k, column in enumerate(columns)]
    text = ["  ".join(column.ljust(width) for column, width in zip(columns, widths, strict=True))]
    text.append("  ".join("-" * width for width in widths))
    for line in cells:
        text.append(
            "  ".join(
                value.ljust(width) if k < 2 else value.rjust(width)
                for k, (value, width) in enumerate(zip(line, widths, strict=True))
            )
        )
    return "\n".join(text)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def main(argv: Sequence[str] | None = None, sections: Sequence[str] = SECTIONS) -> None:
    """Parse the options, run the selected sections, print the table and the JSON line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", help=f"comma-separated sections to run (default: all of {', '.join(sections)})"
    )
    parser.add_argument("--quick", action="store_true", help="small data: a run of minutes, for a smoke test")
    parser.add_argument(
        "--customers", type=int, help="size of the generated retail scenario (default per section)"
    )
    parser.add_argument("--check", action="store_true", help=CHECK_HELP)
    args = parser.parse_args(argv)
    names = [part.strip() for part in args.only.split(",") if part.strip()] if args.only else list(sections)
    unknown = [name for name in names if name not in sections]
    if unknown or not names:
        raise SystemExit(
            f"--only: unknown section {', '.join(unknown) or '(none)'}; choose from {', '.join(sections)}"
        )
    if args.customers is not None and args.customers < 1:
        raise SystemExit(f"--customers must be at least 1, got {args.customers}")
    modules = load_sections(names)
    check_only(args.check, "models")
    rows: list[dict[str, Any]] = []
    figures: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    for name, module in modules.items():
        sys.stderr.write(f"bench: models: {name}\n")
        started = time.perf_counter()
        result = run_section(name, module, args.quick, args.customers)
        seconds[name] = round(time.perf_counter() - started, 1)
        clash = sorted(set(result["figures"]) & set(figures))
        if clash:
            raise SystemExit(
                f"bench/models_{name}.py repeats figures of an earlier section: {', '.join(clash)}"
            )
        rows += result["rows"]
        figures.update(result["figures"])
    print(table(rows))
    print(json.dumps({**figures, "seconds": seconds}))


if __name__ == "__main__":
    main()
