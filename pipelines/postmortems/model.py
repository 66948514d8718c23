"""The parsed shape of one post-mortem. Plain dataclasses: the parser fills them, the
warehouse flattens them into tables, lint reads them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

CATEGORIES = (
    "prompt",
    "retrieval",
    "model",
    "config",
    "upstream-provider",
    "data",
    "infrastructure",
    "process",
    "other",
)
SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
STATUSES = ("draft", "in-review", "published")
ACTION_STATUSES = ("open", "in-progress", "done")

# The sections a complete post-mortem has, in template order. Completeness is the share
# of these that are present and not empty.
REQUIRED_SECTIONS = (
    "summary",
    "timeline",
    "root_causes",
    "mitigation",
    "new_eval_case",
    "action_items",
    "prompt_diff",
    "model_config",
    "sample_outputs",
    "eval_gap",
)



# Where a date comes without a clock time, as `date_sources` records it: a title names a day,
# so does "Incident date: 2025-06-03"; minutes from such a date are not a duration.
DAY_ONLY_TEXT = "text, day only"
DAY_ONLY_SOURCES = ("title", DAY_ONLY_TEXT)

@dataclass
class Section:
    key: str
    heading: str
    line: int  # 1-based line of the heading in the file
    text: str  # body without the heading, children attributed to this key included
    body_line: int  # line where `text` starts
    # The Markdown blocks of the body (pipelines.postmortems.markdown.Block), file lines exact.
    blocks: list = field(default_factory=list)


@dataclass
class RootCause:
    seq: int
    title: str
    category: str | None
    category_source: str | None  # "explicit", "inferred" or None
    description: str
    evals_missed_why: str | None
    line: int | None


@dataclass
class EvalGap:
    seq: int
    text: str
    source: str  # "analysis" (the gap analysis section) or "root_cause" (a cause's why-missed)
    line: int | None


@dataclass
class ActionItem:
    seq: int
    kind: str  # "immediate", "eval_case" or "systemic"
    text: str
    owner: str | None
    deadline: date | None
    status: str | None
    line: int | None


@dataclass
class TimelineEvent:
    seq: int
    at: datetime | None
    text: str
    kind: str  # change, detection, diagnosis, mitigation, resolution, other
    line: int | None


@dataclass
class PromptDiff:
    seq: int
    before_text: str
    after_text: str
    diff_text: str
    line: int | None


@dataclass
class SampleOutput:
    seq: int
    text: str
    line: int | None


@dataclass
class ModelConfig:
    provider: str | None = None
    model: str | None = None
    model_version: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    system_prompt_version: str | None = None
    retrieval_index_version: str | None = None


@dataclass
class Problem:
    """Something wrong with the input file itself: becomes a row of `ingest_issues`."""

    kind: str
    message: str
    line: int | None = None
    severity: str = "error"  # "error": the file did not load; "warning": loaded with gaps


@dataclass
class PostMortem:
    incident_id: str
    title: str
    source_path: str
    content_hash: str
    has_front_matter: bool
    status: str | None = None
    severity: str | None = None
    started_at: datetime | None = None
    detected_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    postmortem_published_at: datetime | None = None
    team: str | None = None
    services: list[str] = field(default_factory=list)
    customer_impact: str | None = None
    customers_affected: int | None = None
    requests_affected: int | None = None
    publication: str | None = None
    tags: list[str] = field(default_factory=list)
    model_config: ModelConfig = field(default_factory=ModelConfig)
    summary: str | None = None
    new_eval_case_id: str | None = None
    new_eval_case_checks: str | None = None
    sections: dict[str, Section] = field(default_factory=dict)
    root_causes: list[RootCause] = field(default_factory=list)
    eval_gaps: list[EvalGap] = field(default_factory=list)
    action_items: list[ActionItem] = field(default_factory=list)
    timeline: list[TimelineEvent] = field(default_factory=list)
    prompt_diffs: list[PromptDiff] = field(default_factory=list)
    sample_outputs: list[SampleOutput] = field(default_factory=list)
    missing_sections: list[str] = field(default_factory=list)
    completeness: float = 0.0
    markdown: str = ""
    # Line of each front-matter key, so lint can point at it.
    field_lines: dict[str, int] = field(default_factory=dict)
    # Where each date came from: "front matter", "timeline", "text", "title".
    date_sources: dict[str, str] = field(default_factory=dict)
    file_date: date | None = None  # a date in the file name: the last resort for dating it
    # Every heading as the parser saw it: (line, text, section key or None, how it was decided).
    headings: list[tuple[int, str, str | None, str]] = field(default_factory=list)
    # What the parser did not understand: (line, kind, detail); see parse.parse_notes.
    notes: list[tuple[int | None, str, str]] = field(default_factory=list)


@dataclass
class ParsedFile:
    source_path: str
    content_hash: str | None
    postmortem: PostMortem | None
    problems: list[Problem] = field(default_factory=list)
