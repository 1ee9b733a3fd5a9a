"""Client text shown where a line ends at a line break: the one rule for which characters must
never reach a log line or a mail header raw, and how each is shown instead.

A client can put anything in a path, a query, a header or a JSON string: a line feed that
starts a forged log line, an escape sequence that recolours a terminal (ESC, or CSI alone as
U+009B), a Unicode line separator (U+2028, U+2029) that a log viewer or a JavaScript reader
breaks on, a bidirectional override that makes a line read otherwise than it is written.
:data:`UNSAFE` names them all: every C0 and C1 control, DEL, U+2028, U+2029 and the
bidirectional formatting characters.
"""

from __future__ import annotations

import re

# C0 controls, DEL and C1 controls (NEL, CSI...), the Arabic letter mark, LRM/RLM, the Unicode
# line and paragraph separators, the bidirectional embeddings and overrides, and the isolates.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_UNSAFE_OR_BACKSLASH = re.compile(r"[\\" + UNSAFE.pattern[1:])


def _escape(match: re.Match[str]) -> str:
    character = match.group()
    if character == "\\":
        return "\\\\"
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every :data:`UNSAFE` character written as an escape (``\\x0a``, ``\\x1b``,
    ``\\u2028``) and each backslash doubled, so the escapes cannot be forged: one line, always,
    that reads back to exactly what the client sent."""
    if not _UNSAFE_OR_BACKSLASH.search(text):
        return text  # the common case: nothing to escape
    return _UNSAFE_OR_BACKSLASH.sub(_escape, text)


def one_line(text: str) -> str:
    """``text`` with every :data:`UNSAFE` character turned into a space, trimmed: for a field
    that must stay readable text on one line (a name in a mail header)."""
    return UNSAFE.sub(" ", text).strip()
