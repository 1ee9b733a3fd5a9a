"""Every option of the command line checked as it is read, from a flag or from the environment:
a bad value is one line naming the option and the rule, exit status 2, and never shows a secret
(the password of a URL, the control token).

The checks are argparse ``type`` functions, so they run on the environment's values too
(:mod:`credmock.tools.env_options`); :class:`OneLineParser` prints argparse's own errors on one
line; :class:`DefaultsHelpFormatter` shows each option's default in ``--help``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import NoReturn

from credmock.core.redaction import url_without_password

MAX_PORT = 65535
# The longest waits the tools accept: for one answer of a deployment, for an email to arrive.
UPSTREAM_WAIT_LIMIT = 600.0
MAIL_WAIT_LIMIT = 3600.0


class OneLineParser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line (no usage block), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Adds ``(default: X)`` to an option's help, unless it says its default already or is a
    switch (off unless given); an option that holds a secret shows only whether it is set."""

    SECRET_DESTINATIONS = frozenset({"control_token", "smtp_url", "state"})

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        is_switch = action.nargs == 0
        if "(default" in text or not action.option_strings or is_switch or default == argparse.SUPPRESS:
            return text
        if default is None:
            shown = "none"
        elif action.dest in self.SECRET_DESTINATIONS or type(default).__name__ == "InvalidEnvironmentValue":
            shown = "set by its variable"
        elif isinstance(default, (tuple, list)):
            shown = ", ".join(map(str, default))
        else:
            shown = str(default)
        return f"{text} (default: {shown.replace('%', '%%')})"


def port_number(text: str) -> int:
    """``--port``: 0 (a free one) to 65535."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= MAX_PORT:
        raise argparse.ArgumentTypeError(
            f"must be a number from 0 to {MAX_PORT} (0: a free one), not {text!r}"
        )
    return port


def whole_number(minimum: int, unit: str = "") -> Callable[[str], int]:
    """An integer option of at least ``minimum``."""

    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"must be a whole number{unit} of at least {minimum}, not {text!r}"
            )
        return value

    check.__name__ = "whole_number"
    return check


def seconds(text: str) -> float:
    """A number of seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds, 0 or more, not {text!r}")
    return value


def wait_seconds(maximum: float) -> Callable[[str], float]:
    """A wait in seconds: more than 0, at most ``maximum``."""

    def check(text: str) -> float:
        value = seconds(text)
        if not 0 < value <= maximum:
            raise argparse.ArgumentTypeError(
                f"must be more than 0 and at most {maximum:g} seconds, not {text!r}"
            )
        return value

    check.__name__ = "wait_seconds"
    return check


def add_upstream_timeout(parser: argparse.ArgumentParser, default: float) -> None:
    """``--timeout``: how long a tool waits for each answer of the server it talks to."""
    parser.add_argument(
        "--timeout",
        type=wait_seconds(UPSTREAM_WAIT_LIMIT),
        default=default,
        metavar="SECONDS",
        help="per request to the server",
    )


def smtp_url(text: str) -> str:
    """``--smtp-url``, read as delivery will read it; the message never shows its password."""
    from credmock.mail.smtp import SmtpServer

    try:
        SmtpServer.from_url(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def sender(text: str) -> str:
    """``--mail-from``: ``Name <address>`` or an address, checked whether or not mail is sent."""
    from credmock.mail.smtp import parse_sender

    try:
        parse_sender(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def allowed_host(text: str) -> str:
    from credmock.http.host_guard import validate_allowed_host

    try:
        return validate_allowed_host(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix("--allowed-host ")) from None


def shown_value(text: str) -> str:
    """A value as an error message may quote it: without a URL's password."""
    return url_without_password(text)
