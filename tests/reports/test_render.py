from __future__ import annotations

import re

import pytest

from pipelines.postmortems.sensitive import find_sensitive
from pipelines.reports.document import BarChart, Bullets, Paragraph, Report, Section, Table
from pipelines.reports.outputs import write_report
from pipelines.reports.redact import SensitiveDataError, mask_sensitive
from pipelines.reports.render import to_html, to_markdown

LEAKY = "Reported by dana.kim@example.com from 10.20.30.40, key sk-proj-abcdefghijklmnopqrstuvwx1234"


def report_with(text: str) -> Report:
    return Report("weekly", "2026-W14", f"Title {text}", "subtitle", [f"glance {text}"], [
        Section("Everything", [
            Paragraph(f"**Bold** and `code` and {text}"),
            Bullets([f"item {text}"]),
            Table(["A", "B"], [[text, 1.5], ["x | y", None]]),
            BarChart("Per week", ["W13", "W14"], [2, 5], highlight={1}),
            BarChart(f"Themes {text}", ["a theme", "another"], [10.0, 4.0], horizontal=True),
        ]),
    ])


def test_every_sensitive_value_is_masked_in_markdown_and_html():
    report = report_with(LEAKY)
    for rendered in (to_markdown(report), to_html(report)):
        assert find_sensitive(rendered) == []
        assert "dana.kim" not in rendered and "10.20.30.40" not in rendered and "sk-proj" not in rendered
        assert "[EMAIL]" in rendered and "[IP_ADDRESS]" in rendered and "[API_KEY]" in rendered


def test_masking_leaves_dates_versions_and_placeholders_alone():
    text = "gpt-4o 2024-08-06 on 2026-03-02 14:05, version 1.2.3, [CUSTOMER_NAME]"
    assert mask_sensitive(text) == text


def test_html_is_self_contained_with_inline_svg_charts():
    html = to_html(report_with("plain"))
    assert html.count("<svg") == 2 and "<figure>" in html
    assert not re.search(r"<script|<link|<img|src=|@import|url\(", html)
    # The only URL is the SVG namespace, which browsers never fetch.
    assert set(re.findall(r"https?://[^\s\"']+", html)) == {"http://www.w3.org/2000/svg"}
    assert "<strong>Bold</strong>" in html and "<code>code</code>" in html


def test_markdown_tables_escape_pipes_and_charts_become_text_bars():
    md = to_markdown(report_with("plain"))
    assert "| x \\| y | – |" in md
    assert re.search(r"W14\s+█+ 5 ◀", md)


def test_write_report_writes_both_files_and_skips_unchanged(tmp_path):
    first = write_report(report_with("plain"), tmp_path)
    assert first.changed and first.markdown.name == "weekly-2026-W14.md" and first.html.exists()
    mtime = first.html.stat().st_mtime_ns
    again = write_report(report_with("plain"), tmp_path)
    assert not again.changed and first.html.stat().st_mtime_ns == mtime


def test_writing_refuses_text_with_sensitive_data(tmp_path):
    from pipelines.reports.outputs import write_text

    with pytest.raises(SensitiveDataError, match="1 email") as refused:
        write_text(tmp_path / "x.md", "contact ops@example.org")
    assert "ops@example.org" not in str(refused.value)
    assert not (tmp_path / "x.md").exists()


def test_report_excerpts_quote_a_post_mortem_without_its_markup():
    from pipelines.reports.data import short

    assert short("Monitoring [showed the failure](http://dash.example/x) (owner: sam, due 2026-01-01)") == \
        "Monitoring showed the failure"
    assert short("x" * 200, 50) == "x" * 49 + "…"
