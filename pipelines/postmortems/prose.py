"""Causes, actions, eval gaps and events where no heading names them: read from the prose.

Free-form post-mortems tell the causes in a narrative ("the root cause was", "was triggered
by", "due to"), commit to actions in sentences ("we will", "we have added"), and explain why
checks missed the problem ("this was not caught in presubmit", "no alert fired"). These rules
look at the shape of a sentence — a causal connective, a commitment in the first person, a
check named next to a negation — rather than at a list of phrases from particular documents.
Every pattern here is linear: bounded repetitions, no nested quantifiers.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta, timezone

from pipelines.postmortems import dates as datefind
from pipelines.postmortems.classify import classify_event, infer_category
from pipelines.postmortems.markdown import Document, plain_text
from pipelines.postmortems.model import ActionItem, EvalGap, RootCause, Section, TimelineEvent

# A sentence ends at . ! ? followed by space and a capital, quote or bracket.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”')\]]?\s+(?=[A-Z\"“(\[0-9])")
_MAX_SENTENCE = 600

# Security incidents tell their cause as an attack.
_ATTACK_WORDS = r"malicious|compromis(?:e|ed|ing)|attackers?|unauthori[sz]ed|exploit(?:ed|ing)"
_CAUSAL = re.compile(  # (?<!-): "user-triggered" is not a trigger
    r"(?<!-)\b(?:root[- ]cause[sd]?|the cause|caused|causing|triggered|trigger(?:ing)?|due to|because|result(?:ed|ing)? "
    r"(?:from|in)|stemm(?:ed|ing) from|led to|leading to|owing to|as a result of|the result of|responsible for|"
    r"contribut(?:ed|ing|or)|the reason|bug|defect|flaw|regression|misconfigur\w*|mistakenly|inadvertently|"
    r"unintentionally|unintended|incorrect(?:ly)?|wrong(?:ly)?|faulty|broken|broke|failed to|did not (?:filter|check|"
    r"validate|handle|account)|was not (?:configured|deployed|designed|handled)|assum(?:ed|ption)s?|"
    rf"{_ATTACK_WORDS}|"
    r"(?:not|did not|didn't) work(?:ing)? as (?:intended|expected)|"
    r", (?:making|leaving|forcing) (?:it|them|these|those|the|our|all)\b|, (?:further|thereby) \w+ing\b|"
    # "The issue on Friday involved an update with an undetected error"
    r"\b(?:the|this|that) (?:issue|incident|outage|problem|failure)\b(?: \w+){0,3} (?:involved|came down to|"
    r"boiled down to|traced? back to))\b",
    re.I)
# Connectives that explain anything ("useful because", "that matters because"): they make a
# cause only in a sentence that also speaks of something going wrong.
_WEAK_CAUSAL = re.compile(r"^(?:because|due to|owing to|led to|leading to|result(?:ed|ing)? (?:from|in)|, \w+ing \w+|"
                          r", (?:further|thereby) \w+ing|(?:the|this|that) .+ (?:involved|came down to|boiled down to|"
                          r"traced? back to)|"
                          r"responsible for|the reason|assum(?:ed|ption)s?|contribut(?:ed|ing|or))$", re.I)
_FAILURE = re.compile(
    r"\b(?:fail\w*|errors?|outages?|incidents?|broke|broken|bugs?|crash\w*|down|unavailable|unable|could ?n[o']t|"
    r"not|no longer|never|degraded|lost|loss|missing|wrong|problems?|issues?|overload\w*|latency|timeouts?|"
    r"spikes?|exhaust\w*|stale|duplicate\w*|corrupt\w*|malicious|attack\w*|leak\w*|panic\w*|unexpected\w*|"
    r"unhealthy|unreachable|impossible|inaccessible|offline|delay\w*|slow\w*|took (?:extra |more |much )?time)\b",
    re.I)
_CHECK = re.compile(
    r"\b(?:tests?|testing|tested|evals?|evaluations?|benchmarks?|reviews?|reviewed|reviewer|presubmit|ci|canar(?:y|ies)|"
    r"staging|smoke[- ]tests?|monitoring|monitored|alerts?|alerting|alarms?|detection|detected|validat\w*|checks?|"
    r"checked|checklist|drills?|simulat\w*|audit\w*|qa|caught|noticed|oncall|on-call)\b", re.I)
_MISS = re.compile(
    r"\b(?:not|never|no|none|nor|without|wasn't|weren't|didn't|don't|doesn't|hadn't|haven't|isn't|cannot|can't|"
    r"missed|miss|missing|failed to|lack(?:ed|ing)?|gaps?|only|unnoticed|undetected|slipped|escaped|too late|"
    r"should have|would have|could have|instead of|hard to|insufficient|inadequate|previously missed)\b", re.I)
_COMMIT_PLANNED = re.compile(
    r"\b(?:we(?:'ll| will| shall| plan| intend| are (?:going|planning|working|looking|investigating|exploring|"
    r"continuing|committed|adding|introducing|building|developing|improving|reviewing|changing|updating|"
    r"implementing|considering)| aim| want| need| must| should| expect| would like)|"
    r"going forward|moving forward|in the future|next steps?|we're)\b", re.I)
_COMMIT_DONE = re.compile(
    r"\b(?:we(?:'ve| have| had)?(?: since| now| also| already| immediately| quickly| then)? "
    r"(?:added|removed|revoked|rotated|rolled|reverted|fixed|deployed|shipped|implemented|introduced|disabled|"
    r"enabled|deleted|replaced|updated|changed|moved|migrated|published|released|registered|contacted|reported|"
    r"notified|emailed|refactored|rewrote|rewritten|restored|adopted|completed|taken|took|made|created|started|"
    r"begun|increased|reduced|blocked|patched|hardened|expanded|improved|audited|reviewed|worked|asked|"
    r"decided|banned|quarantined|purged|cleaned|pinned|upgraded)|"
    r"(?:has|have) (?:been|since been) \w+ed|(?:was|were) (?:removed|revoked|deleted|rotated|disabled|added|"
    r"replaced|rolled back|reverted|fixed|deployed|published|updated|taken down|quarantined))\b", re.I)
_STATUS_LABEL = re.compile(
    r"^(?P<label>completed|complete|done|finished|in progress|in-progress|ongoing|underway|planned|"
    r"open|future|upcoming|next|todo|to do|not started)(?: (?:actions?|items?|tasks?|work|fixes|changes))?\s*[:.]?$",
    re.I)
_LABEL_STATUS = {"completed": "done", "complete": "done", "done": "done", "finished": "done",
                 "in progress": "in-progress", "in-progress": "in-progress", "ongoing": "in-progress",
                 "underway": "in-progress"}
_ADVICE = re.compile(r"^(?:you|your|users?|developers?|maintainers?|publishers?|readers?)\b|\b(?:you|your) (?:can|should|"
                     r"may|might|must|need)\b|\bwe (?:recommend|suggest|encourage|advise)\b", re.I)

# Sections whose prose is about the future or the fix: where commitments are actions.
ACTION_SECTIONS = ("action_items", "lessons", "mitigation")
# Sections where causes are told, when no section is devoted to them.
NARRATIVE_SECTIONS = ("summary", "root_causes", "impact", "detection", "trigger", None)
# Sections that speak to readers ("What you can do"): nothing in them is about this incident.
SKIPPED_SECTIONS = ("advice",)


@functools.lru_cache(maxsize=4096)
def split_sentences(text: str) -> tuple[tuple[int, str], ...]:
    """(line offset within text, sentence) of a paragraph's sentences. Cached: the readers of
    causes, gaps, actions and events all walk the same paragraphs."""
    out = []
    start, offset, counted_to = 0, 0, 0
    for m in _SENTENCE_END.finditer(text):
        offset += text.count("\n", counted_to, start)  # newlines so far, counted once each
        counted_to = start
        out.append((offset, text[start:m.start()].strip()))
        start = m.end()
    offset += text.count("\n", counted_to, start)
    out.append((offset, text[start:].strip()))
    return tuple((offset, plain_text(s)[:_MAX_SENTENCE]) for offset, s in out if len(s.split()) >= 4)


def sentences_of(section: Section, kinds: tuple[str, ...] = ("paragraph",)) -> list[tuple[int, str]]:
    """(file line, sentence) of a section's prose, quoted text left out."""
    out = []
    for block in section.blocks:
        if block.kind in kinds and not block.quoted:
            out += [(block.line + offset, s) for offset, s in split_sentences(block.text)]
    return out


def _all_sentences(doc: Document, sections: dict[str, Section], with_block: bool = False) -> list[tuple]:
    """(section key or None, file line, sentence) of the whole body, items included; with
    `with_block`, (key, block line, file line, sentence)."""
    owner: list[tuple[int, int, str]] = []
    for key, section in sections.items():
        for block in section.blocks:
            owner.append((block.line, block.end_line, key))
    keys = {line: key for line, _, key in owner}
    out = []
    for block in doc.blocks:
        if block.quoted or block.kind not in ("paragraph", "item"):
            continue
        key = keys.get(block.line)
        for offset, sentence in split_sentences(block.text):
            out.append((key, block.line, block.line + offset, sentence) if with_block
                       else (key, block.line + offset, sentence))
    return out


# Sentences that use causal words without claiming a cause of this incident: apologies,
# hypotheticals and general truths ("can lead to"), conditionals, advice, and lead-ins that
# announce a list.
_NOT_A_CLAIM = re.compile(
    r"\b(?:regret|apologi[sz]e|sorry|inconvenience)\b|\b(?:can|could|may|might|(?:is|are) able to)\s"
    r"(?:also\s|potentially\s|possibly\s|further\s)?(?:lead|cause|result|trigger|leave|compromise|exploit|attack)\b"
    r"|^(?:if|whenever|avoid|use|make sure|ensure|consider|always|never)\b"
    # a cause ruled out ("was not caused by an attack"), the incident's own effects ("two
    # incidents that resulted in degraded performance"), a recap of a cause told earlier,
    # the purpose of an investigation ("To find the instruction causing it, we ...")
    r"|\b(?:not|never)\s(?:\w+,?\s){0,3}(?:caused|causing|triggered|due to|the result of|the cause)\b"
    r"|^no\s(?:\w+\s){0,4}(?:was|were)\s(?:used|exploited|involved|responsible|at fault)\b"
    # a hypothesis of the diagnosis ("it led the team to believe an attacker ..."), and the
    # moment the team found out, which tells the detection rather than the cause
    r"|\bto (?:believe|think|suspect)\b|\bturned out to be (?:a |an )?(?:coincidence|unrelated|red herring)\b"
    r"|\bwe (?:first |then )?(?:learned|became aware|were (?:notified|alerted|made aware))\b"
    r"|\b(?:incidents?|outages?|disruptions?|the issue|this issue)\s(?:that\s|which\s)?(?:\w+\s){0,2}"
    r"(?:resulted in|resulting in|led to|leading to|caused)\b"
    r"|\b(?:mentioned|explained|described|noted) (?:above|earlier|before)\b|^to \w+\b"
    # "When a cache misses, ..." states a rule; "When the bad file was propagated, ..." tells the story.
    r"|^when\b(?![^,]{0,160}\b(?:was|were|had|did|\w{3,}ed)\b)", re.I)


def _announces_list(sentence: str) -> bool:
    """A lead-in that only announces what follows ("This was caused by three problems:"), as
    against a claim that names its cause before the colon ("... caused by the same root
    factor: using '.' as a stop word")."""
    if not sentence.rstrip().endswith(":"):
        return False
    if re.search(r"\bthe following\b", sentence, re.I):
        return True
    m = _CAUSAL.search(sentence)
    return m is None or len(sentence[m.end():].split()) < 4


# "This is because ...", "It happened due to ...": the incident itself is what is explained.
_EXPLAINS_INCIDENT = re.compile(r"\b(?:this|that|it|which) (?:is|was|happened|occurred)(?: \w+ly)? (?:because|due to)\b",
                                re.I)


def failure_in(text: str) -> bool:
    """The text speaks of something going wrong (an error, an outage, something down or lost)."""
    return bool(_FAILURE.search(text))


def _cues(sentence: str) -> list[str]:
    return [m.group(0) for m in _CAUSAL.finditer(sentence)]


def _all_weak(cues: list[str]) -> bool:
    """Every cue (none counts as all) is a connective that explains anything."""
    return all(_WEAK_CAUSAL.match(cue) for cue in cues)


def _only_weak_cues(sentence: str) -> bool:
    return _all_weak(_cues(sentence))


# Attack words tell a security incident's cause only in its story, in the past tense; in the
# present they describe what a product detects or what a package does.
_ATTACK_CUE = re.compile(rf"^(?:{_ATTACK_WORDS})$", re.I)
_PAST_TENSE = re.compile(r"\b(?:was|were|had|did)\b|(?<!\bis )(?<!\bare )(?<!\bbe )\b\w{3,}ed\b", re.I)


def _claims_cause(sentence: str) -> bool:
    cues = _cues(sentence)
    if not cues:
        return False
    if all(_ATTACK_CUE.match(cue) for cue in cues) and not _PAST_TENSE.search(sentence):
        return False
    return not _all_weak(cues) or bool(_FAILURE.search(sentence)) or bool(_EXPLAINS_INCIDENT.search(sentence))


def is_causal(sentence: str) -> bool:
    return _claims_cause(sentence) and not _ADVICE.search(sentence) and not _LEAD_IN.search(sentence) \
        and not _NOT_A_CLAIM.search(sentence) and not _announces_list(sentence) \
        and not (_COMMIT_DONE.search(sentence) and re.match(r"^(?:[\w’',]+\s){0,6}we\b", sentence, re.I))


_CHECK_WORD = _CHECK.pattern[len(r"\b(?:"):-len(r")\b")]
_MISS_NEXT_TO_CHECK = re.compile(
    r"\b(?:not|never|no|without|didn't|wasn't|weren't|hadn't|failed to|lack of|gaps? in)\s+(?:\w+\s+){0,2}"
    rf"(?:{_CHECK_WORD})\b|\b(?:{_CHECK_WORD})\s+(?:\w+\s+){{0,3}}(?:missed|did not|didn't|failed|never|only)\b", re.I)


def _names_the_miss(sentence: str) -> bool:
    return bool(_MISS_NEXT_TO_CHECK.search(sentence))


def is_gap(sentence: str) -> bool:
    return bool(_CHECK.search(sentence)) and bool(_MISS.search(sentence)) and not _ADVICE.search(sentence)


def is_only_a_gap(sentence: str) -> bool:
    """Why a check missed it, and nothing more: an eval gap, not a cause. A safeguard that
    failed in the causal chain ("a bug in the audit tool failed to stop the command") is a
    cause too, told with a strong cue rather than a bare "because"."""
    return is_gap(sentence) and _only_weak_cues(sentence)


def status_from_tense(text: str) -> str | None:
    if _COMMIT_DONE.search(text):
        return "done"
    if _COMMIT_PLANNED.search(text):
        return "open"
    return None


_FIRST_PERSON_FUTURE = re.compile(
    r"\bwe(?:'ll| will| shall| plan| intend| are (?:going|planning|working on|committed))\b", re.I)


def is_commitment(sentence: str) -> bool:
    return (bool(_COMMIT_DONE.search(sentence)) or bool(_COMMIT_PLANNED.search(sentence))) \
        and not _ADVICE.search(sentence)


def is_promise(sentence: str) -> bool:
    """A first-person promise about the future: an action, never a cause or a gap."""
    return bool(_FIRST_PERSON_FUTURE.search(sentence))


def _title(sentence: str, limit: int = 120) -> str:
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rsplit(" ", 1)[0] + "…"


def _cause(seq: int, sentence: str, line: int) -> RootCause:
    category = infer_category(sentence)
    return RootCause(seq, _title(sentence), category, "inferred" if category else None, sentence, None, line)


# A sentence that refers back to the one before ("This ...", "As a result ...") goes on telling
# the same cause; one that starts afresh ("A bug in the audit tool ...") tells another.
_CONTINUES = re.compile(r"^(?:this|that|these|those|it|its|they|their|which|so|thus|hence|consequently|as a result|"
                        r"in turn|therefore|because of this|the (?:result|effect|consequence)|and|also|"
                        r"at (?:this|that) (?:point|time|stage)|in particular|specifically|for (?:example|instance))\b",
                        re.I)


def _grouped(stream: list[tuple[int, int, str, bool]]) -> list[tuple[int, str]]:
    """(file line, text) of the causes told in a run of prose. `stream` holds (paragraph id,
    file line, sentence, whether it tells a cause) of consecutive sentences in order.

    A causal sentence that refers back ("This is because ...", "At this point it ...") goes
    on telling the cause before it, in its paragraph or in the sentence just before; one
    whose antecedent is not causal itself takes that sentence along, since it says nothing
    alone. A sentence that starts afresh ("A bug in the audit tool ...") tells another cause."""
    groups: list[list] = []  # [paragraph, line, sentences, index of the last]
    for i, (paragraph, line, sentence, causal) in enumerate(stream):
        if not causal:
            continue
        refers_back = bool(_CONTINUES.match(sentence))
        if refers_back and groups and len(groups[-1][2]) < 3 and (groups[-1][0] == paragraph or groups[-1][3] == i - 1):
            groups[-1][2].append(sentence)
            groups[-1][3] = i
        elif refers_back and i > 0 and stream[i - 1][0] == paragraph and not stream[i - 1][3]:
            groups.append([paragraph, stream[i - 1][1], [stream[i - 1][2], sentence], i])
        else:
            groups.append([paragraph, line, [sentence], i])
    return [(line, " ".join(sentences)) for _, line, sentences, _ in groups]


# A lessons sub-heading that lists what went wrong: its points are contributing factors.
_WENT_WRONG = re.compile(
    r"\b(?:went (?:wrong|poorly|badly|less well|not so well)|(?:did ?n[o']t|did not) go (?:well|so well|as planned)|"
    r"got unlucky|were unlucky|bad luck|could have gone better|challenges|what failed|pain points)\b", re.I)
# A point written as advice for next time ("Deployments should be monitored") is a lesson, not a cause.
_LESSON_SHAPE = re.compile(r"\b(?:should|need to|needs to|must|ought to)\b|^(?:we )?(?:make sure|ensure|consider)\b",
                           re.I)


def contributing_factors(section: Section | None) -> list[tuple[int, str]]:
    """(line, text) of the points under a lessons sub-heading such as "What went wrong": one
    per list item, or the causal sentences of its prose. Points about checks that missed it
    are eval gaps, and advice for next time is a lesson; neither is a cause."""
    if section is None:
        return []
    out: list[tuple[int, str]] = []
    inside, level, procedure = False, 0, False
    for block in section.blocks:
        if block.kind == "heading":
            if inside and block.level <= level:
                inside = False
            if not inside and _WENT_WRONG.search(block.text):
                inside, level, procedure = True, block.level, False
            continue
        if not inside or block.quoted:
            continue
        text = plain_text(block.text)
        if block.kind == "paragraph":
            # A list announced by "The only safe way would be:" is a procedure, not a list of
            # what went wrong; one announced by a statement of the problem is.
            procedure = text.endswith(":") and not is_causal(text.rstrip(":") + ".")
            out += [(block.line + offset, s) for offset, s in split_sentences(block.text)
                    if is_causal(s) and not is_only_a_gap(s) and not is_promise(s)]
        elif block.kind == "item" and block.level == 1 and not procedure and len(text.split()) >= 4 \
                and not is_gap(text) and not _LESSON_SHAPE.search(text) and not _ADVICE.search(text):
            out.append((block.line, text))
    return out


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]{3,}", text.lower()))


def _same_cause(a: str, b: str) -> bool:
    """Two texts that tell one cause: most of the shorter one's words are in the longer one."""
    wa, wb = _words(a), _words(b)
    small = min(len(wa), len(wb))
    return small > 0 and len(wa & wb) / small >= 0.7


def add_contributing_factors(causes: list[RootCause], factors: list[tuple[int, str]]) -> list[RootCause]:
    """The causes, then each contributing factor that does not repeat one of them."""
    out = list(causes)
    for line, text in factors:
        if not any(_same_cause(text, f"{c.title} {c.description}") for c in out):
            out.append(_cause(len(out) + 1, text, line))
    for seq, cause in enumerate(out, start=1):
        cause.seq = seq
    return out


def causes_in_blocks(blocks: list, kinds: tuple[str, ...] = ("paragraph",), start_seq: int = 1) -> list[RootCause]:
    """Causal sentences of prose blocks, those of one paragraph joined."""
    stream = [(block.line, block.line + offset, s, is_causal(s) and not is_only_a_gap(s))
              for block in blocks if block.kind in kinds and not block.quoted
              for offset, s in split_sentences(block.text)]
    return [_cause(i, s, line) for i, (line, s) in enumerate(_grouped(stream), start=start_seq)]


def causes_in_section(section: Section) -> list[RootCause]:
    """Causal sentences of a root-cause section written as prose."""
    return causes_in_blocks(section.blocks)


def causes_from_text(doc: Document, sections: dict[str, Section]) -> list[RootCause]:
    """No section names the causes: the causal sentences of the narrative, at most a handful
    (a cause is a claim about why, and a post-mortem makes few)."""
    stream = [(paragraph, line, s, key in NARRATIVE_SECTIONS and is_causal(s) and not is_promise(s)
               and not is_only_a_gap(s))
              for key, paragraph, line, s in _all_sentences(doc, sections, with_block=True)]
    return [_cause(i, s, line) for i, (line, s) in enumerate(_grouped(stream)[:8], start=1)]


def gaps_from_text(doc: Document, sections: dict[str, Section]) -> list[EvalGap]:
    """Sentences saying why tests, evals, review, monitoring or drills did not catch it. A
    question is never the gap itself: asked about a miss ("Why did the canary not catch
    it?"), the sentence answering it is the gap, whatever words it uses."""
    found = []
    sentences = list(_all_sentences(doc, sections))
    for n, (key, line, sentence) in enumerate(sentences):
        if key in ("action_items", "mitigation", "timeline", *SKIPPED_SECTIONS) or sentence.rstrip().endswith(":"):
            continue
        if sentence.rstrip().endswith("?"):
            answer = sentences[n + 1] if n + 1 < len(sentences) else None
            if is_gap(sentence) and answer is not None and answer[0] == key and 0 <= answer[1] - line <= 1 \
                    and not answer[2].rstrip().endswith("?"):
                found.append((answer[1], answer[2]))
            continue
        if is_gap(sentence) and not is_promise(sentence) and (line, sentence) not in found:
            found.append((line, sentence))
    return [EvalGap(i, s, "analysis", line) for i, (line, s) in enumerate(found, start=1)]


_LEADING_QUESTION = re.compile(r"^\s{0,3}(?P<question>(?:why|how|what|when)\b[^?\n]{0,300}\?)\s*", re.I)


def split_question(text: str) -> tuple[str | None, str]:
    """("Why did checkouts fail?", "The tax service returned 500 ...") for a "Five whys"
    point that asks and then answers; (None, text) for any other."""
    m = _LEADING_QUESTION.match(text)
    return (m.group("question"), text[m.end():]) if m and text[m.end():].strip() else (None, text)


def merge_gaps(from_causes: list[EvalGap], from_text: list[EvalGap], limit: int = 8) -> list[EvalGap]:
    """The causes' own why-missed notes, then the text's gap sentences that do not repeat one
    of them (the same line, or a sentence a why-missed note already contains), at most `limit`:
    a post-mortem gives few reasons its checks missed."""
    merged: list[EvalGap] = []
    for gap in from_causes:  # two causes of one "Five whys" chain can carry the same note
        if not any(_same_cause(g.text, gap.text) for g in merged):
            merged.append(gap)
    extra: list[EvalGap] = []
    for gap in from_text:  # a nested list item's text is also inside its parent's
        if not any(g.line == gap.line and g.text == gap.text or _same_cause(g.text, gap.text)
                   for g in merged + extra):
            extra.append(gap)
    # Keep the plainest statements when there are too many: a check named right next to its
    # negation ("was not tested on staging", "no alerting caught it") before loose ones.
    room = max(0, limit - len(merged))
    kept = sorted(sorted(extra, key=lambda g: not _names_the_miss(g.text))[:room], key=lambda g: g.line or 0)
    merged += kept
    for seq, gap in enumerate(merged, start=1):
        gap.seq = seq
    return merged


# "From upload to quarantine: 2h 32m", "Installs affected: ~40%": a figure in a list, not a task.
_MEASUREMENT = re.compile(r"^[^:]{2,80}:\s*[~≈<>]?\s*\d[\d.,]*\s*(?:%|[a-z]{1,8}\.?)?(?:\s+\d[\d.,]*\s*[a-z]{1,8}\.?){0,3}$",
                          re.I)


def is_measurement(text: str) -> bool:
    return bool(_MEASUREMENT.match(plain_text(text).strip()))


def status_labels(section: Section) -> list[tuple[int, str]]:
    """("Completed actions:", "### Planned") labels in a section: (line, status)."""
    out = []
    for block in section.blocks:
        if block.kind in ("heading", "paragraph") and not block.quoted:
            text = plain_text(block.text).strip()
            m = _STATUS_LABEL.match(text) if len(text) < 60 else None
            if m:
                out.append((block.line, _LABEL_STATUS.get(m.group("label").lower(), "open")))
    return out


def status_above(labels: list[tuple[int, str]], line: int) -> str | None:
    above = [status for label_line, status in labels if label_line < line]
    return above[-1] if above else None


_ENUMERATION = re.compile(r",? (?:including|such as|namely)\s+", re.I)


def _top_level_parts(text: str) -> list[str]:
    """`text` split at the commas outside brackets ("a (b, c), d, and e" -> a (b, c) / d / e)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [re.sub(r"^\s*(?:and|or)\s+", "", p).strip(" .;") for p in parts]


def commitments_of(sentence: str) -> list[str]:
    """One sentence that lists several changes ("we made improvements, including removing org
    tokens, adding a KMS and expanding detection") commits to each of them."""
    m = _ENUMERATION.search(sentence)
    if m is None:
        return [sentence]
    parts = [p for p in _top_level_parts(sentence[m.end():]) if len(p.split()) >= 3]
    return parts if len(parts) >= 3 else [sentence]


def _action_items(sentence: str, line: int, start_seq: int) -> list[ActionItem]:
    status = status_from_tense(sentence)
    return [ActionItem(start_seq + i, "systemic", text, None, None, status, line)
            for i, text in enumerate(commitments_of(sentence))]


def actions_in_section(section: Section, start_seq: int = 1) -> list[ActionItem]:
    """An action section written as prose: one item per commitment sentence."""
    items: list[ActionItem] = []
    for line, sentence in sentences_of(section):
        if is_commitment(sentence) and not _commits_to_nothing(sentence):
            items += _action_items(sentence, line, start_seq + len(items))
    return items


# The story of the incident, not a follow-up: "When we deployed ...", a counterfactual
# ("If we had deployed ..., we would have ..."), or what was done at a stated clock time.
_NARRATED = re.compile(r"^(?:when|while|if|had)\b|\bwould have\b|\bover the (?:next|following) "
                       r"(?:few )?(?:hours|minutes)\b", re.I)


# Sentences in the shape of a commitment that commit to nothing about the system: telling the
# reader ("We want to provide you with some additional information ...") and announcing the
# actions without naming one ("We have taken several actions to prevent a recurrence.").
_TELLS_THE_READER = re.compile(r"\b(?:provide|share|give|offer)\b[^.]{0,40}\b(?:information|details|update|"
                               r"overview|account|summary|explanation|insight)\b|\bwe (?:want|would like) to "
                               r"(?:explain|apologi[sz]e|thank|share|describe)\b", re.I)
_ANNOUNCES_ACTIONS = re.compile(r"\b(?:several|a number of|a series of|the following|some|multiple|a few|many|various|"
                                r"a set of)\s(?:\w+\s)?(?:actions|steps|changes|measures|improvements|"
                                r"remediations)\b(?![^.]{0,200}\b(?:including|such as)\b)", re.I)


def _commits_to_nothing(sentence: str) -> bool:
    return bool(_TELLS_THE_READER.search(sentence) or _ANNOUNCES_ACTIONS.search(sentence))


def actions_from_text(doc: Document, sections: dict[str, Section], start_seq: int = 1) -> list[ActionItem]:
    """No action section: commitments made in the prose of the sections about the fix and
    the future, else anywhere in the text."""
    items: list[ActionItem] = []
    for key, line, sentence in _all_sentences(doc, sections):
        if key in ("timeline", *SKIPPED_SECTIONS) or not is_commitment(sentence) or sentence.rstrip().endswith(":") \
                or _commits_to_nothing(sentence):
            continue
        if key not in ACTION_SECTIONS and (not re.search(r"\bwe\b|\bour\b", sentence, re.I)
                                           or _NARRATED.search(sentence) or datefind.CLOCK_TIME.search(sentence)):
            continue
        items += _action_items(sentence, line, start_seq + len(items))
    return items[:15]


# "we took the following actions:", "In particular we are:", "Steps we are taking:": the list
# after such a lead-in is a list of actions, whatever section it sits in.
_LEAD_IN = re.compile(
    r"\b(?:we|our team|our engineers)\b[^:]{0,200}\b(?:will|are|took|have taken|have made|are making|are taking|"
    r"plan|following (?:actions|steps|changes|measures|improvements))\b[^:]{0,80}:\s*$"
    r"|\b(?:next steps|steps taken|actions taken|follow-up actions|changes we are making)\b[^:]{0,60}:\s*$", re.I)


def actions_after_lead_ins(doc: Document, taken: set[int], start_seq: int = 1) -> list[ActionItem]:
    """Items of a list announced by a first-person lead-in ending with a colon."""
    items: list[ActionItem] = []
    blocks = doc.blocks
    for i, block in enumerate(blocks):
        if block.kind != "paragraph" or block.quoted:
            continue
        lead = plain_text(block.text)
        if len(lead) > 400 or not _LEAD_IN.search(lead):
            continue
        status = status_from_tense(lead) or "open"
        j = i + 1
        top = blocks[j].level if j < len(blocks) and blocks[j].kind == "item" else None
        while j < len(blocks) and blocks[j].kind == "item":
            item = blocks[j]
            if item.level == top and item.line not in taken and not item.quoted:
                text = plain_text(item.text)
                items.append(ActionItem(start_seq + len(items), "systemic", text, None, None,
                                        status_from_tense(text) or status, item.line))
                taken.add(item.line)
            j += 1
    return items


# Prose goes back and forth in time ("errors until 14:30 ... the volume prior to 11:20"): an
# earlier clock time is the next day only when the story just crossed midnight, landing at
# most this far past the previous event.
_NARRATIVE_ROLLOVER = timedelta(hours=8)


def narrative_events(doc: Document, sections: dict[str, Section], *, zone=None,
                     default_year: int | None = None) -> list[TimelineEvent]:
    """No timeline section: the sentences that give a clock time are the events."""
    zone = zone or timezone.utc
    events: list[TimelineEvent] = []
    last: datetime | None = None
    for _, line, sentence in _all_sentences(doc, sections):
        found = datefind.find_datetimes(sentence, default_year=default_year, zone=zone, limit=1)
        at = None
        if found and found[0].has_time:
            at = found[0].at
        elif found:
            last = found[0].at
        elif last is not None:
            clock = datefind.CLOCK_TIME.search(sentence)
            if clock and ":" in clock.group("time"):
                at, _, _ = datefind.leading_timestamp(sentence[clock.start():], last, zone=zone,
                                                      rollover=_NARRATIVE_ROLLOVER)
        if at is not None:
            last = at
            events.append(TimelineEvent(len(events) + 1, at, sentence, classify_event(sentence), line))
    return events


# --------------------------------------------------------------------------------------
# A status page's update log

# Status pages (Atlassian Statuspage, instatus, the AI providers' own) publish an incident as
# updates, newest first: "Resolved - This incident has been resolved.", then the update's
# date line "Mar 12, 2025 - 15:02 UTC" (or "Posted ..."). The update states are the
# product's fixed words, and say what kind of event each update is.
_UPDATE_STATE = re.compile(r"^\W{0,4}(?P<state>investigating|identified|monitoring|update|resolved|postmortem|"
                           r"post-mortem|completed|verifying|in progress|scheduled)\b[^\w\n]{0,4}(?:\s[-–—:]\s?|\n|$)", re.I)
_STATE_KIND = {"investigating": "detection", "identified": "diagnosis", "monitoring": "mitigation",
               "verifying": "mitigation", "resolved": "resolution", "completed": "resolution"}
_MIN_UPDATES = 2


def status_updates(doc: Document, *, zone=None, default_year: int | None = None) -> list[TimelineEvent]:
    """The events of a status page's update log, oldest first: each block that opens with an
    update state and carries a date with a clock time (its own line, or the block's next
    paragraph) is one event, its text without the state and the date line. Fewer than two
    such updates are no log."""
    zone = zone or timezone.utc
    blocks = [b for b in doc.blocks if b.kind == "paragraph" and not b.quoted]
    events: list[tuple[datetime, str, str, int]] = []
    for i, block in enumerate(blocks):
        state = _UPDATE_STATE.match(block.text)
        if state is None:
            continue
        lines = block.text.split("\n")
        following = blocks[i + 1].text.split("\n") if i + 1 < len(blocks) else []
        stamped = [(n, found) for n, line in enumerate(lines + following[:1])
                   for found in datefind.find_datetimes(plain_text(line), default_year=default_year, zone=zone,
                                                        limit=1) if found.has_time]
        if not stamped:
            continue
        n, found = stamped[-1]
        body = [line for k, line in enumerate(lines) if k != n]
        text = plain_text(" ".join(body)[state.end():] if body else "") or state.group("state").capitalize()
        kind = _STATE_KIND.get(state.group("state").lower()) or classify_event(text)
        events.append((found.at, text, kind, block.line))
    if len(events) < _MIN_UPDATES:
        return []
    events.sort(key=lambda e: (e[0], e[3]))
    return [TimelineEvent(seq, at, text, kind, line) for seq, (at, text, kind, line) in enumerate(events, start=1)]
