"""Blame detection benchmark: recall and precision on sentences written for this project, the
blame rule on real post-mortems, and the time of the rule on pathological lines.

    python bench/run.py --only blame

BLAME holds sentences a blameless-review editor would send back (a person named as the cause
or the one who let it through, in several phrasings, or a judgement of a person); BLAMELESS
holds sentences about systems, vendors, jobs and people doing mitigation that must pass. Both
were written for this benchmark; no text comes from ../shared. The real-world store
(../shared/eval/realworld/store, override with EMBERLINE_REALWORLD_STORE) is read in place:
a blame error on any of its files counts as a false positive.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/blame.py`: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.postmortems.blame import BlameDetector

REPO_ROOT = Path(__file__).resolve().parent.parent

BLAME = (
    # a person with an approving verb
    "Maria approved the prompt change without running the regression suite.",
    "Tom Becker signed off on the new system prompt on Friday evening.",
    "The release went out because Priya okayed it in the channel.",
    "Lena rubber-stamped the pull request that removed the guard rail.",
    # a person with a causal verb
    "Kevin broke the ranking job when he edited the weights file.",
    "Sofia introduced the bug in the tokenizer wrapper.",
    "Arjun misconfigured the temperature for the sales drafts.",
    "Daniel caused the outage by restarting the whole cluster at once.",
    "Yuki deployed the new index without telling anyone.",
    "Omar pushed the prompt to production without review.",
    "Chen merged the schema change without waiting for the eval job.",
    # passive and prepositional phrasing
    "The regression was caused by Tom Becker.",
    "This incident was introduced by Sarah Lindqvist's refactor.",
    "The faulty prompt was approved by Anna on Thursday.",
    "We lay the blame on Marcus for skipping the canary.",
    "Most of the impact was the fault of the on-call engineer.",
    # possessive
    "Priya's change broke checkout for EU customers.",
    "Tom Becker's commit caused the retry storm.",
    "Elena's script deleted the embeddings table.",
    # negligence
    "Jonas forgot to bump the prompt version.",
    "Sam ignored the alert for two hours.",
    "Rahul overlooked the failing eval in the build log.",
    "Nina skipped the staging rollout to save time.",
    "Ivan didn't check the model alias before the migration.",
    "Marta failed to follow the runbook.",
    "Alex should have caught the truncation in review.",
    "Mike accidentally deleted the production index.",
    "Carlos made a careless mistake in the config.",
    "He ignored the pager because he thought it was noise.",
    "She forgot to rotate the key after the test.",
    # roles and asides
    "Engineer Sam pushed the hotfix without a second reviewer.",
    "Our on-call Lee dropped the ball on the escalation.",
    "Maria, the reviewer on duty, approved the diff without reading it.",
    # judgements of whoever
    "The root cause was human error during the deploy.",
    "The reviewer was careless with the prompt diff.",
    "In hindsight the operator should have known better.",
    "It was his fault that the cache was never cleared.",
    "Frankly the change was sloppy and nobody tested it.",
)

BLAMELESS = (
    # vendors and products
    "Pinecone changed its API response format overnight.",
    "OpenAI retired the snapshot we pinned without a notice we saw.",
    "Google Cloud caused a regional outage that took the EU endpoint down.",
    "Azure OpenAI throttled our batch jobs at 14:05.",
    "Anthropic deprecated the model version our gateway pinned.",
    "Cloudflare pushed a configuration that broke our webhooks.",
    "Datadog missed the spike because the monitor averaged over an hour.",
    "Kubernetes evicted the embedding workers under memory pressure.",
    "Redis dropped the cache keys when it failed over.",
    "GitHub Actions skipped the eval job because the path filter did not match.",
    "Vertex AI returned safety blocks for ordinary medical questions.",
    "Turnstile failed to load for users behind the proxy.",
    "Claude refused the request after the system prompt lost its context.",
    "Gemini changed its date format in the structured output.",
    # jobs and systems
    "The nightly job failed to check whether the export was empty.",
    "The re-index job exited 0 on an empty export, so the index kept last week's articles.",
    "The deploy pipeline did not run the eval suite on prompt-only changes.",
    "The gateway ignored the temperature set in the service config.",
    "Retries inside the SDK multiplied the load on the provider.",
    "The classifier overlooked rare security vocabulary because the training set had none.",
    "The cache key did not include the prompt version.",
    "Ingest failed to parse the dates in the European format.",
    "The feature flag fell back to the wrong arm when the rule failed to evaluate.",
    "A prediction messed up by its normalization was not counted.",
    "The migration dropped the temperature field from the model config.",
    "Our alerting should have caught the drop in answer length.",
    "The review process approved the change because the eval check was optional.",
    # people doing mitigation, or named without blame
    "Maria restored the previous index at 14:05.",
    "Tom Becker rolled back the prompt and paged the search team.",
    "Priya noticed the spike on the dashboard and opened the incident.",
    "Sam wrote the new eval case that reproduces the truncation.",
    "The on-call engineer followed the runbook and failed over to the secondary region.",
    "We thank Elena for the quick diagnosis.",
    "Kevin owns the follow-up to make the eval check required.",
    # process language that looks like blame but is not
    "No single person is to be held responsible; the process allowed an unreviewed change.",
    "The model output read \"Maria approved your refund\" although no such approval existed.",
    "The team decided to make the canary mandatory.",
    "Nobody could have seen the change from the dashboards we had.",
)


def _score(detector: BlameDetector) -> dict:
    caught = [s for s in BLAME if detector.matches(s)]
    false_alarms = [s for s in BLAMELESS if detector.matches(s)]
    tp, fp = len(caught), len(false_alarms)
    return {"tp": tp, "fn": len(BLAME) - tp, "fp": fp, "recall": tp / len(BLAME),
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "missed": [s for s in BLAME if s not in caught], "false_alarms": false_alarms}


def _realworld(detector: BlameDetector) -> tuple[int, int, list[str]]:
    from pipelines.postmortems.lint import lint_parsed
    from pipelines.postmortems.parse import parse_bytes

    store = Path(os.environ.get("EMBERLINE_REALWORLD_STORE") or REPO_ROOT.parent / "shared" / "eval" / "realworld"
                 / "store")
    files = sorted(store.glob("*.md")) if store.is_dir() else []
    flagged = []
    for path in files:
        parsed = parse_bytes(path.read_bytes(), path.name)
        for finding in lint_parsed(parsed):
            if finding.rule_id == "EL006":
                flagged.append(f"{path.name}:{finding.line} {finding.message}")
    return len(files), len({f.split(":")[0] for f in flagged}), flagged


def _time_line(detector: BlameDetector, line: str, repeat: int = 5) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        detector.matches(line)
    return (time.perf_counter() - started) / repeat * 1000


def run() -> list[dict]:
    detector = BlameDetector()
    score = _score(detector)
    for sentence in score["missed"]:
        print(f"missed: {sentence}")
    for sentence in score["false_alarms"]:
        print(f"false alarm: {sentence}")
    files, files_flagged, flagged = _realworld(detector)
    for entry in flagged:
        print(f"realworld blame error: {entry}")
    rows = [
        {"measurement": f"recall, {len(BLAME)} blame sentences", "value": f"{score['recall']:.1%}",
         "detail": f"{score['tp']} caught, {score['fn']} missed", "target": ">= 90%",
         "met": score["recall"] >= 0.9},
        {"measurement": f"precision, plus {len(BLAMELESS)} blameless sentences", "value": f"{score['precision']:.1%}",
         "detail": f"{score['fp']} false alarms", "target": ">= 90%", "met": score["precision"] >= 0.9},
        {"measurement": "real-world post-mortems with a blame error", "value": f"{files_flagged} of {files}",
         "detail": "../shared/eval/realworld/store", "target": "0", "met": files_flagged == 0 and files > 0},
    ]
    for label, line in (("10 KB heading", "# " + "Maria Becker " * 800),
                        ("2,000 spaces", "Maria" + " " * 2000 + "approved"),
                        ("10 KB of capitalised words", "Tom " * 2500),
                        ("10 KB quote, unclosed", '"' + "a" * 10_000)):
        ms = _time_line(detector, line)
        rows.append({"measurement": f"time on one line: {label}", "value": f"{ms:.1f} ms", "detail": "",
                     "target": "< 50 ms", "met": ms < 50})
    return rows


if __name__ == "__main__":
    from bench.run import format_table

    print(format_table(run()))
