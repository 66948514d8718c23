"""The whole job, measured: `emberline run` end to end on the generated corpus, four times in a
row: cold (no warehouse, no reports, no Dagster history), nothing changed, one post-mortem
edited, one post-mortem added.

    python bench/job.py [--n 10000] [--seed 0] [--warm]

Each run is `python -m pipelines.cli run` in a fresh process, as a user runs it. Measured per
run: wall time; CPU time of the process and every process it started (os.wait4 on the child,
whose figures include its waited-for workers); peak RSS of the process tree, the largest sum
of the RSS of the job and its live descendants (psutil, sampled every 0.1 s), and of its
largest single process (ru_maxrss), and the step running when the tree's peak was sampled;
the report files rewritten (mtime changed); and every step's time from Dagster's step stats
of that run, so the slowest step is always visible.

The corpus is bench/out/corpus-n<N>-seed<S>/ (shared with the ingest benchmark). "Edited one"
appends a reviewer's line to one post-mortem (bench.generate.modify_one); "added one" files a
copy of the newest post-mortem under a new id. Both are undone afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/job.py`: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import modify_one, read_manifest
from bench.ingest import OUT_DIR, ensure_corpus

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TARGET_UNCHANGED_SECONDS = 10
TARGET_ONE_CHANGE_SECONDS = 30
TARGET_PEAK_RSS_BYTES = 2 << 30
STEPS_SHOWN = 12  # the slowest steps of the cold run, and every step slower than a second anywhere


def job_env(n: int, seed: int, store: Path) -> tuple[dict, Path]:
    home = OUT_DIR / f"job-n{n}-seed{seed}"
    env = {**os.environ, "EMBERLINE_POSTMORTEMS": str(store), "EMBERLINE_DB": str(home / "warehouse.duckdb"),
           "EMBERLINE_REPORTS": str(home / "reports"), "EMBERLINE_EXPORTS": str(home / "exports"),
           "EMBERLINE_THEMES_FILE": str(home / "themes.yaml"), "DAGSTER_HOME": str(home / "dagster_home"),
           "XDG_DATA_HOME": str(home / "xdg"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("EMBERLINE_WEBHOOK_URL", None)
    return env, home


class TreeSampler(threading.Thread):
    """The largest RSS sum of a process and its live descendants, sampled until stopped."""

    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak, self.peak_at = pid, interval, 0, 0.0
        self._done = threading.Event()

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._done.is_set():
            total = 0
            try:
                for proc in [root, *root.children(recursive=True)]:
                    try:
                        total += proc.memory_info().rss
                    except psutil.NoSuchProcess:
                        continue
            except psutil.NoSuchProcess:
                return
            if total > self.peak:
                self.peak, self.peak_at = total, time.time()
            self._done.wait(self.interval)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak


def mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()} \
        if folder.exists() else {}


def step_times(dagster_home: Path) -> dict[str, tuple[float, float]]:
    """(start, end) of each step of the latest run recorded in `dagster_home` (epoch seconds)."""
    code = ("import json, sys, dagster as dg\n"
            "with dg.DagsterInstance.get() as instance:\n"
            "    run = instance.get_runs(limit=1)[0]\n"
            "    print(json.dumps({s.step_key: (s.start_time, s.end_time) for s in instance.get_run_step_stats("
            "run.run_id) if s.end_time and s.start_time}))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "DAGSTER_HOME": str(dagster_home)})
    return {step: tuple(times) for step, times in json.loads(done.stdout.strip().splitlines()[-1]).items()}


def measure_run(env: dict, home: Path) -> dict:
    before = mtimes(home / "reports")
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run"], cwd=PROJECT_ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    sampler = TreeSampler(child.pid)
    sampler.start()
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    tree_peak = sampler.stop()
    if child.returncode != 0:
        raise RuntimeError(f"emberline run failed ({child.returncode}):\n{output.decode(errors='replace')[-4000:]}")
    after = mtimes(home / "reports")
    times = step_times(Path(env["DAGSTER_HOME"]))
    during = [step for step, (start, end) in times.items() if start <= sampler.peak_at <= end]
    return {"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime, "tree_peak": tree_peak,
            "peak_during": ", ".join(sorted(during)) or "between steps",
            "process_peak": usage.ru_maxrss * 1024, "steps": {step: end - start for step, (start, end) in times.items()},
            "reports_rewritten": sum(1 for name, m in after.items() if before.get(name) != m),
            "reports": len(after)}


def newest_postmortem(store: Path, files: list[str]) -> Path:
    """The generated post-mortem with front matter (its id can be changed in one line) that
    started last: a copy of it is what filing a new incident looks like, not a backdated one
    that would renumber every later incident of its themes."""
    def started(rel: str) -> str:
        text = (store / rel).read_text(encoding="utf-8")
        if not text.startswith("---") or "\nid: " not in text:
            return ""
        return next((line[len("started_at:"):].strip() for line in text.splitlines()
                     if line.startswith("started_at:")), "")

    return store / max(files, key=started)


def added_copy(source: Path) -> Path:
    """A new post-mortem: `source` under a new id and title, next to it."""
    text = source.read_text(encoding="utf-8")
    old_id = next(line for line in text.splitlines() if line.startswith("id: "))[4:].strip()
    new_id = re.sub(r"-(\d+)$", lambda m: f"-9{m.group(1)[-4:]}", old_id)  # 9xxxx: above every generated id
    text = text.replace(f"id: {old_id}", f"id: {new_id}", 1).replace("\ntitle: ", "\ntitle: Again: ", 1)
    target = source.with_name(f"{new_id}-added.md")
    target.write_text(text, encoding="utf-8")
    return target


def run(n: int = 10_000, seed: int = 0, warm: bool = False) -> list[dict]:
    """The four scenarios; `warm` keeps the warehouse of an earlier run instead of the cold
    run (its first run then re-renders what the code changed, and is shown as such)."""
    store, _ = ensure_corpus(n, seed)
    env, home = job_env(n, seed, store)
    if not warm or not (home / "warehouse.duckdb").exists():
        warm = False
        shutil.rmtree(home, ignore_errors=True)  # our own folder under bench/out: cold means nothing left
        home.mkdir(parents=True)
    files = read_manifest(store)["files"]
    load_before = os.getloadavg()[0]
    results = {"warm start" if warm else "cold": measure_run(env, home), "unchanged": measure_run(env, home)}
    edited = store / files[len(files) // 3]
    original = edited.read_bytes()
    added = None
    try:
        modify_one(edited)
        results["edited one"] = measure_run(env, home)
        added = added_copy(newest_postmortem(store, files))
        results["added one"] = measure_run(env, home)
    finally:
        edited.write_bytes(original)  # keep the cached corpus as generated
        if added is not None:
            added.unlink(missing_ok=True)
    return table(results, n, load_before)


def _s(seconds: float) -> str:
    return f"{seconds:.1f} s"


def _mib(n_bytes: int) -> str:
    return f"{n_bytes / (1 << 20):,.0f} MiB"


def table(results: dict[str, dict], n: int, load_before: float) -> list[dict]:
    """Measurements as rows, scenarios as columns."""
    def row(measurement: str, values: dict, target: str = "") -> dict:
        return {"measurement": measurement, **{s: values.get(s, "") for s in results}, "target": target}

    r = results
    one_change_ok = all(r[s]["seconds"] < TARGET_ONE_CHANGE_SECONDS for s in ("edited one", "added one") if s in r)
    rows = [
        row(f"corpus: {n:,} post-mortems; load average before: {load_before:.1f} on {os.cpu_count()} cores", {}),
        row("wall time", {s: _s(v["seconds"]) for s, v in r.items()},
            f"unchanged < {TARGET_UNCHANGED_SECONDS} s ({'met' if r['unchanged']['seconds'] < TARGET_UNCHANGED_SECONDS else 'NOT met'}); "
            f"one change < {TARGET_ONE_CHANGE_SECONDS} s ({'met' if one_change_ok else 'NOT met'})"),
        row("CPU time (job and the processes it started)", {s: _s(v["cpu_seconds"]) for s, v in r.items()}),
        row("peak RSS, process tree (sum)", {s: _mib(v["tree_peak"]) for s, v in r.items()},
            f"< 2 GiB ({'met' if max(v['tree_peak'] for v in r.values()) < TARGET_PEAK_RSS_BYTES else 'NOT met'})"),
        row("peak RSS of the tree reached during", {s: v["peak_during"] for s, v in r.items()}),
        row("peak RSS, largest process", {s: _mib(v["process_peak"]) for s, v in r.items()}),
        row("report files rewritten (of all published)",
            {s: f"{v['reports_rewritten']:,} of {v['reports']:,}" for s, v in r.items()}),
        row("slowest step", {s: "{} {:.1f} s".format(*max(v["steps"].items(), key=lambda kv: kv[1]))
                             for s, v in r.items() if v["steps"]}),
    ]
    cold = next(iter(r.values()))["steps"]
    shown = sorted(cold, key=lambda k: -cold[k])[:STEPS_SHOWN]
    shown += sorted({k for v in r.values() for k, t in v["steps"].items() if t >= 1.0} - set(shown))
    for step in shown:
        rows.append(row(f"step: {step}", {s: _s(v["steps"][step]) if step in v["steps"] else "–"
                                           for s, v in r.items()}))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="post-mortems in the generated corpus")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warm", action="store_true",
                        help="start from the warehouse of the last run instead of a cold run")
    args = parser.parse_args(argv)
    from bench.run import format_table

    print(format_table(run(args.n, args.seed, warm=args.warm)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
