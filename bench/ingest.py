"""Ingest benchmark: full load, no-change re-run and one-file-changed re-run of a generated
corpus, each in a fresh process so that its time and peak memory are its own.

    python bench/ingest.py [--n 10000] [--seed 0]

The corpus is generated once into bench/out/corpus-n<N>-seed<S>/ and reused while its
manifest matches. Peak RSS is the high-water mark (VmHWM) of the ingesting process plus that
of each parse worker it started (ru_maxrss of its children): the workers run at the same time,
so the sum is an upper bound of the memory the whole run held at once.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/ingest.py`: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import GENERATOR_VERSION, generate_corpus, modify_one, read_manifest

OUT_DIR = Path(__file__).resolve().parent / "out"
TARGET_FILES_PER_SECOND = 1_000
TARGET_NO_CHANGE_SECONDS = 3.0
TARGET_PEAK_RSS_BYTES = 1 << 30


def corpus_dir(n: int, seed: int = 0) -> Path:
    return OUT_DIR / f"corpus-n{n}-seed{seed}"


def ensure_corpus(n: int, seed: int = 0) -> tuple[Path, float | None]:
    """The generated corpus for (n, seed), and how long generating it took (None if reused)."""
    target = corpus_dir(n, seed)
    manifest = read_manifest(target)
    if manifest and (manifest["n"], manifest["seed"], manifest["generator_version"]) == (n, seed, GENERATOR_VERSION):
        return target, None
    shutil.rmtree(target, ignore_errors=True)  # our own folder under bench/out: a stale corpus goes whole
    started = time.perf_counter()
    generate_corpus(target, n, seed)
    return target, time.perf_counter() - started


def _measure_ingest_here(store: Path, db: Path, workers: int | None) -> dict:
    """Child side: one ingest run in this process; what the parent reads back."""
    from pipelines.warehouse.db import connect
    from pipelines.warehouse.ingest import ingest_store

    cpu_before = _cpu_seconds(resource.RUSAGE_SELF)
    started = time.perf_counter()
    con = connect(db)
    summary = ingest_store(con, store, workers=workers)
    con.close()
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        # CPU time does not stretch when other processes compete for the cores; wall time does.
        "cpu_seconds": _cpu_seconds(resource.RUSAGE_SELF) - cpu_before + _cpu_seconds(resource.RUSAGE_CHILDREN),
        "main_peak_kib": _own_peak_kib(),
        "worker_peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,  # KiB on Linux
        "workers": workers if workers is not None else (os.cpu_count() or 1),
        "summary": summary.as_metadata(),
    }


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _own_peak_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure_ingest(store: Path, db: Path, workers: int | None = None) -> dict:
    """Run one ingest of `store` into `db` in a fresh Python process and return its numbers."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", "--store", str(store), "--db", str(db)]
    if workers is not None:
        command += ["--workers", str(workers)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=Path(__file__).resolve().parent.parent)
    if done.returncode != 0:
        raise RuntimeError(f"ingest child failed ({done.returncode}):\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # Workers only exist when the run parsed enough files to start a pool.
    worker_total = result["worker_peak_kib"] * result["workers"] if result["worker_peak_kib"] else 0
    result["peak_rss_bytes"] = (result["main_peak_kib"] + worker_total) * 1024
    return result


def _remove_database(db: Path) -> None:
    for path in (db, db.with_name(db.name + ".wal")):
        path.unlink(missing_ok=True)


def _row(measurement: str, value: str, target: str = "", ok: bool | None = None) -> dict:
    return {"measurement": measurement, "value": value, "target": target, "ok": ok}


def _mib(n_bytes: int) -> str:
    return f"{n_bytes / (1 << 20):,.0f} MiB"


def run(n: int = 10_000, seed: int = 0, workers: int | None = None) -> list[dict]:
    """Measure the three ingest scenarios on a corpus of n generated post-mortems."""
    store, generation_seconds = ensure_corpus(n, seed)
    db = OUT_DIR / f"ingest-n{n}-seed{seed}.duckdb"
    _remove_database(db)
    manifest = read_manifest(store)
    corpus_bytes = sum((store / rel).stat().st_size for rel in manifest["files"])

    load_before = os.getloadavg()[0]
    full = measure_ingest(store, db, workers)
    unchanged = measure_ingest(store, db, workers)
    edited = store / manifest["files"][n // 2]
    original = edited.read_bytes()
    modify_one(edited)
    try:
        one_changed = measure_ingest(store, db, workers)
    finally:
        edited.write_bytes(original)  # keep the cached corpus as generated

    files_per_second = n / full["seconds"]
    generated = "reused" if generation_seconds is None else f"generated in {generation_seconds:.1f} s"
    rows = [
        _row("corpus", f"{n:,} files, {corpus_bytes / 1e6:.1f} MB ({generated})"),
        _row("load average (1 min) before the runs", f"{load_before:.1f} on {os.cpu_count()} cores"),
        _row("full ingest, fresh DuckDB file", f"{full['seconds']:.2f} s"),
        _row("full ingest: CPU time, main + workers", f"{full['cpu_seconds']:.1f} s ({n / full['cpu_seconds']:,.0f} files per CPU-second)"),
        _row("full ingest throughput", f"{files_per_second:,.0f} files/s", f">= {TARGET_FILES_PER_SECOND:,} files/s",
             files_per_second >= TARGET_FILES_PER_SECOND),
        _row("full ingest: incidents loaded", f"{full['summary']['incidents_loaded']:,}", f"= {n:,}",
             full["summary"]["incidents_loaded"] == n),
        _row("full ingest: peak RSS (main + workers)", _mib(full["peak_rss_bytes"]), "< 1 GiB",
             full["peak_rss_bytes"] < TARGET_PEAK_RSS_BYTES),
        _row("no-change re-run", f"{unchanged['seconds']:.2f} s", f"< {TARGET_NO_CHANGE_SECONDS:g} s",
             unchanged["seconds"] < TARGET_NO_CHANGE_SECONDS),
        _row("no-change re-run: files re-read", str(unchanged["summary"]["files_read"]), "= 0",
             unchanged["summary"]["files_read"] == 0),
        _row("no-change re-run: peak RSS", _mib(unchanged["peak_rss_bytes"]), "< 1 GiB",
             unchanged["peak_rss_bytes"] < TARGET_PEAK_RSS_BYTES),
        _row("one-file-changed re-run", f"{one_changed['seconds']:.2f} s"),
        _row("one-file-changed re-run: incidents changed", str(one_changed["summary"]["incidents_changed"]), "= 1",
             one_changed["summary"]["incidents_changed"] == 1),
        _row("one-file-changed re-run: peak RSS", _mib(one_changed["peak_rss_bytes"]), "< 1 GiB",
             one_changed["peak_rss_bytes"] < TARGET_PEAK_RSS_BYTES),
    ]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="post-mortems in the generated corpus")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None, help="parse processes (default: one per core)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_measure_ingest_here(args.store, args.db, args.workers)))
        return 0
    from bench.run import format_table

    print(format_table(run(args.n, args.seed, args.workers)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
