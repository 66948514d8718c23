"""Sensitive data is found by kind and position, whatever hides it, and never repeated."""

from __future__ import annotations

import dataclasses

import pytest

from pipelines.postmortems.lint import lint_parsed
from pipelines.postmortems.parse import parse_text
from pipelines.postmortems.sensitive import SensitiveMatch, find_sensitive
from pipelines.reports.redact import mask_sensitive
from tests.conftest import postmortem
from tests.security.hostile import PLANTED


@pytest.mark.parametrize("kind, text, secret", PLANTED, ids=[p[2] for p in PLANTED])
def test_every_planted_secret_is_found_with_its_kind_and_masked(kind, text, secret):
    found = find_sensitive(text)
    assert [m.kind for m in found] == [kind]
    masked = mask_sensitive(text)
    assert secret not in masked and find_sensitive(masked) == []
    assert text.split()[0] in masked  # the words around it stay


def test_a_connection_string_is_a_credential_not_an_email():
    found = find_sensitive("postgres://svc:s3cret@db.example.com/app")
    assert [m.kind for m in found] == ["connection_string"]


def test_a_private_key_block_is_masked_line_by_line():
    text = ("key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
            "-----END OPENSSH PRIVATE KEY-----\nafter")
    assert {m.line for m in find_sensitive(text)} == {2, 3, 4}
    masked = mask_sensitive(text)
    assert "b3BlbnNzaC1rZXktdjEAAAAA" not in masked and masked.endswith("after")


@pytest.mark.parametrize("text", [
    "look at example.com for the status page", "Secret: rotated the key at 10:00", "password: [REDACTED]",
    "secret = ${DB_SECRET}", "Flag any hard-coded secret: API keys, passwords, tokens.", "epoch 1767225600",
    "between 10:00:00 and 12:30:00", "std::vector and a::b", "model_version: 2024-08-06", "::1 and 127.0.0.1",
])
def test_ordinary_text_is_left_alone(text):
    assert find_sensitive(text) == []


def test_no_line_is_skipped_before_the_detectors():
    # The old fast path skipped any line without a digit, "@", "key", "bearer" or "sk-".
    lines = ["password: words only here", "secret = plain words", "ghp_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ",
             "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhYmMifQ.abcdefghijk"]
    assert {m.line for m in find_sensitive("\n".join(lines))} == {1, 2, 3, 4}


def test_a_line_separator_next_to_an_email_still_masks():
    text = "reach me\u2028jane@example.com\u0085or not"
    masked = mask_sensitive(text)
    assert "jane@example.com" not in masked and find_sensitive(masked) == []


def test_a_match_carries_kind_and_position_never_the_value():
    fields = {f.name for f in dataclasses.fields(SensitiveMatch)}
    assert fields == {"kind", "line", "start", "end"}
    match = find_sensitive("mail jane.doe@example.com")[0]
    assert match.masked == "[EMAIL]" and "jane" not in match.where


def test_lint_and_date_findings_never_echo_a_secret():
    text = postmortem().replace("started_at: 2026-03-02T14:05:00+00:00", "started_at: jane.doe@example.com")
    text = text.replace("[CUSTOMER_NAME]", "sk-proj-abcdefghijklmnopqrstuvwx1234")
    parsed = parse_text(text, "x.md")
    messages = [p.message for p in parsed.problems] + [f.message for f in lint_parsed(parsed)]
    assert any("started_at" in m for m in messages)
    for secret in ("jane", "doe@", "example.com", "sk-", "abcdefghij", "1234"):
        assert not any(secret in m for m in messages), secret


def test_a_long_number_inside_a_url_is_an_id_not_a_card():
    # A Luhn-valid run in a status link (tweet ids, dashboard time ranges) is not a card typed in.
    assert find_sensitive("see https://example.com/status/4111111111111111 for the thread") == []
    assert [m.kind for m in find_sensitive("card 4111 1111 1111 1111 charged")] == ["card_number"]


_RULES_READ_NEAR_HINTS = ["_API_KEY", "_ASSIGNMENT", "_BASIC_AUTH", "_PHONE", "_CARD", "_IPV4", "_IPV6"]


@pytest.mark.parametrize("rule", _RULES_READ_NEAR_HINTS)
def test_a_rule_read_near_its_hints_finds_what_it_finds_reading_every_line(rule):
    import random

    from pipelines.postmortems import sensitive

    pattern, hint = getattr(sensitive, rule), getattr(sensitive, rule + "_HINT")
    filler = ["Ordinary prose about the incident at 10:00:00 UTC.", "", "x" * 700, "- 2026-03-02 14:05 rollback",
              "version 1.2.3 and 4.5", "from 10.1.2.3 it came", "std::vector", "+", "(415)", "key points", " " * 300,
              # The hints run in RE2, the rules in `re`: digits of other scripts and case-folded
              # letters must reach the rule as they would reading every line.
              "call ٤١٥-٥٥٥-٠١٢٣ today", "٤١١١ ١١١١ ١١١١ ١١١١",
              "१०.०.०.१ via", "PASSWORD: hunter2", "Pwd=x1", "Key = abc", "BEARER abcdefghijklmnopqrstuvwxyz"]
    lines = [text for _, text, _ in PLANTED] * 3 + filler * 20
    random.Random(0).shuffle(lines)
    text = "\n".join(lines)
    expected = [m.span() for m in pattern.finditer(text)]
    assert expected, f"{rule} should match something in the planted lines"
    assert [m.span() for m in sensitive._matches_near(pattern, hint, text)] == expected


def test_a_finding_reported_as_a_prefix_masks_the_whole_token():
    # detect-secrets' GitLab plugin reports only "glpat"; the token after it must go too.
    token = "glpat-" + "k3yMaterial0nly4Test" + "zz"
    masked = mask_sensitive(f"The runner used {token} to push.")
    assert token[6:] not in masked and "glpat" not in masked
    assert masked.startswith("The runner used ") and masked.endswith(" to push.")
