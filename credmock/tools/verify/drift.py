"""Drift against the mock: the same probes against the target and against a credmock started in
this process, and every probe where the two answer differently beyond what the contract fixes
(status among the declared ones, error type / code / errorcode / faultstring, the set of body
fields, the Content-Type). The list a team reads to keep its mock honest."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from credmock.tools.verify.generate import declared_properties
from credmock.tools.verify.model import Outcome, VerifyOptions

MOCK_CLIENT_ID = "credmock-verify"
MOCK_PASSWORD = "Credmock-verify-1!"


def _media_type(headers: dict[str, str]) -> str:
    value = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return value.split(";")[0].strip().lower() or "(none)"


def _compared_fields(outcome: Outcome, body: dict[str, Any]) -> str:
    """The body's fields, as compared. In a successful answer the fields the contract declares
    come and go with the account's data (an optional middleName): only the undeclared ones count.
    In an error answer every field counts."""
    status = outcome.exchange.status if outcome.exchange else None
    fields = set(body)
    if status is not None and status < 400:
        fields -= set(declared_properties(outcome.operation.response_schemas.get(status, {})))
        return ", ".join(sorted(fields)) or "(only declared ones)"
    return ", ".join(sorted(fields)) or "(none)"


def _aspects(outcome: Outcome) -> dict[str, Any]:
    """What of an answer is compared: status, error fields, the set of body fields, Content-Type."""
    exchange = outcome.exchange
    assert exchange is not None
    body = outcome.response_json
    aspects: dict[str, Any] = {
        "status": exchange.status,
        "Content-Type": _media_type(exchange.response_headers),
    }
    if isinstance(body, dict):
        aspects["body fields"] = _compared_fields(outcome, body)
        for name in ("type", "code"):
            if name in body:
                aspects[f"error {name}"] = body[name]
        fault = body.get("fault")
        if isinstance(fault, dict):
            aspects["faultstring"] = fault.get("faultstring")
            detail = fault.get("detail")
            aspects["errorcode"] = detail.get("errorcode") if isinstance(detail, dict) else None
    elif body is not None:
        aspects["body fields"] = f"(a JSON {type(body).__name__})"
    else:
        aspects["body fields"] = "(no JSON body)"
    return aspects


def compare(target: list[Outcome], mock: list[Outcome]) -> list[dict[str, Any]]:
    """One entry per probe and aspect where the answers differ; probes not answered on both sides
    (skipped, failed before sending) are not compared."""
    by_key = {outcome.key: outcome for outcome in mock if outcome.exchange and outcome.exchange.status}
    differences = []
    for outcome in target:
        other = by_key.get(outcome.key)
        if other is None or not (outcome.exchange and outcome.exchange.status):
            continue
        ours, theirs = _aspects(outcome), _aspects(other)
        for aspect in dict.fromkeys([*ours, *theirs]):
            if ours.get(aspect) != theirs.get(aspect):
                differences.append(
                    {
                        "operationId": outcome.operation.operation_id,
                        "probe": outcome.probe,
                        "aspect": aspect,
                        "target": ours.get(aspect, "(absent)"),
                        "mock": theirs.get(aspect, "(absent)"),
                    }
                )
    return differences


def mock_options(options: VerifyOptions, base_url: str) -> VerifyOptions:
    """The options of the run against the mock: its own tokens, obtained as a storefront does,
    with a test account of the same email made for it."""
    return dataclasses.replace(
        options,
        base_url=base_url,
        anonymous_token=None,
        customer_token=None,
        other_tenant_token=None,
        other_tenant=None,
        client_id=MOCK_CLIENT_ID,
        password=MOCK_PASSWORD if options.email else None,
        token_command=None,
        mailbox=None,
        control_token=None,
    )


@contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """The in-process mock's warnings (its start, its wiring) are not the user's concern here."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def run_against_mock(options: VerifyOptions) -> list[Outcome]:
    """The probes against a fresh credmock served from this process."""
    from credmock.settings import Settings
    from credmock.tools.testing import LiveServer
    from credmock.tools.verify.runner import Verifier

    with _quiet("connexion", "credmock"), LiveServer(Settings(fixtures_path=None)) as server:
        options = mock_options(options, server.base_url)
        with httpx.Client(base_url=server.base_url, timeout=options.timeout) as client:
            if options.email:
                created = client.post(
                    f"/_mock/tenants/{options.tenant}/customers",
                    json={
                        "email": options.email,
                        "password": MOCK_PASSWORD,
                        "firstName": "Credmock",
                        "lastName": "Verify",
                    },
                )
                created.raise_for_status()
            return Verifier(options, client).run()
