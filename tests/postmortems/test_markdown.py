"""The one Markdown reader: structure and file lines from CommonMark, not from line regexes."""

from pipelines.postmortems import markdown
from pipelines.postmortems.parse import parse_text


def test_atx_setext_indented_and_html_headings_are_all_headings():
    text = "\n".join([
        "# Title",            # 1
        "",
        "Root causes",        # 3: setext
        "-----------",
        "",
        "   ## Timeline",     # 6: indented up to three spaces is still a heading
        "",
        "<h2>Action items</h2>",  # 8: HTML heading (Confluence, Google Docs exports)
        "",
    ])
    doc = markdown.parse(text)
    assert [(h.line, h.level, h.text) for h in doc.headings()] == [
        (1, 1, "Title"), (3, 2, "Root causes"), (6, 2, "Timeline"), (8, 2, "Action items")]


def test_a_tilde_line_inside_a_backtick_fence_does_not_close_it():
    text = "\n".join([
        "## Sample outputs",
        "",
        "```text",
        "~~~",
        "## Root causes",
        "- quoted, not a cause",
        "```",
        "",
        "## Root causes",
        "",
        "- The real cause: the index alias was never flipped.",
    ])
    pm = parse_text(text, "fence.md").postmortem
    assert [c.title for c in pm.root_causes] == ["The real cause: the index alias was never flipped."]
    assert pm.root_causes[0].line == 11
    assert "## Root causes" in pm.sample_outputs[0].text


def test_blocks_carry_file_lines_after_front_matter():
    doc = markdown.parse("## Follow-ups\n\n- [x] Add a canary\n  - nested detail\n- [ ] Rotate keys\n", first_line=10)
    items = [b for b in doc.blocks if b.kind == "item"]
    assert [(b.line, b.level, b.checked) for b in items] == [(12, 1, True), (13, 2, None), (14, 1, False)]
    assert items[0].text.startswith("Add a canary")


def test_tables_give_rows_of_cells():
    doc = markdown.parse("| Time | Event |\n|---|---|\n| 10:00 | deploy |\n| 10:05 | alert |\n")
    table = next(b for b in doc.blocks if b.kind == "table")
    assert table.rows == [["Time", "Event"], ["10:00", "deploy"], ["10:05", "alert"]]


def test_a_heading_quoted_in_a_blockquote_is_not_a_section():
    pm = parse_text("# T\n\n## Summary\n\nWhat users saw:\n\n> ## Root causes\n> none\n", "q.md").postmortem
    assert "root_causes" not in pm.sections


def test_readable_text_shows_links_as_their_words():
    from pipelines.postmortems.markdown import readable

    text = ("While **monitoring** [clearly shows the failure](http://dash.example/db?from=1 \"board\") no alert\n"
            "fired; see <https://example.com/pm> and [the fix][pr].")
    assert readable(text) == ("While monitoring clearly shows the failure no alert fired; see "
                              "https://example.com/pm and the fix.")
