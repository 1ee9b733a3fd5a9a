"""The hand-written probes and the write flows, declared as data: which operation, the row's
label, the status expected, and how to build the request. :class:`credmock.tools.verify.runner.Verifier`
runs them all with one loop each, so a row's label always belongs to the request it describes.
The negative probes derived from the contract are in :mod:`credmock.tools.verify.generate`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from credmock.tools.verify.generate import FILLER
from credmock.tools.verify.model import (
    ADD_ADDRESS,
    ADD_TAGS,
    ANONYMOUS_LOGIN,
    ANONYMOUS_REFRESH,
    CHANGE_EMAIL,
    CHANGE_PASSWORD,
    CONFIRM_EMAIL,
    DELETE_ADDRESS,
    EMAIL_CHANGE,
    ERROR_MESSAGE,
    FAULT,
    GET_ADDRESS,
    LIST_ADDRESSES,
    LOGIN,
    LOGOUT,
    NO_BODY,
    PASSWORD_RESET,
    PROFILE,
    REFRESH,
    REMOVE_TAGS,
    REQUEST_RESET,
    RESET_PASSWORD,
    SIGNUP,
    UPDATE_ADDRESS,
    UPDATE_PROFILE,
    VALIDATE,
)

UNKNOWN_ADDRESS = "credmock-verify-unknown-address"
VERIFY_TAG = "CREDMOCK_VERIFY"


@dataclass
class FlowState:
    """What the steps of a run build their requests from, and what they learn on the way."""

    email: str
    password: str
    new_email: str
    tenant: str = ""
    client_id: str = ""
    anonymous_token: str = ""
    anonymous_refresh_token: str = ""
    unknown_email: str = field(default_factory=lambda: f"{FILLER}-{secrets.token_hex(6)}@example.com")
    wrong_password: str = field(default_factory=lambda: f"wrong-{secrets.token_hex(6)}")
    temporary_password: str = field(default_factory=lambda: new_password())
    emailed_token: str = ""
    session: dict[str, Any] = field(default_factory=dict)  # a login's answer
    profile: dict[str, Any] = field(default_factory=dict)  # GET /me's answer
    address_id: str = UNKNOWN_ADDRESS


Build = Callable[[FlowState], Any]
Recipient = Callable[[FlowState], str]


@dataclass(frozen=True)
class Step:
    """One request, of a read-only probe or of a write flow, and the answer expected.

    ``token`` picks the bearer token (None: the one the operation's security asks for);
    ``body`` (None: no body), ``query`` and ``address`` build the request; ``keep`` stores what
    the answer teaches (a new token, an id). In a flow, ``mark`` names the recipient (and kind)
    of the email this request sends, so the reader ignores older ones; ``emailed`` the email
    whose token the request needs, read before it is sent; ``leaves`` what the account is left as
    once the step succeeds, for the message of a later failure (empty: as it was).
    """

    operation_id: str
    label: str
    expected: int
    body: Build | bytes | None = None
    shape: str = NO_BODY
    token: Callable[[FlowState], str | None] | None = None
    query: Callable[[FlowState], dict[str, str]] | None = None
    keep: Callable[[FlowState, Any], None] | None = None
    needs: Callable[[FlowState], str] | None = None  # why the step cannot run, or empty
    mark: tuple[Recipient, str] | None = None
    emailed: tuple[Recipient, str] | None = None
    leaves: Callable[[FlowState], str] | None = None


@dataclass(frozen=True)
class Flow:
    name: str
    steps: tuple[Step, ...]
    writes: bool = True  # changes the account (runs with --allow-writes), then undoes it

    @property
    def reads_emails(self) -> bool:
        return any(step.emailed for step in self.steps)


def new_password() -> str:
    """A password most policies accept: long, upper and lower case, digits, a symbol."""
    return f"Cm-verify-{secrets.token_hex(6)}-9X!"


def bogus_token() -> str:
    return "credmock-verify-bogus-" + secrets.token_hex(16)


def _anonymous_query(state: FlowState) -> dict[str, str]:
    return {"tenant": state.tenant, "client_id": state.client_id}


def _needs_client_id(state: FlowState) -> str:
    return "" if state.client_id else "no --client-id given"


def _needs_anonymous_refresh(state: FlowState) -> str:
    return "" if state.anonymous_refresh_token else "the anonymous token was not obtained by --client-id"


def _needs_account(state: FlowState) -> str:
    return "" if state.email and state.password else "no test account: give --email and --password"


def _session_token(state: FlowState) -> str | None:
    return state.session.get("access_token")


def _keep_session(state: FlowState, answer: Any) -> None:
    state.session = answer if isinstance(answer, dict) else {}


def _keep_profile(state: FlowState, answer: Any) -> None:
    state.profile = answer if isinstance(answer, dict) else {}


def _keep_address(state: FlowState, answer: Any) -> None:
    state.address_id = answer.get("id", UNKNOWN_ADDRESS) if isinstance(answer, dict) else UNKNOWN_ADDRESS


def _anonymous(state: FlowState) -> str | None:
    return state.anonymous_token or None


# Read-only probes, each beside the negatives generated for its operation.
PROBES: dict[str, tuple[Step, ...]] = {
    ANONYMOUS_LOGIN: (
        Step(ANONYMOUS_LOGIN, "anonymous login", 200, query=_anonymous_query, needs=_needs_client_id),
    ),
    ANONYMOUS_REFRESH: (
        Step(
            ANONYMOUS_REFRESH,
            "bogus refresh token",
            400,
            query=lambda state: {**_anonymous_query(state), "refresh_token": bogus_token()},
            shape=ERROR_MESSAGE,
            needs=_needs_client_id,
        ),
        Step(
            ANONYMOUS_REFRESH,
            "refresh the anonymous token",
            200,
            query=lambda state: {**_anonymous_query(state), "refresh_token": state.anonymous_refresh_token},
            needs=_needs_anonymous_refresh,
        ),
    ),
    SIGNUP: (
        Step(
            SIGNUP,
            "email that has an account",
            409,
            lambda state: {"email": state.email, "password": new_password()},
            ERROR_MESSAGE,
            needs=_needs_account,
        ),
    ),
    LOGIN: (
        Step(
            LOGIN,
            "wrong password",
            401,
            lambda state: {"email": state.email or state.unknown_email, "password": state.wrong_password},
            FAULT,
        ),
    ),
    REFRESH: (
        Step(
            REFRESH,
            "bogus refresh token",
            400,
            shape=ERROR_MESSAGE,
            query=lambda state: {"refreshToken": bogus_token()},
        ),
    ),
    VALIDATE: (Step(VALIDATE, "customer token", 200),),
    LOGOUT: (
        Step(
            LOGOUT,
            "accessToken of no session",
            400,
            shape=ERROR_MESSAGE,
            query=lambda state: {"accessToken": bogus_token()},
        ),
    ),
    PROFILE: (
        Step(PROFILE, "customer token", 200),
        Step(PROFILE, "anonymous token", 200, token=_anonymous),
    ),
    LIST_ADDRESSES: (Step(LIST_ADDRESSES, "customer token", 200),),
    GET_ADDRESS: (Step(GET_ADDRESS, "unknown address", 404, shape=ERROR_MESSAGE),),
    UPDATE_ADDRESS: (Step(UPDATE_ADDRESS, "unknown address", 404, lambda state: {}, ERROR_MESSAGE),),
    DELETE_ADDRESS: (Step(DELETE_ADDRESS, "unknown address", 404, shape=ERROR_MESSAGE),),
    ADD_TAGS: (
        Step(ADD_TAGS, "unknown address", 404, shape=ERROR_MESSAGE, query=lambda state: {"tags": VERIFY_TAG}),
    ),
    REMOVE_TAGS: (
        Step(
            REMOVE_TAGS, "unknown address", 404, shape=ERROR_MESSAGE, query=lambda state: {"tags": VERIFY_TAG}
        ),
    ),
    REQUEST_RESET: (Step(REQUEST_RESET, "unknown email", 204, lambda state: {"email": state.unknown_email}),),
    RESET_PASSWORD: (
        Step(
            RESET_PASSWORD,
            "bogus token",
            400,
            lambda state: {"token": bogus_token(), "password": new_password()},
            ERROR_MESSAGE,
        ),
    ),
    CONFIRM_EMAIL: (
        Step(CONFIRM_EMAIL, "bogus token", 400, lambda state: {"token": bogus_token()}, ERROR_MESSAGE),
    ),
    CHANGE_PASSWORD: (
        Step(
            CHANGE_PASSWORD,
            "wrong current password",
            400,
            lambda state: {"currentPassword": state.wrong_password, "newPassword": new_password()},
            ERROR_MESSAGE,
        ),
    ),
    CHANGE_EMAIL: (
        Step(
            CHANGE_EMAIL,
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

# The valid request of each operation that the generated negatives break one part of.
VALID_BODIES: dict[str, Build] = {
    SIGNUP: lambda state: {"email": state.unknown_email, "password": new_password()},
    LOGIN: lambda state: {"email": state.unknown_email, "password": state.wrong_password},
    REQUEST_RESET: lambda state: {"email": state.unknown_email},
    RESET_PASSWORD: lambda state: {"token": bogus_token(), "password": new_password()},
    CONFIRM_EMAIL: lambda state: {"token": bogus_token()},
    CHANGE_PASSWORD: lambda state: {"currentPassword": state.wrong_password, "newPassword": new_password()},
    CHANGE_EMAIL: lambda state: {
        "email": state.unknown_email,
        "password": state.wrong_password,
        "newEmail": state.unknown_email,
    },
}
VALID_QUERIES: dict[str, Callable[[FlowState], dict[str, str]]] = {
    ANONYMOUS_LOGIN: lambda state: {"tenant": state.tenant, "client_id": state.client_id or FILLER},
    ANONYMOUS_REFRESH: lambda state: {
        "tenant": state.tenant,
        "client_id": state.client_id or FILLER,
        "refresh_token": bogus_token(),
    },
    REFRESH: lambda state: {"refreshToken": bogus_token()},
    LOGOUT: lambda state: {"accessToken": bogus_token()},
    ADD_TAGS: lambda state: {"tags": VERIFY_TAG},
    REMOVE_TAGS: lambda state: {"tags": VERIFY_TAG},
}


def _password_is_temporary(state: FlowState) -> str:
    return f"the account's password is now {state.temporary_password!r}"


def _email_is_new(state: FlowState) -> str:
    return f"the account's login email is now {state.new_email!r}"


def _middle_name_is_changed(state: FlowState) -> str:
    return "the profile's middleName is 'Credmock-Verify'"


def _address_is_added(state: FlowState) -> str:
    return f"the account has the address {state.address_id!r} the flow added"


def _as_before(state: FlowState) -> str:
    return ""


def _email(state: FlowState) -> str:
    return state.email


def _new_email(state: FlowState) -> str:
    return state.new_email


def _request_email_change(label: str, current: Recipient, target: Recipient) -> Step:
    return Step(
        CHANGE_EMAIL,
        label,
        204,
        lambda state: {"email": current(state), "password": state.password, "newEmail": target(state)},
        mark=(target, EMAIL_CHANGE),
    )


def _confirm_email_change(label: str, target: Recipient, leaves: Callable[[FlowState], str]) -> Step:
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


def _reset(label: str, password: Recipient, leaves: Callable[[FlowState], str]) -> Step:
    return Step(
        RESET_PASSWORD,
        label,
        204,
        lambda state: {"token": state.emailed_token, "password": password(state)},
        emailed=(_email, PASSWORD_RESET),
        leaves=leaves,
    )


def _middle_name_back(state: FlowState) -> dict[str, Any]:
    return {"middleName": state.profile.get("middleName")}  # None (absent before) removes it


# The session flow changes nothing on the account (a session of its own, ended at its end): it
# runs by default. The others (--allow-writes) leave the test account as they found it.
FLOWS = (
    Flow(
        "session",
        (
            Step(
                LOGIN,
                "login",
                200,
                lambda state: {"email": state.email, "password": state.password},
                keep=_keep_session,
            ),
            Step(VALIDATE, "validate", 200, token=_session_token),
            Step(
                REFRESH,
                "refresh",
                200,
                query=lambda state: {"refreshToken": state.session.get("refresh_token", "")},
                keep=_keep_session,
            ),
            Step(VALIDATE, "validate the refreshed token", 200, token=_session_token),
            Step(
                LOGOUT,
                "logout",
                204,
                token=_session_token,
                query=lambda state: {"accessToken": state.session.get("access_token", "")},
            ),
            Step(VALIDATE, "validate after logout", 401, shape=FAULT, token=_session_token),
        ),
        writes=False,
    ),
    Flow(
        "profile change and back",
        (
            Step(PROFILE, "read", 200, keep=_keep_profile),
            Step(
                UPDATE_PROFILE,
                "change",
                200,
                lambda state: {"middleName": "Credmock-Verify"},
                leaves=_middle_name_is_changed,
            ),
            Step(PROFILE, "read the change", 200),
            Step(UPDATE_PROFILE, "change back", 200, _middle_name_back, leaves=_as_before),
        ),
    ),
    Flow(
        "address add and remove",
        (
            Step(
                ADD_ADDRESS,
                "add",
                201,
                lambda state: {"contactName": "Credmock Verify", "country": "DE", "tags": [VERIFY_TAG]},
                keep=_keep_address,
                leaves=_address_is_added,
            ),
            Step(GET_ADDRESS, "read", 200),
            Step(UPDATE_ADDRESS, "change", 200, lambda state: {"city": "Verifyburg"}),
            Step(ADD_TAGS, "add a tag", 204, query=lambda state: {"tags": "BILLING"}),
            Step(REMOVE_TAGS, "remove the tag", 204, query=lambda state: {"tags": "BILLING"}),
            Step(LIST_ADDRESSES, "list", 200),
            Step(DELETE_ADDRESS, "remove", 204, leaves=_as_before),
            Step(GET_ADDRESS, "read after removal", 404, shape=ERROR_MESSAGE),
        ),
    ),
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
