"""A store as teams have it: free-form Markdown, Word and HTML exports, plain text and images,
through the real ingest into a real DuckDB file. Every file is an incident, an ingest issue
or a skipped asset."""

from __future__ import annotations

import io

import docx

from pipelines.warehouse.db import connect, scalar
from pipelines.warehouse.ingest import ingest_store
from tests.postmortems.test_freeform import BLOG, GOOGLE_DOC, STATUS_PAGE


def word_export(title: str, cause: str) -> bytes:
    document = docx.Document()
    document.add_heading(title, level=1)
    document.add_paragraph("Published 3 March 2026")
    document.add_heading("Root cause", level=2)
    document.add_paragraph(cause)
    document.add_heading("Action items", level=2)
    document.add_paragraph("Alert when the nightly export writes no rows", style="List Bullet")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_every_file_of_a_free_form_store_is_accounted_for(tmp_path):
    store = tmp_path / "store"
    (store / "exports").mkdir(parents=True)
    (store / "2026-05-04-chat-api.md").write_text(STATUS_PAGE)
    (store / "batch-scoring.markdown").write_text(GOOGLE_DOC)
    (store / "answer-quality.txt").write_text(BLOG)
    (store / "exports" / "nightly-export.docx").write_bytes(
        word_export("Nightly export wrote nothing", "The export job was triggered by a schema rename it did not expect."))
    (store / "exports" / "confluence.html").write_text(
        "<html><head><script>alert(1)</script><style>p{}</style></head><body>"
        "<h1>Search outage, 2 June 2026</h1><h2>Root causes</h2><ul><li>The index alias was never flipped.</li></ul>"
        "</body></html>")
    (store / "exports" / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (store / "diagram.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    # The repository's own machinery is neither a post-mortem nor an asset of one.
    (store / "emberline.yaml").write_text("headings: {}\n")
    (store / "postmortem.md.template").write_text("# Title\n")
    (store / ".pre-commit-config.yaml").write_text("repos: []\n")
    (store / ".github" / "workflows").mkdir(parents=True)
    (store / ".github" / "workflows" / "postmortems.yml").write_text("on: push\n")

    con = connect(tmp_path / "warehouse.duckdb")
    summary = ingest_store(con, store)
    # 7 files besides the config: 5 load, 1 is an ingest issue, 1 is a skipped asset.
    assert (summary.incidents_loaded, summary.files_with_errors, summary.assets_skipped) == (5, 1, 1)
    assert summary.files_seen == 7
    statuses = dict(con.execute("SELECT source_path, status FROM source_files").fetchall())
    assert statuses["diagram.png"] == "skipped_asset" and statuses["exports/broken.docx"] == "error"
    issue = con.execute("SELECT kind, message FROM ingest_issues WHERE source_path = 'exports/broken.docx'").fetchone()
    assert issue is not None and "docx" in issue[1].lower()

    dated = dict(con.execute("SELECT source_path, incident_date::VARCHAR FROM postmortems").fetchall())
    assert dated["2026-05-04-chat-api.md"] == "2026-05-04"
    assert dated["batch-scoring.markdown"] == "2026-03-12"
    assert dated["answer-quality.txt"] == "2026-11-12"
    causes = [r[0] for r in con.execute("SELECT description FROM root_causes ORDER BY incident_id, seq").fetchall()]
    assert any("index alias was never flipped" in c for c in causes)
    assert any("schema rename" in c for c in causes)
    assert not any("alert(1)" in c for c in causes)
    sources = dict(con.execute("SELECT source_path, started_at_source FROM postmortems").fetchall())
    assert sources["batch-scoring.markdown"] == "timeline"
    # The parser says what it did not understand, per file.
    assert scalar(con, "SELECT count(*) FROM parse_notes WHERE kind = 'no_start_date'") >= 1

    second = ingest_store(con, store)  # nothing changed: nothing re-read, assets still counted
    assert (second.files_read, second.assets_skipped, second.incidents_loaded) == (0, 1, 5)


def _ingested(tmp_path, files: dict[str, str], columns: str) -> dict[str, tuple]:
    """Ingest a store of `files` (name -> text) and read `columns` of each post-mortem, by file."""
    store = tmp_path / "store"
    store.mkdir()
    for name, text in files.items():
        (store / name).write_text(text)
    con = connect(tmp_path / "warehouse.duckdb")
    ingest_store(con, store)
    return {r[0]: r[1:] for r in con.execute(f"SELECT source_path, {columns} FROM postmortems").fetchall()}


def test_durations_are_unknown_for_a_bare_day_or_a_timeline_that_contradicts_itself(tmp_path):
    rows = _ingested(tmp_path, {
        "title-only.md": "# Backbone outage on October 4, 2021\n\nThe backbone went down.\n",
        "timed.md": STATUS_PAGE,
        "contradicts.md": "# Queue outage\n\n## Timeline\n\n- 2026-03-26 23:04 UTC the node is drained (outage starts)\n"
                          "- 2026-03-26 02:50 UTC the outage is reported by a user\n"
                          "- 2026-03-26 08:10 UTC a fixed build is deployed (outage ends)\n",
    }, "incident_date::VARCHAR, minutes_to_detect, minutes_to_resolve")
    assert rows["title-only.md"] == ("2021-10-04", None, None)  # a day, not 0 minutes
    assert rows["timed.md"][2] == 88.0
    # The marked start kept its date past midnight: it is the evening before the first report.
    assert rows["contradicts.md"] == ("2026-03-25", 226.0, 546.0)


def test_a_window_in_the_summary_dates_the_incident_and_a_bare_publication_day_is_not_negative(tmp_path):
    rows = _ingested(tmp_path, {
        "downloads.md": "# Broken downloads\n\nPublished 2026-07-20\n\n## Summary\n\n"
                        "On 2026-07-20 between 12:17 and 12:30 UTC all downloads failed because of a missing slash.\n\n"
                        "## Timeline\n\n- 2026-07-19 12:32 UTC the refactoring is merged\n"
                        "- 2026-07-20 12:29 UTC the fix is merged\n",
        "contradicts.md": "# Pool outage\n\n## Impact\n\nJobs failed between 2026-02-25 23:04 and 2026-02-26 08:12.\n\n"
                          "## Timeline\n\n- 2026-03-26 06:04 UTC the node is drained and jobs start failing\n"
                          "- 2026-03-26 09:50 UTC the outage is reported\n- 2026-03-26 15:10 UTC a fix is deployed\n",
    }, "started_at_source, strftime(started_at, '%m-%d %H:%M'), minutes_to_resolve, hours_to_postmortem")
    # The summary's window, not the merge the day before, and its end; published the same day: 0 h.
    assert rows["downloads.md"] == ("text", "07-20 12:17", 13.0, 0.0)
    # A window a month from the timeline is the text contradicting itself: the timeline stands.
    assert rows["contradicts.md"][:3] == ("timeline", "03-26 06:04", 546.0)


def test_a_free_form_post_mortem_is_never_due(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (store / "free.md").write_text(STATUS_PAGE)
    (store / "draft.md").write_text(
        "---\nid: INC-7\ntitle: Draft\nstarted_at: 2026-05-01T10:00:00Z\nresolved_at: 2026-05-01T11:00:00Z\n---\n"
        "# Draft\n\n## Summary\n\nNot written yet.\n")
    con = connect(tmp_path / "warehouse.duckdb")
    ingest_store(con, store)
    due = [r[0] for r in con.execute("SELECT incident_id FROM postmortems_due").fetchall()]
    assert due == ["INC-7"]
