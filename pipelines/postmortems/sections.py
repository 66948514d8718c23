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

from pipelines.postmortems import dates as datefind
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


# --------------------------------------------------------------------------------------
# Headings written as plain lines

# Status pages, plain-text exports (a Google Doc saved as .txt) and pastes mark their sections
# with a short line, not with Markdown: "Root Cause", "Customer Impact:", or a label leading
# its text, "Cause: During a deployment, ...". In Markdown those lines run into one paragraph
# with the text around them, so no section is found. A line is read as a heading when its
# shape says so (short, no sentence punctuation, starts a sentence and is followed by one)
# and its words name a section; the text stays as written.
_PLAIN_HEADING_WORDS = 7
_PLAIN_HEADING_CHARS = 60
_LABEL_WORDS = 5
_LABEL = re.compile(r"^(?P<label>[A-Z][A-Za-z /&'()-]{1,48}?)\s?[:：]\s+(?P<body>\S.*)$")
_EMPHASIS_MARKS = re.compile(r"\*\*|__")
_ENDS_SENTENCE = (".", "!", "?", ":", ";", ")", '"', "'", "”")


def _heading_shaped(text: str) -> bool:
    words = text.rstrip(":：").split()
    return (0 < len(words) <= _PLAIN_HEADING_WORDS and len(text) <= _PLAIN_HEADING_CHARS
            and (text[0].isupper() or text[0].isdigit()) and not text.endswith((".", ",", ";", "!"))
            and _cased_like_a_heading(text))


_PARENTHESIS = re.compile(r"\([^()]*\)")


def _cased_like_a_heading(text: str) -> bool:
    """Short ("Root cause"), capitalised ("ROOT CAUSE", "Follow-up Items and Preventative
    Measures") or a question: "The following services were impacted:" is a sentence."""
    words = _PARENTHESIS.sub(" ", text).rstrip(":： ").split()
    if len(words) <= 4 or text.endswith("?") or text.upper() == text:
        return True
    long_words = [w for w in words if len(w) >= 4]
    return sum(w[0].isupper() for w in long_words) >= 0.6 * len(long_words)


def _starts_sentence(text: str) -> bool:
    return not text or not text[0].islower()


def _plain_heading(line: str, previous: str | None, following: str | None) -> str | None:
    """The heading a plain line of a paragraph is, or None."""
    text = _EMPHASIS_MARKS.sub("", line).strip()
    if not _heading_shaped(text) or _LABEL.match(text) or section_key(text) is None:
        return None  # "Incident date: 2025-06-03" is a field, not a heading
    if not text.endswith((":", "：", "?")) and not _starts_sentence(following or ""):
        return None  # "... the root cause\nwas a stale cache": a wrapped sentence, not a heading
    if previous is not None and not previous.endswith(_ENDS_SENTENCE) and not _heading_shaped(previous):
        return None
    return _plain_heading_text(text)


def _plain_heading_text(text: str) -> str:
    return text.rstrip(":： ").strip()


def _inline_label(line: str) -> tuple[str, str] | None:
    """("Cause", "During a deployment, ...") for a line that a section's name leads."""
    m = _LABEL.match(_EMPHASIS_MARKS.sub("", line).strip())
    if not m or len(m.group("label").split()) > _LABEL_WORDS or section_key(m.group("label")) is None:
        return None
    body = m.group("body")
    found = datefind.find_datetimes(body, limit=1)
    if found and len(body) - (found[0].end - found[0].start) < 12:
        return None  # "Incident date: 2025-06-03", "Start: 10 Dec 2021 14:33 UTC": a date field
    return m.group("label").strip(), body


def promote_plain_headings(doc: Document) -> Document:
    """The document with the section headings it writes as plain lines read as headings,
    wherever its Markdown headings leave the text to no section: in a document without them,
    or under its title (an HTML export's <title>). Without any heading, a first line
    shaped like a title is the title. Paragraphs (and list items whose text runs on into the
    next section, as a list followed by a plain line does) split at those lines; line
    numbers stay the file's."""
    own = [b for b in doc.headings() if not b.quoted]
    blocks: list[Block] = []
    changed = False
    under: Block | None = None  # the Markdown heading the block is under
    for n, block in enumerate(doc.blocks):
        if block.kind == "heading" and not block.quoted:
            under = block
        if block.quoted or block.kind not in ("paragraph", "item", "table") or not _names_no_section(under, own):
            blocks.append(block)
            continue
        if n == 0 and not own and block.kind == "paragraph":
            title, block = _title_line(block)
            if title is not None:
                blocks.append(title)
                changed = True
                if block is None:
                    continue
        level = min(under.level + 1, 6) if under is not None else 2
        splitter = {"paragraph": _split_paragraph, "item": _split_item, "table": _field_table}[block.kind]
        split = splitter(doc, block, level)
        changed = changed or len(split) != 1 or split[0] is not block
        blocks += split
    return Document(blocks, doc.lines, doc.first_line) if changed else doc


def _names_no_section(heading: Block | None, own: list[Block]) -> bool:
    """Whether the text under `heading` belongs to no section by the Markdown headings: there
    is none, or it is the document's title (its first, and only top-level, heading). Under a
    heading of the author's own ("Rewriting the tool instructions") a "Key: text" line is
    the author's example, not a section."""
    if heading is None:
        return True
    return heading is own[0] and _first_wraps_all([b.level for b in own])


def _first_wraps_all(levels: list[int]) -> bool:
    """The first heading is the only one at the top level: the document's title."""
    return bool(levels) and levels[0] == min(levels) and levels.count(levels[0]) == 1


_TITLE_WORDS = 15
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")


def _title_line(block: Block) -> tuple[Block | None, Block | None]:
    """(title heading, rest of the paragraph) when a document without headings opens with a
    line shaped like a title ("Incident Post-Mortem: Toronto Data Center Firewall Update
    Outage"): short, no sentence punctuation, not a section's own name ("Summary")."""
    first, _, rest = block.text.partition("\n")
    text = _EMPHASIS_MARKS.sub("", first).strip()
    words = text.split()
    if not words or len(words) > _TITLE_WORDS or text.endswith((".", ",", ";", "!", "?")) \
            or not (text[0].isupper() or text[0].isdigit()):
        return None, block
    if _YEAR.search(text) or datefind.CLOCK_TIME.search(text):
        return None, block  # "December 1, 2023", "Window: 4:06 pm – 4:38 pm": a date line, read as such
    key = section_key(text)
    if key is not None and (key != "summary" or len(words) < 3):
        return None, block  # "Summary", "Root cause:": a section, not the title
    title = Block("heading", block.line, block.line + 1, _plain_heading_text(text), 1)
    if not rest.strip():
        return title, None
    return title, Block("paragraph", block.line + 1, block.end_line, rest.strip())


def _field_table(doc: Document, block: Block, level: int) -> list[Block]:
    """A table of fields, two columns of name and value (Confluence's page properties: "Root
    cause | The migration ..."): a row whose name names a section is that section, its value
    the section's text, on the row's own line. The table stays, for the dates in its rows."""
    if len(block.rows) < 2 or any(len(row) != 2 for row in block.rows):
        return [block]
    out = [block]
    for i, (name, value) in enumerate(block.rows):
        label = _inline_label(f"{_plain_heading_text(_EMPHASIS_MARKS.sub('', name).strip())}: {value.strip()}")
        if label is None:
            continue
        line = block.line + i + (1 if i else 0)  # the delimiter row follows the header
        out += [Block("heading", line, line, label[0], level, plain=True), Block("paragraph", line, line + 1, label[1])]
    return out


def _split_item(doc: Document, block: Block, level: int) -> list[Block]:
    """A list item cut where a plain heading runs on into it: a line of the item's text that
    is not indented (a lazy continuation, in CommonMark's words) and reads as a heading."""
    lines = block.text.split("\n")
    for i in range(1, len(lines)):
        source = doc.lines[block.line + i - doc.first_line] if block.line + i - doc.first_line < len(doc.lines) else ""
        if source[:1].isspace():
            continue
        previous = lines[i - 1].strip()
        following = lines[i + 1].strip() if i + 1 < len(lines) else None
        if _plain_heading(lines[i], previous, following) is None:
            continue
        item = Block("item", block.line, block.line + i, "\n".join(lines[:i]).strip(), block.level,
                     ordered=block.ordered, checked=block.checked)
        rest = Block("paragraph", block.line + i, block.end_line, "\n".join(lines[i:]).strip())
        return [item, *_split_paragraph(doc, rest, level)]
    return [block]


def _split_paragraph(doc: Document, block: Block, level: int) -> list[Block]:
    lines = block.text.split("\n")
    out: list[Block] = []
    start, first_text = 0, None  # the pending paragraph's first line, and its text when a label led it

    def flush(end: int) -> None:
        chunk = ([first_text] if first_text is not None else lines[start:start + 1]) + lines[start + 1:end]
        text = "\n".join(chunk).strip()
        if start < end and text:
            out.append(Block("paragraph", block.line + start, block.line + end if end < len(lines) else block.end_line,
                             text))

    for i, line in enumerate(lines):
        previous = lines[i - 1].strip() if i > 0 else None
        following = lines[i + 1].strip() if i + 1 < len(lines) else None
        heading = _plain_heading(line, previous, following)
        if heading is not None:
            flush(i)
            out.append(Block("heading", block.line + i, block.line + i + 1, heading, level, plain=True))
            start, first_text = i + 1, None
            continue
        # A label starts a line of its own: after a sentence's end, or after another "Key: value" line.
        label = _inline_label(line) if (previous is None or previous.endswith(_ENDS_SENTENCE)
                                        or _LABEL.match(_EMPHASIS_MARKS.sub("", previous))) else None
        if label is not None:
            flush(i)
            out.append(Block("heading", block.line + i, block.line + i, label[0], level, plain=True))
            start, first_text = i, label[1]
    if not out:
        return [block]
    flush(len(lines))
    return out


@dataclass
class Heading:
    level: int
    text: str
    line: int  # 1-based
    key: str | None
    how: str = "rule"  # how the key was decided: alias, rule, meaning, parent, none
    plain: bool = False  # read from a plain line (promote_plain_headings), never the title


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
        headings.append(Heading(block.level, block.text, block.line, key, how, block.plain))
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
            if body_start == h.line:
                # An inline label ("Cause: ...", a field table's row): its body starts on its own
                # line, beside the label, so its text is its blocks', not the lines'.
                body = [b for b in doc.between(body_start, end) if not (b.kind == "heading" and b.line == h.line)]
                texts.append("\n\n".join(b.text for b in body))
                blocks += body
                continue
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
    the top level), or else the first level-1 heading that names no section. A heading read
    from a plain line names a section, never the document."""
    own = [i for i, h in enumerate(headings) if not h.plain]
    if not own:
        return None
    if _first_wraps_all([headings[i].level for i in own]):
        return own[0]
    for i in own:
        if headings[i].level == 1 and headings[i].key is None:
            return i
    return None
