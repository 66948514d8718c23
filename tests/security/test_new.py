"""`emberline new` writes valid front matter whatever the title: YAML emitted, never spliced."""

from __future__ import annotations

import pytest

from pipelines.cli import main
from pipelines.postmortems.parse import parse_text


@pytest.mark.parametrize("title, expected", [
    ("Outage: the bot said 'no'", "Outage: the bot said 'no'"),
    ('He said "refund"', 'He said "refund"'),
    ("[draft] {x} *bold* !tag | pipe > gt % pct @ at", "[draft] {x} *bold* !tag | pipe > gt % pct @ at"),
    ("#2 in a row", "#2 in a row"),
    ("yes", "yes"),
    ("null", "null"),
    ("title\rid: PM-1999-001", "title id: PM-1999-001"),
    ("title\u2028id: PM-1999-001", "title id: PM-1999-001"),
    ("title\u0085status: published", "title status: published"),
    ("title\n---\nid: X", "title --- id: X"),
])
def test_any_title_round_trips_and_injects_nothing(tmp_path, capsys, title, expected):
    assert main(["new", title, "--store", str(tmp_path)]) == 0
    [path] = list(tmp_path.rglob("*.md"))
    assert path.resolve().is_relative_to(tmp_path.resolve()) and "/" not in path.name
    parsed = parse_text(path.read_text(encoding="utf-8"), path.name)
    pm = parsed.postmortem
    assert parsed.problems == [] and pm.title == expected
    assert pm.incident_id.startswith("PM-") and pm.incident_id != "PM-1999-001" and pm.status == "draft"
    assert pm.started_at is not None and pm.severity == "SEV3"
