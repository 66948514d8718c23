"""Deliver a report to a chat webhook (Slack-compatible JSON), retrying on failure.

The report files are written before delivery is tried, so a failed delivery never loses a
report: it is recorded in data/reports/deliveries.jsonl (and in the asset's metadata) and
tried again on the next run. Each report is delivered once; later runs that rewrite it do not
post it again. The URL comes from EMBERLINE_WEBHOOK_URL and never appears in logs or records.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from pipelines.reports.document import Report
from pipelines.reports.redact import SensitiveDataError, assert_clean, mask_sensitive
from pipelines.reports.render import BOLD_MARKDOWN
from pipelines.settings import load_settings

WEBHOOK_ENV = "EMBERLINE_WEBHOOK_URL"
DELIVERY_LOG = "deliveries.jsonl"
# Retry server errors, throttling and network failures; a 4xx other than 429 will not get
# better by asking again.
RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}
_sleep = time.sleep  # looked up at call time, so tests can skip the waiting


@dataclass
class DeliveryResult:
    report: str  # file stem, e.g. weekly-2026-W14
    delivered: bool
    attempts: int
    status: int | None  # last HTTP status, None when no response came back
    error: str | None
    endpoint: str  # scheme://host only: webhook URLs carry secrets in their path
    at: str


def webhook_url() -> str | None:
    """EMBERLINE_WEBHOOK_URL, else the store's `webhook_url:` (pipelines.settings)."""
    return os.environ.get(WEBHOOK_ENV) or load_settings().webhook_url


def _slack_mrkdwn(text: str) -> str:
    return BOLD_MARKDOWN.sub(r"*\1*", text)


def slack_payload(report: Report, link: str | None = None) -> dict:
    """Header, the at-a-glance lines, and where the full report is. Slack's `text` is the
    notification fallback; other Slack-compatible receivers (Mattermost, Rocket.Chat) read it."""
    bullets = "\n".join(f"• {_slack_mrkdwn(h)}" for h in report.highlights)
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": report.title[:150]}},
              {"type": "section", "text": {"type": "mrkdwn", "text": bullets[:2900] or report.subtitle}}]
    if link:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"Full report: {link}"}]})
    payload = {"text": f"{report.title}\n{bullets}", "blocks": blocks}
    text = mask_sensitive(json.dumps(payload, ensure_ascii=False))
    assert_clean(text, f"webhook payload for {report.file_stem}")
    return json.loads(text)


def _endpoint(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def post_json(url: str, payload: dict, *, report: str, attempts: int = 4, backoff_seconds: float = 2.0,
              timeout: float = 10.0, sleep: Callable[[float], None] | None = None) -> DeliveryResult:
    """POST with exponential backoff (2 s, 4 s, 8 s by default); honours Retry-After up to 60 s."""
    body = json.dumps(payload).encode("utf-8")
    status, error = None, None
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json", "User-Agent": "emberline"})
        retry_after = None
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, error = response.status, None
                return DeliveryResult(report, True, attempt, status, None, _endpoint(url), _now())
        except urllib.error.HTTPError as err:
            status, error = err.code, f"HTTP {err.code} {err.reason}"
            retry_after = err.headers.get("Retry-After") if err.headers else None
            if err.code not in RETRY_STATUSES:
                return DeliveryResult(report, False, attempt, status, error, _endpoint(url), _now())
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as err:
            status, error = None, f"{type(err).__name__}: {getattr(err, 'reason', err)}"
        if attempt < attempts:
            wait = backoff_seconds * 2 ** (attempt - 1)
            if retry_after and retry_after.strip().isdigit():
                wait = min(float(retry_after), 60.0)
            (sleep or _sleep)(wait)
    return DeliveryResult(report, False, attempts, status, error, _endpoint(url), _now())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def delivery_log(reports_dir: Path) -> Path:
    return Path(reports_dir) / DELIVERY_LOG


def already_delivered(log_path: Path, report: str) -> bool:
    if not Path(log_path).exists():
        return False
    for line in Path(log_path).read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if entry.get("report") == report and entry.get("delivered"):
            return True
    return False


def record_delivery(log_path: Path, result: DeliveryResult) -> None:
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(asdict(result)) + "\n")


def deliver_report(report: Report, url: str, log_path: Path, *, link: str | None = None, force: bool = False,
                   **post_options) -> DeliveryResult | None:
    """Post the report unless it was delivered before (None then); record the outcome."""
    if not force and already_delivered(log_path, report.file_stem):
        return None
    try:
        payload = slack_payload(report, link)
    except SensitiveDataError as held_back:  # never posted; recorded, and tried again next run
        result = DeliveryResult(report.file_stem, False, 0, None, f"held back: {held_back}", _endpoint(url), _now())
    else:
        result = post_json(url, payload, report=report.file_stem, **post_options)
    record_delivery(log_path, result)
    return result
