"""The eval exports load in the frameworks as they are: the Inspect dataset through
inspect-ai's own reader (and an Inspect run over it links back), the promptfoo config against
the schema promptfoo's npm package defines; stubs for the incidents without a case; nothing
unredacted in any format."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import duckdb
import jsonschema
import pytest
import yaml

from pipelines.evals.link import link_eval_suite
from pipelines.reports.evals import CASE_FILES, STUB_FILES, TODO_INPUT, write_eval_exports
from pipelines.reports.redact import SensitiveDataError
from tests.conftest import PROJECT_ROOT, postmortem, write
from tests.evals.suite_fixture import run_inspect
from tests.reports.conftest import build_warehouse
from tests.reports.test_exports import run

# Written by `make promptfoo-schema` from the promptfoo npm package (Makefile, .ci/promptfoo).
PROMPTFOO_SCHEMA = Path(os.environ.get("EMBERLINE_PROMPTFOO_SCHEMA")
                        or Path(sys.prefix) / "promptfoo" / "config-schema.json")


@pytest.fixture(scope="module")
def exports(linked, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("exports")
    with duckdb.connect(str(linked.warehouse), read_only=True) as con:
        write_eval_exports(con, out)
    return out


@pytest.fixture(scope="module")
def promptfoo_validator():
    assert PROMPTFOO_SCHEMA.exists(), (f"{PROMPTFOO_SCHEMA} is missing: run `make promptfoo-schema` (it fetches "
                                       "promptfoo from the npm registry)")
    schema = json.loads(PROMPTFOO_SCHEMA.read_text(encoding="utf-8"))
    assert schema["title"].startswith("promptfoo ")
    return jsonschema.validators.validator_for(schema)(schema)


def test_inspect_export_loads_with_inspect_ais_dataset_reader(exports, linked):
    from inspect_ai.dataset import json_dataset

    dataset = json_dataset(str(exports / CASE_FILES["inspect"]))
    with duckdb.connect(str(linked.warehouse), read_only=True) as con:
        expected = dict(con.execute("""SELECT incident_id, new_eval_case_checks FROM postmortems
                                       WHERE new_eval_case_id IS NOT NULL OR new_eval_case_checks IS NOT NULL""").fetchall())
        theme = con.execute("""SELECT t.name FROM theme_assignments a JOIN themes t USING (theme_set, theme_id)
                               JOIN root_causes r ON r.cause_id = a.item_id
                               WHERE a.incident_id = ? ORDER BY r.seq LIMIT 1""", [linked.by_path]).fetchall()[0][0]
    samples = {s.id: s for s in dataset}
    assert set(samples) == set(expected)
    sample = samples[linked.by_path]
    assert sample.target == expected[linked.by_path]
    assert sample.metadata["incident_id"] == linked.by_path and sample.metadata["theme"] == theme
    assert sample.metadata["failing_outputs"] and isinstance(sample.input, str) and sample.input


def test_promptfoo_export_validates_against_promptfoos_config_schema(exports, promptfoo_validator):
    for name in (CASE_FILES["promptfoo"], STUB_FILES["promptfoo"]):
        config = yaml.safe_load((exports / name).read_text(encoding="utf-8"))
        errors = [e.message for e in promptfoo_validator.iter_errors(config)]
        assert errors == [], (name, errors[:3])
        assert config["tests"] and all(t["vars"]["incident_id"] for t in config["tests"])
        assert all(t["assert"][0]["type"] == "llm-rubric" for t in config["tests"])
    # The schema is strict enough to catch a mistake in our shape.
    config["tests"][0]["asserts"] = config["tests"][0].pop("assert")
    assert list(promptfoo_validator.iter_errors(config))


def test_stubs_for_every_incident_without_a_case_in_the_suite(exports, linked):
    from inspect_ai.dataset import json_dataset

    stubs = {s.id: s for s in json_dataset(str(exports / STUB_FILES["inspect"]))}
    with duckdb.connect(str(linked.warehouse), read_only=True) as con:
        without = {r[0] for r in con.execute(
            "SELECT incident_id FROM eval_case_status WHERE status IN ('missing', 'not_named')").fetchall()}
        gap = con.execute("SELECT text FROM eval_gaps WHERE incident_id = ? ORDER BY source <> 'analysis', seq",
                          [linked.not_named]).fetchall()
    assert set(stubs) == without
    not_named = stubs[linked.not_named]
    assert not_named.metadata["stub"] is True and not_named.metadata["reason"] == "no eval case named"
    assert gap and gap[0][0][:40] in not_named.target and not_named.target.startswith("TODO:")
    assert stubs[linked.missing].metadata["reason"] == "named but not in the eval suite"
    assert stubs[linked.missing].metadata["owner"]
    lines = [json.loads(x) for x in (exports / STUB_FILES["jsonl"]).read_text().splitlines()]
    assert {x["incident_id"] for x in lines} == without


def test_an_inspect_run_over_the_export_links_back_to_its_incidents(exports, linked, tmp_path):
    log = run_inspect(exports / CASE_FILES["inspect"], tmp_path / "results")
    with duckdb.connect(str(linked.warehouse), read_only=True) as con:
        link = link_eval_suite(con, linked.suite, log.parent)
    by_incident = {r["incident_id"]: r for r in link.status}
    ran = [r for r in link.results if r["incident_id"]]
    assert {r["linked_by"] for r in ran} == {"metadata"} and len(ran) == len(json_lines(exports / CASE_FILES["inspect"]))
    # The mock model never gives the expected behaviour: every exported case fails.
    assert by_incident[linked.by_path]["outcome"] == "failing" and by_incident[linked.missing]["runs"] == 1


def json_lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_format_flag_writes_only_that_format(linked, tmp_path, capsys):
    out = tmp_path / "exports"
    assert run(["export", "evals", "--format", "inspect", "--db", str(linked.warehouse), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([CASE_FILES["inspect"], STUB_FILES["inspect"]])
    printed = capsys.readouterr().out
    assert printed.startswith("inspect: ") and "None" not in printed
    assert run(["export", "evals", "--format", "promptfoo", "--format", "jsonl", "--db", str(linked.warehouse),
                "--out", str(out)]) == 0
    assert len(list(out.iterdir())) == 6


def test_every_format_is_redacted(store, tmp_path):
    write(store / "leaky.md", postmortem("PM-2026-002").replace(
        "> Our 60-day refund window applies to order [ORDER_ID].",
        "> User: my email is dana.kim@example.com → Bot: call +1 415 555 0100"))
    write(store / "none.md", postmortem("PM-2026-003").replace(
        "- Eval case: evals/support/refund-policy-freshness.yaml\n", "").replace(
        "- Checks: answers about refunds cite an article updated after the last policy change.\n", "").replace(
        "> You can get a full refund within 60 days, [CUSTOMER_NAME].", "> Write to ops@example.com for a full refund."))
    database = build_warehouse(store, tmp_path / "w.duckdb", themes=False)
    with duckdb.connect(str(database), read_only=True) as con:
        export = write_eval_exports(con, tmp_path / "out")
    assert len(export.files) == 6
    texts = {name: path.read_text() for name, path in export.files.items()}
    for name, text in texts.items():
        assert "dana.kim" not in text and "555 0100" not in text and "ops@example.com" not in text, name
    assert "[EMAIL]" in texts[CASE_FILES["promptfoo"]] and "[EMAIL]" in texts[STUB_FILES["inspect"]]
    [inspect_case] = json_lines(tmp_path / "out" / CASE_FILES["inspect"])
    assert inspect_case["input"] == "my email is [EMAIL]" and inspect_case["input"] != TODO_INPUT


def test_a_case_that_could_not_be_masked_is_held_back_and_nothing_leaks(monkeypatch, store, tmp_path):
    import pipelines.reports.evals as evals

    write(store / "a.md", postmortem("PM-2026-001"))
    database = build_warehouse(store, tmp_path / "w.duckdb", themes=False)
    monkeypatch.setattr(evals, "mask_sensitive", lambda text: text + " leaked@example.com" if text else text)
    with duckdb.connect(str(database), read_only=True) as con:
        export = evals.write_eval_exports(con, tmp_path / "out")
    assert list(export.held_back) == ["PM-2026-001"] and export.cases == 0
    assert "sensitive data" in export.held_back["PM-2026-001"]
    for text in [*(path.read_text() for path in export.files.values()), *export.held_back.values()]:
        assert "leaked@example.com" not in text
    assert (PROJECT_ROOT / ".ci" / "promptfoo" / "package.json").exists()
