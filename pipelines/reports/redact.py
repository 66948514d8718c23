"""Sensitive data never leaves through a report or an export.

Reports mask every value `find_sensitive` finds (the same patterns lint uses for EL007) with
a placeholder such as [EMAIL]; the external export refuses a post-mortem that has any. Every
written file is scanned once more, so a value that only appears once two pieces of text are
joined is caught too.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.postmortems.sensitive import PLACEHOLDERS, SensitiveMatch, find_sensitive

__all__ = ["PLACEHOLDERS", "SensitiveDataError", "assert_clean", "describe", "mask_sensitive", "scan_files"]


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


def assert_clean(text: str, what: str) -> None:
    found = find_sensitive(text)
    if found:
        raise SensitiveDataError(f"{what} contains unredacted sensitive data: {describe(found)}")


def scan_files(paths: list[Path]) -> dict[str, list[SensitiveMatch]]:
    """Sensitive matches per file, for the asset checks that guard written outputs."""
    findings = {}
    for path in paths:
        found = find_sensitive(path.read_text(encoding="utf-8", errors="replace"))
        if found:
            findings[str(path)] = found
    return findings
