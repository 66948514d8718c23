"""The synthetic corpus: deterministic, the size asked for, and every file readable by the
real parser with the root causes the generator put in it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.generate import (
    THEMES,
    generate_corpus,
    modify_one,
    read_labels,
    read_manifest,
)
from pipelines.postmortems.parse import parse_text

N = 40


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.md"))}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[Path]]:
    root = tmp_path_factory.mktemp("corpus")
    return root, generate_corpus(root, N, seed=3)


def test_same_seed_writes_the_same_bytes(corpus, tmp_path):
    root, _ = corpus
    generate_corpus(tmp_path, N, seed=3)
    assert _snapshot(tmp_path) == _snapshot(root)


def test_another_seed_writes_another_corpus(corpus, tmp_path):
    root, _ = corpus
    generate_corpus(tmp_path, N, seed=4)
    assert _snapshot(tmp_path) != _snapshot(root)


def test_writes_n_files_in_year_and_team_folders(corpus):
    root, paths = corpus
    assert len(paths) == N == len(list(root.rglob("*.md")))
    assert read_manifest(root)["n"] == N
    for path in paths:
        year, team, name = path.relative_to(root).parts
        assert year in ("2025", "2026") and name.startswith(f"PM-{year}-")
        assert team and name.endswith(".md")


def test_every_file_parses_without_problems_and_with_its_root_causes(corpus):
    root, paths = corpus
    causes_per_incident = Counter(incident_id for incident_id, _ in read_labels(root))
    for path in paths:
        rel = path.relative_to(root).as_posix()
        parsed = parse_text(path.read_text(encoding="utf-8"), rel)
        assert parsed.problems == [], rel
        pm = parsed.postmortem
        assert pm is not None and pm.incident_id in causes_per_incident, rel
        assert len(pm.root_causes) == causes_per_incident[pm.incident_id] >= 1, rel


def test_corpus_varies_like_real_post_mortems(corpus):
    root, paths = corpus
    parsed = [parse_text(p.read_text(encoding="utf-8"), p.name).postmortem for p in paths]
    # Front matter in most files, not all; some drafts; dates across the two years.
    assert 0 < sum(not pm.has_front_matter for pm in parsed) < N / 2
    assert any(pm.status == "draft" for pm in parsed)
    starts = [pm.started_at for pm in parsed if pm.started_at is not None]
    assert min(starts) >= datetime(2025, 1, 1, tzinfo=UTC)
    assert max(starts) < datetime(2026, 12, 1, tzinfo=UTC)
    assert len({s.year for s in starts}) == 2
    labels = read_labels(root)
    assert set(labels.values()) <= {theme.key for theme in THEMES}
    assert len(set(labels.values())) >= 10


def test_causes_of_one_theme_are_worded_differently(tmp_path):
    paths = generate_corpus(tmp_path, 200, seed=1)
    labels = read_labels(tmp_path)
    descriptions: dict[str, set[str]] = {}
    for path in paths:
        pm = parse_text(path.read_text(encoding="utf-8"), path.name).postmortem
        for cause in pm.root_causes:
            descriptions.setdefault(labels[(pm.incident_id, cause.seq)], set()).add(cause.description)
    counts = Counter(labels.values())
    common_theme = counts.most_common(1)[0][0]
    # Recoverable (labelled) but not one repeated string.
    assert len(descriptions[common_theme]) > counts[common_theme] / 2


def test_modify_one_changes_size_and_keeps_the_file_valid(corpus, tmp_path):
    _, paths = corpus
    path = tmp_path / "copy.md"
    path.write_bytes(paths[0].read_bytes())
    before = path.read_bytes()
    modify_one(path)
    modify_one(path)
    after = path.read_bytes()
    assert len(after) > len(before) and after.startswith(before)
    parsed = parse_text(after.decode("utf-8"), "copy.md")
    assert parsed.problems == [] and parsed.postmortem.root_causes
