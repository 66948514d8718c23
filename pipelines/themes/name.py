"""Readable theme descriptions: a short name in words, keywords, representative items and the
mix of root-cause categories.

The name is a phrase from the theme's own texts (a run of two or three content words that
several of its texts use), chosen by meaning: the candidate closest to the theme's centroid,
kept apart from the names of other themes (as BERTopic's KeyBERTInspired and
MaximalMarginalRelevance representations do).
Keywords, shown beside the name, are the theme's distinctive terms.

Distinctive terms come from class-based TF-IDF (as in BERTopic's c-TF-IDF): all texts of a
theme form one document, and a term scores high when it is frequent in this theme and rare
across themes. Bigrams are preferred for the name because "stale index" says more than
"stale" and "index" apart.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

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


# A name is a phrase a lead reads aloud: between these many words, never a keyword list.
MIN_NAME_WORDS, MAX_NAME_WORDS = 2, 9
# Term candidates are runs of 2..3 content words that several texts use ("stale index").
MAX_PHRASE_WORDS = 3
# Statement candidates are spans of up to this many words inside one clause of a representative
# text, function words allowed inside ("index went stale", "pod was not replaced"): a term names
# a topic, a statement names what went wrong, which is what a theme of root causes is about.
MAX_STATEMENT_WORDS = 6
# Texts closest to the centroid whose statements are candidates; a span of them says what the
# theme's core says, while spans of outlying members would name the outliers.
STATEMENT_SOURCES = 5
# Candidates embedded per theme: the cheap prior keeps the embedding cost bounded (a theme of
# 500 causes has thousands of n-grams) while the best-scoring phrase is nearly always among them.
CANDIDATES_PER_THEME = 24
# A phrase whose words most of the theme's texts use names what they share; this much of that
# share is added to its cosine with the centroid.
COVERAGE_WEIGHT = 0.25
# Maximal marginal relevance across themes: a candidate's likeness to the names already
# chosen counts against it with this weight, so neighbouring themes get different names.
NAME_DIVERSITY = 0.5
FALLBACK_NAME = "Unnamed theme"

# Clause boundaries: a phrase never spans a full stop, a comma or a bracket. One character
# class or one fixed dash pattern per match, so the split is linear in the text's length.
_CLAUSE_BREAK = re.compile(r"[.;:!?,()\[\]{}\"/|]|\s[-\u2013\u2014]+\s")
# Words as written, contractions kept whole ("wasn't", "agent's") so a statement reads right.
_WRITTEN_WORD = re.compile(r"(?u)\b[a-zA-Z]{2,}(?:['\u2019][a-zA-Z]{1,2})?(?:[-_][a-zA-Z]{2,})*\b")


_POSSESSIVE = re.compile(r"['\u2019]s?$")
_TAKEN_OUT = "Xtakenoutx"  # stands in for an id or number in `statements`: a content word, never kept


def _words(clause: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(_NOISE.sub(" ", clause))]


def _is_stop(word: str) -> bool:
    """Stop words, and contractions of them ("wasn't", "it's")."""
    lower = word.lower().replace("\u2019", "'")
    return lower in _STOP or lower.split("'")[0] in _STOP


def _trim_stop_words(words: list[str]) -> list[str]:
    """Drop stop words at both ends: "the index was stale" -> "index was stale"."""
    start, end = 0, len(words)
    while start < end and _is_stop(words[start]):
        start += 1
    while end > start and _is_stop(words[end - 1]):
        end -= 1
    return words[start:end]


def _clauses(text: str) -> list[str]:
    return [c for c in _CLAUSE_BREAK.split(text) if c.strip()]


def _phrases(text: str) -> tuple[str | None, set[str]]:
    """The text's leading clause (for a root cause, its title), and its runs of
    2..MAX_PHRASE_WORDS content words that no stop word or clause break interrupts."""
    clauses = _clauses(text)
    title = None
    if clauses:
        lead = _trim_stop_words(_words(clauses[0]))
        if MIN_NAME_WORDS <= len(lead) <= MAX_NAME_WORDS:
            title = " ".join(lead)
    grams: set[str] = set()
    for clause in clauses:
        run: list[str] = []
        for word in [*_words(clause), ""]:  # "" flushes the last run
            if word and word not in _STOP:
                run.append(word)
                continue
            for size in range(MIN_NAME_WORDS, min(MAX_PHRASE_WORDS, len(run)) + 1):
                for start in range(len(run) - size + 1):
                    gram = run[start:start + size]
                    if len(set(gram)) == size:
                        grams.add(" ".join(gram))
            run = []
    return title, grams


def statements(text: str) -> dict[str, str]:
    """Spans of 3..MAX_STATEMENT_WORDS words within one clause that begin and end with a
    content word, have a function word inside (runs of content words alone are terms) and do
    not cut a run of content words apart ("files had different" out of "files had different
    sizes" is no statement); lower-cased -> as written. "The actual pod was not replaced"
    gives "actual pod was not replaced"."""
    found: dict[str, str] = {}
    # An id or a number taken out stays a word no span may hold or stop before: "file with more
    # than 200 features" gives no "file with more than features", "files had different md5
    # sums" no "files had different".
    for clause in _clauses(_NOISE.sub(f" {_TAKEN_OUT} ", text)):
        words = _WRITTEN_WORD.findall(clause)
        stop = [_is_stop(w) for w in words] + [True]  # the clause's end is a boundary
        for start in range(len(words)):
            # An adverb ("subsequently", "initially") leads into a statement, not a name.
            if stop[start] or (start and not stop[start - 1]) or _ADVERB.fullmatch(words[start]):
                continue
            for end in range(start + 2, min(start + MAX_STATEMENT_WORDS, len(words))):
                # A possessive ("TensorFlow's") promises a noun the span leaves out; a passive
                # cut before the rest of its clause ("outage was triggered" of "... triggered by
                # a switch update") leaves out what it was done by or to.
                if stop[end] or not stop[end + 1] or not any(stop[start:end]) or _POSSESSIVE.search(words[end]) \
                        or _ADVERB.fullmatch(words[end]) or (end + 1 < len(words) and _passive_end(words, end)):
                    continue
                if _TAKEN_OUT in words[start:end + 1]:
                    continue
                written = " ".join(words[start:end + 1])
                found.setdefault(written.lower(), written)
    return found


# Adverbs by their endings ("additionally", "subsequently", "previously", "possibly"), not
# "supply", "family" or "daily": a name neither starts nor stops on one ("step was possibly").
_ADVERB = re.compile(r"(?i)[a-z]{2,}(?:al|ent|ant|ous|ive|ed|ate|ful|ic|ib|ab)ly")
_AUXILIARY = frozenset({"is", "are", "was", "were", "be", "been", "being", "not", "never"})


def _passive_end(words: list[str], end: int) -> bool:
    """The span ends on a participle after an auxiliary: "was triggered", "is not configured",
    "was inadvertently released"."""
    before = end - 1 - (end >= 2 and bool(_ADVERB.fullmatch(words[end - 1])))
    return words[end].lower().endswith("ed") and words[before].lower() in _AUXILIARY


def _content_stems(phrase: str) -> set[str]:
    return {_stem(w) for w in _words(phrase) if w not in _STOP}


def name_candidates(texts: list[str], representative_idx: list[int],
                    background: dict[str, float] | None = None) -> dict[str, float]:
    """Phrases worth embedding for one theme, lower-cased, each with its coverage: the mean,
    over its content words, of the share of the theme's texts that use the word less the share
    of `background` texts (the other themes') that do, as c-TF-IDF weighs a term.

    Terms must recur (in two texts or more; any term in a theme of two texts), because a name
    should say what the theme's causes share; statements come from the texts closest to the
    centroid (see `statements`). When neither exists, the terms of the representative texts
    stand in, and failing those their titles. Without the background subtraction, words every
    text of the store uses ("vulnerability in TensorFlow") would name every theme.
    """
    background = background or {}
    per_text = [_phrases(text) for text in texts]
    used_in = Counter(gram for _, grams in per_text for gram in grams)
    recurring = sorted((gram for gram, n in used_in.items() if n >= 2 or len(texts) <= 2),
                       key=lambda gram: (-used_in[gram], -len(gram.split()), gram))
    picked = recurring[:CANDIDATES_PER_THEME]
    share = stem_shares(texts)

    def coverage(phrase: str) -> float:
        stems = _content_stems(phrase)
        return float(np.mean([share.get(s, 0.0) - background.get(s, 0.0) for s in stems])) if stems else 0.0

    spans = {span for k in representative_idx[:STATEMENT_SOURCES] for span in statements(texts[k])}
    # The statements whose words the theme uses most: the others are one text's details.
    picked += sorted(spans, key=lambda span: (-coverage(span), span))[:CANDIDATES_PER_THEME]
    if not picked:
        per_representative = CANDIDATES_PER_THEME // max(len(representative_idx), 1)
        for k in representative_idx:
            picked.extend(sorted(per_text[k][1])[:per_representative])
    if not picked:
        picked = [per_text[k][0] for k in representative_idx if per_text[k][0]]
    return {phrase: coverage(phrase) for phrase in dict.fromkeys(picked)}


@lru_cache(maxsize=1 << 16)
def _text_stems(text: str) -> frozenset[str]:
    # Each text's stems are counted for its theme and for the store (name_themes): once each.
    return frozenset(_stem(w) for w in _words(text))


def stem_shares(texts: list[str]) -> dict[str, float]:
    """Share of `texts` using each (singular) word."""
    counts = Counter(stem for text in texts for stem in _text_stems(text))
    return {stem: n / len(texts) for stem, n in counts.items()} if texts else {}


def written_forms(texts: list[str]) -> dict[str, str]:
    """Lower-cased statement -> as first written in `texts`, so a name keeps "StatefulSet"."""
    forms: dict[str, str] = {}
    for text in texts:
        for lower, written in statements(text).items():
            forms.setdefault(lower, written)
    return forms


def name_themes(theme_texts: list[list[str]], centroids: np.ndarray, representative_idx: list[list[int]],
                embed: Callable[[list[str]], np.ndarray]) -> list[str]:
    """A name in words for each theme, built from its own texts.

    KeyBERT-style: candidate phrases (see `name_candidates`) are embedded with the model that
    embedded the items and scored by cosine to the theme's centroid plus `COVERAGE_WEIGHT`
    times their coverage of the theme's words
    beyond the other themes' (see `name_candidates`); then maximal marginal relevance across
    themes (largest theme first) subtracts `NAME_DIVERSITY` times the candidate's likeness to
    names already given, and a name already taken is never reused. `embed` returns unit-length
    vectors. Deterministic: ties break on the phrase itself.
    """
    everything = [text for texts in theme_texts for text in texts]
    counts = {stem: share * len(everything) for stem, share in stem_shares(everything).items()}

    def others(texts: list[str]) -> dict[str, float]:
        rest = len(everything) - len(texts)
        own = stem_shares(texts)
        return {stem: (counts[stem] - own.get(stem, 0.0) * len(texts)) / rest for stem in counts} if rest else {}

    candidates = [name_candidates(texts, reps, others(texts))
                  for texts, reps in zip(theme_texts, representative_idx)]
    flat = sorted({c for cs in candidates for c in cs})
    vectors = np.asarray(embed(flat), dtype=np.float64) if flat else np.zeros((0, centroids.shape[1]))
    row = {c: k for k, c in enumerate(flat)}
    names: list[str] = [FALLBACK_NAME] * len(theme_texts)
    chosen_vectors: list[np.ndarray] = []
    taken: set[str] = set()
    order = sorted(range(len(theme_texts)), key=lambda t: (-len(theme_texts[t]), t))
    for t in order:
        options = [c for c in candidates[t] if c not in taken]
        if not options:
            continue
        option_vectors = vectors[[row[c] for c in options]]
        relevance = option_vectors @ np.asarray(centroids[t], dtype=np.float64)
        coverage = np.array([candidates[t][c] for c in options])
        redundancy = (np.max(option_vectors @ np.stack(chosen_vectors).T, axis=1)
                      if chosen_vectors else np.zeros(len(options)))
        score = relevance + COVERAGE_WEIGHT * coverage - NAME_DIVERSITY * np.maximum(redundancy, 0.0)
        best = min(range(len(options)), key=lambda k: (-round(float(score[k]), 9), options[k]))
        taken.add(options[best])
        chosen_vectors.append(option_vectors[best])
        names[t] = _as_name(written_forms([theme_texts[t][k] for k in representative_idx[t]])
                            .get(options[best], options[best]))
    return names


def _as_name(phrase: str) -> str:
    words = phrase.split()[:MAX_NAME_WORDS]
    name = " ".join(words)
    return name[0].upper() + name[1:]


def representatives(vectors: np.ndarray, centroid: np.ndarray, n: int = 3) -> list[int]:
    """Positions of the `n` items closest to the centroid, closest first (ties by position)."""
    sims = vectors @ centroid
    return sorted(range(len(vectors)), key=lambda i: (-round(float(sims[i]), 9), i))[:n]


def describe(name: str, vectors: np.ndarray, centroid: np.ndarray, categories: list[str | None],
             keywords: list[str], n_representatives: int = 3) -> ThemeDescription:
    counts = Counter(c for c in categories if c)
    total = sum(counts.values())
    mix = {c: round(n / total, 3) for c, n in sorted(counts.items())} if total else {}
    top = max(sorted(counts), key=lambda c: counts[c]) if counts else None
    return ThemeDescription(name, keywords, representatives(vectors, centroid, n_representatives), mix, top)
