"""A small eval suite and results folder around the sample store, built by the tests: some
promised cases present and passing, one failing, most missing, and the bad inputs a real
folder has. Inspect logs are written by inspect-ai itself, running the suite's own datasets
against its mock model; promptfoo output follows the shape `promptfoo eval -o` writes."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import yaml

# The mock model answers every prompt with this text, so a target it contains passes
# Inspect's `includes()` scorer and any other target fails.
MOCK_OUTPUT = "Default output from mockllm/model"


@dataclass
class LinkedStore:
    warehouse: Path
    suite: Path
    results: Path
    by_path: str  # incident whose case is found by path; promptfoo results, passing
    by_file_name: str  # found by file name (another extension); Inspect run, failing
    by_case_id: str  # found as a sample id in a shared dataset; Inspect run, passing
    missing: str  # promised, not in the suite
    not_named: str


def run_inspect(dataset: Path, log_dir: Path, *, log_format: str = "json") -> Path:
    from inspect_ai import Task, eval
    from inspect_ai.dataset import json_dataset
    from inspect_ai.scorer import includes
    from inspect_ai.solver import generate

    task = Task(dataset=json_dataset(str(dataset)), solver=[generate()], scorer=includes(),
                name=f"regressions_{dataset.stem.replace('-', '_')}")
    [log] = eval(task, model="mockllm/model", log_dir=str(log_dir), log_format=log_format, display="none")
    assert log.status == "success", log.error
    return Path(log.location)


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def promptfoo_output(test_results: list[tuple[dict, bool]], when: datetime) -> dict:
    """The JSON `promptfoo eval -o out.json` writes (version 3 results)."""
    rows = [{"id": f"r{i}", "promptIdx": 0, "testIdx": i, "testCase": case, "vars": case.get("vars", {}),
             "provider": {"id": "openai:gpt-4o-mini", "label": ""}, "prompt": {"raw": "{{input}}", "label": "p"},
             "response": {"output": "an answer"}, "success": passed, "score": 1.0 if passed else 0.0,
             "latencyMs": 12, "gradingResult": {"pass": passed, "score": 1.0 if passed else 0.0, "reason": "rubric"},
             "namedScores": {}, "cost": 0, "metadata": {}} for i, (case, passed) in enumerate(test_results)]
    return {"evalId": f"eval-{when:%Y%m%dT%H%M%S}", "results": {
        "version": 3, "timestamp": when.isoformat(), "prompts": [], "results": rows,
        "stats": {"successes": sum(p for _, p in test_results), "failures": sum(not p for _, p in test_results)}},
        "config": {"description": "team regressions"}, "shareableUrl": None}


def build_linked_store(sample_warehouse: Path, root: Path, *, now: datetime | None = None) -> LinkedStore:
    now = now or datetime.now(UTC)
    warehouse = root / "warehouse.duckdb"
    shutil.copyfile(sample_warehouse, warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        named = [r[0] for r in con.execute("""SELECT incident_id FROM postmortems WHERE new_eval_case_id IS NOT NULL
                                              ORDER BY incident_date, incident_id""").fetchall()]
        promised = dict(con.execute("SELECT incident_id, new_eval_case_id FROM postmortems").fetchall())
        not_named = con.execute("SELECT min(incident_id) FROM postmortems WHERE new_eval_case_id IS NULL "
                                "AND new_eval_case_checks IS NULL").fetchall()[0][0]
    by_path, by_file_name, by_case_id, missing = named[0], named[1], named[2], named[3]
    suite, results = root / "suite" / "evals", root / "results"
    # The suite folder is the repository's `evals` folder: the promised `evals/a/b.yaml` is `a/b.yaml` here.
    path_case = suite / Path(promised[by_path]).relative_to("evals")
    path_case.parent.mkdir(parents=True, exist_ok=True)
    path_case.write_text(yaml.safe_dump({"tests": [{"description": "regression", "vars": {"input": "a question"},
                                                    "metadata": {"incident_id": by_path}}]}), encoding="utf-8")
    file_name_case = _jsonl(suite / "regressions" / (Path(promised[by_file_name]).stem + ".jsonl"), [
        {"id": "answers-cite-current-source", "input": "What changed?", "target": "cites the current source"}])
    shared = _jsonl(suite / "shared" / "team-regressions.jsonl", [
        {"id": Path(promised[by_case_id]).stem, "input": "Repeat the answer", "target": "Default output"},
        {"id": "unrelated-team-case", "input": "Hello", "target": "Default output"}])
    _jsonl(suite / "shared" / "typo.jsonl", [{"id": "x", "input": "q", "target": "t",
                                             "metadata": {"incident_id": "PM-2099-001"}}])
    (suite / "broken.yaml").write_text("tests: [\n  - description: unterminated\n", encoding="utf-8")

    failing_log = run_inspect(file_name_case, results / "inspect")
    passing_log = run_inspect(shared, results / "inspect", log_format="eval")
    # A log from a newer Inspect release with the next log format: the same log, re-stamped.
    other = json.loads(failing_log.read_text(encoding="utf-8"))
    other["version"] = 3
    other["eval"]["packages"] = {"inspect_ai": "0.4.2"}
    (results / "inspect" / "from-another-inspect.json").write_text(json.dumps(other), encoding="utf-8")
    promptfoo = results / "promptfoo"
    promptfoo.mkdir(parents=True)
    case = {"description": "regression", "vars": {"input": "a question"}, "metadata": {"incident_id": by_path}}
    (promptfoo / "older.json").write_text(json.dumps(promptfoo_output([(case, False)], now - timedelta(days=3))))
    (promptfoo / "latest.json").write_text(json.dumps(promptfoo_output([(case, True)], now - timedelta(hours=1))))
    (promptfoo / "truncated.json").write_text('{"evalId": "x", "results": {"results": [\n', encoding="utf-8")
    (promptfoo / "package.json").write_text('{"name": "not results"}', encoding="utf-8")
    assert passing_log.suffix == ".eval"
    return LinkedStore(warehouse, suite, results, by_path, by_file_name, by_case_id, missing, not_named)
