"""The body decoder on its own: what each body decodes to, or the field and reason it is refused with."""

from __future__ import annotations

import json

import pytest

from credmock.http.request_body import BodyError, decode_json_body, media_type

JSON = "application/json"


def refusal(raw: bytes, content_type: str | None = JSON, **limits: int) -> tuple[str, str]:
    with pytest.raises(BodyError) as caught:
        decode_json_body(raw, content_type, **limits)
    return caught.value.field, caught.value.reason


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b'{"a": "\xc3\xa9"}', "APPLICATION/JSON"),
        (b'\xef\xbb\xbf{"a": "\xc3\xa9"}', JSON),
        ('{"a": "é"}'.encode("utf-16"), "application/json; charset=UTF-16"),
        ('{"a": "é"}'.encode("utf-16-be"), JSON),
        ('{"a": "é"}'.encode("utf-32-le"), JSON),
        ('{"a": "é"}'.encode("latin-1"), "application/json;charset=latin1"),
        (b'{"a": "\xc3\xa9"}', "application/problem+json"),
    ],
    ids=[
        "uppercase",
        "utf-8 bom",
        "utf-16 declared",
        "utf-16be detected",
        "utf-32le detected",
        "latin-1",
        "+json",
    ],
)
def test_decode_json_body_reads_every_form_of_the_same_json(raw: bytes, content_type: str) -> None:
    assert decode_json_body(raw, content_type) == {"a": "é"}


def test_decode_json_body_empty_is_none_whatever_the_headers() -> None:
    assert decode_json_body(b"", None) is None
    assert decode_json_body(b" \r\n", "text/plain") is None


def test_decode_json_body_duplicate_keys_last_wins() -> None:
    assert decode_json_body(b'{"email": "a@x.io", "email": "b@x.io"}', JSON) == {"email": "b@x.io"}


@pytest.mark.parametrize(
    ("raw", "content_type", "expected"),
    [
        (b'{"a": 1}', None, ("Content-Type", "missing_value")),
        (b'{"a": 1}', "", ("Content-Type", "missing_value")),
        (b'{"a": 1}', "text/plain", ("Content-Type", "invalid_value")),
        (b'{"a": 1}', "application/json; charset=koi8-r", ("Content-Type", "invalid_value")),
        (b'{"a": 1}', "application/json; charset=hex", ("Content-Type", "invalid_value")),
        (b'{"a": "\xed\xa0\x80"}', JSON, ("body", "invalid_format")),
        (b'{"a": NaN}', JSON, ("body", "invalid_format")),
        (b'{"a": 1}}', JSON, ("body", "invalid_format")),
        (b'{"a": "\\ud800"}', JSON, ("a", "invalid_value")),
        (b'{"a": {"b": ["ok", "\\udfff"]}}', JSON, ("a.b[1]", "invalid_value")),
        (b'{"k\\ud800": 1}', JSON, ("k\\ud800", "invalid_value")),
        (b'{"a": 1e400}', JSON, ("a", "too_large")),
        (b'{"a": -1e400}', JSON, ("a", "too_large")),
        (b'{"a": ' + b"9" * 5000 + b"}", JSON, ("a", "too_large")),
    ],
    ids=[
        "no content type",
        "empty content type",
        "text/plain",
        "unknown charset",
        "bytes-to-bytes codec",
        "encoded surrogate",
        "nan",
        "trailing brace",
        "lone surrogate",
        "nested lone surrogate",
        "surrogate in a key",
        "huge float",
        "huge negative float",
        "5000 digits",
    ],
)
def test_decode_json_body_refusals_name_field_and_reason(
    raw: bytes, content_type: str | None, expected: tuple[str, str]
) -> None:
    assert refusal(raw, content_type) == expected


@pytest.mark.parametrize("levels", [33, 1_000, 1_000_000])
def test_decode_json_body_too_deep_is_refused_without_recursion(levels: int) -> None:
    assert refusal(b'{"a": ' + b"[" * levels + b"]" * levels + b"}", max_depth=32) == ("body", "too_deep")


def test_decode_json_body_depth_at_the_limit_is_read() -> None:
    nested = "[" * 31 + "]" * 31
    assert decode_json_body(f'{{"a": {nested}}}'.encode(), JSON, max_depth=32) == {"a": json.loads(nested)}


def test_decode_json_body_brackets_in_strings_do_not_count() -> None:
    text = json.dumps({"a": "[{" * 1000, "b": '\\"[[[['})
    assert decode_json_body(text.encode(), JSON, max_depth=2) == json.loads(text)


def test_decode_json_body_over_max_bytes_is_too_large() -> None:
    assert refusal(b'{"a": "' + b"x" * 100 + b'"}', max_bytes=50) == ("body", "too_large")


def test_media_type_lowercases_names_and_strips_quotes() -> None:
    assert media_type(' Application/JSON ; Charset="UTF-8" ;q=1') == (
        "application/json",
        {"charset": "UTF-8", "q": "1"},
    )
