"""Headings no rule knows, classified by meaning with the embedding model the project ships.

A heading is compared with a description of each section; the nearest wins when it is clearly
near (cosine at least MIN_SIMILARITY and ahead of the runner-up). The model loads once per
process, on the first unknown heading only, so a store written to the template never pays.
"""

from __future__ import annotations

import functools
import time

# Seconds spent loading the model in this process: the per-file time budget of ingest leaves
# it out, so the file that happens to trigger the load is not held responsible for it.
_loading = {"seconds": 0.0}


def seconds_loading() -> float:
    return _loading["seconds"]

MIN_SIMILARITY = 0.45
MIN_MARGIN = 0.04

SECTION_DESCRIPTIONS = {
    "root_causes": ("why the incident happened: the root cause, the trigger and the contributing factors",
                    "what went wrong and what broke"),
    "action_items": ("what we will do next to prevent this from happening again: follow-up actions and improvements",
                     "how we are changing our systems and processes going forward"),
    "mitigation": ("how the incident was mitigated, fixed and resolved: rollback, recovery and remediation",),
    "eval_gap": ("why our tests, evals, review and monitoring did not catch the problem before it shipped",),
    "timeline": ("timeline of events with times: when it started, was detected and resolved",),
    "impact": ("the impact on customers and users: who was affected and how",),
    "detection": ("how the problem was detected and who noticed it first",),
    "lessons": ("lessons learned: what went well and where we got lucky",),
    "summary": ("summary and background of what happened in the incident",),
}


@functools.lru_cache(maxsize=1)
def _model_and_descriptions():
    from pipelines.themes.embed import SentenceTransformerEmbedder, default_model_path

    started = time.monotonic()
    model = SentenceTransformerEmbedder(default_model_path())
    keys, texts = [], []
    for key, descriptions in SECTION_DESCRIPTIONS.items():
        for text in descriptions:
            keys.append(key)
            texts.append(text)
    vectors = model.encode(texts)
    _loading["seconds"] += time.monotonic() - started
    return model, keys, vectors


@functools.lru_cache(maxsize=4096)
def semantic_section_key(heading: str) -> str | None:
    if len(heading.split()) < 2 or len(heading) > 200:
        return None  # one word carries too little meaning to compare; rules handle those
    model, keys, vectors = _model_and_descriptions()
    vector = model.encode([heading])[0]
    scores: dict[str, float] = {}
    for key, score in zip(keys, vectors @ vector):
        scores[key] = max(scores.get(key, -1.0), float(score))
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top >= MIN_SIMILARITY and top - second >= MIN_MARGIN:
        return best
    return None
