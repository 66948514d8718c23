"""Match headings to the sections of the format by meaning, not by exact text.

Real post-mortems say "Contributing factors", "What went wrong" or "Follow-ups" where the
template says "Root causes" or "Action items"; they use any heading level and case. Each
canonical section has a list of phrases; a heading matches the first section whose phrase it
contains after normalisation. Order matters: the more specific phrases come first so that
"Eval coverage gap analysis" is an eval gap, not a generic analysis, and "Prompt diff" wins
over "diff".
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from pipelines.postmortems.model import Section

_SECTION_PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("eval_gap", ("eval coverage", "eval gap", "evaluation gap", "coverage gap", "why evals",
                  "why the evals", "why our evals", "eval analysis", "what the evals missed",
                  "test coverage gap")),
    ("new_eval_case", ("new eval", "eval case", "regression eval", "regression test",
                       "added eval", "eval added")),
    ("prompt_diff", ("prompt diff", "prompt change", "prompt changes", "system prompt diff")),
    ("model_config", ("model version", "model config", "model and config", "sampling config", "prompt and model",
                      "prompt and config", "model and prompt", "config diff",
                      "model configuration", "model settings", "configuration", "model details")),
    ("sample_outputs", ("failing output", "sample output", "bad output", "example output",
                        "outputs", "examples", "transcripts", "samples", "redacted", "what users saw",
                        "what the failures looked like")),
    ("timeline", ("timeline", "chronology", "sequence of events", "time line", "what happened when")),
    ("root_causes", ("root cause", "contributing factor", "what went wrong", "causes",
                     "why it happened", "why did this happen", "cause", "analysis")),
    ("action_items", ("action item", "follow up", "followup", "next step", "systemic",
                      "prevention", "corrective", "todo", "to do", "remediation items",
                      "what we will do", "what we're doing", "preventing recurrence")),
    ("mitigation", ("mitigation", "immediate fix", "resolution", "remediation", "how we fixed", "what we changed",
                    "what we did",
                    "recovery", "the fix", "fix", "response")),
    ("impact", ("impact", "who was affected", "customer effect", "blast radius")),
    ("lessons", ("lessons", "what went well", "what went right", "learnings", "what we learned", "takeaways",
                 "where we got lucky")),
    ("detection", ("detection", "how we detected", "how we found out")),
    ("summary", ("summary", "overview", "tl dr", "tldr", "what happened", "background",
                 "description", "incident")),
    ("eval_gap", ("evals", "eval")),  # a bare "Evals" heading, after every more specific eval phrase
)

# Sections whose sub-headings belong to them whatever they say: under "Root causes" a cause
# titled "Prompt change shipped untested" must stay a root cause, not become a prompt diff.
# Under any other section a sub-heading that names a section of its own starts that section
# ("Mitigation and action items" holds "New eval case"; some teams nest "Timeline" under
# "What happened").
_KEEPS_CHILDREN = {"root_causes", "timeline", "sample_outputs", "prompt_diff", "eval_gap", "new_eval_case"}

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def normalise_heading(text: str) -> str:
    text = re.sub(r"^[\s\d.)(:-]+", "", text.lower())  # "2. Root causes" -> "root causes"
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return text.strip()


# Headings repeat across a store ("Summary", "Timeline"...), and matching one walks every
# phrase: remember the answers.
@functools.lru_cache(maxsize=4096)
def section_key(heading: str) -> str | None:
    norm = f" {normalise_heading(heading)} "
    for key, phrases in _SECTION_PHRASES:
        for phrase in phrases:
            if f" {phrase}" in norm:
                return key
    return None


@dataclass
class Heading:
    level: int
    text: str
    line: int  # 1-based
    key: str | None


def find_headings(lines: list[str], first_line: int = 1) -> list[Heading]:
    """ATX headings outside code fences. `first_line` is the file line of lines[0]."""
    headings: list[Heading] = []
    in_fence = False
    for offset, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        match = _HEADING.match(line)
        if match:
            text = match.group(2).strip()
            headings.append(Heading(len(match.group(1)), text, first_line + offset, section_key(text)))
    return headings


def split_sections(lines: list[str], first_line: int = 1) -> tuple[str | None, dict[str, Section], list[Heading]]:
    """Return (title, sections by canonical key, all headings).

    The title is the first level-1 heading that is not itself a known section. When a key
    appears twice (say, two "Follow-ups" headings), the bodies are joined.
    """
    headings = find_headings(lines, first_line)
    title_index = _title_heading(headings)
    title = headings[title_index].text if title_index is not None else None

    # Effective key of each heading: inherited from the nearest ancestor unless the
    # ancestor is a container and the heading matches a section of its own.
    effective: list[str | None] = []
    nested: list[bool] = []  # inside a heading of the same section: keep it as a sub-heading
    stack: list[tuple[int, str | None]] = []
    for i, h in enumerate(headings):
        while stack and stack[-1][0] >= h.level:
            stack.pop()
        parent_key = stack[-1][1] if stack else None
        if i == title_index:
            key = None  # "# Incident: bot outage" is a title even though it says "incident"
        elif parent_key in _KEEPS_CHILDREN:
            key = parent_key
        else:
            key = h.key if h.key is not None else parent_key
        effective.append(key)
        nested.append(key is not None and parent_key == key)
        stack.append((h.level, key))

    sections: dict[str, Section] = {}
    for i, (h, key) in enumerate(zip(headings, effective)):
        if key is None:
            continue
        start = h.line - first_line + 1
        end = headings[i + 1].line - first_line if i + 1 < len(headings) else len(lines)
        body_lines = lines[start:end]
        # Keep sub-headings of the same key in the text: root causes use them to split.
        if key in sections and sections[key].line != h.line:
            previous = sections[key]
            heading_line = "#" * h.level + " " + h.text
            joined = previous.text + "\n" + (heading_line + "\n" if nested[i] else "") + "\n".join(body_lines)
            sections[key] = Section(key, previous.heading, previous.line, joined, previous.body_line)
        else:
            sections[key] = Section(key, h.text, h.line, "\n".join(body_lines), h.line + 1)
    return title, sections, headings


def _title_heading(headings: list[Heading]) -> int | None:
    """Index of the document title: a first heading that wraps all others (the only one at
    the top level), or else the first level-1 heading that names no section."""
    if not headings:
        return None
    top = min(h.level for h in headings)
    if headings[0].level == top and sum(h.level == top for h in headings) == 1:
        return 0
    for i, h in enumerate(headings):
        if h.level == 1 and h.key is None:
            return i
    return None
