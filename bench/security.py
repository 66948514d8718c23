"""Hostile input: the worst case per pattern and per parser stage on 1 MB adversarial input.

Each pattern or stage runs every adversarial input of tests/security/hostile.py in a child
process (so one that hangs is reported, not waited on forever, and its peak memory is its
own). The row shows the slowest input. Target (issue 10): every one under 1 s.
"""

from __future__ import annotations

import subprocess

from tests.security.hostile import ADVERSARIAL, ADVERSARIAL_FILES, FILE_STAGES, PATTERN_STAGES, STAGES, run_stages

SIZE = 1_000_000
TIMEOUT_S = 600.0  # per child: all adversarial inputs through one stage
FILE_TIMEOUT_S = 30.0  # per child for the parser: one file, both stages


def _rows(results: list[list], kind: str) -> list[dict]:
    peak = next(r[3] for r in results if r[0] == "peak_rss_mb")
    worst: dict[str, list] = {}
    for stage, label, size, seconds in results:
        if stage != "peak_rss_mb" and (stage not in worst or seconds > worst[stage][3]):
            worst[stage] = [stage, label, size, seconds]
    return [{"kind": kind, "pattern or stage": stage, "worst input": label, "input MB": size / 1e6,
             "worst s": seconds, "peak RSS MB (process)": peak, "under 1 s": seconds < 1.0}
            for stage, label, size, seconds in worst.values()]


def _guarded(stages: list[str], kind: str, table: str, inputs: list[str]) -> list[dict]:
    timeout = FILE_TIMEOUT_S if table == "FILE_STAGES" else TIMEOUT_S
    try:
        return _rows(run_stages(SIZE, stages, timeout, table=table, inputs=inputs), kind)
    except subprocess.TimeoutExpired:
        return [{"kind": kind, "pattern or stage": stage, "worst input": ", ".join(inputs),
                 "input MB": SIZE / 1e6, "worst s": None, "peak RSS MB (process)": None, "under 1 s": False,
                 "note": f"over {timeout:g} s (stopped)"} for stage in stages]


def run() -> list[dict]:
    rows = []
    for stage in PATTERN_STAGES:
        rows += _guarded([stage], "pattern", "PATTERN_STAGES", list(ADVERSARIAL))
    for stage in STAGES:
        rows += _guarded([stage], "stage", "STAGES", list(ADVERSARIAL))
    # One file per child for the parser: a pattern there that backtracks costs only its own row.
    by_stage: dict[str, dict] = {}
    for label in ADVERSARIAL_FILES:
        for row in _guarded(list(FILE_STAGES), "parser", "FILE_STAGES", [label]):
            current = by_stage.get(row["pattern or stage"])
            if current is None or (row["worst s"] is None or (current["worst s"] is not None
                                                               and row["worst s"] > current["worst s"])):
                by_stage[row["pattern or stage"]] = row
            if row["worst s"] is None or row["worst s"] >= 1.0:
                rows.append(dict(row, **{"pattern or stage": f"{row['pattern or stage']} ({label})"}))
    return rows + list(by_stage.values())

