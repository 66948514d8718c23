"""Patterns compiled in RE2, Google's linear-time engine: no input can make them backtrack.

Used where a pattern must scan untrusted text fast (the sensitive-data hints and detect-secrets'
rules, the blame rule's line filter). RE2's own logging of patterns it cannot compile is off:
callers catch `re2.error` and choose another way.
"""

from __future__ import annotations


def compile_linear(pattern: str):
    """`pattern` compiled in RE2 (raises re2.error when RE2 cannot run it, e.g. a lookaround)."""
    import re2

    options = re2.Options()
    options.log_errors = False
    return re2.compile(pattern, options)
