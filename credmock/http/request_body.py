"""Decoding a request body into JSON, as the real service's Spring/Jackson stack reads it.

One pure function, :func:`decode_json_body`, framework-free, so every engine runs the same
rule: whatever the headers said, a body either decodes to JSON of bounded depth whose
strings can all be encoded, or :class:`BodyError` names what is wrong (a field and a reason,
for the contract's ``ErrorMessage.details``).

- The media type is case-insensitive (``APPLICATION/JSON``, ``Application/Json``); a body
  without a ``Content-Type`` is refused, as Spring refuses it (the contract declares no 415,
  so the refusal is a 400 naming the header).
- A declared ``charset`` is honoured (UTF-8/16/32, Latin-1, ASCII, Windows-1252) or refused
  by name; without one, UTF-8/16/32 are recognised from the bytes as Jackson does, and a
  byte order mark is skipped.
- Nesting is bounded before parsing, without recursion, so a deep body is a 400, never a
  ``RecursionError``; a string holding a lone surrogate (``"\\ud800"``, which no encoding can
  carry) is refused naming its field, as is a number beyond a double (``1e400``).
- Duplicate keys: the last one wins, as with Jackson's defaults.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from typing import Any

# Nesting beyond this is refused; the contract's bodies are two levels deep at most.
DEFAULT_MAX_JSON_DEPTH = 32
JSON_MEDIA_TYPE = "application/json"
# Python's cap on the digits of an int read from text (sys.int_info.str_digits_check_threshold
# is the floor of that cap); an integer literal longer than this is beyond any field's range.
_MAX_INTEGER_DIGITS = 4000

# The charsets a client may declare, by Python's codec name; Java (Jackson's readers) has each.
_CHARSETS = frozenset(
    {"utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"}
    | {"iso8859-1", "ascii", "cp1252", "iso8859-15"}
)
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_SURROGATE = re.compile("[\ud800-\udfff]")


class BodyError(ValueError):
    """Why a body cannot be read: ``field`` (``body``, a header name or a dotted field path),
    ``reason`` (an ``ErrorMessage.details[].type``) and a message for people."""

    def __init__(self, field: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason
        self.message = message


def body_too_large(max_bytes: int) -> BodyError:
    return BodyError("body", "too_large", f"The request body is larger than {max_bytes} bytes.")


def media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """``(type/subtype, parameters)`` of a Content-Type value: names lowercased, whitespace and
    quotes dropped (``Application/Json ; Charset="UTF-8"`` -> ``application/json, {charset: utf-8}``)."""
    if not content_type:
        return "", {}
    essence, *parameters = content_type.split(";")
    parsed: dict[str, str] = {}
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip():
            parsed[name.strip().lower()] = value.strip().strip('"').strip()
    return essence.strip().lower(), parsed


def is_json_media_type(essence: str) -> bool:
    kind, _, subtype = essence.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def decode_json_body(
    raw: bytes,
    content_type: str | None,
    *,
    max_depth: int = DEFAULT_MAX_JSON_DEPTH,
    max_bytes: int | None = None,
) -> Any:
    """The JSON value of ``raw``, sent with header ``content_type``; None for an empty body.

    Raises :class:`BodyError` when the body cannot be read as the real service reads it.
    """
    if max_bytes is not None and len(raw) > max_bytes:
        raise body_too_large(max_bytes)
    if not raw.strip():
        return None
    essence, parameters = media_type(content_type)
    if not essence:
        raise BodyError(
            "Content-Type",
            "missing_value",
            f"The request has a body but no Content-Type header: send it as {JSON_MEDIA_TYPE}.",
        )
    if not is_json_media_type(essence):
        raise BodyError(
            "Content-Type",
            "invalid_value",
            f"Unsupported content type {essence!r}: send the body as {JSON_MEDIA_TYPE}.",
        )
    text = _decode_text(raw, parameters.get("charset"))
    _check_depth(text, max_depth)
    try:
        value = _DECODER.decode(text) if not text.startswith("\ufeff") else json.loads(text)
    except (ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError
        raise BodyError("body", "invalid_format", f"The request body is not valid JSON: {error}.") from None
    # A lone surrogate can only come from a \u escape: the codecs above refuse encoded ones.
    _check_values(value, check_strings="\\u" in text)
    return value


def _decode_text(raw: bytes, charset: str | None) -> str:
    if charset is None:
        encoding = json.detect_encoding(raw)  # UTF-8, -16 or -32, from a BOM or the zero bytes
    else:
        try:
            encoding = codecs.lookup(charset).name
        except (LookupError, ValueError):  # unknown, or not a name at all (a NUL in it)
            encoding = ""
        if encoding not in _CHARSETS:
            raise BodyError(
                "Content-Type",
                "invalid_value",
                f"Unsupported charset {charset!r}: send the body as UTF-8 (or declare UTF-16, UTF-32 "
                "or ISO-8859-1).",
            )
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        label = charset or ("UTF-8" if encoding.startswith("utf-8") else encoding.upper())
        raise BodyError(
            "body",
            "invalid_format",
            f"The request body is not valid {label}: {error.reason} at byte {error.start}.",
        ) from None
    return text.removeprefix("\ufeff")  # a byte order mark the codec kept


def _check_depth(text: str, max_depth: int) -> None:
    """Refuse nesting deeper than ``max_depth`` without parsing (the parser recurses)."""
    if text.count("[") + text.count("{") <= max_depth:
        return  # cannot be deeper: the common case, two C-speed counts
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    depth = 0
    for bracket in brackets:
        if bracket in "[{":
            depth += 1
            if depth > max_depth:
                raise BodyError(
                    "body",
                    "too_deep",
                    f"The request body nests arrays or objects deeper than {max_depth} levels.",
                )
        else:
            depth -= 1


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _parse_int(digits: str) -> int | float:
    if len(digits) > _MAX_INTEGER_DIGITS:  # int() would refuse it; any field's range is far smaller
        return -math.inf if digits.startswith("-") else math.inf
    return int(digits)


# json.loads(text, parse_constant=..., parse_int=...) builds this anew for each call; it holds
# no state between calls. (json.loads also refuses a text starting with a byte order mark, in
# its own words: such a text goes to json.loads.)
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_int=_parse_int)


def _check_values(value: Any, check_strings: bool = True) -> None:
    """Every string (keys too) encodable, every number finite; iterative, depth is bounded anyway."""
    pending: list[tuple[str, Any]] = [("", value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str):
            if check_strings:
                _check_string(path, item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise BodyError(
                path or "body",
                "too_large",
                "The number is beyond the range of a double-precision number.",
            )
        elif isinstance(item, dict):
            for key, child in item.items():
                if check_strings:
                    _check_string(_join(path, key), key)
                pending.append((_join(path, key), child))
        elif isinstance(item, list):
            pending.extend((f"{path}[{index}]", child) for index, child in enumerate(item))


def _join(path: str, key: str) -> str:
    key = key if not _SURROGATE.search(key) else json.dumps(key)[1:-1]
    return f"{path}.{key}" if path else key


def _check_string(path: str, text: str) -> None:
    surrogate = _SURROGATE.search(text)
    if surrogate:
        raise BodyError(
            path or "body",
            "invalid_value",
            f"{path or 'The body'} holds a lone surrogate (\\u{ord(surrogate.group()):04x} at position "
            f"{surrogate.start()}), which no Unicode encoding can carry.",
        )
