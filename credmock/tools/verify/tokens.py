"""Reading the tokens the flows get by email: from a credmock's outbox, or with the user's command."""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any, Protocol

import httpx


class TokenUnavailable(Exception):
    """An emailed token could not be read."""


class TokenReader(Protocol):
    description: str

    def mark(self, to: str, kind: str) -> None:
        """Called before the request that sends the email: lets the reader ignore older ones."""

    def token(self, to: str, kind: str) -> str: ...


class OutboxTokens:
    """Reads emailed tokens from a credmock's outbox (GET /_mock/outbox/latest)."""

    description = "the mock's outbox"

    def __init__(
        self,
        client: httpx.Client,
        tenant: str,
        wait_seconds: float = 5.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.client = client
        self.tenant = tenant
        self.headers = headers or {}
        self.wait_seconds = wait_seconds
        self._seen: dict[tuple[str, str], str | None] = {}

    def _latest(self, to: str, kind: str) -> dict[str, Any] | None:
        response = self.client.get(
            "/_mock/outbox/latest",
            params={"tenant": self.tenant, "to": to, "kind": kind},
            headers=self.headers,
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise TokenUnavailable(f"GET /_mock/outbox/latest answered {response.status_code}")
        return response.json()

    def mark(self, to: str, kind: str) -> None:
        latest = self._latest(to, kind)
        self._seen[(to, kind)] = latest["id"] if latest else None

    def token(self, to: str, kind: str) -> str:
        deadline = time.monotonic() + self.wait_seconds
        while True:
            latest = self._latest(to, kind)
            if latest and latest["id"] != self._seen.get((to, kind)):
                return latest["token"]
            if time.monotonic() > deadline:
                raise TokenUnavailable(f"no new {kind} email to {to} in the outbox")
            time.sleep(0.05)


class CommandTokens:
    """Runs the user's command to read an emailed token from a real mailbox.

    The command gets the recipient and the kind as arguments ($1, $2) and as the environment
    variables CREDMOCK_EMAIL_TO, CREDMOCK_EMAIL_KIND and CREDMOCK_TENANT; it prints the token
    (its last line of output is taken) and exits 0.
    """

    def __init__(self, command: str, tenant: str, timeout: float = 300.0) -> None:
        self.command = command
        self.tenant = tenant
        self.timeout = timeout
        self.description = f"--token-command {command!r}"

    def mark(self, to: str, kind: str) -> None:
        return None

    def token(self, to: str, kind: str) -> str:
        env = {
            **os.environ,
            "CREDMOCK_EMAIL_TO": to,
            "CREDMOCK_EMAIL_KIND": kind,
            "CREDMOCK_TENANT": self.tenant,
        }
        try:
            completed = subprocess.run(
                ["/bin/sh", "-c", self.command, "credmock-token", to, kind],
                capture_output=True,
                text=True,
                env=env,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise TokenUnavailable(f"the token command did not finish within {self.timeout:g} s") from None
        lines = [line.strip() for line in completed.stdout.splitlines() if line.strip()]
        if completed.returncode != 0 or not lines:
            detail = completed.stderr.strip().splitlines()[-1:] or ["no output"]
            raise TokenUnavailable(f"the token command exited {completed.returncode}: {detail[0]}")
        return lines[-1]


def is_credmock(client: httpx.Client, headers: dict[str, str] | None = None) -> bool:
    """Whether the target is a credmock: it answers GET /_mock/health with status ok."""
    try:
        response = client.get("/_mock/health", headers=headers or {})
        return response.status_code == 200 and response.json().get("status") == "ok"
    except (httpx.HTTPError, ValueError, AttributeError):
        return False
