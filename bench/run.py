"""`make bench`: every benchmark section in turn, each printed as a table under a heading.

    python bench/run.py [--n 10000] [--only ingest|embedding|themes|job|dashboard|views|blame|security]

A section is the module bench/<name>.py with a `run(...) -> list[dict]`; each dict is a table
row, its keys the columns. Sections whose module does not exist yet are skipped with a note,
so the benchmark runs while some of them are still being written.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import sys
import time
import traceback
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/run.py`: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SECTIONS = ("ingest", "embedding", "themes", "job", "dashboard", "views", "blame", "security")


def format_table(rows: list[dict]) -> str:
    """Rows as an aligned Markdown table; True/False print as yes/NO, None as blank."""
    if not rows:
        return "(no rows)"
    columns = list(rows[0])
    for row in rows[1:]:
        columns += [key for key in row if key not in columns]

    def cell(value) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "yes" if value else "NO"
        if isinstance(value, float):
            return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
        return str(value)

    body = [[cell(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in body)) for i, column in enumerate(columns)]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |" for line in body]
    return "\n".join(lines)


def run_section(name: str, n: int) -> list[dict] | None:
    """Rows of one section, or None when its module does not exist."""
    module_name = f"bench.{name}"
    if importlib.util.find_spec(module_name) is None:
        return None
    module = importlib.import_module(module_name)
    # Pass n only to sections that take it: each owner decides what size means for theirs.
    accepts_n = "n" in inspect.signature(module.run).parameters
    return module.run(n=n) if accepts_n else module.run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Speed and memory benchmarks, printed as tables.")
    parser.add_argument("--n", type=int, default=10_000, help="post-mortems in the generated corpus (default 10000)")
    parser.add_argument("--only", choices=SECTIONS, help="run just this section")
    args = parser.parse_args(argv)

    failed = []
    for name in [args.only] if args.only else SECTIONS:
        print(f"\n## {name}\n", flush=True)
        started = time.perf_counter()
        try:
            rows = run_section(name, args.n)
        except Exception:  # noqa: BLE001 - one broken section should not hide the others' numbers
            traceback.print_exc()
            failed.append(name)
            continue
        if rows is None:
            print(f"skipped: bench/{name}.py does not exist yet")
            continue
        print(format_table(rows))
        print(f"\n({name}: {time.perf_counter() - started:.0f} s)", flush=True)
    if failed:
        print(f"\nfailed sections: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
