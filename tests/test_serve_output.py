"""What ``credmock serve`` prints for a person and for a log collector: ``--help`` describes every
option with its default, the banner counts in words, and ``--log-format json`` keeps stdout to
JSON lines (the banner goes to stderr)."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time

import httpx

from credmock.app import create_app
from credmock.settings import Settings
from credmock.tools import cli
from credmock.tools.testing import ServerProcess, stop_process


def serve_parser() -> argparse.ArgumentParser:
    subcommands = next(
        action for action in cli.build_parser({})._actions if isinstance(action, argparse._SubParsersAction)
    )
    return subcommands.choices["serve"]


def option_help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    formatter = parser.formatter_class(prog=parser.prog, width=1000)
    formatter.add_argument(action)
    return " ".join(formatter.format_help().split())


def test_serve_help_describes_every_option_and_shows_its_default() -> None:
    parser = serve_parser()
    options = [action for action in parser._actions if action.option_strings and action.dest != "help"]

    undescribed = [action.option_strings[-1] for action in options if not (action.help or "").strip("[]")]
    assert undescribed == []
    assert all(not (action.help or "").startswith("[env:") for action in options)
    without_default = [
        action.option_strings[-1]
        for action in options
        if action.nargs != 0 and "(default" not in option_help(parser, action)
    ]
    assert without_default == []
    for option, default in [
        ("--password-min-length", "6"),
        ("--outbox-capacity", "10000"),
        ("--reset-token-lifetime", "3600"),
        ("--email-change-token-lifetime", "3600"),
        ("--email-change-link", "http://localhost:3000/confirm-email"),
        ("--shutdown-grace", "3.0"),
    ]:
        action = next(action for action in options if option in action.option_strings)
        assert f"(default: {default}" in option_help(parser, action), option


def test_serve_help_never_shows_a_secret_from_the_environment() -> None:
    variables = {"CREDMOCK_CONTROL_TOKEN": "tok-SECRET", "CREDMOCK_SMTP_URL": "smtp://u:SECRET@mail.test:25"}
    environment = {name: value for name, value in os.environ.items() if not name.startswith("CREDMOCK_")}

    completed = subprocess.run(
        [sys.executable, "-m", "credmock.tools.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**environment, **variables, "COLUMNS": "200"},
    )

    assert completed.returncode == 0
    assert "SECRET" not in completed.stdout


def test_banner_says_1_customer_in_the_singular() -> None:
    text = cli.banner("http://127.0.0.1:8080", create_app(Settings()))

    assert "tenant acme: 1 customer (dave@acme.example)" in text
    assert re.search(r"tenant demo: \d+ customers \(", text)


def test_json_log_format_keeps_stdout_to_json_lines_and_prints_the_banner_on_stderr() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "credmock.tools.cli", "serve", "--port", "0", "--log-format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.extend(process.stderr), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        deadline = time.monotonic() + 30
        port = None
        while port is None and time.monotonic() < deadline:
            banner = next((line for line in list(errors) if ServerProcess.BANNER.match(line.strip())), None)
            port = ServerProcess.BANNER.match(banner.strip()).group(1) if banner else None  # type: ignore[union-attr]
            time.sleep(0.05)
        assert port is not None, "".join(errors)
        base = f"http://127.0.0.1:{port}"
        httpx.get(f"{base}/customerlogin/auth/anonymous/login", params={"tenant": "demo", "client_id": "x"})
        httpx.post(f"{base}/_mock/reset")
    finally:
        stop_process(process)
        stdout = process.stdout.read() if process.stdout else ""
        reader.join(timeout=10)

    lines = stdout.splitlines()
    assert len(lines) >= 2, stdout
    for line in lines:
        assert isinstance(json.loads(line), dict), line
    assert any("tenant demo:" in line for line in errors)
