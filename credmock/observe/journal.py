"""The request journal: the newest requests the mock answered, bounded, searchable, with every
password and token in their bodies masked when read: after the decoding the handlers get (any
charset the mock accepts, JSON escapes in names), and, for a body they could not read, by
hiding it whole whenever it may name a secret."""

from __future__ import annotations

import codecs
import html
import itertools
import json
import re
import threading
import time
import unicodedata
from collections import deque
from typing import Any
from urllib.parse import unquote_plus

from credmock.http.request_body import BodyError, decode_json_body, media_type
from credmock.observe.exchanges import JOURNAL_BODY_LIMIT, Exchange

MASK = "***"
# A body field whose name holds one of these is shown as MASK.
SECRET_FIELD_WORDS = ("password", "token", "secret")


def is_secret_field(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_FIELD_WORDS)


def mask_secrets(value: Any) -> Any:
    """``value`` with the value of every secret field (at any depth) replaced by MASK."""
    if isinstance(value, dict):
        return {key: MASK if is_secret_field(str(key)) else mask_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    return value


def masked_body(exchange: Exchange) -> Any:
    """The request body as the journal shows it. A body the handlers can read is read as they
    read it (:func:`decode_json_body`: its charset, a byte order mark, JSON escapes), and shown
    with its secrets masked. Any other body is shown as text only when no way of reading it
    (any charset the mock accepts, JSON and percent escapes undone) names a secret; otherwise,
    and when it is not text at all, as a note of its size. None when there was no body."""
    if not exchange.body_size:
        return None
    if exchange.body_size > len(exchange.body):
        return f"({exchange.body_size} bytes, beyond the journal's {JOURNAL_BODY_LIMIT}-byte limit)"
    try:
        value = decode_json_body(exchange.body, exchange.content_type)
    except BodyError:
        value = None
    if value is not None:
        return mask_secrets(value)
    return _unreadable_body(exchange.body, exchange.content_type)


# Every charset a body may be read in, for the search for a secret's name in a body the
# handlers refused: a client's mistake in one (UTF-16 declared as UTF-8) must not show it.
_SCANNED_CHARSETS = ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "cp1252", "latin-1")
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def _unreadable_body(raw: bytes, content_type: str | None) -> str:
    """A body the handlers could not read as JSON: its text, or a note saying why it is hidden."""
    shown = _as_text(raw, content_type)
    if shown is None:
        return f"({len(raw)} bytes, not text in their charset, hidden: they may hold a secret)"
    readings = [shown]
    for charset in _SCANNED_CHARSETS:
        try:
            readings.append(raw.decode(charset))
        except UnicodeDecodeError:
            continue
    if any(names_a_secret(reading) for reading in readings):
        return f"({len(raw)} bytes, not readable as JSON, hidden: they may hold a secret)"
    return shown


def _as_text(raw: bytes, content_type: str | None) -> str | None:
    """``raw`` decoded as its declared charset says (when Python knows it), else as UTF-8/16/32
    recognised from its bytes; None when it does not decode so."""
    charset = media_type(content_type)[1].get("charset")
    try:
        encoding = codecs.lookup(charset or "").name
    except (LookupError, ValueError):  # none, unknown, or not a name at all (a NUL in it)
        encoding = json.detect_encoding(raw)
    try:
        return raw.decode(encoding).removeprefix("\ufeff")
    except (LookupError, ValueError):  # not a text codec, or bytes that are not in it
        return None


def names_a_secret(text: str) -> bool:
    """Whether ``text`` may name a secret field, however it is written: JSON (``\\u0070``),
    percent and HTML escapes undone, Unicode compatibility forms folded, case ignored, and
    every character between the letters (``pass-word``, ``p\\x00a\\x00s...``) dropped."""
    unescaped = _JSON_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), text)
    for reading in (text, unescaped, unquote_plus(unescaped), html.unescape(unquote_plus(unescaped))):
        folded = unicodedata.normalize("NFKC", reading).casefold()
        letters = "".join(character for character in folded if character.isalpha())
        if any(word in letters for word in SECRET_FIELD_WORDS):
            return True
    return False


class Journal:
    """The newest ``size`` exchanges; older ones fall off so memory stays bounded."""

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError(f"the journal size must be 0 or more, not {size}")
        self.size = size
        self._exchanges: deque[Exchange] = deque(maxlen=size)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._cleared_at = 0.0  # time.perf_counter() of the last clear

    def record(self, exchange: Exchange) -> None:
        """Keep ``exchange``, unless it began before the journal was last cleared (the request that
        cleared it, above all: an emptied journal starts empty)."""
        with self._lock:
            if exchange.started < self._cleared_at:
                return
            exchange.id = next(self._ids)
            self._exchanges.append(exchange)

    def find(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        tenant: str | None = None,
        operation: str | None = None,
        limit: int | None = None,
    ) -> list[Exchange]:
        """Matching exchanges, newest first. ``path`` matches any part of the path; ``method``
        matches case-insensitively."""
        wanted_method = method.upper() if method else None
        with self._lock:
            snapshot = list(self._exchanges)
        found: list[Exchange] = []
        for exchange in reversed(snapshot):
            if wanted_method and exchange.method != wanted_method:
                continue
            if path and path not in exchange.path:
                continue
            if status is not None and exchange.status != status:
                continue
            if tenant and exchange.tenant != tenant:
                continue
            if operation and exchange.operation_id != operation:
                continue
            found.append(exchange)
            if limit is not None and len(found) >= limit:
                break
        return found

    def clear(self) -> None:
        with self._lock:
            self._exchanges.clear()
            self._cleared_at = time.perf_counter()

    def __len__(self) -> int:
        return len(self._exchanges)
