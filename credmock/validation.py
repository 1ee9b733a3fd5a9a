"""Request body validation against the contract, with errors in the contract's shape.

Connexion's own JSON validator reports one problem as a problem+json string (and fails on
bytes that are not UTF-8); this one reports every problem as ``ErrorMessage.details``.
"""

from __future__ import annotations

import json
import typing as t

from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator, MediaTypeDict
from jsonschema.exceptions import ValidationError
from starlette.types import Scope

from credmock import exceptions as errors

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


class ContractJSONBodyValidator(JSONRequestBodyValidator):
    async def _parse(self, stream: t.AsyncGenerator[bytes, None], scope: Scope) -> t.Any:
        raw = b"".join([message async for message in stream])
        if not raw.strip():
            return None
        try:
            return json.loads(raw.decode(self._encoding))
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


def validator_map() -> dict[str, t.Any]:
    body_validators = dict(VALIDATOR_MAP["body"])
    body_validators["*/*json"] = ContractJSONBodyValidator
    return {**VALIDATOR_MAP, "body": MediaTypeDict(body_validators)}
