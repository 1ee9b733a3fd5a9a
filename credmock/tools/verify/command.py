"""The ``credmock verify`` command: options in, a report out; exit 0 (conforming), 1 (violations
found) or 2 (the target could not be reached at all)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import httpx

from credmock.settings import CONTROL_TOKEN_ENV
from credmock.tools.verify.model import FAIL, Outcome, VerifyOptions
from credmock.tools.verify.report import format_table, junit_xml, summary, unreachable_junit_xml
from credmock.tools.verify.runner import ANONYMOUS_LOGIN_PATH, Verifier

PASSWORD_ENV = "CREDMOCK_VERIFY_PASSWORD"
EXIT_CONFORMING, EXIT_VIOLATIONS, EXIT_UNREACHABLE = 0, 1, 2


class Unreachable(Exception):
    """The target answered nothing at all: refused, unknown host, timed out, not HTTP."""


def unreachable_reason(error: httpx.HTTPError, timeout: float) -> str:
    """One line a person reads: ``connection refused``, not ``ConnectError('[Errno 111] ...')``."""
    if isinstance(error, httpx.TimeoutException):
        return f"no answer within {timeout:g} s"
    reason = re.sub(r"^\[Errno -?\d+\]\s*", "", str(error).strip()) or type(error).__name__
    return reason[0].lower() + reason[1:]


def check_reachable(client: httpx.Client, options: VerifyOptions) -> None:
    """Any HTTP answer will do (a 404 too): only a target that answers nothing is unreachable."""
    try:
        client.get("/")
    except httpx.HTTPError as error:
        raise Unreachable(unreachable_reason(error, options.timeout)) from None


def verify(options: VerifyOptions) -> list[Outcome]:
    with httpx.Client(base_url=options.base_url, timeout=options.timeout, follow_redirects=False) as client:
        check_reachable(client, options)
        verifier = Verifier(options, client)
        outcomes = verifier.run()
    for note in verifier.notes:
        print(f"credmock verify: {note}", file=sys.stderr)
    return outcomes


def run_verify_command(arguments: argparse.Namespace) -> int:
    options = VerifyOptions(
        base_url=arguments.base_url.rstrip("/"),
        tenant=arguments.tenant,
        anonymous_token=arguments.anonymous_token,
        customer_token=arguments.customer_token,
        client_id=arguments.client_id,
        email=arguments.email,
        password=arguments.password or os.environ.get(PASSWORD_ENV),
        new_email=arguments.new_email,
        allow_writes=arguments.allow_writes,
        token_command=arguments.token_command,
        timeout=arguments.timeout,
        control_token=arguments.control_token,
    )
    try:
        outcomes = verify(options)
    except Unreachable as unreachable:
        print(f"credmock verify: cannot reach {options.base_url}: {unreachable}", file=sys.stderr)
        if arguments.junit:
            arguments.junit.write_bytes(unreachable_junit_xml(options.base_url, str(unreachable)))
        return EXIT_UNREACHABLE
    print(format_table(outcomes))
    print(summary(outcomes))
    if arguments.junit:
        arguments.junit.write_bytes(junit_xml(outcomes, options.base_url))
    return EXIT_VIOLATIONS if any(outcome.verdict == FAIL for outcome in outcomes) else EXIT_CONFORMING


def add_verify_command(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "verify",
        help="probe a deployment and check its answers against the contract",
        description="Probe the five credential operations of a deployment and check every answer "
        "against the contract. Exit status 1 on any violation, 2 when the target cannot be reached.",
    )
    parser.add_argument(
        "--base-url", required=True, help="e.g. https://api.emporix.io or http://127.0.0.1:8080"
    )
    parser.add_argument("--tenant", required=True)
    tokens = parser.add_argument_group("tokens (given, or obtained by the tool)")
    tokens.add_argument("--anonymous-token")
    tokens.add_argument("--customer-token")
    tokens.add_argument("--client-id", help=f"storefront client ID: GET {ANONYMOUS_LOGIN_PATH} for a token")
    tokens.add_argument("--email", help="the test account's login email (customer login, flows)")
    tokens.add_argument("--password", help=f"the test account's password (default: ${PASSWORD_ENV})")
    writes = parser.add_argument_group("full flows (change the test account, then undo)")
    writes.add_argument("--allow-writes", action="store_true", help="run the password and email flows")
    writes.add_argument(
        "--token-command",
        metavar="CMD",
        help="shell command printing an emailed token; gets the recipient and kind as $1 $2 "
        "(and CREDMOCK_EMAIL_TO, CREDMOCK_EMAIL_KIND); default for a credmock: its outbox",
    )
    writes.add_argument("--new-email", help="temporary address of the email flow (default: a +alias)")
    writes.add_argument(
        "--control-token",
        default=os.environ.get(CONTROL_TOKEN_ENV) or None,
        help=f"the control token of a credmock target, for its outbox (default: ${CONTROL_TOKEN_ENV})",
    )
    parser.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS", help="per request")
    parser.set_defaults(run=run_verify_command)
