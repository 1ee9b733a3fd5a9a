"""The probes and the write flows, declared as data: which operation, the row's label, the status
expected, and how to build the request. :class:`credmock.tools.verify.runner.Verifier` runs them all
with one loop each, so a row's label always belongs to the request it describes.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from credmock.tools.verify.model import (
    CHANGE_EMAIL,
    CHANGE_PASSWORD,
    CONFIRM_EMAIL,
    EMAIL_CHANGE,
    ERROR_MESSAGE,
    FAULT,
    NO_BODY,
    PASSWORD_RESET,
    REQUEST_RESET,
    RESET_PASSWORD,
)

MALFORMED_TOKEN = "credmock-verify/not-a-token"
# The token a probe sends: none, a malformed one, or the one the operation's security asks for.
NO_TOKEN, BAD_TOKEN, OWN_TOKEN = "none", "malformed", "own"


@dataclass
class FlowState:
    """What the steps of a run build their requests from, and what they learn on the way."""

    email: str
    password: str
    new_email: str
    unknown_email: str = field(default_factory=lambda: f"credmock-verify-{secrets.token_hex(6)}@example.com")
    wrong_password: str = field(default_factory=lambda: f"wrong-{secrets.token_hex(6)}")
    temporary_password: str = field(default_factory=lambda: new_password())
    emailed_token: str = ""


Body = bytes | Callable[[FlowState], dict[str, Any]]


@dataclass(frozen=True)
class Probe:
    """One read-only request and the answer expected."""

    label: str
    expected: int
    body: Body
    shape: str = NO_BODY
    token: str = OWN_TOKEN


@dataclass(frozen=True)
class Step:
    """One request of a write flow.

    ``mark`` names the recipient (and kind) of the email this request sends, so the reader
    ignores older ones; ``emailed`` the email whose token the request needs, read before it is
    sent; ``leaves`` what the account is left as once the step succeeds, for the message of a
    later failure (empty: as it was).
    """

    operation_id: str
    label: str
    expected: int
    body: Callable[[FlowState], dict[str, Any]]
    shape: str = NO_BODY
    mark: tuple[Callable[[FlowState], str], str] | None = None
    emailed: tuple[Callable[[FlowState], str], str] | None = None
    leaves: Callable[[FlowState], str] | None = None


@dataclass(frozen=True)
class Flow:
    name: str
    steps: tuple[Step, ...]

    @property
    def reads_emails(self) -> bool:
        return any(step.emailed for step in self.steps)


def new_password() -> str:
    """A password most policies accept: long, upper and lower case, digits, a symbol."""
    return f"Cm-verify-{secrets.token_hex(6)}-9X!"


def bogus_token() -> str:
    return "credmock-verify-bogus-" + secrets.token_hex(16)


# Read-only probes: every operation gets the common ones, then its own.
COMMON_PROBES = (
    Probe("no token", 401, lambda state: {}, FAULT, token=NO_TOKEN),
    Probe("malformed token", 401, lambda state: {}, FAULT, token=BAD_TOKEN),
    Probe("invalid JSON body", 400, b'{"email": ', ERROR_MESSAGE),
)
OPERATION_PROBES: dict[str, tuple[Probe, ...]] = {
    REQUEST_RESET: (Probe("unknown email", 204, lambda state: {"email": state.unknown_email}),),
    RESET_PASSWORD: (
        Probe(
            "bogus token",
            400,
            lambda state: {"token": bogus_token(), "password": new_password()},
            ERROR_MESSAGE,
        ),
    ),
    CONFIRM_EMAIL: (Probe("bogus token", 400, lambda state: {"token": bogus_token()}, ERROR_MESSAGE),),
    CHANGE_PASSWORD: (
        Probe(
            "wrong current password",
            400,
            lambda state: {"currentPassword": state.wrong_password, "newPassword": new_password()},
            ERROR_MESSAGE,
        ),
    ),
    CHANGE_EMAIL: (
        Probe(
            "wrong password",
            400,
            lambda state: {
                "email": state.email or state.unknown_email,
                "password": state.wrong_password,
                "newEmail": state.unknown_email,
            },
            ERROR_MESSAGE,
        ),
    ),
}


def _password_is_temporary(state: FlowState) -> str:
    return f"the account's password is now {state.temporary_password!r}"


def _email_is_new(state: FlowState) -> str:
    return f"the account's login email is now {state.new_email!r}"


def _as_before(state: FlowState) -> str:
    return ""


def _email(state: FlowState) -> str:
    return state.email


def _new_email(state: FlowState) -> str:
    return state.new_email


Address = Callable[[FlowState], str]


def _request_email_change(label: str, current: Address, target: Address) -> Step:
    return Step(
        CHANGE_EMAIL,
        label,
        204,
        lambda state: {"email": current(state), "password": state.password, "newEmail": target(state)},
        mark=(target, EMAIL_CHANGE),
    )


def _confirm_email_change(label: str, target: Address, leaves: Callable[[FlowState], str]) -> Step:
    return Step(
        CONFIRM_EMAIL,
        label,
        204,
        lambda state: {"token": state.emailed_token},
        emailed=(target, EMAIL_CHANGE),
        leaves=leaves,
    )


def _request_reset(label: str) -> Step:
    return Step(
        REQUEST_RESET, label, 204, lambda state: {"email": state.email}, mark=(_email, PASSWORD_RESET)
    )


def _reset(label: str, password: Address, leaves: Callable[[FlowState], str]) -> Step:
    return Step(
        RESET_PASSWORD,
        label,
        204,
        lambda state: {"token": state.emailed_token, "password": password(state)},
        emailed=(_email, PASSWORD_RESET),
        leaves=leaves,
    )


# Write flows (--allow-writes): each leaves the test account as it found it.
FLOWS = (
    Flow(
        "change password and back",
        (
            Step(
                CHANGE_PASSWORD,
                "change",
                204,
                lambda state: {"currentPassword": state.password, "newPassword": state.temporary_password},
                leaves=_password_is_temporary,
            ),
            Step(
                CHANGE_PASSWORD,
                "change back",
                204,
                lambda state: {"currentPassword": state.temporary_password, "newPassword": state.password},
                leaves=_as_before,
            ),
        ),
    ),
    Flow(
        "email change and back",
        (
            _request_email_change("request", _email, _new_email),
            _confirm_email_change("confirm", _new_email, leaves=_email_is_new),
            Step(
                CONFIRM_EMAIL,
                "confirm again",
                400,
                lambda state: {"token": state.emailed_token},
                ERROR_MESSAGE,
            ),
            _request_email_change("request back", _new_email, _email),
            _confirm_email_change("confirm back", _email, leaves=_as_before),
        ),
    ),
    Flow(  # last: a reset revokes the customer's access tokens
        "password reset",
        (
            _request_reset("request"),
            _reset("reset", lambda state: state.temporary_password, leaves=_password_is_temporary),
            Step(
                RESET_PASSWORD,
                "reuse the token",
                400,
                lambda state: {"token": state.emailed_token, "password": new_password()},
                ERROR_MESSAGE,
            ),
            _request_reset("request again"),
            _reset("reset back", lambda state: state.password, leaves=_as_before),
        ),
    ),
)
