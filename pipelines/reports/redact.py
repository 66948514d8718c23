"""Sensitive data never leaves through a report or an export.

Reports mask every value `find_sensitive` finds (the same patterns lint uses for EL007) with
a placeholder such as [EMAIL]; the external export refuses a post-mortem that has any. Every
written file is scanned once more, so a value that only appears once two pieces of text are
joined is caught too.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pipelines.postmortems.sensitive import PLACEHOLDERS, SensitiveMatch, find_sensitive

__all__ = ["PLACEHOLDERS", "SensitiveDataError", "assert_clean", "changed_span", "describe", "find_sensitive_since",
           "mask_sensitive", "scan_files"]

# How far around a change the scan of a changed text reaches (find_sensitive_since): more than
# any value that can span lines needs, except a private key, which the scan finds from its
# BEGIN line.
CONTEXT_LINES = 20
CONTEXT_CHARS = 4096


class SensitiveDataError(Exception):
    """Unredacted sensitive data was about to be written. The message never repeats the value."""


def mask_sensitive(text: str) -> str:
    """Replace every sensitive value with its placeholder; other text is left as it is."""
    if not text:
        return text
    # Replacing one value can expose another (a key inside an email-like string), so repeat
    # until nothing is found; three passes are plenty for real text.
    for _ in range(3):
        found = find_sensitive(text)
        if not found:
            return text
        lines = text.split("\n")
        by_line: dict[int, list[SensitiveMatch]] = {}
        for match in found:
            by_line.setdefault(match.line - 1, []).append(match)
        for index, matches in by_line.items():
            line = lines[index]
            # Overlapping spans merge.
            merged: list[list] = []
            for m in sorted(matches, key=lambda m: m.start):
                if merged and m.start <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], m.end)
                else:
                    merged.append([m.start, m.end, m.masked])
            pieces, cursor = [], 0  # one pass: a line with many values costs no more than its length
            for start, end, placeholder in merged:
                pieces += [line[cursor:start], placeholder]
                cursor = end
            lines[index] = "".join(pieces) + line[cursor:]
        text = "\n".join(lines)
    if find_sensitive(text):
        raise SensitiveDataError("could not mask all sensitive data in a text")
    return text


def describe(matches: list[SensitiveMatch]) -> str:
    """'2 email, 1 phone (lines 104, 106)': what and where, never the values."""
    kinds: dict[str, int] = {}
    for m in matches:
        kinds[m.kind] = kinds.get(m.kind, 0) + 1
    lines = sorted({m.line for m in matches})
    shown = ", ".join(str(n) for n in lines[:10]) + (", …" if len(lines) > 10 else "")
    return ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(kinds.items())) + f" (line {shown})"


def changed_span(text: str, previous: str) -> tuple[int, int] | None:
    """The part of `text` that differs from `previous` (after their common start and before
    their common end), widened to whole lines and by CONTEXT_LINES lines and CONTEXT_CHARS
    characters on each side: (start, end) offsets in `text`, or None when they are equal."""
    if text == previous:
        return None
    limit, step = min(len(text), len(previous)), 1 << 16
    head = 0
    while head + step <= limit and text[head:head + step] == previous[head:head + step]:
        head += step
    while head < limit and text[head] == previous[head]:
        head += 1
    tail = 0  # common end, not reaching into the common start
    while tail + step <= limit - head and text[len(text) - tail - step:len(text) - tail] \
            == previous[len(previous) - tail - step:len(previous) - tail]:
        tail += step
    while tail < limit - head and text[len(text) - tail - 1] == previous[len(previous) - tail - 1]:
        tail += 1
    start = text.rfind("\n", 0, head) + 1  # the changed part's first line, then the lines before it
    for _ in range(CONTEXT_LINES):
        start = text.rfind("\n", 0, start - 1) + 1 if start > 0 else 0
    start = min(start, text.rfind("\n", 0, max(head - CONTEXT_CHARS, 0)) + 1)
    end = len(text) - tail  # past the changed part's last line, then the lines after it
    for _ in range(CONTEXT_LINES + 1):
        newline = text.find("\n", end)
        end = len(text) if newline < 0 else newline + 1
    newline = text.find("\n", min(len(text) - tail + CONTEXT_CHARS, len(text)))
    end = max(end, len(text) if newline < 0 else newline + 1)
    return start, end


def find_sensitive_since(text: str, clean: str) -> list[SensitiveMatch]:
    """What `find_sensitive(text)` finds, given `clean`, an earlier version of the text that
    was scanned and held nothing: only the changed part (changed_span) is scanned, so a file
    where one record of thousands changed costs a scan of that record. A value wholly inside
    the unchanged start or end was in `clean` too, which held none; every other one touches
    the change and lies within the context around it, and a private key, which can run to
    the end of the text, starts at a BEGIN line that `clean` did not have (it would have been
    found there), so inside the scanned part. Line numbers are those of `text`; a private key
    with no END line is reported as far as the scanned part reaches."""
    span = changed_span(text, clean)
    if span is None:
        return []
    start, end = span
    return find_sensitive(text[start:end], first_line=text.count("\n", 0, start) + 1)


def assert_clean(text: str, what: str, clean: str | None = None) -> None:
    """Raise SensitiveDataError when `text` has sensitive data; with `clean` (an earlier,
    clean version of it) only what changed is scanned (find_sensitive_since)."""
    found = find_sensitive(text) if clean is None else find_sensitive_since(text, clean)
    if found:
        raise SensitiveDataError(f"{what} contains unredacted sensitive data: {describe(found)}")


def scan_files(paths: list[Path], clean_copies: Mapping[Path, str] | None = None) -> dict[str, list[SensitiveMatch]]:
    """Sensitive matches per file, for the asset checks that guard written outputs. A file
    with a clean copy (the text of its published version, which passed this scan) is
    scanned where it differs from it (find_sensitive_since)."""
    findings = {}
    clean_copies = clean_copies or {}
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        clean = clean_copies.get(Path(path))
        found = find_sensitive(text) if clean is None else find_sensitive_since(text, clean)
        if found:
            findings[str(path)] = found
    return findings
