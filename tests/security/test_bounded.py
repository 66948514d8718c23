"""No pattern backtracks: every adversarial input goes through every stage. Each input is
100 KB, where a quadratic pattern needs billions of steps (hours), so the child process's
generous timeout is only a guard that turns a hang into a failure; `bench/run.py security`
prints the times on 1 MB."""

from __future__ import annotations

from tests.security.hostile import ADVERSARIAL, ADVERSARIAL_FILES, FILE_STAGES, N, STAGES, run_stages


def test_every_stage_finishes_every_adversarial_input():
    rows = run_stages(N, list(STAGES), timeout=600)
    measured = {(stage, label) for stage, label, _, _ in rows if stage != "peak_rss_mb"}
    assert measured == {(s, a) for s in STAGES for a in ADVERSARIAL}


def test_every_parser_stage_finishes_every_adversarial_file():
    """The whole parser and lint on a valid file with each hostile piece inside it: unclosed
    `<!--` runs, "by" and many spaces, 10,000 repeated headings, an alias bomb."""
    rows = run_stages(N, list(FILE_STAGES), timeout=600, table="FILE_STAGES")
    measured = {(stage, label) for stage, label, _, _ in rows if stage != "peak_rss_mb"}
    assert measured == {(s, a) for s in FILE_STAGES for a in ADVERSARIAL_FILES}
