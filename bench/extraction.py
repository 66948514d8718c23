"""`make bench-extraction`: what the parser recovers from real post-mortems nobody here wrote.

    python bench/extraction.py [--labels ../shared/eval/realworld] [--details]

Reads the real public post-mortems in ../shared/eval/realworld/store (never copied into this
repository) and scores the parser against their human labels with the set's own rule
(README there): a labelled item is found when an extracted item of the same file and list
contains one of its match phrases; each extracted item matches at most one label (a maximum
bipartite matching, which the set's README allows). Dates are right within one day; a null
label is right only when we return no date too. Prints one row per file and the totals, micro-averaged, overall and for the
AI-related files.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import date
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import format_table  # noqa: E402
from pipelines.postmortems.parse import parse_bytes  # noqa: E402

DEFAULT_LABELS = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "realworld"


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).lower()


def score(labeled: list[dict], extracted: list[str]) -> tuple[int, int, list[int]]:
    """(labels found, extracted items that matched, index of each found label's match or -1).

    A maximum bipartite matching between labels and extracted items (the set's README allows
    it beside greedy assignment): greedy in label order lets a long item that mentions two
    labels take the first and leave the second unmatched although another item names it."""
    texts = [_norm(t) for t in extracted]
    fits = [[j for j, text in enumerate(texts) if any(_norm(p) in text for p in item["match"])]
            for item in labeled]
    owner: dict[int, int] = {}  # extracted item -> label

    def augment(label: int, seen: set[int]) -> bool:
        for j in fits[label]:
            if j not in seen:
                seen.add(j)
                if j not in owner or augment(owner[j], seen):
                    owner[j] = label
                    return True
        return False

    for label in range(len(labeled)):
        augment(label, set())
    hits = [-1] * len(labeled)
    for j, label in owner.items():
        hits[label] = j
    return len(owner), len(owner), hits


def _date_right(label: str | None, got: date | None) -> bool:
    if label is None:
        return got is None
    return got is not None and abs((date.fromisoformat(label) - got).days) <= 1


def extracted_lists(pm) -> dict[str, list[str]]:
    causes = [c.description if c.description.startswith(c.title.rstrip("…")) else f"{c.title} {c.description}"
              for c in pm.root_causes]
    actions = [a.text for a in pm.action_items if a.kind != "eval_case"]
    gaps = [g.text for g in pm.eval_gaps]
    return {"root_causes": causes, "action_items": actions, "eval_gaps": gaps}


def evaluate(labels_dir: Path, details: bool = False) -> tuple[list[dict], list[dict]]:
    rows, totals = [], {}
    labels = [json.loads(line) for line in (labels_dir / "labels.jsonl").read_text().splitlines() if line.strip()]
    for label in labels:
        path = labels_dir / label["file"]
        parsed = parse_bytes(path.read_bytes(), path.name, semantic_headings=True)
        pm = parsed.postmortem
        row = {"file": path.name[:48]}
        lists = extracted_lists(pm) if pm else {"root_causes": [], "action_items": [], "eval_gaps": []}
        for key, short in (("root_causes", "causes"), ("action_items", "actions"), ("eval_gaps", "gaps")):
            found, matched, hits = score(label[key], lists[key])
            if key == "root_causes" and pm is not None:
                right = sum(1 for item, hit in zip(label[key], hits)
                            if hit >= 0 and pm.root_causes[hit].category == item["category"])
                c = totals.setdefault(("all", "category"), [0, 0])
                c[0] += right
                c[1] += found
            row[short] = f"{found}/{len(label[key])} ({matched}/{len(lists[key])})"
            for group in ("all", "ai") if label.get("ai_related") else ("all",):
                t = totals.setdefault((group, short), [0, 0, 0, 0])
                t[0] += found
                t[1] += len(label[key])
                t[2] += matched
                t[3] += len(lists[key])
            if details:
                print(f"\n## {path.name} {key}")
                for item, hit in zip(label[key], hits):
                    print(f"  {'FOUND' if hit >= 0 else 'miss '} {item['summary'][:100]}")
                unmatched = [t for j, t in enumerate(lists[key]) if j not in hits]
                for text in unmatched:
                    print(f"  extra {text[:140]!r}")
        started = pm.started_at.date() if pm and pm.started_at else None
        resolved = pm.resolved_at.date() if pm and pm.resolved_at else None
        row["incident date"] = "ok" if _date_right(label["incident_date"], started) else f"NO ({started or 'no date'})"
        row["resolved date"] = "ok" if _date_right(label["resolved_date"], resolved) else \
            f"NO ({resolved or 'no date'})"
        timed = sum(1 for e in (pm.timeline if pm else []) if e.at is not None)
        row["timed events"] = f"{timed}/{label['timestamped_events']}"
        for group in ("all", "ai") if label.get("ai_related") else ("all",):
            t = totals.setdefault((group, "dates"), [0, 0, 0, 0])
            t[0] += _date_right(label["incident_date"], started)
            t[1] += 1
            t[2] += _date_right(label["resolved_date"], resolved)
            t[3] += 1
            e = totals.setdefault((group, "events"), [0, 0, 0, 0])
            e[0] += min(timed, label["timestamped_events"])
            e[1] += label["timestamped_events"]
            e[2] += abs(timed - label["timestamped_events"])
        rows.append(row)
    summary = []
    for group, name in (("all", f"all {len(labels)} files"), ("ai", "AI-related files")):
        out = {"files": name}
        for short, target in (("causes", "80/80"), ("actions", "70/70"), ("gaps", "70/-")):
            found, total, matched, extracted = totals.get((group, short), [0, 0, 0, 0])
            out[f"{short} recall"] = f"{found / total:.0%} ({found}/{total})" if total else "-"
            out[f"{short} precision"] = f"{matched / extracted:.0%} ({matched}/{extracted})" if extracted else "-"
        d = totals.get((group, "dates"), [0, 1, 0, 1])
        out["incident dates ±1 day"] = f"{d[0] / d[1]:.0%} ({d[0]}/{d[1]})"
        out["resolved dates ±1 day"] = f"{d[2] / d[3]:.0%} ({d[2]}/{d[3]})"
        e = totals.get((group, "events"), [0, 1, 0, 0])
        out["timed events"] = f"{e[0]}/{e[1]} (abs err {e[2]})"
        if group == "all":
            c = totals.get(("all", "category"), [0, 0])
            out["category of found causes"] = f"{c[0] / c[1]:.0%} ({c[0]}/{c[1]})" if c[1] else "-"
        summary.append(out)
    return rows, summary


def run(labels: Path = DEFAULT_LABELS) -> list[dict]:
    return evaluate(labels)[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS, help="folder with labels.jsonl and store/")
    parser.add_argument("--details", action="store_true", help="list found, missed and extra items per file")
    args = parser.parse_args(argv)
    if not (args.labels / "labels.jsonl").is_file():
        print(f"no labels at {args.labels}: the realworld set lives in ../shared/eval/realworld", file=sys.stderr)
        return 2
    rows, summary = evaluate(args.labels, args.details)
    print("\n## Extraction per file: found/labelled (matched/extracted)\n")
    print(format_table(rows))
    print("\n## Extraction totals (targets: causes 80% recall at 80% precision, actions 70/70, gaps 70% recall, "
          "incident dates 90%)\n")
    print(format_table(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
