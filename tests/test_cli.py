"""``credmock serve`` as a user runs it: the banner, seeded runs, fake customers, bad fixtures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from credmock.testing import ServerProcess, free_port

SEEDED = ["--seed", "42", "--fake-customers", "3"]


def observe(server: ServerProcess) -> dict[str, Any]:
    """What a client sees of a fresh server: its customers and the first tokens it issues."""
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        customers = {
            tenant: http.get(f"/_mock/tenants/{tenant}/customers").json() for tenant in ("demo", "acme")
        }
        tokens = [
            http.post("/_mock/tokens", json={"tenant": "demo", "kind": "anonymous"}).json()["access_token"],
            http.post(
                "/_mock/tokens", json={"tenant": "demo", "kind": "customer", "email": "alice@example.com"}
            ).json()["access_token"],
        ]
    return {"customers": customers, "tokens": tokens}


@pytest.fixture(scope="module")
def seeded_runs() -> list[dict[str, Any]]:
    """Two runs of ``credmock serve --seed 42 --fake-customers 3``, one after the other."""
    runs = []
    for _ in range(2):
        server = ServerProcess(SEEDED).start()
        try:
            observed = observe(server)
        finally:
            observed["output"] = server.stop()
            observed["url"] = server.base_url
        runs.append(observed)
    return runs


def serve_and_fail(*arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "credmock.cli", "serve", "--port", str(free_port()), *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_serve_banner_shows_url_tenants_customers_and_outbox(seeded_runs):
    output, url = seeded_runs[0]["output"], seeded_runs[0]["url"]
    assert f"on {url}" in output
    assert "tenant demo: 6 customers (alice@example.com, bob@example.com, carol@example.com" in output
    assert "tenant acme: 4 customers (" in output
    assert "dave@acme.example" in output
    assert f"outbox:      {url}/_mock/outbox" in output
    assert f"anonymous:   GET {url}/customerlogin/auth/anonymous/login?tenant=demo&client_id=any" in output


def test_serve_same_seed_gives_same_customers_and_tokens(seeded_runs):
    first, second = seeded_runs
    assert first["customers"] == second["customers"]
    assert first["tokens"] == second["tokens"]


def test_serve_fake_customers_adds_n_per_tenant(seeded_runs):
    customers = seeded_runs[0]["customers"]
    assert len(customers["demo"]) == 3 + 3
    assert len(customers["acme"]) == 1 + 3
    fake = customers["demo"][3:]
    assert all(c["firstName"] and c["lastName"] and c["id"] for c in fake)
    assert len({c["email"] for c in fake}) == 3
    other_tenant_fake = customers["acme"][1:]
    assert not {c["email"] for c in fake} & {c["email"] for c in other_tenant_fake}, (
        "each tenant gets its own people"
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("tenants: [unclosed", "invalid YAML at line 1 column 19"),
        ("tenants:\n  demo:\n    customers:\n      - {email: a@example.com}\n", "'password' is required"),
        (
            "tenants:\n  demo:\n    customers:\n      - {email: not-an-email, password: secret-1}\n",
            "not a valid email address",
        ),
        (
            "tenants:\n  demo:\n    customers:\n"
            "      - {email: a@example.com, password: secret-1}\n"
            "      - {email: A@example.com, password: secret-2}\n",
            "Duplicate account",
        ),
        ("tenants:\n  Demo Shop:\n    customers: []\n", "not a valid tenant name"),
    ],
    ids=["bad-yaml", "no-password", "bad-email", "duplicate-email", "bad-tenant"],
)
def test_serve_bad_fixtures_file_fails_in_one_line(tmp_path: Path, content: str, reason: str):
    fixtures = tmp_path / "customers.yaml"
    fixtures.write_text(content, encoding="utf-8")
    result = serve_and_fail("--fixtures", str(fixtures))
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"credmock: {fixtures}")
    assert reason in line


def test_serve_missing_fixtures_file_fails_in_one_line(tmp_path: Path):
    result = serve_and_fail("--fixtures", str(tmp_path / "nope.yaml"))
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert "nope.yaml" in line


@pytest.mark.parametrize(
    ("option", "value", "reason"),
    [
        ("--reset-link", "http://shop.example/reset?t={tokn}", "the password reset link (--reset-link)"),
        ("--email-change-link", "http://shop.example/{0}", "the email change link (--email-change-link)"),
        ("--control-token", "tökén", "the control token must be printable ASCII"),
    ],
    ids=["unknown-placeholder", "positional-placeholder", "non-ascii-control-token"],
)
def test_serve_bad_option_fails_in_one_line(option: str, value: str, reason: str):
    result = serve_and_fail(option, value)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert reason in line
