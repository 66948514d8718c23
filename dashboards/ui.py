"""UI pieces every page uses: page files, deep links, tables with links, empty states.

Deep links are plain URLs with query parameters, one per thing people paste into a meeting
note: `./?quarter=2026-Q2`, `weekly?week=2026-W14`, `themes?theme=RC-003`,
`incidents?incident=PM-2026-014`. They are relative, so they work wherever the app is
served (any host, port or base path): every page sits one level below the app's root.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlencode, urljoin

import polars as pl
import streamlit as st

QUARTERLY = "views/quarterly.py"
WEEKLY = "views/weekly.py"
THEMES = "views/themes.py"
INCIDENTS = "views/incidents.py"
HEALTH = "views/health.py"
SQL = "views/sql.py"

# The URL path of each page; the landing page is served at the root.
URL_PATHS = {QUARTERLY: "", WEEKLY: "weekly", THEMES: "themes", INCIDENTS: "incidents", HEALTH: "health", SQL: "sql"}

# Query parameter per kind of thing, and the page that opens it.
LINK_TARGETS = {"quarter": QUARTERLY, "week": WEEKLY, "theme": THEMES, "incident": INCIDENTS}

THEME_SETS = {"root_cause": "Root-cause themes", "eval_gap": "Eval-gap themes"}

# What an empty cell or value shows: never "None", "nan" or "NaT".
NOT_RECORDED = "not recorded"
# Empty states of a store whose post-mortems lack a field: why, and where to look.
NO_DATES = ("No incident has a date, so nothing can be placed in a week or a quarter: see Post-mortem health "
            "for what the post-mortems are missing (a `Started:` line, a dated timeline or front matter).")
NO_DURATIONS = ("No incident records both when it started and when it was detected or resolved, so there are no "
                "durations to show: see Post-mortem health.")


def incidents_span(summary: dict) -> str:
    """"67 incidents, 2025-04-02 to 2026-11-20", saying so when some or all have no date."""
    n, dated = summary["incidents"], summary.get("dated", summary["incidents"])
    head = f"{n} incident{'s' if n != 1 else ''}"
    if not dated or summary["first_incident"] is None:
        return f"{head}, none with a date"
    span = f"{head}, {summary['first_incident']} to {summary['last_incident']}"
    return span if dated == n else f"{span} ({n - dated} without a date)"


def quarters_seen(n) -> str:
    if not n:
        return "in no dated quarter"
    return f"seen in {n} quarter{'s' if n != 1 else ''}"


def shown(value, missing: str = NOT_RECORDED) -> str:
    """A value as text for a sentence or a metric, or `missing` when there is none."""
    if value is None or (isinstance(value, float) and value != value):
        return missing
    return str(value)


def readable(frame: pl.DataFrame, keep: Iterable[str] = ()) -> pl.DataFrame:
    """The frame with its empty cells saying so: Streamlit shows a null cell as "None".
    Only columns with nulls change (not those in `keep`); they become text, dates formatted
    as dates."""
    replaced = []
    for column, dtype in frame.schema.items():
        values = frame[column]
        if column in keep:
            continue
        if values.null_count() == 0 and not (dtype.is_float() and values.is_nan().any()):
            continue
        if dtype == pl.Date:
            text = values.dt.strftime("%Y-%m-%d")
        elif dtype.is_temporal() and dtype != pl.Duration:
            text = values.dt.strftime("%Y-%m-%d %H:%M")
        elif dtype.is_float():
            text = values.fill_nan(None).round(2).cast(pl.String).str.replace(r"\.0$", "")
        elif isinstance(dtype, pl.List):
            text = values.list.eval(pl.element().cast(pl.String)).list.join(", ")
        elif dtype == pl.Boolean:
            text = values.cast(pl.String).replace({"true": "yes", "false": "no"})
        else:
            text = values.cast(pl.String)
        replaced.append(text.fill_null(NOT_RECORDED if not dtype.is_numeric() else "–").alias(column))
    return frame.with_columns(replaced) if replaced else frame


def url(page: str, **params: str) -> str:
    """Relative URL of `page` with `params`, e.g. url(INCIDENTS, incident="PM-2026-014")."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"./{URL_PATHS[page]}" + (f"?{query}" if query else "")


def link_to(kind: str, value: str) -> str:
    """The deep link of one quarter, week, theme or incident."""
    return url(LINK_TARGETS[kind], **{kind: value})


def absolute(relative: str) -> str:
    """The full URL as the browser sees it, for copying; relative when unknown (tests)."""
    base = st.context.url
    return urljoin(base, relative) if base else relative


def permalink(kind: str, value: str) -> None:
    """A copyable link to the view on screen."""
    st.caption(f":material/link: Link to this {kind}: `{absolute(link_to(kind, value))}`")


def linked(frame: pl.DataFrame, links: Mapping[str, str]) -> tuple[pl.DataFrame, dict]:
    """Turn id columns into deep links: `links` maps a column to the kind it holds
    (incident, theme, quarter, week). The cell shows the id, the link opens its view."""
    config = {}
    for column, kind in links.items():
        if column not in frame.columns:
            continue
        prefix = f"{url(LINK_TARGETS[kind])}?{kind}="
        frame = frame.with_columns(
            pl.when(pl.col(column).is_not_null())
            .then(pl.lit(prefix) + pl.col(column).cast(pl.String).map_elements(_quote, return_dtype=pl.String))
            .otherwise(pl.lit(""))  # nothing to link to: an empty cell, not "None"
            .alias(column))
        config[column] = st.column_config.LinkColumn(column.replace("_", " "), display_text=f"{kind}=([^&]*)",
                                                     help=f"Opens the {kind} in a new tab")
    return frame, config


def _quote(value: str) -> str:
    return urlencode({"": value})[1:]


# Rows sent to the browser per table: at 10,000 post-mortems some lists run to thousands of
# rows, which nobody reads in a meeting and which slow the page down. SQL has them all.
TABLE_ROWS = 500


def table(frame: pl.DataFrame, *, links: Mapping[str, str] | None = None, empty: str = "Nothing here.",
          column_config: dict | None = None, height: int | str = "auto", key: str | None = None,
          max_rows: int = TABLE_ROWS) -> None:
    """A read-only table with deep links, or `empty` when there are no rows; at most
    `max_rows` rows, saying so. `key` names its container, for tests and the browser."""
    with st.container(key=key):
        if frame is None or frame.height == 0:
            st.caption(empty)
            return
        if frame.height > max_rows:
            st.caption(f"The first {max_rows} of {frame.height} rows; the SQL page has them all.")
            frame = frame.head(max_rows)
        frame, config = linked(readable(frame, keep=links or {}), links or {})
        st.dataframe(frame, hide_index=True, column_config=column_labels(frame) | config | (column_config or {}),
                     height=height)


def column_labels(frame: pl.DataFrame) -> dict:
    """Readable headers, and dates shown as dates (Streamlit would add a midnight time)."""
    config = {}
    for column, dtype in frame.schema.items():
        label = column.replace("_", " ")
        config[column] = st.column_config.DateColumn(label, format="YYYY-MM-DD") if dtype == pl.Date else label
    return config


def page_links(kind: str, values: list[str], labels: Mapping[str, str] | None = None) -> None:
    """In-app links (no new tab) to several quarters, weeks, themes or incidents."""
    labels = labels or {}
    for value in values:
        label = f"{value} · {labels[value]}" if value in labels else value
        st.page_link(LINK_TARGETS[kind], label=label, query_params={kind: value}, icon=":material/arrow_forward:")


def no_warehouse(path: str) -> None:
    st.title("No warehouse yet")
    st.info(
        f"There is no warehouse at `{path}` yet. Build one from the post-mortems, then reload this page "
        "(the dashboard also notices a new warehouse on its own within a few seconds):\n\n"
        "```sh\nmake run\n```\n\n"
        "`make run` ingests `data/postmortems` (or `EMBERLINE_POSTMORTEMS`), builds the themes and publishes "
        "the warehouse to `data/warehouse.duckdb`. To look at a warehouse somewhere else, start the dashboard "
        "with `EMBERLINE_DB=/path/to/warehouse.duckdb make dashboard`.",
        icon=":material/database:")


def no_themes() -> None:
    st.info("This warehouse has no themes yet: it was built by ingest only. `make run` builds the themes "
            "(root-cause and eval-gap clusters) and publishes them here.", icon=":material/category:")


def theme_set() -> str:
    """The theme set chosen in the sidebar (`?set=eval_gap`)."""
    chosen = st.session_state.get("_url_set")
    return chosen if chosen in THEME_SETS else "root_cause"


_FRONT_MATTER = re.compile(r"\A---\s*\n.*?\n---\s*\n", re.S)
_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})(\s.*)$")


def postmortem_body(markdown: str) -> str:
    """The post-mortem as Markdown fit to show inside a page.

    The front matter is dropped (the page shows it as facts), headings move two levels
    down so the post-mortem's title does not outrank the page's, and outside code blocks `$`
    is escaped, because Streamlit reads `$…$` as LaTeX and post-mortems talk about money.
    """
    lines, in_code = [], False
    for line in _FRONT_MATTER.sub("", markdown, count=1).splitlines():
        if _FENCE.match(line):
            in_code = not in_code
        elif not in_code:
            heading = _HEADING.match(line)
            if heading:
                line = "#" * min(6, len(heading[1]) + 2) + heading[2]
            line = line.replace("$", "\\$")
        lines.append(line)
    return "\n".join(lines)


def select_in_url(label: str, options: list[str], param: str, *, format_func=str, multi: bool = False,
                  keep_default_in_url: bool = False, widget=None, **kwargs):
    """A selectbox (or multiselect, or `widget`) whose value is the query parameter `param`.

    For choices shown by a label but linked by an id (themes): Streamlit's
    bind="query-params" puts the *label* in the URL, and a link must survive a rename.
    The URL wins when it names valid options; otherwise the widget keeps its value. The
    default (first option, or nothing for a multiselect) stays out of the URL unless
    `keep_default_in_url`, for links that must not change meaning when the ranking does.
    """
    key = f"_url_{param}"
    default = [] if multi else (options[0] if options else None)
    if multi:
        wanted = [v for v in st.query_params.get_all(param) if v in options]
        if wanted or param in st.query_params:
            st.session_state[key] = wanted
        elif not all(v in options for v in st.session_state.get(key, [])):
            st.session_state[key] = default
    else:
        wanted = st.query_params.get(param)
        if wanted in options:
            st.session_state[key] = wanted
        elif st.session_state.get(key) not in options:
            st.session_state[key] = default

    def write_url() -> None:
        value = st.session_state[key]
        if value == default and not keep_default_in_url:
            st.query_params.pop(param, None)
        else:
            st.query_params[param] = value

    widget = widget or (st.multiselect if multi else st.selectbox)
    value = widget(label, options, key=key, format_func=format_func, on_change=write_url, **kwargs)
    if value != default or keep_default_in_url:
        write_url()
    return value
