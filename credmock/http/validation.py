"""Request body validation against the contract, with errors in the contract's shape.

Connexion's own JSON validator reports one problem as a problem+json string (and fails on
bytes that are not UTF-8); this one decodes the body with :func:`credmock.http.request_body.decode_json_body`
(the rules of what a body may be) and reports every problem as ``ErrorMessage.details``. It
refuses bodies above a size limit before reading them when ``Content-Length`` says so, and as
the chunks arrive otherwise.
"""

from __future__ import annotations

import codecs
import functools
import json
import re
import typing as t

from connexion.json_schema import Draft4RequestValidator
from connexion.utils import is_null, is_nullable
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator, MediaTypeDict, ParameterValidator
from jsonschema import Draft4Validator, validators
from jsonschema.exceptions import ValidationError
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import Receive, Scope

from credmock.core import exceptions as errors
from credmock.http.compiled import header
from credmock.http.request_body import (
    DEFAULT_MAX_JSON_DEPTH,
    JSON_MEDIA_TYPE,
    BodyError,
    body_too_large,
    decode_json_body,
)
from credmock.settings import DEFAULT_MAX_BODY_BYTES

# jsonschema keyword -> ErrorMessage.details[].type
_PROBLEM_TYPES = {
    "required": "missing_value",
    "type": "invalid_type",
    "format": "invalid_format",
    "pattern": "invalid_format",
    "enum": "invalid_value",
    "minLength": "too_short",
    "maxLength": "too_long",
    "minimum": "too_small",
    "maximum": "too_large",
    "additionalProperties": "unknown_field",
}


def field_problem(error: ValidationError) -> errors.FieldProblem:
    path = [str(part) for part in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        path.append(missing)
    return errors.FieldProblem(
        field=".".join(part for part in path if part) or "body",
        type=_PROBLEM_TYPES.get(str(error.validator), "invalid_value"),
        message=error.message,
    )


def parameter_problem(parameter_type: str, name: str, error: ValidationError) -> str:
    """``Query parameter 'tenant' does not match '^[a-z][a-z0-9]+$'``: the parameter and the rule,
    never the value (a query may carry a token, and the message is the request log's reason)."""
    words = error.message
    value = repr(error.instance)
    words = words[len(value) :].lstrip() if words.startswith(value) else f"fails '{error.validator}'"
    return f"{parameter_type.capitalize()} parameter '{name}' {words}"


def whole_value_pattern(pattern: str) -> re.Pattern[str]:
    """A contract's ``pattern`` as JSON Schema means it (ECMA 262): ``$`` is the end of the value,
    where Python's ``$`` also matches before a final line feed (``demo\\n`` would pass
    ``^[a-z][a-z0-9]+$``). Compiled once per pattern."""
    return _whole_value_pattern(pattern)


@functools.lru_cache(maxsize=256)
def _whole_value_pattern(pattern: str) -> re.Pattern[str]:
    translated: list[str] = []
    index, in_class = 0, False
    while index < len(pattern):
        character = pattern[index]
        if character == "\\":
            translated.append(pattern[index : index + 2])
            index += 2
            continue
        if in_class:
            in_class = character != "]"
        elif character == "[":
            in_class = True
        elif character == "$":
            character = r"\Z"
        translated.append(character)
        index += 1
    return re.compile("".join(translated))


def _pattern_keyword(
    validator: t.Any, pattern: str, instance: t.Any, schema: dict
) -> t.Iterator[ValidationError]:
    """jsonschema's ``pattern`` keyword, with the contract's meaning of ``$``."""
    if validator.is_type(instance, "string") and not whole_value_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# The validators the contract's schemas are checked with: Draft 4, with ``pattern`` as above.
ContractParameterSchema = validators.extend(Draft4Validator, {"pattern": _pattern_keyword})
ContractBodySchema = validators.extend(Draft4RequestValidator, {"pattern": _pattern_keyword})


def bad_body(error: BodyError) -> errors.BadRequest:
    return errors.BadRequest(error.message, [errors.FieldProblem(error.field, error.reason, error.message)])


class SchemaValidators:
    """JSON-schema validators built once per schema, not per request.

    Connexion builds a new validator object for every request, and each builds a new jsonschema
    validator for the body and for every parameter (12% of the server's time under load). The
    schemas are the loaded spec's own dicts, the same objects on every request, so they key
    this cache by identity; an entry keeps its schema alive, so an id is never reused. One cache
    per :func:`validator_map` call, hence per app: it lives as long as the app's specs.
    """

    def __init__(self, build: t.Callable[[dict], Draft4Validator]) -> None:
        self._build = build
        self._entries: dict[int, tuple[dict, Draft4Validator]] = {}

    def __call__(self, schema: dict) -> Draft4Validator:
        entry = self._entries.get(id(schema))
        if entry is None or entry[0] is not schema:
            entry = (schema, self._build(schema))
            self._entries[id(schema)] = entry
        return entry[1]


def _parameter_schema_validator(schema: dict) -> Draft4Validator:
    return ContractParameterSchema(schema, format_checker=Draft4Validator.FORMAT_CHECKER)


def _body_schema_validator(schema: dict) -> Draft4Validator:
    return ContractBodySchema(schema, format_checker=Draft4Validator.FORMAT_CHECKER)


class CachedParameterValidator(ParameterValidator):
    """Connexion's parameter validation with each parameter's validator from a cache (Connexion
    also deep-copies the parameter on every request, then builds a new validator)."""

    validators: t.ClassVar[SchemaValidators] = SchemaValidators(_parameter_schema_validator)

    def validate_parameter(  # type: ignore[override]
        self, parameter_type: str, value: t.Any, param: dict, param_name: str | None = None
    ) -> str | None:
        if is_nullable(param) and is_null(value):
            return None
        if value is not None:
            try:
                self.validators(param.get("schema", param)).validate(value)
            except ValidationError as exception:
                return parameter_problem(parameter_type, param.get("name", ""), exception)
            return None
        if param.get("required"):
            return f"Missing {parameter_type} parameter '{param['name']}'"
        return None


class ContractJSONBodyValidator(JSONRequestBodyValidator):
    """The one place request bodies enter: decoded by :func:`decode_json_body`, then checked
    against the operation's schema, on both engines (Connexion runs it before either)."""

    max_body_bytes: t.ClassVar[int] = DEFAULT_MAX_BODY_BYTES
    max_depth: t.ClassVar[int] = DEFAULT_MAX_JSON_DEPTH
    validators: t.ClassVar[SchemaValidators] = SchemaValidators(_body_schema_validator)

    @property
    def _validator(self) -> Draft4Validator:  # Connexion's builds a new one on each access
        return self.validators(self._schema)

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        """Read, decode and validate the whole body; the handler then reads it as decoded.

        When the body was sent in another form than plain UTF-8 ``application/json`` (another
        charset, a byte order mark, ``+json``), the handler gets the decoded value re-encoded as
        that, whatever the headers said; otherwise the original bytes, which decode the same
        (the same parser reads them again), with a ``Content-Length`` if they came chunked.
        """
        raw = await self._read(_chunks(receive), scope)
        body = self._decode(raw, scope)
        self._validate(body)
        headers = Headers(scope=scope)
        if headers.get("content-type") != JSON_MEDIA_TYPE or raw.startswith(codecs.BOM_UTF8):
            raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        elif headers.get("content-length") == str(len(raw)):
            return self._insert_messages(receive, messages=[_request_message(raw)]), scope
        # Framed by its length from here on, also when it came chunked (WSGI reads by length).
        replayed = MutableHeaders(scope={"type": "http", "headers": list(scope["headers"])})
        del replayed["transfer-encoding"]
        replayed["content-type"] = JSON_MEDIA_TYPE
        replayed["content-length"] = str(len(raw))
        scope = {**scope, "headers": replayed.raw}
        return self._insert_messages(receive, messages=[_request_message(raw)]), scope

    async def _parse(self, stream: t.AsyncGenerator[bytes, None], scope: Scope) -> t.Any:
        """The decoded body, for a caller that hands the parsed body on itself."""
        return self._decode(await self._read(stream, scope), scope)

    def _decode(self, raw: bytes, scope: Scope) -> t.Any:
        try:
            return decode_json_body(
                raw,
                header(scope, b"content-type"),
                max_depth=self.max_depth,
                max_bytes=self.max_body_bytes,
            )
        except BodyError as error:
            raise bad_body(error) from None

    async def _read(self, chunks: t.AsyncIterator[bytes], scope: Scope) -> bytes:
        declared = header(scope, b"content-length") or ""
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise bad_body(body_too_large(self.max_body_bytes))
        received: list[bytes] = []
        size = 0
        async for chunk in chunks:  # a chunked body has no Content-Length: count as it comes
            size += len(chunk)
            if size > self.max_body_bytes:
                raise bad_body(body_too_large(self.max_body_bytes))
            received.append(chunk)
        return b"".join(received)

    def _validate(self, body: t.Any) -> dict | None:
        if body is None:
            raise errors.ValidationFailed(
                "A JSON request body is required.",
                [errors.FieldProblem("body", "missing_value", "The request body is empty.")],
            )
        problems = sorted(self._validator.iter_errors(body), key=lambda error: list(error.absolute_path))
        if problems:
            details = [field_problem(problem) for problem in problems]
            raise errors.ValidationFailed(
                "The request body does not match the contract: "
                + "; ".join(f"{detail.field}: {detail.message}" for detail in details),
                details,
            )
        return None


async def _chunks(receive: Receive) -> t.AsyncIterator[bytes]:
    """The body's chunks as the server receives them, up to the last one."""
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


def _request_message(body: bytes) -> dict[str, t.Any]:
    return {"type": "http.request", "body": body, "more_body": False}


def validator_map(max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> dict[str, t.Any]:
    body_validators = dict(VALIDATOR_MAP["body"])
    body_validators["*/*json"] = type(
        "ContractJSONBodyValidator",
        (ContractJSONBodyValidator,),
        {"max_body_bytes": max_body_bytes, "validators": SchemaValidators(_body_schema_validator)},
    )
    parameter_validator = type(
        "CachedParameterValidator",
        (CachedParameterValidator,),
        {"validators": SchemaValidators(_parameter_schema_validator)},
    )
    return {**VALIDATOR_MAP, "parameter": parameter_validator, "body": MediaTypeDict(body_validators)}
