"""Render a `Report` as Markdown and as one self-contained HTML file.

The HTML has no scripts, fonts or stylesheets from anywhere: the CSS is inline and the charts
are inline SVG, so the file opens the same from a mail attachment, a wiki upload or an
air-gapped laptop. Every piece of text goes through `mask_sensitive` on the way out, and the
finished document is checked once more.
"""

from __future__ import annotations

import html
import re

from pipelines.reports.document import BarChart, Bullets, Paragraph, Report, Table
from pipelines.reports.redact import assert_clean, mask_sensitive

# The emphasis content stops at the next "**" (bold) or "*" (italic): with `.+?` every
# unclosed marker rescanned the rest of the line, quadratic in a line of many of them.
BOLD_MARKDOWN = re.compile(r"\*\*((?:[^*\n]|\*(?!\*))+?)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*(?![*\s])([^*\n]+?)(?<![*\s])\*(?![*\w])")
_CODE = re.compile(r"`([^`]+)`")
_BLOCKS = " ▏▎▍▌▋▊▉█"


def _cell(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


# --------------------------------------------------------------------------------------
# Markdown


def _md_escape_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_chart(chart: BarChart) -> str:
    top = max(chart.values, default=0) or 1
    width = max((len(label) for label in chart.labels), default=0)
    lines = []
    for i, (label, value) in enumerate(zip(chart.labels, chart.values)):
        eighths = round(value / top * 24 * 8)
        bar = "█" * (eighths // 8) + (_BLOCKS[eighths % 8] if eighths % 8 else "")
        marker = " ◀" if i in chart.highlight else ""
        lines.append(f"{label.ljust(width)}  {bar} {_cell(value)}{chart.unit}{marker}")
    return f"*{chart.title}*\n\n```\n" + "\n".join(lines) + "\n```"


def to_markdown(report: Report) -> str:
    out = [f"# {report.title}", "", f"*{report.subtitle}*", ""]
    if report.highlights:
        out += ["**At a glance**", ""] + [f"- {h}" for h in report.highlights] + [""]
    for section in report.sections:
        out += [f"## {section.title}", ""]
        for block in section.blocks:
            if isinstance(block, Paragraph):
                out += [block.text, ""]
            elif isinstance(block, Bullets):
                out += ([f"- {item}" for item in block.items] or [f"*{block.empty}*"]) + [""]
            elif isinstance(block, Table):
                if not block.rows:
                    out += [f"*{block.empty}*", ""]
                    continue
                out.append("| " + " | ".join(block.columns) + " |")
                out.append("|" + "|".join("---" for _ in block.columns) + "|")
                out += ["| " + " | ".join(_md_escape_cell(_cell(v)) for v in row) + " |" for row in block.rows]
                out.append("")
            elif isinstance(block, BarChart):
                out += [_md_chart(block), ""]
    text = mask_sensitive("\n".join(out).rstrip() + "\n")
    assert_clean(text, f"{report.file_stem}.md")
    return text


# --------------------------------------------------------------------------------------
# HTML


def _inline(text: str) -> str:
    escaped = html.escape(mask_sensitive(text), quote=False)
    escaped = _CODE.sub(r"<code>\1</code>", escaped)
    return _ITALIC.sub(r"<em>\1</em>", BOLD_MARKDOWN.sub(r"<strong>\1</strong>", escaped))


_ACCENT, _MUTED = "#d9480f", "#868e96"


def _svg_open(width: float, height: float, label: str) -> str:
    return f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" aria-label="{label}">'


def svg_bar_chart(chart: BarChart) -> str:
    top = max(chart.values, default=0) or 1
    esc = lambda s: html.escape(mask_sensitive(str(s)))
    if chart.horizontal:
        label_w, bar_w, row_h = 330, 300, 22
        height = row_h * len(chart.values) + 10
        parts = [_svg_open(label_w + bar_w + 70, height, esc(chart.title))]
        for i, (label, value) in enumerate(zip(chart.labels, chart.values)):
            y = 5 + i * row_h
            w = max(value / top * bar_w, 1 if value else 0)
            colour = _ACCENT if i in chart.highlight else _MUTED
            short = label if len(label) <= 48 else label[:47] + "…"
            parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">{esc(short)}</text>')
            parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{colour}">'
                         f'<title>{esc(label)}: {esc(_cell(value))}{esc(chart.unit)}</title></rect>')
            parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 15}" font-size="12">'
                         f'{esc(_cell(value))}{esc(chart.unit)}</text>')
        parts.append("</svg>")
        return "".join(parts)
    slot, plot_h, top_pad = 40, 140, 20  # top_pad leaves room for the tallest bar's value
    base = top_pad + plot_h
    width = slot * len(chart.values) + 20
    parts = [_svg_open(width, base + 30, esc(chart.title)),
             f'<line x1="10" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#ced4da"/>']
    for i, (label, value) in enumerate(zip(chart.labels, chart.values)):
        h = value / top * plot_h
        x = 10 + i * slot
        colour = _ACCENT if i in chart.highlight else _MUTED
        parts.append(f'<rect x="{x + 6}" y="{base - h:.1f}" width="{slot - 12}" height="{h:.1f}" '
                     f'fill="{colour}"><title>{esc(label)}: {esc(_cell(value))}{esc(chart.unit)}</title></rect>')
        if value:
            parts.append(f'<text x="{x + slot / 2}" y="{base - h - 4:.1f}" text-anchor="middle" '
                         f'font-size="11">{esc(_cell(value))}</text>')
        parts.append(f'<text x="{x + slot / 2}" y="{base + 16}" text-anchor="middle" font-size="10">'
                     f'{esc(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body{font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;max-width:980px;margin:2rem auto;
padding:0 1rem;color:#212529;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #dee2e6;
padding-bottom:.2rem}.subtitle{color:#6c757d;margin-top:0}.glance{background:#fff4e6;border-left:4px solid #d9480f;
padding:.6rem 1rem}.glance ul{margin:.2rem 0}table{border-collapse:collapse;width:100%;font-size:.9rem;
margin:.5rem 0 1rem}th,td{border:1px solid #dee2e6;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f8f9fa}td:first-child{white-space:nowrap}.empty{color:#6c757d;font-style:italic}figure{margin:.5rem 0 1rem}
figcaption{font-size:.85rem;color:#495057;margin-bottom:.3rem}code{background:#f1f3f5;padding:0 .2rem}
"""


def to_html(report: Report) -> str:
    out = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{_inline(report.title)}</title>", f"<style>{_CSS}</style></head><body>",
           f"<h1>{_inline(report.title)}</h1>", f'<p class="subtitle">{_inline(report.subtitle)}</p>']
    if report.highlights:
        out.append('<div class="glance"><strong>At a glance</strong><ul>'
                   + "".join(f"<li>{_inline(h)}</li>" for h in report.highlights) + "</ul></div>")
    for section in report.sections:
        out.append(f"<h2>{_inline(section.title)}</h2>")
        for block in section.blocks:
            if isinstance(block, Paragraph):
                out.append(f"<p>{_inline(block.text)}</p>")
            elif isinstance(block, Bullets):
                out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in block.items) + "</ul>"
                           if block.items else f'<p class="empty">{_inline(block.empty)}</p>')
            elif isinstance(block, Table):
                if not block.rows:
                    out.append(f'<p class="empty">{_inline(block.empty)}</p>')
                    continue
                head = "".join(f"<th>{_inline(c)}</th>" for c in block.columns)
                body = "".join("<tr>" + "".join(f"<td>{_inline(_cell(v))}</td>" for v in row) + "</tr>"
                               for row in block.rows)
                out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            elif isinstance(block, BarChart):
                out.append(f"<figure><figcaption>{_inline(block.title)}</figcaption>{svg_bar_chart(block)}</figure>")
    out.append("</body></html>")
    text = mask_sensitive("\n".join(out) + "\n")
    assert_clean(text, f"{report.file_stem}.html")
    return text
