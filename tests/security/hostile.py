"""Hostile inputs, generated: nothing large is committed. Shared by the hostile-input tests
and `bench/run.py security`."""

from __future__ import annotations

import json
import subprocess
import sys

# Each planted secret: its kind, the text around it, and a distinctive piece of the secret
# that must never appear in an export, a report or a finding.
PLANTED = [
    ("password", "password: correct horse battery staple", "horse battery"),
    ("password", "secret = open sesame please", "sesame please"),
    ("api_key", "the key AKIAQWERTYUIOPASDFGH leaked", "QWERTYUIOPASDFGH"),
    ("api_key", "token ghp_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ in the log", "ghp_abcdefghijklmnop"),
    ("api_key", "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhYmNkZWYifQ.abcdefghijklmnopqrstuv seen",
     "eyJzdWIiOiJhYmNkZWYifQ"),
    ("api_key", "slack xoxb-abcdefghijklmnop-qrstuvwxyzab posted", "xoxb-abcdefghijklmnop"),
    ("email", "mail jane\u200b.doe@exam\u200dple.com today", "doe@exam"),
    ("email", "write to priya dot raman at example dot com please", "priya dot raman"),
    ("email", "write to ｊａｎｅ＠example.org please", "＠example.org"),
    ("ip_address", "from fe80::1ff:fe23:4567:890a the calls came", "fe23:4567"),
    ("phone", "call 4155550134 after five", "4155550134"),
    ("connection_string", "dsn postgres://admin:hunter2@db.example.com:5432/app failed", "admin:hunter2"),
    ("private_key", "key -----BEGIN RSA PRIVATE KEY-----", "BEGIN RSA PRIVATE KEY"),
    ("basic_auth", "Authorization: Basic dXNlcjpwYXNzd29yZDEyMw==", "dXNlcjpwYXNzd29yZDEyMw"),
    ("card_number", "card 4111 1111 1111 1111 charged", "4111 1111 1111 1111"),
]

N = 100_000  # characters per adversarial input in the tests; the benchmark uses 1 MB

# Inputs that made a backtracking pattern quadratic (or worse), by the pattern family they hit.
ADVERSARIAL = {
    "spaces": lambda n: " " * n + "x",
    "percent before @": lambda n: "%" * n + "@",
    "eyJ- run": lambda n: "eyJ-" * (n // 4),
    "://: run": lambda n: "://" + ":" * n,
    "password repeated": lambda n: "password" * (n // 8),
    "password=\" repeated": lambda n: 'password="' * (n // 10),
    "digits": lambda n: "1" * n,
    "digit-dash": lambda n: "1-" * (n // 2),
    "hex-colon": lambda n: "a:" * (n // 2),
    "a.a.a": lambda n: "a." * (n // 2),
    "spelled at": lambda n: "a at " * (n // 5),
    "spelled dot": lambda n: "x dot " * (n // 6),
    "sk- run": lambda n: "sk-" * (n // 3),
    "bearer run": lambda n: "bearer " * (n // 7),
    "BEGIN without END": lambda n: "-----BEGIN RSA PRIVATE KEY-----\n" * (n // 32),
    "zero-width run": lambda n: "\u200b" * n,
    "@ run": lambda n: "a@" * (n // 2),
    "unclosed bold": lambda n: "** " * (n // 3),
    "unclosed italic": lambda n: "*a " * (n // 3),
    "owner note unclosed": lambda n: " (owner due" * (n // 11),
    "tests/ repeated": lambda n: "tests/" * (n // 6),
    "word without digit": lambda n: "x" * n,
    "user: then spaces": lambda n: "user: x" + " " * n + "y",
}

# Every pattern and stage the hostile inputs go through, by name: "module:callable" that
# takes one string (".sub" ones are called with "" first, generators are consumed).
STAGES = {
    "sensitive.find_sensitive": "pipelines.postmortems.sensitive:find_sensitive",
    "redact.mask_sensitive": "pipelines.reports.redact:mask_sensitive",
    "name._NOISE": "pipelines.themes.name:_NOISE.sub",
    "render.inline": "pipelines.reports.render:_inline",
    "data.OWNER_NOTE": "pipelines.reports.data:OWNER_NOTE.sub",
    "external._PATH": "pipelines.reports.external:_PATH.sub",
    "external._MD_NOISE": "pipelines.reports.external:_MD_NOISE.sub",
    "evals.failing_input": "pipelines.reports.evals:failing_input",
}
# The benchmark also times each of sensitive.py's own patterns alone.
SENSITIVE_PATTERNS = ("_EMAIL", "_CONNECTION", "_PHONE", "_API_KEY", "_ASSIGNMENT", "_BASIC_AUTH", "_PRIVATE_KEY",
                      "_CARD", "_IPV4", "_IPV6", "_SPELLED", "_PLACEHOLDER_VALUE")
PATTERN_STAGES = {f"sensitive.{name}": f"pipelines.postmortems.sensitive:{name}.finditer"
                  for name in SENSITIVE_PATTERNS} | {
    "sensitive.detect_secrets (windows)": "pipelines.postmortems.sensitive:_detect_secrets_spans",
    "sensitive.normalise": "pipelines.postmortems.sensitive:normalise",
}

# Whole post-mortem files, for the parser stages: each hostile piece inside a valid file.
_BASE = "---\nid: PM-2026-001\ntitle: t\n---\n# T\n\n## Summary\nx\n\n"
ADVERSARIAL_FILES = {
    "heading of spaces": lambda n: _BASE + "## " + " " * n + "x\n",
    "% run before @": lambda n: _BASE + "%" * n + "@\n",
    "<!-- repeated": lambda n: _BASE + "<!--" * (n // 4) + "\n",
    "action item 'by' + spaces": lambda n: _BASE + "## Action items\n- fix it by" + " " * n + "x\n",
    "( repeated": lambda n: _BASE + "(" * n + "\n",
    "tests/ repeated": lambda n: _BASE + "tests/" * (n // 6) + "\n",
    "eyJ- run": lambda n: _BASE + "eyJ-" * (n // 4) + "\n",
    "repeated headings": lambda n: _BASE + "## Summary\nx\n" * (n // 13),
    "one long line": lambda n: _BASE + "word " * (n // 5) + "\n",
    "YAML alias bomb": lambda n: ("---\nid: PM-2026-001\n" + "\n".join(
        ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"] + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]"
                                                   for i in range(1, 9)]) + "\ntags: *a8\n---\n# T\n"),
    "long front-matter value": lambda n: "---\nid: PM-2026-001\ntitle: " + "x" * n + "\n---\n# T\n",
    # No Markdown headings: the plain-line readers (headings, labels, field tables, update logs) run.
    "plain-line headings": lambda n: "Root Cause\nThe cache.\nCause: the cache was stale.\n" * (n // 50),
    "status updates": lambda n: "Investigating - x\nMar 12, 2025 - 15:02 UTC\n\n" * (n // 44),
    "field table rows": lambda n: "| Field | Value |\n|---|---|\n" + "| Root cause | the cache |\n" * (n // 26),
}
FILE_STAGES = {
    "parse.parse_bytes": "pipelines.postmortems.parse:parse_bytes",
    "lint.lint_parsed": "pipelines.postmortems.lint:lint_parsed",
}

_RUNNER = r"""
import importlib, inspect, json, resource, sys, time
from tests.security import hostile

def resolve(spec):
    module, _, attr = spec.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj

def caller(spec):
    fn = resolve(spec)
    if spec.endswith(".sub"):
        return lambda s: fn("", s)
    def call(s):
        out = fn(s)
        return list(out) if inspect.isgenerator(out) or type(out).__name__ == "callable_iterator" else out
    return call

n, table, names, inputs = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
stages = getattr(hostile, table)
out = []
if table == "FILE_STAGES":
    parse, lint = resolve(stages["parse.parse_bytes"]), resolve(stages["lint.lint_parsed"])
    for label in inputs:
        raw = hostile.ADVERSARIAL_FILES[label](n).encode()
        start = time.perf_counter(); parsed = parse(raw, "x.md", 10 * n); middle = time.perf_counter()
        lint(parsed); end = time.perf_counter()
        out += [["parse.parse_bytes", label, len(raw), middle - start],
                ["lint.lint_parsed", label, len(raw), end - middle]]
else:
    for stage in names:
        call = caller(stages[stage])
        for label in inputs:
            text = hostile.ADVERSARIAL[label](n)
            start = time.perf_counter()
            call(text)
            out.append([stage, label, len(text), time.perf_counter() - start])
out.append(["peak_rss_mb", "", 0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024])
print(json.dumps(out))
"""


def run_stages(n: int, stages: list[str], timeout: float, *, table: str = "STAGES",
               inputs: list[str] | None = None) -> list[list]:
    """Adversarial inputs through the named stages in a child process: the timeout is only
    a guard, so a pattern that hangs fails the caller instead of hanging it. Rows are
    [stage, input, characters, seconds], then ["peak_rss_mb", "", 0, megabytes]."""
    if inputs is None:
        inputs = list(ADVERSARIAL_FILES if table == "FILE_STAGES" else ADVERSARIAL)
    done = subprocess.run([sys.executable, "-c", _RUNNER, str(n), table, json.dumps(stages), json.dumps(inputs)],
                          capture_output=True, text=True, timeout=timeout, check=True)
    return json.loads(done.stdout)
