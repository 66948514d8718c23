"""Blame language: a person named as the cause, or words that judge a person.

A post-mortem is blameless when it describes the system that let a mistake through, not who
made it. Two kinds of evidence count:

- phrases that judge whoever they are about: "human error", "careless", "should have known",
  "his fault", "was to blame";
- a person named with an approving or causal verb: "Maria approved the prompt", "caused by
  Tom Becker", "Priya's change broke checkout", "engineer Sam forgot to…", "he ignored the
  alert".

Vendors, products, jobs and systems are never evidence: "Pinecone changed its API" and "the
nightly job failed to check the export" are how incidents happen. A word is a person only
when it is a given name (a built-in list, plus the names a store lists in its
`emberline.yaml` under `lint.people` or `external.strip_names`) or follows a role word
("engineer Sam", "on-call Lee"). Quoted text is never checked: block quotes, code fences and
"double-quoted" spans hold model outputs and prompts, not the authors' words.

Every pattern here is linear in the text: no nested or adjacent unbounded quantifiers, and
the scans that look around a name read a bounded window. A 10 KB heading or a line of 2,000
spaces costs what any other line of that length costs (bench/run.py --only blame).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from pipelines.postmortems.linear import compile_linear

# Judgements of a person, whoever the subject: blame by themselves.
_JUDGEMENT = re.compile(
    r"\b(?:made an? (?:careless |stupid |silly )?(?:mistake|error|blunder)|careless(?:ly|ness)?|"
    r"should(?: have|'ve) known(?: better)?|negligen(?:t|ce)|incompeten(?:t|ce)|sloppy|"
    r"did(?:n't| not) bother|human error|(?:was|were|is|are) to blame|(?:his|her) fault|"
    r"(?:the )?fault of (?:the )?(?:engineer|developer|operator|reviewer|intern|on-?call)|"
    r"blamed? (?:on|for) (?:the )?(?:engineer|developer|operator|reviewer|intern|on-?call))\b"
)
# After a person: verbs that make them the cause or the one who let it through. Mitigation
# verbs (restored, rolled back, paged, noticed) are deliberately absent.
_AGENCY_AFTER = re.compile(
    r" (?:\([^()\n]{1,30}\) )?"  # "Maria (SRE) approved"
    r"(?:approved|signed off(?: on)?|rubber-stamped|green-?lit|okayed|forgot|ignored|overlooked|neglected|"
    r"skipped|botched|broke|caused|introduced|misconfigured|mistyped|fat-fingered|messed up|screwed up|"
    r"changed|removed|deleted|disabled|raised|lowered|"
    r"dropped the ball|accidentally|carelessly|mistakenly|wrongly|"
    r"(?:should|could|would) have (?:caught|noticed|checked|known|tested|reviewed|seen)|"
    r"(?:did(?:n't| not)|failed to|never) (?:check|test|review|read|notice|follow|verify|run|validate|ask|wait)|"
    r"made an? (?:\w{1,12} )?(?:mistake|error)|"
    r"(?:merged|pushed|deployed|shipped|changed|edited|released|approved)\b[^.;:!?\n]{0,80}?\bwithout\b)"
)
# Before a person: "caused by Tom Becker", "the fault of Maria", "approved by Priya".
_BEFORE_PHRASES = (r"(?:caused|introduced|approved|broken|triggered|signed off|started|pushed|merged) by",
                   r"blame[sd]? (?:on|for)", "fault of", "thanks to", "because of", "responsible:?", "culprit:?",
                   "was due to")
_AGENCY_BEFORE = re.compile("(?:" + "|".join(r"\b" + phrase for phrase in _BEFORE_PHRASES) + r")\s{1,3}$")
# After a person's possessive: "Priya's change broke…", "Tom Becker's commit caused…".
_POSSESSIVE_CAUSE = re.compile(
    r"(?:'s|’s) (?:\w{1,20} ){0,3}?(?:broke|caused|introduced|took down|corrupted|deleted|disabled|triggered|"
    r"started|was the (?:root )?cause)\b"
)
_ROLE = re.compile(
    r"\b(?:engineer|developer|dev|on-?call(?:er)?|sre|operator|reviewer|intern|teammate|colleague|contractor|"
    r"analyst|manager|admin|lead|approver|author)\s$"
)
# A capitalised word ("Maria", "O'Neil"), and a capitalised surname after it ("Tom Becker").
_NAME = re.compile(r"\b[A-Z][a-z]{1,20}(?:['’][A-Z][a-z]{1,20})?\b")
_SURNAME = re.compile(r" ([A-Z][a-z]{1,20}(?:-[A-Z][a-z]{1,20})?)\b")
_ASIDE = re.compile(r",[^,\n]{1,60},")
_PRONOUN = re.compile(r"\b(?:[Hh]e|[Ss]he)\b")
# Text inside double quotes or curly quotes: a model's output or a prompt, quoted.
_QUOTED = re.compile(r"\"[^\"\n]{0,2000}\"|“[^”\n]{0,2000}”")
_FENCE = ("```", "~~~")
# Every piece of blame `in_line` finds contains a match of one of these two: an agency verb
# after a name or pronoun, or a possessive cause (both case-sensitive, as `in_line` reads
# them); or a judgement, or an agency phrase before a name (lower case). None of them crosses
# a line. So a line with neither cannot hold blame, and one pass of each over the whole text
# picks the few lines worth reading (about one in forty of the generated corpus).


def _line_filter(pattern: str):
    """`pattern` widened to a filter and compiled in RE2, which scans alternations of words
    several times faster than `re`: without word boundaries (`in_line` also reads slices,
    whose ends act as boundaries), and a word character as anything but a space or a line
    break (RE2's `\\w` is ASCII only, `re`'s is Unicode). It matches wherever the rule does."""
    return compile_linear(pattern.replace(r"\b", "").replace(r"\w", r"[^ \n]"))


_LINE_MAY_BLAME = _line_filter(f"{_AGENCY_AFTER.pattern}|{_POSSESSIVE_CAUSE.pattern}")
_LINE_MAY_BLAME_LOWER = _line_filter(f"{_JUDGEMENT.pattern}|" + "|".join(_BEFORE_PHRASES))
# How far after a name the verb may start (asides such as ", our on-call SRE,").
_WINDOW = 120


def _lines_matching(pattern, text: str) -> set[int]:
    """0-based indexes of the lines of `text` where `pattern` matches (it never crosses one)."""
    found: set[int] = set()
    line, counted = 0, 0
    for m in pattern.finditer(text):
        line += text.count("\n", counted, m.start())
        counted = m.start()
        found.add(line)
    return found


@lru_cache(maxsize=1)
def given_names() -> frozenset[str]:
    """Common given names across languages; words that are also common nouns, products or
    AI models (Will, May, Claude, Gemini) are left out so they never count as people."""
    text = resources.files("pipelines.postmortems").joinpath("given_names.txt").read_text(encoding="utf-8")
    return frozenset(w for line in text.splitlines() if not line.startswith("#") for w in line.split())


@dataclass(frozen=True)
class BlameMatch:
    line: int
    phrase: str
    person: str | None  # the person named, when the blame names one


class BlameDetector:
    """Finds blame language in Markdown; `people` adds a store's own names to the built-in ones."""

    def __init__(self, people: Iterable[str] = ()):
        extra = set()
        for name in people:
            extra.update(part for part in str(name).split() if part[:1].isupper())
        self.names = given_names() | frozenset(extra)

    def _is_person(self, line: str, start: int, first: str) -> bool:
        return first in self.names or _ROLE.search(line[max(0, start - 16):start].lower()) is not None

    def in_line(self, line: str) -> list[tuple[str, str | None]]:
        """(phrase, person or None) for each piece of blame in one line of prose; where two
        overlap ("Priya made a mistake" and "made a mistake") the longer one is kept."""
        spans: list[tuple[int, int, str | None]] = []
        for m in _JUDGEMENT.finditer(line.lower()):
            spans.append((m.start(), m.end(), None))
        for m in _NAME.finditer(line):
            first = m.group(0)
            if not self._is_person(line, m.start(), first):
                continue
            surname = _SURNAME.match(line, m.end())
            person = f"{first} {surname.group(1)}" if surname else first
            end = surname.end() if surname else m.end()
            after = line[end:end + _WINDOW]
            aside = _ASIDE.match(after)  # "Maria, the on-call SRE, approved…"
            hit = _AGENCY_AFTER.match(after, aside.end() if aside else 0) or _POSSESSIVE_CAUSE.match(after)
            if hit:
                spans.append((m.start(), end + hit.end(), person))
                continue
            start = max(0, m.start() - 24)
            if _AGENCY_BEFORE.search(line[start:m.start()].lower()):
                spans.append((start, end, person))
        for m in _PRONOUN.finditer(line):
            hit = _AGENCY_AFTER.match(line[m.end():m.end() + _WINDOW])
            if hit:
                spans.append((m.start(), m.end() + hit.end(), None))
        # Longest first; a span inside one already kept says nothing new. Few spans per line.
        kept: list[tuple[int, int, str | None]] = []
        for start, end, person in sorted(spans, key=lambda s: (s[0] - s[1], s[0])):
            if not any(k_start <= start and end <= k_end for k_start, k_end, _ in kept):
                kept.append((start, end, person))
        return [(line[start:end].strip(), person) for start, end, person in sorted(kept)]

    def matches(self, text: str, first_line: int = 1) -> list[BlameMatch]:
        """Blame in a Markdown text, by line; quoted model outputs and prompts are skipped."""
        lines = text.split("\n")
        in_fence = False
        for offset, line in enumerate(lines):
            stripped = line.lstrip()
            if stripped.startswith(_FENCE):
                in_fence = not in_fence
                lines[offset] = ""
            elif in_fence or stripped.startswith(">"):
                lines[offset] = ""  # quoted model outputs and prompts are evidence, not the authors' words
        # Double-quoted spans blanked in one pass: the pattern never crosses a line, so this is
        # what blanking each line on its own gives.
        prose = _QUOTED.sub(lambda q: " " * len(q.group(0)), "\n".join(lines))
        found: list[BlameMatch] = []
        prose_lines = prose.split("\n")
        for offset in sorted(_lines_matching(_LINE_MAY_BLAME, prose) | _lines_matching(_LINE_MAY_BLAME_LOWER,
                                                                                        prose.lower())):
            for phrase, person in self.in_line(prose_lines[offset]):
                found.append(BlameMatch(first_line + offset, phrase, person))
        return found

    def people(self, text: str) -> list[str]:
        """The people a text blames by name, in order of first appearance: what an external
        export strips along with internal system names."""
        seen: dict[str, None] = {}
        for match in self.matches(text):
            if match.person:
                seen.setdefault(match.person, None)
        return list(seen)


def blame_matches(text: str, first_line: int = 1, people: Iterable[str] = ()) -> list[tuple[int, str]]:
    """(line, phrase) for each piece of blame language in `text`."""
    return [(m.line, m.phrase) for m in BlameDetector(people).matches(text, first_line)]


def blamed_people(text: str, people: Iterable[str] = ()) -> list[str]:
    """Names of the people `text` blames (for the external export to strip)."""
    return BlameDetector(people).people(text)


def is_blame(sentence: str, people: Iterable[str] = ()) -> bool:
    return bool(BlameDetector(people).matches(sentence))
