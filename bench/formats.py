"""Conversion benchmark: time and peak memory of turning exports into Markdown, up to the size
caps and past them (the 50 MB exports of issue 8), each case in a fresh process so that its
peak RSS is its own.

    python bench/formats.py

Inputs are built from the test fixtures (tests/postmortems/formats) and python-docx; the
"at the cap" rows are the worst a single file can cost before it is refused.
"""

from __future__ import annotations

import base64
import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/formats.py`: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "postmortems" / "formats"
LOG_PARAGRAPH = b"<p>Line of the recovery log with <b>bold</b> and <a href='x'>a link</a>.</p>\n"


def google_docs_with(extra: bytes) -> bytes:
    return (FIXTURES / "google_docs_export.html").read_bytes().replace(b"</body>", extra + b"</body>")


def word_document(paragraphs: int) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Root causes", 2)
    for i in range(paragraphs):
        document.add_paragraph(f"Recovery log line with some words in it, number {i}. ").add_run("bold").bold = True
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def build(case: str) -> tuple[bytes, str]:
    from pipelines.postmortems.convert import MAX_MARKUP_BYTES

    if case == "Confluence page":
        return (FIXTURES / "confluence_export.html").read_bytes(), ".html"
    if case == "Google Docs page":
        return (FIXTURES / "google_docs_export.html").read_bytes(), ".html"
    if case == "HTML, 50 MB of pictures":
        picture = b'<p><img src="data:image/png;base64,' + base64.b64encode(os.urandom(3_750_000)) + b'"></p>'
        return google_docs_with(picture * 10), ".html"
    if case == "HTML, 50 MB of markup":
        return google_docs_with(LOG_PARAGRAPH * (50_000_000 // len(LOG_PARAGRAPH))), ".html"
    if case == "HTML at the markup cap":
        return google_docs_with(LOG_PARAGRAPH * ((MAX_MARKUP_BYTES - 10_000) // len(LOG_PARAGRAPH))), ".html"
    if case == "DOCX, 200 paragraphs":
        return word_document(200), ".docx"
    if case == "DOCX, 12,000 paragraphs":
        return word_document(12_000), ".docx"
    if case == "DOCX past the XML cap":
        return word_document(30_000), ".docx"
    raise ValueError(case)


CASES = ("Confluence page", "Google Docs page", "HTML, 50 MB of pictures", "HTML, 50 MB of markup",
         "HTML at the markup cap", "DOCX, 200 paragraphs", "DOCX, 12,000 paragraphs", "DOCX past the XML cap")


def run_case(case: str) -> dict:
    from pipelines.postmortems.convert import to_markdown

    raw, suffix = build(case)
    start = time.perf_counter()
    converted = to_markdown(raw, suffix, "bench" + suffix)
    seconds = time.perf_counter() - start
    return {"case": case, "input_mb": len(raw) / 1e6, "seconds": seconds,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "markdown_kb": len(converted.text or "") / 1e3,
            "outcome": converted.problems[0].kind if converted.problems else "loaded"}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--case":
        print(json.dumps(run_case(sys.argv[2])))
        return
    rows = []
    for case in CASES:
        out = subprocess.run([sys.executable, __file__, "--case", case], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout))
    print(f"{'case':<26} {'input MB':>9} {'seconds':>8} {'peak RSS MB':>12} {'Markdown kB':>12}  outcome")
    for r in rows:
        print(f"{r['case']:<26} {r['input_mb']:>9.1f} {r['seconds']:>8.2f} {r['peak_rss_mb']:>12.0f} "
              f"{r['markdown_kb']:>12.1f}  {r['outcome']}")


if __name__ == "__main__":
    main()
