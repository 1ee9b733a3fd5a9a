"""One exception class per API error. Each knows its HTTP status and the body the real service
sends: 400/403/404 the contract's ``ErrorMessage``, 401 Apigee's ``fault``.

The domain raises these; one error handler in :mod:`credmock.app` turns them into responses.
Each also carries a ``reason``: what went wrong in words, for the request log and the journal,
said where the error is decided (the body the client gets stays the real service's). A reason
never holds a token or a password.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldProblem:
    """One entry of ``ErrorMessage.details``."""

    field: str
    type: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "type": self.type, "message": self.message}

    @property
    def reason(self) -> str:
        """``field: problem`` in words; never the field's value (it may be a password)."""
        return f"{self.field}: {self.type.replace('_', ' ')}"


class ApiError(Exception):
    """An error answered in the contract's ``ErrorMessage`` shape."""

    status: ClassVar[int] = 400
    error_type: ClassVar[str] = "bad_request"
    default_message: ClassVar[str] = "The request is not valid."
    default_reason: ClassVar[str | None] = None  # when the message does not say it shortly

    def __init__(
        self,
        message: str | None = None,
        details: list[FieldProblem] | None = None,
        *,
        reason: str | None = None,
    ):
        self.message = message or self.default_message
        self.details = details or []
        self._reason = reason
        super().__init__(self.message)

    @property
    def reason(self) -> str:
        """Why, in words: the reason given where the error was decided, else the problem of each
        field, else the message."""
        if self._reason or self.default_reason:
            return self._reason or self.default_reason  # type: ignore[return-value]
        if self.details:
            return "; ".join(detail.reason for detail in self.details)
        return self.message

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status, "type": self.error_type, "message": self.message}
        if self.details:
            body["details"] = [detail.to_dict() for detail in self.details]
        return body


# 400 ------------------------------------------------------------------------------------------


class BadRequest(ApiError):
    """The request cannot be read: malformed JSON, a wrong content type, undecodable bytes."""


class ValidationFailed(ApiError):
    error_type = "validation_violation"
    default_message = "The request body is not valid."

    @classmethod
    def for_field(
        cls, field: str, problem_type: str, message: str, *, reason: str | None = None
    ) -> ValidationFailed:
        return cls(message, [FieldProblem(field, problem_type, message)], reason=reason)


class InvalidTenant(ApiError):
    default_message = "The tenant information provided with the request is not valid."


class InvalidEmailToken(ApiError):
    error_type = "invalid_token"
    default_message = "The token is invalid, expired or has already been used."


class WrongCurrentPassword(ApiError):
    error_type = "invalid_password"
    default_message = "The current password is not correct."


class InvalidCredentials(ApiError):
    error_type = "invalid_credentials"
    default_message = "The email or password is not correct."


class PasswordPolicyViolation(ApiError):
    error_type = "validation_violation"


class EmailAlreadyUsed(ApiError):
    error_type = "email_already_used"


class DuplicateAccount(EmailAlreadyUsed):
    """A new account for an email that already has one: the reference's 409."""

    status = 409
    error_type = "conflict_resource"


class SameEmail(ApiError):
    error_type = "validation_violation"
    default_message = "The new email must differ from the current login email."


class InvalidRefreshToken(ApiError):
    error_type = "invalid_token"
    default_message = "The refresh token is invalid, expired or has already been used."


class StaleVersion(ApiError):
    """An update based on a ``metadata.version`` that is no longer the current one. The reference
    declares no 409 on its updates: a 400 naming the version."""

    error_type = "stale_version"
    default_message = "The resource changed since it was read; read it again."


class UnknownLegalEntity(ApiError):
    """A legal entity the customer does not belong to."""

    error_type = "validation_violation"


# 401: Apigee's fault body ----------------------------------------------------------------------


class AccessTokenError(Exception):
    """A missing, malformed, unknown, revoked or expired access token: Apigee answers 401."""

    status: ClassVar[int] = 401
    faultstring: ClassVar[str] = "Invalid access token"
    errorcode: ClassVar[str] = "oauth.v2.InvalidAccessToken"

    def __init__(self, reason: str | None = None) -> None:
        self.reason = reason or self.faultstring
        super().__init__(self.reason)

    def body(self) -> dict[str, Any]:
        return {"fault": {"faultstring": self.faultstring, "detail": {"errorcode": self.errorcode}}}


class InvalidAccessToken(AccessTokenError):
    pass


class ExpiredAccessToken(AccessTokenError):
    faultstring = "Access Token expired"
    errorcode = "keymanagement.service.access_token_expired"


class LoginFailed(AccessTokenError):
    """A storefront login with a wrong email or password: 401 in the same fault shape as any other
    401 of the contract, one answer for both, so a login never tells which emails exist."""

    faultstring = "Invalid credentials"
    errorcode = "invalid_credentials"


class AccountNotActivated(AccessTokenError):
    """A login to an account a double opt-in signup created, before its emailed link was opened."""

    faultstring = "Customer account is not activated"
    errorcode = "account_not_activated"


# 403 ------------------------------------------------------------------------------------------


class SubjectTokenRejected(AccessTokenError):
    """exchangeauthtoken's ``subjectAccessToken`` is no live token of the identity provider (bad
    signature, issuer, audience or expiry): 401 in the contract's fault shape, told apart from a
    refused bearer token so a client knows which token to replace."""

    faultstring = "Invalid subject access token"
    errorcode = "invalid_subject_token"


class Forbidden(ApiError):
    status = 403
    error_type = "forbidden"
    default_message = "User not authorized."


class TenantMismatch(Forbidden):
    default_message = "The access token was not issued for this tenant."


class CustomerTokenRequired(Forbidden):
    default_message = "This operation needs a customer access token."


class AnonymousTokenRequired(Forbidden):
    default_message = "This operation needs an anonymous access token."


class MissingScope(Forbidden):
    def __init__(self, scope: str) -> None:
        super().__init__(
            f"User not authorized: the access token lacks the scope '{scope}'.",
            reason=f"token lacks the scope {scope}",
        )


# Other statuses of the mock's own API and of unknown routes ----------------------------------------


class ControlTokenRequired(ApiError):
    """A /_mock call without the control token the server was started with (``--control-token``)."""

    status = 401
    error_type = "unauthorized"
    default_message = "This call needs the server's control token in the X-Mock-Control-Token header."
    default_reason = "control token missing or wrong"


class NotFound(ApiError):
    status = 404
    error_type = "resource_not_found"
    default_message = "Not found."


class MethodNotAllowed(ApiError):
    status = 405
    error_type = "method_not_allowed"
    default_message = "This method is not allowed on this path."


class Conflict(ApiError):
    status = 409
    error_type = "conflict_resource"


class InternalError(ApiError):
    status = 500
    error_type = "internal_error"
    default_message = "The mock failed on this request; the server log has the traceback."


class InvalidGrant(ApiError):
    """An authorization code of the mock identity provider that cannot be redeemed: unknown,
    spent, expired, or sent with another redirect URI or a wrong PKCE verifier."""

    error_type = "invalid_grant"
    default_message = "The authorization code is invalid, expired or has already been used."


class OAuthError(ApiError):
    """An error of the mock identity provider's OAuth endpoints, in RFC 6749's shape."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description, reason=description)
        self.error = error

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.message}


# Refusals of the server itself, before (or instead of) any operation ------------------------


class CrossSiteControlRequest(Forbidden):
    """A /_mock write a browser sent from another site, or a request naming a Host the mock was
    not started for (DNS rebinding): refused before anything is done."""

    default_message = "This request comes from another site or names another host; the mock refuses it."


class HeadersTooLarge(ApiError):
    """The request line and headers together exceed the server's bound."""

    status = 431
    error_type = "request_header_fields_too_large"
    default_message = "The request line and headers are too large."




class ServiceUnavailable(ApiError):
    """A part the answer needs (the store) is down, hanging past its deadline or refusing writes:
    503 with ``Retry-After``, an answer beyond the contract (docs/hardening.md). The message names
    the part's kind, never its address or password."""

    status = 503
    error_type = "service_unavailable"
    default_message = "The mock's store is not available; try again shortly."
    retry_after: ClassVar[int] = 1  # seconds, for the Retry-After header


class ServerStopping(ServiceUnavailable):
    """A request still waiting (a delay) when the server's stop grace period ran out."""

    default_message = "The server is stopping."
