from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines.reports.delivery import already_delivered, deliver_report, delivery_log, post_json, slack_payload
from pipelines.reports.document import Report
from tests.reports.test_exports import run


class Webhook:
    """A local Slack-style incoming webhook that answers with the statuses it is given."""

    def __init__(self, statuses: list[int]):
        self.statuses, self.received = list(statuses), []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.received.append(json.loads(body))
                status = hook.statuses.pop(0) if hook.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"error")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T000/B000/secret"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    hooks = []

    def start(statuses):
        hooks.append(Webhook(statuses))
        return hooks[-1]

    yield start
    for hook in hooks:
        hook.close()


REPORT = Report("weekly", "2026-W14", "Weekly incident patterns — 2026-W14", "sub",
                ["**3** new incidents", "contact ops@example.com"], [])


def test_payload_is_slack_compatible_and_masked():
    payload = slack_payload(REPORT, link="data/reports/weekly-2026-W14.html")
    assert payload["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": REPORT.title}}
    assert "• *3* new incidents" in payload["blocks"][1]["text"]["text"]
    assert "ops@example.com" not in json.dumps(payload) and "[EMAIL]" in payload["text"]
    assert payload["blocks"][2]["elements"][0]["text"].endswith("weekly-2026-W14.html")


def test_fails_twice_then_succeeds_is_delivered(webhook):
    hook = webhook([500, 503, 200])
    waits = []
    result = post_json(hook.url, {"text": "hi"}, report="weekly-2026-W14", sleep=waits.append)
    assert result.delivered and result.attempts == 3 and result.status == 200
    assert waits == [2.0, 4.0] and len(hook.received) == 3
    assert result.endpoint == f"http://127.0.0.1:{hook.server.server_port}"  # the secret path is never recorded


def test_a_client_error_is_not_retried(webhook):
    hook = webhook([400])
    result = post_json(hook.url, {"text": "hi"}, report="r", sleep=lambda s: None)
    assert not result.delivered and result.attempts == 1 and result.error.startswith("HTTP 400")


def test_unreachable_endpoint_fails_after_all_attempts(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = post_json(f"http://127.0.0.1:{port}/x", {"text": "hi"}, report="r", attempts=3, sleep=lambda s: None,
                       timeout=2)
    assert not result.delivered and result.attempts == 3 and result.status is None and "Connection" in result.error


def test_each_report_is_delivered_once_and_failures_are_recorded(webhook, tmp_path):
    log = delivery_log(tmp_path)
    failing = webhook([500] * 10)
    first = deliver_report(REPORT, failing.url, log, attempts=2, sleep=lambda s: None)
    assert not first.delivered and not already_delivered(log, "weekly-2026-W14")
    ok = webhook([])
    assert deliver_report(REPORT, ok.url, log, sleep=lambda s: None).delivered
    assert deliver_report(REPORT, ok.url, log, sleep=lambda s: None) is None  # not posted twice
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["delivered"] for e in entries] == [False, True]
    assert "secret" not in log.read_text() and len(ok.received) == 1


def test_cli_delivery_failure_keeps_the_report_and_records_it(webhook, sample_warehouse, tmp_path, monkeypatch,
                                                              capsys):
    monkeypatch.setattr("pipelines.reports.delivery._sleep", lambda s: None)
    out = tmp_path / "reports"
    monkeypatch.setenv("EMBERLINE_WEBHOOK_URL", webhook([500] * 10).url)
    assert run(["report", "weekly", "--week", "2026-W47", "--deliver", "--db", str(sample_warehouse),
                "--out", str(out)]) == 1
    assert (out / "weekly-2026-W47.md").exists() and (out / "weekly-2026-W47.html").exists()
    assert "delivery failed after 4 attempts" in capsys.readouterr().err
    [entry] = [json.loads(line) for line in (out / "deliveries.jsonl").read_text().splitlines()]
    assert entry["report"] == "weekly-2026-W47" and not entry["delivered"] and entry["error"].startswith("HTTP 500")

    good = webhook([503, 503, 200])
    monkeypatch.setenv("EMBERLINE_WEBHOOK_URL", good.url)
    assert run(["report", "weekly", "--week", "2026-W47", "--deliver", "--db", str(sample_warehouse),
                "--out", str(out)]) == 0
    assert "(3 attempts)" in capsys.readouterr().out
    assert good.received[-1]["blocks"][0]["text"]["text"] == "Weekly incident patterns — 2026-W47"
