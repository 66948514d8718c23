"""View benchmark: how long each warehouse view and "as of a date" macro takes to answer on
the generated corpus (10,000 post-mortems by default).

    python bench/views.py [--n 10000] [--rebuild] [--repeat 3]

The warehouse is the dashboard benchmark's (bench/dashboard.py: built once by `emberline run`
over the generated corpus, reused while the corpus is unchanged), opened read-only as the
dashboard and `emberline sql` open it. Every view in the warehouse is read in full (all rows,
all columns, fetched as Arrow: what a page or a report pays), then each table macro as the
reports call it, as of the end of the latest quarter. A first run, then the best of
`--repeat` more (the machine is shared, so the best is the steadiest figure). Target: every
view and macro under 200 ms.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/views.py`: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dashboard import ensure_warehouse  # noqa: E402
from pipelines.warehouse.db import connect_readonly  # noqa: E402

TARGET_MS = 200


def macro_calls(con) -> list[tuple[str, str, list]]:
    """(label, query, parameters): each table macro as the reports and the dashboard call it."""
    quarter, as_of = con.execute("""
        SELECT quarter, max(incident_date) FROM postmortems WHERE quarter = (SELECT max(quarter) FROM postmortems)
        GROUP BY quarter""").fetchone() or (None, None)
    week_ends = [r[0] for r in con.execute("""
        SELECT DISTINCT (date_trunc('week', incident_date) + INTERVAL 6 DAY)::DATE FROM postmortems
        WHERE incident_date IS NOT NULL ORDER BY 1""").fetchall()]
    calls = [
        ("theme_recurrence_as_of(date)", "SELECT * FROM theme_recurrence_as_of(?::DATE)", [as_of]),
        ("theme_burn_as_of(date)", "SELECT * FROM theme_burn_as_of(?::DATE)", [as_of]),
        ("theme_burn_as_of(date, quarter)", "SELECT * FROM theme_burn_as_of(?::DATE, ?)", [as_of, quarter]),
        ("theme_fix_effectiveness_as_of(date)", "SELECT * FROM theme_fix_effectiveness_as_of(?::DATE)", [as_of]),
        ("theme_came_back_as_of(date)", "SELECT * FROM theme_came_back_as_of(?::DATE)", [as_of]),
        ("rising_themes(one week)", "SELECT * FROM rising_themes(?::DATE[])", [week_ends[-1:]]),
        (f"rising_themes({len(week_ends)} weeks)", "SELECT * FROM rising_themes(?::DATE[])", [week_ends]),
    ]
    macros = {r[0] for r in con.execute(
        "SELECT function_name FROM duckdb_functions() WHERE function_type = 'table_macro'").fetchall()}
    return [c for c in calls if c[0].split("(")[0] in macros]


def _timed(con, sql: str, params: list, repeat: int) -> tuple[int, float, float]:
    times, rows = [], 0
    for _ in range(1 + repeat):
        started = time.perf_counter()
        rows = con.sql(sql, params=params or None).to_arrow_table().num_rows
        times.append((time.perf_counter() - started) * 1000)
    return rows, times[0], min(times[1:] or times)


def time_views(published: Path, repeat: int = 3) -> list[dict]:
    con = connect_readonly(published, sandboxed=False)
    try:
        views = [r[0] for r in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' ORDER BY view_name"
        ).fetchall()]
        cases = [(name, "view", f'SELECT * FROM "{name}"', []) for name in views]
        cases += [(label, "macro", sql, params) for label, sql, params in macro_calls(con)]
        rows = []
        for name, kind, sql, params in cases:
            n_rows, first_ms, best_ms = _timed(con, sql, params, repeat)
            rows.append({"relation": name, "kind": kind, "rows": n_rows, "first ms": round(first_ms, 1),
                         "best ms": round(best_ms, 1), f"under {TARGET_MS} ms": best_ms < TARGET_MS})
        return rows
    finally:
        con.close()


def refresh_views(path: Path) -> None:
    """Re-create the views and macros from this checkout's SQL: the warehouse is reused across
    code changes (it is rebuilt only when the corpus changes), and the figures must be those of
    the definitions as they are now."""
    import duckdb

    from pipelines.evals.link import create_eval_views
    from pipelines.themes.build import create_theme_views
    from pipelines.warehouse.db import create_views

    with duckdb.connect(str(path)) as con:
        create_views(con)
        create_theme_views(con)
        create_eval_views(con)
        con.execute("CHECKPOINT")


def run(n: int = 10_000, rebuild: bool = False, repeat: int = 3) -> list[dict]:
    """The timings, measured in a child process: `make bench` runs the dashboard section first
    in the same process, and its cached read-only connection holds the warehouse open, which
    DuckDB will not attach a second time for writing (refresh_views)."""
    published, _ = ensure_warehouse(n, rebuild=rebuild)
    script = Path(__file__).resolve()
    out = subprocess.run([sys.executable, str(script), "--db", str(published), "--repeat", str(repeat), "--json"],
                         check=True, capture_output=True, text=True, cwd=script.parent.parent)
    return json.loads(out.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time every warehouse view and table macro.")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the warehouse even if the corpus is unchanged")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", type=Path, help="time this warehouse (its views re-created from this checkout) "
                        "instead of the generated corpus's")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON (what run() reads back)")
    args = parser.parse_args(argv)
    from bench.run import format_table

    if args.db:
        refresh_views(args.db)
        rows = time_views(args.db, args.repeat)
    else:
        rows = run(args.n, args.rebuild, args.repeat)
    print(json.dumps(rows) if args.json else format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
