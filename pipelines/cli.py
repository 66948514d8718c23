"""The `emberline` command: thin over the domain modules and the Dagster jobs."""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

import yaml

from pipelines.reports.commands import register as register_report_commands
from pipelines.settings import PROJECT_ROOT, load_settings

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


# --------------------------------------------------------------------------------------
# run / ingest


def _print_run_summary(database: Path) -> None:
    from pipelines.warehouse.db import connect_readonly, scalar, table_exists

    settings = load_settings()
    with connect_readonly(database) as con:
        incidents = scalar(con, "SELECT count(*) FROM postmortems")
        undated = scalar(con, "SELECT count(*) FROM postmortems WHERE incident_date IS NULL")
        failed = scalar(con, "SELECT count(*) FROM source_files WHERE status IN ('error', 'duplicate_rejected')")
        issues = scalar(con, "SELECT count(*) FROM ingest_issues")
        errors = scalar(con, "SELECT count(*) FROM lint_findings WHERE severity = 'error'")
        warnings = scalar(con, "SELECT count(*) FROM lint_findings WHERE severity = 'warning'")
        print(f"incidents loaded:   {incidents}")
        if undated:
            print(f"without a date:     {'all of them' if undated == incidents else undated}  (in no week or "
                  "quarter: reports and the dashboard say so; `emberline lint` shows what is missing)")
        assets = scalar(con, "SELECT count(*) FROM source_files WHERE status = 'skipped_asset'")
        print(f"files not loaded:   {failed}  (ingest issues recorded: {issues}; see table ingest_issues)")
        if assets:
            print(f"skipped assets:     {assets}  (images, attachments and other files that are not post-mortems)")
        print(f"lint findings:      {errors} errors, {warnings} warnings  (table lint_findings)")
        if table_exists(con, "themes"):
            rows = con.execute(
                "SELECT theme_set, count(*) FROM themes GROUP BY theme_set ORDER BY theme_set").fetchall()
            print("themes:             " + (", ".join(f"{n} {s.replace('_', ' ')}" for s, n in rows)
                                            or "none yet (no root cause or eval gap was found to cluster)"))
        _print_eval_summary(con)
    curation = settings.curation_file
    print(f"theme curation:     {curation}" + ("" if curation.exists() else " (none yet; docs/themes.md)"))
    print(f"warehouse:          {database}")
    print(f"reports:            {settings.reports_dir}")
    print("query it:           emberline sql \"SELECT * FROM incidents LIMIT 5\"")
    print("dashboard:          make dashboard   (then open http://localhost:8501)")


def _print_eval_summary(con) -> None:
    from pipelines.evals.link import summary_from_warehouse

    settings = load_settings()
    line = summary_from_warehouse(con, settings.eval_suite is not None, settings.eval_results is not None)
    if line is None:
        return
    print(f"eval suite:         {line}")
    for (message,) in con.execute("SELECT message FROM eval_issues ORDER BY severity, source_file LIMIT 5").fetchall():
        print(f"  {message}")


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.runner import run_job

    outcome = run_job(args.job)
    if not outcome.success:
        print(f"run {outcome.run_id} failed:", file=sys.stderr)
        for failure in outcome.failures:
            print(f"  {failure}", file=sys.stderr)
        return EXIT_FINDINGS
    print(f"run {outcome.run_id} succeeded ({args.job})")
    _print_run_summary(load_settings().database)
    return EXIT_OK


# --------------------------------------------------------------------------------------
# lint


def _lint_options(path: Path):
    """The options of the store a path belongs to: the nearest emberline.yaml above it (so a
    pre-commit hook in a post-mortem repository uses that repository's config), else the
    store in the current settings."""
    from pipelines.postmortems.lint import LintOptions
    from pipelines.settings import find_store_root

    root = find_store_root(path)
    return LintOptions.from_settings(load_settings(postmortems_dir=root) if root else load_settings())


def _lint_paths(paths: list[Path]):
    from pipelines.postmortems.lint import Finding, file_problem, lint_parsed
    from pipelines.warehouse.ingest import max_file_bytes, read_and_parse
    from pipelines.warehouse.store import StoredFile, discover

    files = []
    findings: list[Finding] = []
    for path in paths:
        if path.is_dir():
            found, problems = discover(path)
            files += [StoredFile(str(path / f.rel_path), f.abs_path, f.size, f.mtime_ns) for f in found]
            findings += [file_problem(f"{p.kind}: {p.message}", str(path / p.rel_path), hint="Fix or remove the file.")
                         for p in problems]
        elif path.exists():
            st = path.stat()
            files.append(StoredFile(str(path), path, st.st_size, st.st_mtime_ns))
        else:
            findings.append(file_problem("no such file or folder", str(path), hint="Check the path."))
    options = {}
    for stored in files:
        folder = stored.abs_path.parent
        if folder not in options:
            options[folder] = _lint_options(folder)
        result = read_and_parse(stored, max_file_bytes())
        for problem in result.parsed.problems:
            findings.append(file_problem(f"{problem.kind}: {problem.message}", stored.rel_path,
                                         problem.line, problem.severity))
        findings += lint_parsed(result.parsed, options[folder])
    return files, findings


def cmd_lint(args: argparse.Namespace) -> int:
    from pipelines.postmortems.lint import has_errors

    paths = [Path(p) for p in args.paths] or [load_settings().postmortems_dir]
    files, findings = _lint_paths(paths)
    findings.sort(key=lambda f: (f.source_path, f.line or 0, f.rule_id))
    if args.format == "json":
        print(json.dumps({"files": len(files), "findings": [f.to_dict() for f in findings]}, indent=2))
    else:
        for f in findings:
            if f.severity == "error" or not args.errors_only:
                print(f.format())
        n_err = sum(f.severity == "error" for f in findings)
        print(f"\n{len(files)} files checked: {n_err} errors, {len(findings) - n_err} warnings")
    return EXIT_FINDINGS if has_errors(findings) else EXIT_OK


# --------------------------------------------------------------------------------------
# new


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "postmortem"


def next_free_id(store: Path, year: int) -> str:
    pattern = re.compile(rf"PM-{year}-(\d+)")
    highest = 0
    if store.exists():
        for path in store.rglob("*.md"):
            for source in (path.name, _front_id(path)):
                m = pattern.search(source or "")
                if m:
                    highest = max(highest, int(m.group(1)))
    return f"PM-{year}-{highest + 1:03d}"


def _front_id(path: Path) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            head = fh.read(2000)
    except OSError:
        return None
    m = re.search(r"^id:\s*(\S+)", head, re.M)
    return m.group(1) if m else None


# Characters that end a line somewhere (YAML, Markdown or an editor) or are invisible: a
# title is one line, so none of them may carry a second line (or key) into the file.
_NOT_IN_A_TITLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]+")


def one_line_title(title: str) -> str:
    return " ".join(_NOT_IN_A_TITLE.sub(" ", title).split()) or "Untitled incident"


class _FrontMatterDumper(yaml.SafeDumper):
    """Writes every value out: the parser refuses YAML aliases, and the same timestamp in
    five fields would otherwise become one anchor and four aliases."""

    def ignore_aliases(self, data) -> bool:
        return True


def new_postmortem_text(template: str, incident_id: str, title: str, now: datetime) -> str:
    """The template with its front matter rebuilt by a YAML emitter (so any title, quotes,
    colons, `#`, `yes`, leading `[` or `*`, is one quoted scalar and never a new key) and
    the template's value hints kept as comments."""
    lines = template.split("\n")
    end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    front = yaml.safe_load("\n".join(lines[1:end]))
    hints = [f"# {line.split(':', 1)[0].strip()}: {line.split(' # ', 1)[1].strip()}"
             for line in lines[1:end] if " # " in line]
    front["id"], front["title"] = incident_id, title
    for key in ("started_at", "detected_at", "mitigated_at", "resolved_at", "postmortem_published_at"):
        if key in front:
            front[key] = now
    emitted = yaml.dump(front, Dumper=_FrontMatterDumper, sort_keys=False, allow_unicode=True,
                        default_flow_style=False, width=2**16)
    body = ("\n".join(lines[end + 1:])
            .replace("One line that says what users saw", title)
            .replace("2026-01-01 09:00", now.strftime("%Y-%m-%d %H:%M")))
    return "---\n" + emitted + "\n".join(hints) + "\n---\n" + body


def cmd_new(args: argparse.Namespace) -> int:
    from pipelines.reports.outputs import UnsafeOutputPath, ensure_inside

    settings = load_settings()
    store = Path(args.store) if args.store else settings.postmortems_dir
    now = datetime.now(timezone.utc).replace(microsecond=0, second=0)
    incident_id = next_free_id(store, now.year)
    template = (PROJECT_ROOT / "data" / "templates" / "postmortem.md").read_text(encoding="utf-8")
    title = one_line_title(args.title)
    text = new_postmortem_text(template, incident_id, title, now)
    target = store / str(now.year) / f"{incident_id}-{_slug(title)}.md"
    try:
        ensure_inside(store, target)
    except UnsafeOutputPath as err:
        print(err, file=sys.stderr)
        return EXIT_USAGE
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        print(f"{target} already exists", file=sys.stderr)
        return EXIT_USAGE
    target.write_text(text, encoding="utf-8")
    print(f"{incident_id}: wrote {target}")
    print("Fill in the sections, then check it with: emberline lint " + str(target))
    return EXIT_OK


# --------------------------------------------------------------------------------------
# sql


def cmd_sql(args: argparse.Namespace) -> int:
    from pipelines.warehouse.query import QueryLimits, QueryRefused, format_result, run_readonly_query

    database = Path(args.db) if args.db else load_settings().database
    query = args.query if args.query != "-" else sys.stdin.read()
    limits = QueryLimits(max_rows=args.max_rows, max_bytes=int(args.max_mb * 1_000_000), timeout_s=args.timeout,
                         memory_limit=args.memory_limit)
    try:
        result = run_readonly_query(database, query, limits=limits)
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        return EXIT_USAGE
    except QueryRefused as err:
        print(err, file=sys.stderr)  # starts with "refused:" or "error:"
        return EXIT_USAGE
    print(format_result(result, args.format))
    if result.truncated_by == "rows":
        print(f"(stopped at {args.max_rows} rows; raise --max-rows for more)", file=sys.stderr)
    elif result.truncated_by == "bytes":
        print(f"(stopped at {args.max_mb:g} MB of results, after {result.frame.height} rows; raise --max-mb for "
              "more)", file=sys.stderr)
    return EXIT_OK


# --------------------------------------------------------------------------------------
# similar


def cmd_similar(args: argparse.Namespace) -> int:
    from pipelines.postmortems.parse import parse_bytes
    from pipelines.themes.embed import load_embedder
    from pipelines.themes.items import root_cause_text
    from pipelines.themes.similar import SIMILAR_FLOOR, similar_to_new
    from pipelines.warehouse.db import connect_readonly, table_exists

    path = Path(args.path)
    try:
        parsed = parse_bytes(path.read_bytes(), str(path))
    except OSError as err:
        print(f"cannot read {path}: {err.strerror}", file=sys.stderr)
        return EXIT_USAGE
    if parsed.postmortem is None:
        print(f"{path}: " + "; ".join(p.message for p in parsed.problems), file=sys.stderr)
        return EXIT_USAGE
    pm = parsed.postmortem
    causes = [root_cause_text(c.title, c.description) for c in pm.root_causes]
    basis = "its root causes"
    if not causes:  # a free-form post-mortem may have no cause we can extract: its summary says what happened
        fallback = (pm.summary or "").strip() or (pm.title or "").strip()
        causes = [fallback] if fallback else []
        basis = "its summary (no root cause was found)" if pm.summary else "its title (no root cause or summary)"
    if not causes:
        print(f"{path}: no root cause, summary or title to compare (see README: the format)", file=sys.stderr)
        return EXIT_USAGE
    database = Path(args.db) if args.db else load_settings().database
    try:
        con = connect_readonly(database)
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        return EXIT_USAGE
    with con:
        if not table_exists(con, "themes"):
            print(f"{database} has no themes yet: run `emberline run` first", file=sys.stderr)
            return EXIT_USAGE
        found = similar_to_new(con, load_embedder(), causes, k=args.top,
                               floor=SIMILAR_FLOOR if args.floor is None else args.floor,
                               content_hash=parsed.content_hash)
    if args.format == "json":
        print(json.dumps({
            "incident_id": found.itself or pm.incident_id, "title": pm.title, "already_ingested_as": found.itself,
            "compared_by": basis, "compared_incidents": found.compared, "similarity_floor": found.floor,
            "similar_incidents": [{"incident_id": i, "title": t, "similarity": s} for i, t, s in found.similar],
            "causes": [vars(m) for m in found.causes]}, indent=2))
        return EXIT_OK
    print(f"{found.itself or pm.incident_id}: {pm.title}")
    if found.itself:
        print(f"(this file is already in the warehouse as {found.itself}; it is left out of its own results)")
    print(f"\nCompared by {basis} with {found.compared} past incidents; similar means cosine >= {found.floor:.2f}.")
    if found.similar:
        print("Most similar past incidents:")
        for rank, (incident_id, title, score) in enumerate(found.similar, start=1):
            print(f"  {rank}. {incident_id}  {score:.2f}  {title}")
    else:
        print("No past incident is that similar.")
    print("\nThemes its root causes would join:" if basis == "its root causes" else "\nThe theme it would join:")
    for match in found.causes:
        joined = f"{match.theme_id} {match.theme_name}" if match.theme_id else "no theme yet (a new kind of cause)"
        print(f"  - {match.text[:90]}\n      -> {joined}  (cosine {match.similarity:.2f})")
    return EXIT_OK


# --------------------------------------------------------------------------------------
# explain


def cmd_explain(args: argparse.Namespace) -> int:
    from pipelines.postmortems.explain import explain
    from pipelines.warehouse.ingest import explain_file

    path = Path(args.path)
    if not path.is_file():
        print(f"{path}: no such file", file=sys.stderr)
        return EXIT_USAGE
    parsed, converter = explain_file(path)
    print(explain(parsed, converter))
    return EXIT_OK if parsed.postmortem is not None else EXIT_FINDINGS
# init / curate


def cmd_init(args: argparse.Namespace) -> int:
    from pipelines.init_store import init_store

    store = Path(args.dir)
    if store.exists() and not store.is_dir():
        print(f"{store} is not a folder", file=sys.stderr)
        return EXIT_USAGE
    result = init_store(store, force=args.force)
    for path in result.written:
        print(f"wrote {path}")
    for path in result.kept:
        print(f"kept  {path} (exists; --force overwrites)")
    if result.suggestions:
        print(f"{len(result.suggestions)} headings of your post-mortems match no section yet: see the commented "
              f"suggestions in {store / 'emberline.yaml'}")
    settings = load_settings(postmortems_dir=store)
    print(f"\nwarehouse:  {settings.database}\nreports:    {settings.reports_dir}")
    print(f"next:       emberline lint {store}\n            EMBERLINE_POSTMORTEMS={store} emberline run")
    return EXIT_OK


def cmd_curate(args: argparse.Namespace) -> int:
    from pipelines.themes.curation import CurationError, apply_curation, load_curation, written_against
    from pipelines.warehouse.db import connect_readonly, table_exists

    settings = load_settings()
    path = Path(args.file) if args.file else settings.curation_file
    try:
        curation = load_curation(path)
    except CurationError as err:
        print(err, file=sys.stderr)
        return EXIT_USAGE
    if not curation:
        print(f"no curation file at {path} (set curation_file in emberline.yaml or EMBERLINE_THEMES_FILE)")
        return EXIT_OK
    try:
        con = connect_readonly(Path(args.db) if args.db else settings.database)
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        return EXIT_USAGE
    stale_total = 0
    with con:
        if not table_exists(con, "theme_assignments"):
            print("no themes in the warehouse yet: run `emberline run` first", file=sys.stderr)
            return EXIT_USAGE
        for theme_set, rules in curation.items():
            if not isinstance(rules, dict):
                continue
            cluster_of = dict(con.execute("SELECT item_id, cluster_theme_id FROM theme_assignments "
                                          "WHERE theme_set = ?", [theme_set]).fetchall())
            if args.record:
                members: dict[str, list[str]] = {}
                for item, theme in cluster_of.items():
                    if theme:
                        members.setdefault(theme, []).append(item)
                print(f"{theme_set}:\n  written_against:")
                for theme, items in written_against(rules, members).items():
                    print(f"    {theme}: [{', '.join(items)}]")
                continue
            result = apply_curation(cluster_of, {}, rules)
            stale_total += len(result.stale)
            print(f"{theme_set}: {len(result.names)} names applied, {len(result.stale)} rules stale")
            for written, now in sorted(result.followed.items()):
                print(f"  - the rules about {written} apply to {now}: the items they were written against are there now")
            for line in result.stale + result.warnings:
                print(f"  - {line}")
    if stale_total:
        print("\nA stale rule's theme changed since the rule was written: check it, then print the current "
              "members with `emberline curate --record` and replace its written_against entry.")
    return EXIT_FINDINGS if stale_total else EXIT_OK


# --------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    settings = load_settings()
    parser = argparse.ArgumentParser(
        prog="emberline",
        description="AI-incident post-mortems in, recurring themes out: where do we keep getting burned?",
        epilog=f"Paths default to EMBERLINE_POSTMORTEMS ({settings.postmortems_dir}) and EMBERLINE_DB "
               f"({settings.database}).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run the main job through Dagster: ingest, lint, themes, reports, publish",
                       description="Materialize the whole asset graph (the same job Dagster's UI runs) and print "
                                   "a summary.")
    p.add_argument("--job", default="emberline_job", help="job to run (default: %(default)s)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("ingest", help="ingest and lint the store into the warehouse (incremental), then publish",
                       description="Run only the ingest part of the pipeline through Dagster.")
    p.set_defaults(func=cmd_run, job="ingest_job")

    p = sub.add_parser("lint", help="check post-mortems for what a reviewer would ask",
                       description="Lint post-mortem files or folders. Exit status 1 when any error is found, so a "
                                   "post-mortem repository can run it in CI or a pre-commit hook.")
    p.add_argument("paths", nargs="*", help="files or folders (default: the store)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--errors-only", action="store_true", help="print only errors")
    p.set_defaults(func=cmd_lint)

    p = sub.add_parser("new", help="write a new post-mortem from the template with the next free id",
                       description="Create <store>/<year>/PM-<year>-<n>-<slug>.md from data/templates/postmortem.md.")
    p.add_argument("title", help="one line that says what users saw")
    p.add_argument("--store", help="post-mortem folder (default: EMBERLINE_POSTMORTEMS)")
    p.set_defaults(func=cmd_new)

    from pipelines.warehouse.query import QueryLimits

    p = sub.add_parser("sql", help="run a read-only SQL query on the warehouse",
                       description="Read-only SQL over the published warehouse (writes, file and network access "
                                   "are refused). Tables and example queries: docs/warehouse.md.")
    p.add_argument("query", help="the SQL, or - to read it from standard input")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    limits = QueryLimits()
    p.add_argument("--max-rows", type=int, default=limits.max_rows, help="cap on rows returned (default: %(default)s)")
    p.add_argument("--max-mb", type=float, default=limits.max_bytes / 1_000_000,
                   help="cap on the size of the result in MB (default: %(default)g)")
    p.add_argument("--timeout", type=float, default=limits.timeout_s,
                   help="stop the query after this many seconds (default: %(default)g)")
    p.add_argument("--memory-limit", default=limits.memory_limit,
                   help="DuckDB's working memory for the query (default: %(default)s)")
    p.add_argument("--db", help="warehouse file (default: EMBERLINE_DB)")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("similar", help="most similar past incidents and themes for a new post-mortem file",
                       description="Embed the root causes of a post-mortem (its summary when no cause is found) "
                                   "and compare them with the warehouse: the closest past incidents above a "
                                   "similarity floor and the theme each cause would join. A file already ingested "
                                   "is recognised by its content and left out of its own results.")
    p.add_argument("path", help="a post-mortem Markdown file")
    p.add_argument("--top", type=int, default=5, help="how many incidents (default: %(default)s)")
    p.add_argument("--floor", type=float, help="lowest cosine called similar (default: 0.45, "
                   "pipelines/themes/similar.py SIMILAR_FLOOR)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--db", help="warehouse file (default: EMBERLINE_DB)")
    p.set_defaults(func=cmd_similar)

    p = sub.add_parser("explain", help="show what the parser reads in one file, line by line",
                       description="Print the sections, root causes, action items, eval gaps, dates and timeline "
                                   "the parser finds in a post-mortem file, each with its line, and what it did not "
                                   "understand (headings mapped to no section, empty sections, missing dates).")
    p.add_argument("path", help="a post-mortem file (.md, .markdown, .txt, .html, .docx)")
    p.set_defaults(func=cmd_explain)
    p = sub.add_parser("init", help="make a post-mortem repository ready: config, template, pre-commit hook, CI",
                       description="Write emberline.yaml, postmortem.md.template, .pre-commit-config.yaml, "
                                   ".github/workflows/postmortems.yml and .gitignore lines at the root of DIR. "
                                   "Existing files are kept.")
    p.add_argument("dir", help="the post-mortem store (a git repository's root, usually)")
    p.add_argument("--force", action="store_true", help="overwrite files that exist")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("curate", help="which theme curation rules apply, and which are stale",
                       description="Check the curation file against the warehouse's themes: a rule applies only "
                                   "while its theme still holds most of the items it was written against. "
                                   "--record prints the written_against entries for the themes the rules name.")
    p.add_argument("--record", action="store_true", help="print written_against from the current themes")
    p.add_argument("--file", help="curation file (default: the store's, see README)")
    p.add_argument("--db", help="warehouse file (default: EMBERLINE_DB)")
    p.set_defaults(func=cmd_curate)

    register_report_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
