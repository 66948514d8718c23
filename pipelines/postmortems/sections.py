"""Match headings to the sections of the format by meaning, not by exact text.

Real post-mortems say "Contributing factors", "What went wrong" or "So what's next?" where the
template says "Root causes" or "Action items"; they use any heading level, setext or HTML
headings, questions as headings. A heading is classified in three steps, first answer wins:

1. the store's own aliases (`headings:` in its emberline.yaml), exact after normalisation;
2. rules over the heading's words: phrases ("root cause", "follow-ups"), and the shapes
   headings take beyond any phrase list: a question about why a check missed it, a heading
   about the future, a narrative that announces the problems, "Issue 2: ...";
3. the embedding model the project ships, comparing the heading with a description of each
   section, for headings no rule knows (`semantic_section_key`, used only when enabled:
   loading the model costs seconds, so the generated corpus never pays for it).

Order matters within the rules: the more specific come first so that "Eval coverage gap
analysis" is an eval gap, not a generic analysis, and "Prompt diff" wins over "diff".
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from pipelines.postmortems.markdown import Block, Document
from pipelines.postmortems.model import Section

_SECTION_PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Guidance for readers ("What can you do as a publisher?"): not about this incident.
    ("advice", ("what you can do", "what can you do", "what you should do", "protecting yourself",
                "protect yourself", "protecting your", "how to check if", "how to protect", "guidance",
                "recommendations for", "advice for", "for publishers", "for maintainers", "for developers",
                "how can you support", "thanks to", "acknowledg")),
    ("eval_gap", ("eval coverage", "eval gap", "evaluation gap", "coverage gap", "why evals",
                  "why the evals", "why our evals", "eval analysis", "what the evals missed",
                  "test coverage gap", "why we missed", "why we didn t catch", "why it wasn t caught",
                  "why wasn t this caught", "why this wasn t caught", "why testing", "why review",
                  "why tests", "why monitoring", "why detection", "why didn t we", "why did we not",
                  "how did this get past", "how did this slip", "how it slipped")),
    ("new_eval_case", ("new eval", "eval case", "regression eval", "regression test",
                       "added eval", "eval added")),
    ("prompt_diff", ("prompt diff", "prompt change", "prompt changes", "system prompt diff")),
    ("model_config", ("model version", "model config", "model and config", "sampling config", "prompt and model",
                      "prompt and config", "model and prompt", "config diff",
                      "model configuration", "model settings", "model details")),
    ("sample_outputs", ("failing output", "sample output", "bad output", "example output",
                        "outputs", "examples", "samples", "transcripts", "redacted", "what users saw",
                        "what the failures looked like")),
    ("timeline", ("timeline", "chronology", "sequence of events", "time line", "what happened when")),
    ("lessons", ("lessons", "what went well", "what went right", "learnings", "what we learned", "takeaways",
                 "where we got lucky", "recurrence")),
    ("action_items", ("action item", "follow up", "followup", "next step", "systemic",
                      "prevention", "preventing", "prevent this", "prevent it", "corrective", "todo", "to do",
                      "remediation items", "what we will do", "what we re doing", "what we are doing",
                      "doing about", "doing to", "what s next", "whats next", "what next", "next steps",
                      "going forward", "moving forward", "what changes", "changes we re making",
                      "improvements", "improve", "future work", "from here", "our commitments",
                      "commitments", "remediation and prevention", "actions")),
    ("root_causes", ("root cause", "contributing factor", "causes", "why it happened", "why did this happen",
                     "why this happened", "cause", "fault", "trigger", "what broke", "how it broke",
                     "how this went wrong", "went wrong", "went poorly", "five whys", "5 whys", "failure mode",
                     "overlapping problems", "overlapping issues", "problems", "leadup", "lead up")),
    ("mitigation", ("mitigation", "immediate fix", "resolution", "remediation", "how we fixed", "what we changed",
                    "what we did", "recovery", "the fix", "fix", "response", "steps taken", "restoring",
                    "restored")),
    ("impact", ("impact", "who was affected", "customer effect", "blast radius")),
    ("detection", ("detection", "how we detected", "how we found out")),
    ("summary", ("summary", "overview", "tl dr", "tldr", "what happened", "background",
                 "description", "incident report", "incident")),
    ("eval_gap", ("evals", "eval")),  # a bare "Evals" heading, after every more specific eval phrase
)
# "Issue 1: ...", "Problem 2 - ...": numbered issue sub-headings name causes.
_NUMBERED_ISSUE = re.compile(r"^(?:issue|problem|cause|factor|failure|bug|finding)\s*#?\s*\d{1,3}\b")
# A question about why a check let it through: "Why didn't review catch this?", "How did this
# get past our tests?"
_WHY_MISSED = re.compile(r"^(?:why|how)\b[a-z0-9 ]{0,80}\b(?:catch|caught|miss|missed|detect|detected|notice|"
                         r"noticed|slip|slipped|get past|got past|escape|escaped)\b")
SECTION_KEYS = tuple(dict.fromkeys(key for key, _ in _SECTION_PHRASES)) + ("trigger",)

# Sections whose sub-headings belong to them whatever they say: under "Root causes" a cause
# titled "Prompt change shipped untested" must stay a root cause, not become a prompt diff.
# Under any other section a sub-heading that names a section of its own starts that section
# ("Mitigation and action items" holds "New eval case"; some teams nest "Timeline" under
# "What happened").
# Under "Lessons learned", "What went wrong" is a lesson about the response, not the causes.
_KEEPS_CHILDREN = {"root_causes", "timeline", "sample_outputs", "prompt_diff", "eval_gap", "new_eval_case",
                   "lessons"}


# A sub-heading that plainly names one of these sections starts it, even inside a section
# that keeps its children ("### Remediation and follow-up steps" under "How it went wrong").
_ESCAPES = {"action_items", "timeline", "mitigation", "lessons"}
_PLAIN_NAMES = re.compile(
    r"^(?:timeline(?: of events)?|action items?|follow[ -]?ups?|follow[ -]?up (?:steps|actions|items)|next steps|"
    r"remediation(?: and [a-z -]{1,30})?|mitigation|resolution|recovery|lessons learned|corrective actions|"
    r"how do we prevent [a-z ]{1,40}|preventing [a-z ]{1,40})$")


def _names_section_plainly(heading: str) -> bool:
    return bool(_PLAIN_NAMES.match(normalise_heading(heading)))


def normalise_heading(text: str) -> str:
    text = text.lower().replace("’", "'")
    text = re.sub(r"^[\s\d.)(:-]{1,20}", "", text)  # "2. Root causes" -> "root causes"
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return text.strip()


@functools.lru_cache(maxsize=4096)
def section_key(heading: str) -> str | None:
    """The section a heading names by its words, or None."""
    norm = normalise_heading(heading)
    if _NUMBERED_ISSUE.match(norm):
        return "root_causes"
    if _WHY_MISSED.match(norm):
        return "eval_gap"
    padded = f" {norm} "
    for key, phrases in _SECTION_PHRASES:
        for phrase in phrases:
            if f" {phrase}" in padded:
                return key
    return None


@dataclass
class Heading:
    level: int
    text: str
    line: int  # 1-based
    key: str | None
    how: str = "rule"  # how the key was decided: alias, rule, meaning, parent, none


def classify(heading: str, aliases: dict[str, str] | None = None,
             semantic=None) -> tuple[str | None, str]:
    """(section key, how it was decided) for one heading."""
    if aliases:
        norm = normalise_heading(heading)
        for alias, key in aliases.items():
            if normalise_heading(alias) == norm:
                return key, "alias"
    key = section_key(heading)
    if key is not None:
        return key, "rule"
    if semantic is not None:
        key = semantic(heading)
        if key is not None:
            return key, "meaning"
    return None, "none"


def find_headings(doc: Document, aliases: dict[str, str] | None = None) -> list[Heading]:
    """Headings with the key their words give (aliases, then rules); the meaning step comes
    later, and only for headings whose place in the document leaves them open."""
    headings = []
    for block in doc.headings():
        if block.quoted:
            continue  # a heading quoted in a sample output is not a section of this file
        key, how = classify(block.text, aliases)
        headings.append(Heading(block.level, block.text, block.line, key, how))
    return headings


def split_sections(doc: Document, aliases: dict[str, str] | None = None, semantic=None
                   ) -> tuple[str | None, dict[str, Section], list[Heading]]:
    """Return (title, sections by canonical key, all headings).

    The title is the first level-1 heading that is not itself a known section. When a key
    appears twice (say, two "Follow-ups" headings), the bodies and blocks are joined.
    """
    headings = find_headings(doc, aliases)
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
        elif parent_key in _KEEPS_CHILDREN and not (h.key in _ESCAPES and _names_section_plainly(h.text)):
            key = parent_key
        else:
            if h.key is None and semantic is not None and parent_key is None:
                # Only a heading no rule knows and no parent section claims is worth the
                # model: a cause's own sub-heading under "Root causes" never is.
                h.key = semantic(h.text)
                h.how = "meaning" if h.key is not None else "none"
            key = h.key if h.key is not None else parent_key
        if key is not None and h.key is None and i != title_index:
            h.how = "parent"
        effective.append(key)
        nested.append(key is not None and parent_key == key)
        stack.append((h.level, key))

    end_of_doc = doc.first_line + len(doc.lines)
    parts: dict[str, list[tuple[Heading, bool, int, int]]] = {}
    for i, (h, key) in enumerate(zip(headings, effective)):
        if key is None:
            continue
        body_start = _heading_end(doc, h)
        end = headings[i + 1].line if i + 1 < len(headings) else end_of_doc
        parts.setdefault(key, []).append((h, nested[i], body_start, end))

    sections: dict[str, Section] = {}
    for key, chunks in parts.items():
        first, _, first_body, _ = chunks[0]
        texts, blocks = [], []
        for h, is_nested, body_start, end in chunks:
            if texts and is_nested:
                texts.append("#" * h.level + " " + h.text)
                blocks.append(Block("heading", h.line, h.line + 1, h.text, h.level))
            texts.append(doc.source(body_start, end))
            blocks += [b for b in doc.between(body_start, end)]
        sections[key] = Section(key, first.text, first.line, "\n".join(texts), first_body, blocks)
    return title, sections, headings


def _heading_end(doc: Document, heading: Heading) -> int:
    """File line after a heading (a setext heading spans two lines)."""
    block = doc.block_at(heading.line, "heading")
    return block.end_line if block is not None else heading.line + 1


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
