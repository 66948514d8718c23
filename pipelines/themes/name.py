"""Readable theme descriptions: a short name from the theme's distinctive terms, keywords,
representative items and the mix of root-cause categories.

Distinctive terms come from class-based TF-IDF (as in BERTopic's c-TF-IDF): all texts of a
theme form one document, and a term scores high when it is frequent in this theme and rare
across themes. Bigrams are preferred for the name because "stale index" says more than
"stale" and "index" apart.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

# Words every AI post-mortem uses; they would top every theme and name none.
_DOMAIN_STOP_WORDS = {
    "incident", "incidents", "issue", "issues", "caused", "cause", "causes", "root", "did", "didn", "does",
    "just", "also", "new", "old", "use", "used", "using", "users", "user", "customers", "customer", "time",
    "day", "days", "week", "hours", "hour", "minutes", "production", "prod", "team", "teams", "way", "like",
    "time", "got", "get", "make", "made", "one", "two", "three", "still", "went", "wrong", "ll", "ve",
    "don", "didn", "doesn", "isn", "wasn", "won", "re", "pm", "took", "per", "etc", "instead",
}
# Incident and item ids, URLs and anything with digits say nothing about the weakness.
# The last alternative starts only where a token starts: `\S*\d\S*` alone is tried at every
# position of a long token and is quadratic in it (a 5 MB line took hours).
_NOISE = re.compile(r"\bPM-\d{4}-\d+(?:#\w+)?|https?://\S+|(?<!\S)[^\s\d]*\d\S*")
# A two-word term is easier to read than two single words ("stale index" vs "stale", "index"),
# so bigrams get this much extra weight when terms are ranked.
BIGRAM_BOOST = 1.5
STOP_WORDS = sorted(ENGLISH_STOP_WORDS | _DOMAIN_STOP_WORDS)


@dataclass
class ThemeDescription:
    name: str
    keywords: list[str]
    representative_idx: list[int]  # positions in the item arrays, closest to the centroid first
    category_mix: dict[str, float]
    top_category: str | None

    @property
    def category_mix_json(self) -> str:
        return json.dumps(self.category_mix, sort_keys=True)


def distinctive_terms(docs: list[str], top_n: int = 8) -> list[list[str]]:
    """Top c-TF-IDF terms for each document (one document = one theme's texts joined)."""
    if not docs:
        return []
    vectorizer = CountVectorizer(analyzer=_terms)
    try:
        counts = vectorizer.fit_transform(docs)
    except ValueError:  # only stop words everywhere
        return [[] for _ in docs]
    terms = vectorizer.get_feature_names_out()
    counts = counts.tocsr().astype(np.float64)
    words_per_doc = np.asarray(counts.sum(axis=1)).ravel()
    tf = counts.multiply(1 / np.maximum(words_per_doc, 1)[:, None]).tocsr()
    term_totals = np.asarray(counts.sum(axis=0)).ravel()
    idf = np.log(1 + words_per_doc.mean() / np.maximum(term_totals, 1))
    boost = np.array([BIGRAM_BOOST if " " in t else 1.0 for t in terms])
    scores = tf.multiply(idf * boost).tocsr()
    result = []
    for row in range(scores.shape[0]):
        start, end = scores.indptr[row], scores.indptr[row + 1]
        idx, vals = scores.indices[start:end], scores.data[start:end]
        # Stable order: score, then the term itself, so names never flicker between runs.
        order = sorted(range(len(idx)), key=lambda k: (-round(vals[k], 12), terms[idx[k]]))
        result.append([terms[idx[k]] for k in order[: top_n * 3]])
    return [_dedupe(r, top_n) for r in result]


_TOKEN = re.compile(r"(?u)\b[a-zA-Z]{2,}(?:[-_][a-zA-Z]{2,})*\b")
_STOP = frozenset(STOP_WORDS)


def _terms(text: str) -> list[str]:
    """Unigrams and bigrams of adjacent words, neither a stop word: "followed a moving alias"
    gives "moving alias", never "followed moving" across the dropped "a"."""
    tokens = [t.lower() for t in _TOKEN.findall(_NOISE.sub(" ", text))]
    keep = [t not in _STOP for t in tokens]
    unigrams = [t for t, k in zip(tokens, keep) if k]
    bigrams = [f"{a} {b}" for a, b, ka, kb in zip(tokens, tokens[1:], keep, keep[1:]) if ka and kb and a != b]
    return unigrams + bigrams


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _dedupe(terms: list[str], top_n: int) -> list[str]:
    """Say each word once: a unigram gives way to the best-ranked bigram that contains it
    ("eval" -> "eval suite"), and plurals count as their singular ("evals" after "eval")."""
    chosen: list[str] = []
    words: set[str] = set()
    for term in terms:
        if " " not in term:
            better = next((b for b in terms if " " in b and _stem(term) in map(_stem, b.split())), None)
            term = better or term
        parts = {_stem(p) for p in term.split()}
        if term in chosen or parts <= words:
            continue
        chosen.append(term)
        words |= parts
        if len(chosen) == top_n:
            break
    return chosen


def theme_name(keywords: list[str], n_terms: int = 3) -> str:
    """The top terms, most distinctive first: "Stale index / nightly re-index / freshness"."""
    picked = keywords[:n_terms]
    if not picked:
        return "Unnamed theme"
    name = " / ".join(picked)
    return name[0].upper() + name[1:]


def describe(texts: list[str], vectors: np.ndarray, centroid: np.ndarray, categories: list[str | None],
             keywords: list[str], n_representatives: int = 3) -> ThemeDescription:
    sims = vectors @ centroid
    order = sorted(range(len(texts)), key=lambda i: (-round(float(sims[i]), 9), i))
    counts = Counter(c for c in categories if c)
    total = sum(counts.values())
    mix = {c: round(n / total, 3) for c, n in sorted(counts.items())} if total else {}
    top = max(sorted(counts), key=lambda c: counts[c]) if counts else None
    return ThemeDescription(theme_name(keywords), keywords, order[:n_representatives], mix, top)
