"""The header section of the emails credmock sends, written by one encoder.

A name the client chose reaches the ``To`` header; the email package's own folding decodes an
RFC 2047 encoded word it is handed (``=?utf-8?q?x=0D=0ABcc:...?=``) and may write what it decoded,
line breaks included, as a header line of its own. So credmock writes every header value itself:

- the value is made one line first (:func:`credmock.core.visible_text.one_line`: every control
  character, U+2028/U+2029 and the bidirectional controls become a space);
- text that is printable ASCII, holds no ``=?`` and fits the line is written as it is (in an
  address, as a quoted string);
- anything else (non-ASCII text, a literal ``=?...?=``, a value too long for one line) is written
  as UTF-8 base64 encoded words of whole characters, one a line (RFC 2047), which a reader decodes
  back to exactly that text and never to a line break;
- an address is checked to hold no character that could end or split the header.

Nothing a client sends, in any encoding, can thus add a header or a recipient.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence

from credmock.core.visible_text import UNSAFE, one_line

# RFC 5322: a line holds at most 998 characters; an encoded word at most 75 (RFC 2047).
MAX_LINE = 998
_WORD_PREFIX, _WORD_SUFFIX = "=?utf-8?b?", "?="
# 75 - 12 characters of prefix and suffix leave 63 of base64: 60, for 45 bytes of UTF-8.
_WORD_BYTES = 45
_FOLD = "\r\n "
_PRINTABLE_ASCII = re.compile("[\x20-\x7e]*")
_HEADER_NAME = re.compile("[\x21-\x39\x3b-\x7e]+")  # printable ASCII but the colon (RFC 5322)
# An address as a header holds it: no space, no character that delimits an address, no control.
_ADDR_SPEC = re.compile(r"[^\s<>()\[\],;:\"\\@]+@[^\s<>()\[\],;:\"\\@]+")


class HeaderError(ValueError):
    """A value that cannot be written as the header asked for (an address that is not one)."""


def _is_plain(text: str, room: int) -> bool:
    return len(text) <= room and "=?" not in text and _PRINTABLE_ASCII.fullmatch(text) is not None


def encoded_words(text: str) -> str:
    """``text`` as UTF-8 base64 encoded words, each of whole characters, folded one a line."""
    words: list[str] = []
    chunk, size = [], 0
    for character in text:
        length = len(character.encode("utf-8"))
        if size + length > _WORD_BYTES:
            words.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(character)
        size += length
    if chunk:
        words.append("".join(chunk))
    return _FOLD.join(
        _WORD_PREFIX + base64.b64encode(word.encode("utf-8")).decode("ascii") + _WORD_SUFFIX for word in words
    )


def text_value(name: str, value: str) -> str:
    """The body of an unstructured header ``name`` (``Subject``, ``X-Credmock-Tenant``)."""
    text = one_line(value)
    return text if _is_plain(text, MAX_LINE - len(name) - 2) else encoded_words(text)


def address_value(name: str, display_name: str, addr_spec: str) -> str:
    """The body of an address header ``name``: ``"Display Name" <addr-spec>``, or the address
    alone when there is no name. :class:`HeaderError` for an address that could end the header."""
    if not _ADDR_SPEC.fullmatch(addr_spec) or UNSAFE.search(addr_spec):
        raise HeaderError(f"{addr_spec!r} is not an address that can be written in a header")
    phrase = one_line(display_name)
    if not phrase:
        return f"<{addr_spec}>"
    quoted = '"' + phrase.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if _is_plain(quoted, MAX_LINE - len(name) - len(addr_spec) - 5):
        return f"{quoted} <{addr_spec}>"
    return f"{encoded_words(phrase)}{_FOLD}<{addr_spec}>"


def header_section(fields: Sequence[tuple[str, str]]) -> bytes:
    """The header lines of ``fields`` (name and value as the functions above wrote it), CRLF
    ended. Each value is checked to stay one header: a line break only as folding (CRLF and a
    space), no other control character."""
    lines: list[str] = []
    for name, value in fields:
        if not _HEADER_NAME.fullmatch(name):
            raise HeaderError(f"{name!r} is not a header name")
        for line in value.split(_FOLD):
            if UNSAFE.search(line) or (not line and value):
                raise HeaderError(f"the {name} header would not stay one header: {value!r}")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines).encode("utf-8")
