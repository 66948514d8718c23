"""Embedding benchmark: the fast embedder against plain SentenceTransformer.encode, and the cache.

    .venv/bin/python bench/embedding.py [--n 5000] [--source generated|eval]

Both embedders embed the same texts in one run, interleaved chunk by chunk (the order flips
every chunk), so a noisy shared machine slows both alike; the speedup is reported as the
median of the per-chunk ratios and as the ratio of the totals. Cosine is fast against plain
on every text (min and mean). Peak RSS is measured in a child process per embedder, which
loads only that embedder and encodes up to 1,000 texts.

Then the cache: `embed_with_cache` on a fresh DuckDB file with all texts (cold), the same
texts again (all cached), and the same texts plus 10 new ones.

Texts are generated root-cause-like sentences of 20-80 words (deterministic), or with
`--source eval` the `text` field of the labelled incidents in ../shared/eval (override the
folder with EMBERLINE_EVAL_DIR), read at run time and never copied into the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/embedding.py`: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb
import numpy as np

from pipelines.themes.embed import Embedder, embed_with_cache, load_embedder

REPO_ROOT = Path(__file__).resolve().parent.parent
CHUNK = 256  # texts per interleaved timing chunk: long enough to time, short enough to interleave
RSS_TEXTS = 1_000

_SYSTEMS = ["the ranking model", "the support assistant", "the fraud classifier", "the retrieval index",
            "the summarisation service", "the prompt router", "the feature store", "the embedding refresh job",
            "the guardrail classifier", "the evaluation harness", "the labelling pipeline", "the moderation model",
            "the document parser", "the agent's tool router", "the nightly fine-tuning job", "the vector database",
            "the tokenizer", "the A/B assignment service", "the safety filter", "the reranker"]
_FAILURES = ["returned stale answers", "silently dropped non-English inputs", "invented a refund policy that does not exist",
             "over-blocked legitimate medical questions", "leaked parts of its system prompt", "ranked expired listings first",
             "flagged high-value customers as fraud", "timed out under peak load", "produced empty summaries for long documents",
             "called the payments tool without confirmation", "served vectors from the previous model version",
             "truncated inputs past {tokens} tokens without warning", "collapsed onto a single answer template",
             "scored every ticket as low priority", "ignored the user's locale", "cited documents the user may not see"]
_TRIGGERS = ["after a schema change in the upstream events table", "after a dependency upgrade changed a default",
             "when prompt version v{v} went to all traffic at once", "because a feature flag was left on in production",
             "after the training snapshot missed the last {days} days", "because a cache key ignored the model version",
             "when traffic from a new market arrived without translated examples", "after a hotfix skipped the offline evaluation",
             "because retries duplicated requests under load", "after a config file was copied from staging"]
_GAPS = ["the offline evaluation set had no examples of this input type", "the canary checked latency but not answer quality",
         "the quality metric was averaged over all locales, which hid a {pct}% drop in one of them",
         "the regression fixtures predate the schema change", "nobody owned the evaluation dataset after the reorganisation",
         "the golden set was too small to show a {pct}% drop", "human review sampled only the top-ranked results",
         "the dashboard hid errors behind a default filter"]
_IMPACTS = ["About {n},000 users were affected for {hours} hours.", "Support received {n}00 complaints before the rollback.",
            "It took {hours} hours to detect and {mitigate} more to mitigate.", "The estimated cost was {n},000 dollars in credits.",
            "We rolled back after {hours} hours and replayed the affected requests."]
_FOLLOW_UPS = ["We are adding targeted test cases and a per-segment quality alert.",
               "The fix pins the dependency and adds a contract test.",
               "Prompt changes now go through a staged rollout with evaluation gates.",
               "Cache keys now include the model id.", "The evaluation dataset has an owner and a monthly review."]


def root_cause_texts(n: int, seed: int = 0) -> list[str]:
    """`n` root-cause-like texts of 20-80 words in whole sentences, the same for the same `n` and `seed`."""
    rng = random.Random(seed)

    def fill(template: str) -> str:
        return template.format(tokens=rng.choice((256, 512, 1024)), v=rng.randint(2, 60), days=rng.randint(2, 20),
                               pct=rng.randint(2, 30), n=rng.randint(2, 90), hours=rng.randint(1, 30),
                               mitigate=rng.randint(1, 9))

    extras = [lambda: f"The evaluation gap: {fill(rng.choice(_GAPS))}.", lambda: fill(rng.choice(_IMPACTS)),
              lambda: rng.choice(_FOLLOW_UPS),
              lambda: f"A related symptom: {rng.choice(_SYSTEMS)} {fill(rng.choice(_FAILURES))}."]
    texts = []
    for _ in range(n):
        words_wanted = rng.randint(20, 80)
        words = (f"{rng.choice(_SYSTEMS).capitalize()} {fill(rng.choice(_FAILURES))} "
                 f"{fill(rng.choice(_TRIGGERS))}.").split()
        while len(words) < words_wanted:
            sentence = rng.choice(extras)().split()
            if len(words) + len(sentence) > 80:  # whole sentences only; a sentence is < 20 words
                break
            words += sentence
        texts.append(" ".join(words))
    return texts


def eval_texts() -> list[str]:
    """The `text` of every labelled incident in ../shared/eval (or EMBERLINE_EVAL_DIR)."""
    folder = Path(os.environ.get("EMBERLINE_EVAL_DIR") or REPO_ROOT.parent / "shared" / "eval")
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise FileNotFoundError(f"no *.jsonl in {folder} (set EMBERLINE_EVAL_DIR)")
    return [json.loads(line)["text"] for file in files for line in file.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def benchmark_texts(n: int, source: str = "generated") -> list[str]:
    if source == "generated":
        return root_cause_texts(n)
    texts = eval_texts()
    return [texts[k % len(texts)] for k in range(n)]  # repeated when n is larger than the set


def _interleaved(plain: Embedder, fast: Embedder, texts: list[str]) -> dict:
    """Encode `texts` with both, chunk by chunk in alternating order; times and vectors."""
    seconds = {"plain": [], "fast": []}
    cpu_seconds = {"plain": 0.0, "fast": 0.0}
    vectors = {"plain": [], "fast": []}
    embedders = {"plain": plain, "fast": fast}
    for k, start in enumerate(range(0, len(texts), CHUNK)):
        chunk = texts[start:start + CHUNK]
        for name in ("plain", "fast") if k % 2 == 0 else ("fast", "plain"):
            wall, cpu = time.perf_counter(), time.process_time()
            vectors[name].append(embedders[name].encode(chunk))
            seconds[name].append(time.perf_counter() - wall)
            cpu_seconds[name] += time.process_time() - cpu
    return {"seconds": seconds, "cpu_seconds": cpu_seconds,
            "vectors": {name: np.concatenate(parts) for name, parts in vectors.items()}}


def _peak_rss_mib(fast: bool, n: int, source: str) -> float | None:
    """Peak RSS of a child process that loads one embedder and encodes `n` texts."""
    result = subprocess.run([sys.executable, __file__, "--rss-child", "fast" if fast else "plain",
                             "--n", str(n), "--source", source], capture_output=True, text=True, cwd=REPO_ROOT, check=False)
    lines = result.stdout.strip().splitlines()
    return float(lines[-1]) if result.returncode == 0 and lines else None


def _rss_child(mode: str, n: int, source: str) -> None:
    embedder = load_embedder(fast=mode == "fast")
    embedder.encode(benchmark_texts(n, source))
    status = Path("/proc/self/status").read_text()
    peak_kib = int(status.split("VmHWM:")[1].split()[0])
    print(round(peak_kib / 1024, 1))


def _cache_rows(texts: list[str], embedder: Embedder) -> list[dict]:
    new_texts = [f"{text} (follow-up {k})" for k, text in enumerate(root_cause_texts(10, seed=1))]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        con = duckdb.connect(str(Path(folder) / "bench.duckdb"))
        for stage, batch in (("cache: cold", texts), ("cache: again, all cached", texts),
                             ("cache: again + 10 new texts", texts + new_texts)):
            started = time.perf_counter()
            _, newly_embedded = embed_with_cache(con, batch, embedder)
            seconds = time.perf_counter() - started
            rows.append({"stage": stage, "embedder": embedder.model_id, "texts": len(batch),
                         "newly embedded": newly_embedded, "seconds": round(seconds, 3),
                         "texts/s": round(len(batch) / seconds, 1)})
        con.close()
    return rows


def run(n: int = 5000, source: str = "generated") -> list[dict]:
    """Table rows: plain vs fast encode side by side, then the cache's three calls."""
    texts = benchmark_texts(n, source)
    started = time.perf_counter()
    fast = load_embedder(fast=True)
    fast_load = time.perf_counter() - started
    started = time.perf_counter()
    plain = load_embedder(fast=False)
    plain_load = time.perf_counter() - started
    warm_up = texts[:64]
    plain.encode(warm_up)
    fast.encode(warm_up)

    tokens_before = fast.tokens_processed or 0
    measured = _interleaved(plain, fast, texts)
    # Same tokenizer and truncation for both, so the fast embedder's count is plain's too.
    tokens = (fast.tokens_processed or 0) - tokens_before
    cosines = (measured["vectors"]["plain"] * measured["vectors"]["fast"]).sum(axis=1)
    plain_seconds, fast_seconds = measured["seconds"]["plain"], measured["seconds"]["fast"]
    chunk_ratios = [p / f for p, f in zip(plain_seconds, fast_seconds)]
    rss_texts = min(n, RSS_TEXTS)
    rows = []
    for name, embedder, seconds, load_seconds, fast_mode in (
            ("plain encode", plain, plain_seconds, plain_load, False),
            ("fast encode", fast, fast_seconds, fast_load, True)):
        total = sum(seconds)
        rows.append({
            "stage": name, "embedder": embedder.model_id, "texts": n,
            "texts/s": round(n / total, 1), "tokens/s": round(tokens / total),
            "speedup (median of chunks)": round(statistics.median(chunk_ratios), 2) if fast_mode else 1.0,
            "speedup (total)": round(sum(plain_seconds) / total, 2) if fast_mode else 1.0,
            "cpu s per 1k texts": round(1000 * measured["cpu_seconds"]["fast" if fast_mode else "plain"] / n, 1),
            # Strings: the table prints floats to 3 significant digits, which would show 0.9899 as 0.99.
            "cos to plain min": f"{cosines.min():.4f}" if fast_mode else None,
            "cos to plain mean": f"{cosines.mean():.4f}" if fast_mode else None,
            f"peak RSS MiB ({rss_texts} texts)": _peak_rss_mib(fast_mode, rss_texts, source),
            "load s": round(load_seconds, 1),
        })
    return rows + _cache_rows(texts, fast)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="texts to embed (default 5000)")
    parser.add_argument("--source", choices=("generated", "eval"), default="generated")
    parser.add_argument("--rss-child", choices=("plain", "fast"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        _rss_child(args.rss_child, args.n, args.source)
        return 0
    from bench.run import format_table

    print(format_table(run(args.n, args.source)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
