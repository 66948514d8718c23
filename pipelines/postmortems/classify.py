"""Word-based classifiers of the parsed pieces: which category a root cause belongs to and
what kind of event a timeline entry is. Used by the section parsers (parse.py) and by the
prose readers (prose.py), so they live apart from both.
"""

from __future__ import annotations

import re

from pipelines.postmortems.model import CATEGORIES

_KIND_WORDS = (
    ("resolution", ("resolved", "resolution", "all clear", "closed the incident", "incident closed", "back to normal",
                    "fully recovered", "recovered")),
    ("mitigation", ("rolled back", "rollback", "roll back", "reverted", "revert", "mitigat", "disabled", "failover",
                    "failed over", "hotfix", "pinned", "turned off", "switched", "flag off", "purged", "flushed",
                    "re-ran", "rebuilt", "restored", "deployed fix", "shipped fix", "back to the", "pin ")),
    ("detection", ("alert", "paged", "page ", "detected", "noticed", "reported", "ticket", "fired", "spike",
                   "complain", "escalat", "flagged", "dashboard")),
    ("diagnosis", ("investigat", "identified", "found", "diagnos", "root cause", "confirmed", "traced", "bisect",
                   "correlat", "narrowed", "suspect", "showed", "trace", "inspect", "reproduc")),
    ("change", ("deploy", "released", "merged", "shipped", "rolled out", "rollout", "changed", "updated", "upgrade",
                "migrat", "started", "began", "finished", "completed", "ran ")),
)


# One alternation per kind: a single search instead of a substring test per word.
_KIND_PATTERNS = tuple((kind, re.compile("|".join(map(re.escape, words)))) for kind, words in _KIND_WORDS)


def classify_event(text: str) -> str:
    lowered = text.lower()
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(lowered):
            return kind
    return "other"


CATEGORY_SYNONYMS = {
    "prompt": "prompt", "prompts": "prompt", "prompting": "prompt", "prompt change": "prompt",
    "retrieval": "retrieval", "rag": "retrieval", "index": "retrieval", "search": "retrieval",
    "model": "model", "model behaviour": "model", "model behavior": "model",
    "config": "config", "configuration": "config", "settings": "config",
    "upstream-provider": "upstream-provider", "upstream provider": "upstream-provider", "upstream": "upstream-provider",
    "provider": "upstream-provider", "vendor": "upstream-provider", "third party": "upstream-provider",
    "data": "data", "data quality": "data", "dataset": "data",
    "infrastructure": "infrastructure", "infra": "infrastructure", "platform": "infrastructure",
    "process": "process", "human process": "process", "review process": "process",
    "other": "other",
}
# Evidence for a category, as word stems (matched at a word start): what kind of thing failed,
# never who sells it. A provider's name says nothing: OpenAI's own post-mortem is not an
# upstream-provider incident, and "outage" is what every post-mortem is about.
_CATEGORY_KEYWORDS = (
    ("upstream-provider", ("provider", "upstream", "third-party", "third party", "429", "rate limit", "rate-limit",
                           "api degradation", "deprecat", "vendor", "supply chain", "supply-chain", "dependency",
                           "dependencies", "package index", "malicious package")),
    ("retrieval", ("index", "retriev", "embedding", "rag ", "vector", "chunk", "re-index", "reindex", "corpus",
                   "search result")),
    ("prompt", ("prompt", "system message", "few-shot", "instruction")),
    ("config", ("config", "temperature", "top_p", "max_tokens", "feature flag", "setting", "environment variable",
                "override", "parameter", "permission", "grant", "token", "credential", "pinned", "unpinned",
                "version")),
    ("data", ("dataset", "data set", "training data", "label", "contamina", "fine-tun", "pii", "personal data",
              "feature file", "schema", "duplicate row", "normaliz", "normalis")),
    ("infrastructure", ("gpu", "cache", "latency", "kubernetes", "timeout", "queue", "capacity", "memory", "node",
                        "deploy", "database", "network", "dns", "server", "cluster", "certificate", "load balanc",
                        "backbone", "crash", "disk", "cpu", "overload")),
    ("model", ("model", "hallucinat", "tokenizer", "weights", "refus")),
    ("process", ("review", "process", "runbook", "on-call", "oncall", "approval", "checklist", "skipped", "manual",
                 "test plan", "procedure", "coverage", "documentation")),
)
_CATEGORY_PATTERNS = tuple((cat, re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + ")", re.I))
                           for cat, words in _CATEGORY_KEYWORDS)


def normalise_category(value: str | None) -> str | None:
    if not value:
        return None
    v = re.sub(r"[`*_\[\]()]", "", value).strip().lower()
    v = re.split(r"[,;/|(]| - | — ", v)[0].strip()
    if v in CATEGORIES:
        return v
    if v in CATEGORY_SYNONYMS:
        return CATEGORY_SYNONYMS[v]
    for word, cat in CATEGORY_SYNONYMS.items():
        if v.startswith(word):
            return cat
    return "other"


def infer_category(text: str) -> str:
    """The category a cause's words point to; "other" when they point nowhere, so every
    cause has one (marked inferred by the caller)."""
    best, best_score = "other", 0
    for cat, pattern in _CATEGORY_PATTERNS:
        score = sum(1 for _ in pattern.finditer(text[:5000]))
        if score > best_score:
            best, best_score = cat, score
    return best
