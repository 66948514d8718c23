"""Theme benchmark on the generated corpus: the full theme build (embedding from cold, then
clustering and naming), an incremental run after one new post-mortem, clustering 20,000
items, and the similar-incidents table. Each scenario runs in a fresh process, so its time
and peak memory are its own.

    python bench/themes.py [--n 10000]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest import OUT_DIR, ensure_corpus  # noqa: E402

TARGET_CLUSTER_20K_SECONDS = 30.0
TARGET_INCREMENTAL_SECONDS = 20.0
TARGET_PEAK_RSS_BYTES = 3 << 30


def _peak_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child(scenario: str, store: Path, db: Path) -> dict:
    import numpy as np

    from pipelines.themes.build import build_themes, ensure_theme_schema
    from pipelines.themes.cluster import ThemeClusterer
    from pipelines.themes.embed import embed_with_cache, load_embedder
    from pipelines.themes.items import THEME_SETS, load_items
    from pipelines.themes.similar import build_similar_incidents
    from pipelines.warehouse.db import connect
    from pipelines.warehouse.ingest import ingest_store

    result: dict = {}
    con = connect(db)
    ensure_theme_schema(con)
    if scenario == "full":
        started = time.perf_counter()
        embedder = load_embedder()
        result["model_load_seconds"] = time.perf_counter() - started
        texts = [t for s in THEME_SETS for t in load_items(con, s)["text"].to_list()]
        started = time.perf_counter()
        _, embedded = embed_with_cache(con, texts, embedder)
        result["embed_seconds"], result["texts"], result["embedded"] = time.perf_counter() - started, len(texts), embedded
        started = time.perf_counter()
        summaries = build_themes(con, embedder, {}, run_id="bench-full")
        result["build_seconds"] = time.perf_counter() - started
        result["sets"] = {k: {"themes": v.themes, "items": v.items, "unclustered_share": v.unclustered_share,
                              "mode": v.mode} for k, v in summaries.items()}
        started = time.perf_counter()
        build_similar_incidents(con, embedder.model_id)
        result["similar_seconds"] = time.perf_counter() - started
    elif scenario == "incremental":
        embedder = load_embedder()
        started = time.perf_counter()
        summary = ingest_store(con, store)
        result["ingest_seconds"] = time.perf_counter() - started
        result["incidents_changed"] = summary.incidents_changed
        started = time.perf_counter()
        summaries = build_themes(con, embedder, {}, run_id="bench-incremental")
        result["build_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        build_similar_incidents(con, embedder.model_id)
        result["similar_seconds"] = time.perf_counter() - started
        result["embedded"] = sum(v.newly_embedded for v in summaries.values())
        result["modes"] = {k: v.mode for k, v in summaries.items()}
    elif scenario == "cluster20k":
        rows = con.execute("SELECT e.vector FROM theme_items i JOIN embeddings e USING (text_hash) "
                           "ORDER BY i.theme_set DESC, i.item_id LIMIT 20000").fetchall()
        vectors = np.asarray([r[0] for r in rows], dtype=np.float32)
        started = time.perf_counter()
        clusterer = ThemeClusterer(random_state=0).fit(vectors)
        result["fit_seconds"] = time.perf_counter() - started
        result["items"] = len(vectors)
        result["themes"] = int(clusterer.n_themes_)
        result["unclustered_share"] = float(np.mean(clusterer.labels_ < 0))
    con.close()
    result["peak_kib"] = _peak_kib()
    return result


def _measure(scenario: str, store: Path, db: Path) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", scenario, "--store", str(store), "--db", str(db)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    if done.returncode != 0:
        raise RuntimeError(f"{scenario} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _row(measurement: str, value: str, target: str = "", ok: bool | None = None) -> dict:
    return {"measurement": measurement, "value": value, "target": target, "ok": ok}


def _mib(kib: int) -> str:
    return f"{kib / 1024:,.0f} MiB"


def run(n: int = 10_000, seed: int = 0) -> list[dict]:
    from pipelines.warehouse.db import connect
    from pipelines.warehouse.ingest import ingest_store

    store, _ = ensure_corpus(n, seed)
    base = OUT_DIR / f"themes-n{n}-seed{seed}-ingested.duckdb"
    if not base.exists():
        with connect(base) as con:
            ingest_store(con, store)
    db = OUT_DIR / f"themes-n{n}-seed{seed}.duckdb"
    shutil.copy(base, db)
    full = _measure("full", store, db)
    cluster = _measure("cluster20k", store, db)

    # One new post-mortem: a copy of an existing one under a new id, its causes reworded.
    new_file = store / "zz-bench-new" / "PM-2099-001-bench-new.md"
    new_file.parent.mkdir(exist_ok=True)
    source = sorted(store.rglob("*.md"))[0].read_text(encoding="utf-8")
    new_file.write_text(source.replace("\nid: ", "\nid: PM-2099-001  # was ", 1)
                        .replace("Description: ", "Description: In a new incident, "), encoding="utf-8")
    try:
        incremental = _measure("incremental", store, db)
    finally:
        shutil.rmtree(new_file.parent)

    texts_per_second = full["embedded"] / full["embed_seconds"] if full["embed_seconds"] else 0.0
    rows = [
        _row("corpus", f"{n:,} post-mortems: {full['texts']:,} texts (root causes + eval gaps)"),
        _row("embedding from cold (fast encoder)", f"{full['embed_seconds']:.1f} s, {texts_per_second:,.0f} texts/s"),
        _row("full theme build after embedding (both sets)", f"{full['build_seconds']:.1f} s"),
    ]
    for name, s in full["sets"].items():
        rows.append(_row(f"  {name}: themes, unclustered", f"{s['themes']:,} themes from {s['items']:,} items, "
                                                          f"{s['unclustered_share']:.1%} unclustered"))
    rows += [
        _row("similar incidents (top 5 for every incident)", f"{full['similar_seconds']:.1f} s"),
        _row("full build: peak RSS", _mib(full["peak_kib"]), "< 3 GiB", full["peak_kib"] * 1024 < TARGET_PEAK_RSS_BYTES),
        _row("cluster 20,000 items (ThemeClusterer.fit)", f"{cluster['fit_seconds']:.1f} s ({cluster['items']:,} items, "
             f"{cluster['themes']} themes)", f"< {TARGET_CLUSTER_20K_SECONDS:g} s",
             cluster["fit_seconds"] < TARGET_CLUSTER_20K_SECONDS),
        _row("cluster 20,000: peak RSS", _mib(cluster["peak_kib"]), "< 3 GiB",
             cluster["peak_kib"] * 1024 < TARGET_PEAK_RSS_BYTES),
        _row("incremental: ingest of one new post-mortem", f"{incremental['ingest_seconds']:.2f} s"),
        _row("incremental: theme steps (build + similar)",
             f"{incremental['build_seconds'] + incremental['similar_seconds']:.1f} s "
             f"({incremental['embedded']} texts embedded, mode {incremental['modes']['root_cause']})",
             f"< {TARGET_INCREMENTAL_SECONDS:g} s",
             incremental["build_seconds"] + incremental["similar_seconds"] < TARGET_INCREMENTAL_SECONDS),
        _row("incremental: peak RSS", _mib(incremental["peak_kib"]), "< 3 GiB",
             incremental["peak_kib"] * 1024 < TARGET_PEAK_RSS_BYTES),
    ]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, Path(args.store), Path(args.db))))
        return 0
    from bench.run import format_table

    print(format_table(run(args.n)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
