"""Request body validation against the contract, with errors in the contract's shape.

Connexion's own JSON validator reports one problem as a problem+json string (and fails on
bytes that are not UTF-8); this one reports every problem as ``ErrorMessage.details``. It also
refuses bodies above a size limit (before reading them when ``Content-Length`` says so) and the
non-JSON constants ``NaN`` and ``Infinity`` that Python's parser would otherwise accept.
:class:`PathSegmentMiddleware` keeps an encoded slash or control character inside its path
segment, so a tenant such as ``de%2Fmo`` or ``de%0Amo`` is a malformed tenant (400), as the
contract reads it, not another path or no route at all (404).
"""

from __future__ import annotations

import json
import re
import typing as t
from urllib.parse import unquote

from connexion.json_schema import Draft4RequestValidator
from connexion.utils import is_null, is_nullable
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator, MediaTypeDict, ParameterValidator
from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from credmock import exceptions as errors
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


def body_too_large(max_body_bytes: int) -> errors.BadRequest:
    message = f"The request body is larger than {max_body_bytes} bytes."
    return errors.BadRequest(message, [errors.FieldProblem("body", "too_large", message)])


def _reject_constant(name: str) -> t.NoReturn:
    raise errors.BadRequest(f"The request body is not valid JSON: {name} is not a JSON number.")


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
    return Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)


def _body_schema_validator(schema: dict) -> Draft4Validator:
    return Draft4RequestValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)


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
                return str(exception)
            return None
        if param.get("required"):
            return f"Missing {parameter_type} parameter '{param['name']}'"
        return None


class ContractJSONBodyValidator(JSONRequestBodyValidator):
    max_body_bytes: t.ClassVar[int] = DEFAULT_MAX_BODY_BYTES
    validators: t.ClassVar[SchemaValidators] = SchemaValidators(_body_schema_validator)

    @property
    def _validator(self) -> Draft4Validator:  # Connexion's builds a new one on each access
        return self.validators(self._schema)

    async def _read(self, stream: t.AsyncGenerator[bytes, None], scope: Scope) -> bytes:
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise body_too_large(self.max_body_bytes)
        chunks: list[bytes] = []
        size = 0
        async for chunk in stream:  # a chunked body has no Content-Length: count as it comes
            size += len(chunk)
            if size > self.max_body_bytes:
                raise body_too_large(self.max_body_bytes)
            chunks.append(chunk)
        return b"".join(chunks)

    async def _parse(self, stream: t.AsyncGenerator[bytes, None], scope: Scope) -> t.Any:
        raw = await self._read(stream, scope)
        if not raw.strip():
            return None
        try:
            return json.loads(raw.decode(self._encoding), parse_constant=_reject_constant)
        except UnicodeDecodeError:
            raise errors.BadRequest(f"The request body is not valid {self._encoding}.") from None
        except json.JSONDecodeError as error:
            raise errors.BadRequest(f"The request body is not valid JSON: {error}.") from None

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


_KEPT_ENCODED = re.compile(r"[/\x00-\x1f\x7f]")
_SLASHES = re.compile("/{2,}")


class PathSegmentMiddleware:
    """Routing on the path's segments as the client sent them.

    ASGI servers decode ``%2F`` into ``/`` in ``scope["path"]``, splitting a segment that
    RFC 3986 says holds a slash as data, and a decoded newline makes Starlette's routes miss
    the path altogether. Both stay percent-encoded here, inside their segment; doubled slashes
    are merged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path: bytes | None = scope.get("raw_path")
        if scope["type"] == "http" and raw_path:
            path = scope["path"]
            if b"%2f" in raw_path.lower() or _KEPT_ENCODED.search(path.replace("/", "")):
                segments = (unquote(segment) for segment in raw_path.decode("latin-1").split("/"))
                path = "/".join(
                    _KEPT_ENCODED.sub(lambda match: f"%{ord(match.group()):02X}", segment)
                    for segment in segments
                )
            path = _SLASHES.sub("/", path)  # as nginx's merge_slashes; Werkzeug would redirect
            if path != scope["path"]:
                scope = {**scope, "path": path}
        await self.app(scope, receive, send)


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
