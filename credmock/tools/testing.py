"""Running a live credmock for tests: in a background thread, or as the ``credmock`` command.

Both give a base URL on a free loopback port and stop cleanly; the pytest plugin and the
flow, concurrency and browser tests use them.
"""

from __future__ import annotations

import dataclasses
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import typing
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import httpx
import uvicorn

from credmock.app import CredmockApp, create_app
from credmock.http.serving import protocol_options, url_host
from credmock.settings import Settings

# The ports free_port draws from: above those common services use, below those the system hands
# out for port 0 (Linux: net.ipv4.ip_local_port_range, from 32768; elsewhere 49152 at the lowest).
FREE_PORTS_FROM = 20000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now, for a server that must be told its port before it starts
    (one that can take port 0 should, and say which it got). It is drawn below the range the
    system hands out for port 0, so that no server of a parallel test, binding port 0, can take
    it before the caller's server binds it."""
    try:
        below = int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        below = 49152
    draw = random.SystemRandom()  # never a seeded sequence that parallel tests would share
    for _ in range(100):
        port = draw.randrange(FREE_PORTS_FROM, max(below, FREE_PORTS_FROM + 1))
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:  # taken
                continue
            return port
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def wait_until_healthy(base_url: str, timeout: float = 20.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"credmock exited with {process.returncode} before serving")
        try:
            # 401: serving, behind a control token
            if httpx.get(f"{base_url}/_mock/health", timeout=1).status_code in (200, 401):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"credmock at {base_url} did not become healthy within {timeout} s")


def stop_process(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM ``process`` (if it still runs), and SIGKILL it when it has not ended within ``timeout``."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class LiveServer:
    """A credmock app served by uvicorn in a daemon thread of this process. Its request log is
    off unless ``request_log``: the lines would land in the test's own stdout."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        app: CredmockApp | None = None,
        host: str = "127.0.0.1",
        request_log: bool = False,
    ):
        settings = settings or Settings()
        if not request_log:
            settings = dataclasses.replace(settings, quiet=True)
        self.app = app or create_app(settings)
        self.host = host
        self._socket = socket.socket()
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, 0))
        self.port = self._socket.getsockname()[1]
        self.base_url = f"http://{host}:{self.port}"
        self._server = uvicorn.Server(
            uvicorn.Config(self.app, log_level="warning", access_log=False, **protocol_options())
        )
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True, name="credmock-live"
        )

    def start(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the live credmock server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


class ServerProcess:
    """``credmock serve`` started as a user starts it, in a child process. Its output (banner,
    request log) is read as it comes, so a full pipe never blocks it; :meth:`wait_for_line`.

    Without ``port`` the server binds port 0 and the real port is read from its banner, so two
    servers started at once (parallel test processes) can never be handed the same port."""

    BANNER = re.compile(r"credmock serving .* on https?://\S+:(\d+)")  # applied with fullmatch

    def __init__(self, arguments: Sequence[str] = (), *, host: str = "127.0.0.1", port: int | None = None):
        self.host = host
        self.port: int | None = port
        self.command = [
            sys.executable,
            "-m",
            "credmock.tools.cli",
            "serve",
            "--host",
            host,
            "--port",
            str(port or 0),
            *arguments,
        ]
        self.process: subprocess.Popen[str] | None = None
        self.output = ""
        self._lines: list[str] = []
        self._reader: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the server's port is known once it has started")
        return f"http://{url_host(self.host)}:{self.port}"

    def start(self, timeout: float = 30.0) -> ServerProcess:
        self.process = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._lines = []
        self._reader = threading.Thread(
            target=self._read, args=(self.process.stdout,), daemon=True, name="credmock-output"
        )
        self._reader.start()
        try:
            started = time.monotonic()
            self.port = self._bound_port(timeout)
            wait_until_healthy(self.base_url, max(1.0, timeout - (time.monotonic() - started)), self.process)
        except Exception:
            self.stop()
            raise
        return self

    def _bound_port(self, timeout: float) -> int:
        """The port the banner names, printed once the socket is bound."""
        banner = self._first_line(
            lambda line: bool(self.BANNER.fullmatch(line.strip())), timeout, "no banner"
        )
        return int(self.BANNER.fullmatch(banner.strip()).group(1))  # type: ignore[union-attr]

    def _read(self, stream: typing.IO[str]) -> None:
        for line in stream:
            self._lines.append(line)

    def lines(self) -> list[str]:
        """The lines printed so far."""
        return list(self._lines)

    def wait_for_line(self, text: str, timeout: float = 20.0) -> str:
        """The first line printed that contains ``text``, waiting for it up to ``timeout`` s."""
        return self._first_line(lambda line: text in line, timeout, f"no line with {text!r}")

    def _first_line(self, matches: typing.Callable[[str], bool], timeout: float, missing: str) -> str:
        """The first line printed that ``matches``; RuntimeError as soon as the process has ended
        without printing one, TimeoutError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self.process
            ended = process is not None and process.poll() is not None
            if ended and self._reader is not None:
                self._reader.join(timeout=10)  # the lines printed before the end
            found = next((line for line in self.lines() if matches(line)), None)
            if found is not None:
                return found
            if ended and process is not None:
                raise RuntimeError(f"credmock exited with {process.returncode} before printing {missing}")
            time.sleep(0.02)
        raise TimeoutError(f"credmock printed {missing} within {timeout} s:\n{''.join(self._lines)}")

    def stop(self) -> str:
        """Stop the server; returns everything it printed."""
        if self.process is not None:
            stop_process(self.process)
            if self._reader is not None:
                self._reader.join(timeout=10)
            self.output = "".join(self._lines)
            self.process = None
        return self.output

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, exc_type: type | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def redis_server_path() -> str | None:
    """The ``redis-server`` binary, or None when it is not installed."""
    return shutil.which("redis-server") or next(
        (path for path in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if os.path.exists(path)), None
    )


class RedisServer:
    """A throwaway ``redis-server`` on a free loopback port, its files in ``folder``; no persistence
    unless ``persistent`` (an append-only file synced on every write: what it acknowledged
    survives a kill, and :meth:`start` after :meth:`stop` serves it again on the same port)."""

    def __init__(self, folder: Path, *, password: str | None = None, persistent: bool = False) -> None:
        self.folder = folder
        self.port = free_port()
        self.password = password
        self.persistent = persistent
        auth = f":{password}@" if password else ""
        self.url = f"redis://{auth}127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> RedisServer:
        binary = redis_server_path()
        if binary is None:
            raise RuntimeError("redis-server is not installed (scripts/install-redis.sh)")
        arguments = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)]
        appendonly = "yes" if self.persistent else "no"
        arguments += ["--save", "", "--appendonly", appendonly, "--appendfsync", "always"]
        arguments += ["--daemonize", "no", "--loglevel", "warning"]
        if self.password:
            arguments += ["--requirepass", self.password]
        self.process = subprocess.Popen(
            arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.folder
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(64):
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"redis-server did not answer within {timeout} s")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
