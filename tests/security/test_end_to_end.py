"""A store seeded with every planted secret and hostile file runs through the pipeline's
Dagster assets and checks: the run succeeds, everything clean is published, and no file it
writes holds any part of a planted secret."""

from __future__ import annotations

import os

import dagster as dg

from pipelines.defs.ingest import ingest_postmortems
from pipelines.defs.reports import ReportOutputs
from pipelines.defs.resources import Warehouse
from tests.conftest import postmortem, write
from tests.defs.test_checks import OUTPUT_ASSETS, OUTPUT_CHECKS
from tests.reports.test_exports import external
from tests.security.hostile import PLANTED
from tests.security.test_front_matter import bombed


def test_planted_secrets_never_leave_and_everything_else_publishes(store, tmp_path):
    write(store / "clean.md", external("PM-2026-001"))
    for number, (_, text, _) in enumerate(PLANTED, start=10):
        # Each secret where people paste them: the summary, published externally.
        write(store / f"leak-{number}.md", external(f"PM-2026-0{number}", summary=f"We saw this: {text}."))
    write(store / "alias-bomb.md", bombed("tags").replace("PM-2026-001", "PM-2026-002"))
    write(store / "huge-number.md", postmortem("PM-2026-003").replace("customers_affected: 300",
                                                                        f"customers_affected: {2 ** 70}"))
    write(store / "email-severity.md", postmortem("PM-2026-004").replace("severity: SEV2",
                                                                         "severity: ops@example.com"))
    write(store / "separator.md", postmortem("PM-2026-005").replace(
        "[CUSTOMER_NAME]", "\u2028dana.kim@example.com\u2028"))
    write(store / "escape.md", external("../../../outside"))
    os.mkfifo(store / "pipe.md")
    warehouse = Warehouse(postmortems_dir=str(store), database=str(tmp_path / "warehouse.duckdb"))
    outputs = ReportOutputs(reports_dir=str(tmp_path / "reports"), exports_dir=str(tmp_path / "exports"),
                            staging_dir=str(tmp_path / "build" / "outputs"),
                            external_config=str(tmp_path / "none.yaml"))

    result = dg.materialize([ingest_postmortems, *OUTPUT_ASSETS, *OUTPUT_CHECKS],
                            resources={"warehouse": warehouse, "report_outputs": outputs})

    assert result.success and all(e.passed for e in result.get_asset_check_evaluations())
    exported = result.asset_materializations_for_node("external_postmortems")[0].metadata
    leaks = {f"PM-2026-0{n}" for n in range(10, 10 + len(PLANTED))}
    assert leaks <= set(exported["refused"].value)
    assert "PM-2026-001" in exported["exported"].value and "../../../outside" in exported["exported"].value
    written = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_relative_to(store)
               and p.suffix in {".md", ".html", ".jsonl", ".json"}]
    assert {p.name for p in (tmp_path / "exports" / "external").iterdir()} >= {"PM-2026-001.md"}
    assert not any(p.name.startswith("outside") for p in tmp_path.parent.iterdir())
    assert (tmp_path / "exports" / "eval_cases.jsonl").exists() and list((tmp_path / "reports").glob("weekly-*"))
    published = [p for p in written if p.is_relative_to(tmp_path / "reports") or p.is_relative_to(tmp_path / "exports")]
    for path in published:
        text = path.read_text(encoding="utf-8")
        for _, _, secret in PLANTED:
            assert secret not in text, (secret, path.name)
        assert "dana.kim" not in text and "ops@example.com" not in text, path.name
