"""The servers the bench measures, as data, and how one is started, stopped and weighed.

Each target is a command line (``{port}`` and ``{folder}``, a scratch folder of the run, are
filled in) started as a user starts it, one process on a free loopback port. credmock's
variants are its ``serve`` arguments: add a line to :data:`CREDMOCK_VARIANTS` to measure
another one (a state store, several workers) and pass its key to ``--targets``.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.scenarios import RESET, TENANT
from credmock.tools.testing import free_port, stop_process

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
TOOLS = BENCH_DIR / ".tools" / "node_modules"
PRISM = TOOLS / ".bin" / "prism"
CONTRACT = ROOT / "spec" / "openapi.yaml"
ANY_TOKEN = "any-token-will-do"  # the stateless servers check that a bearer token is there
START_TIMEOUT = 90.0
CREDMOCK = str(Path(sys.executable).with_name("credmock"))

# key -> the arguments of `credmock serve` (after --host and --port). The first is judged.
CREDMOCK_VARIANTS: dict[str, tuple[str, ...]] = {
    "credmock": (),
    "credmock-flask": ("--engine", "flask"),
    "credmock-quiet": ("--quiet", "--journal-size", "0"),  # without the request log and journal
    # The state stores (REDIS_URL: a redis-server the bench starts beside it, see with_redis.py).
    "credmock-sqlite": ("--state", "sqlite:///{folder}/state.db"),
    "credmock-redis": ("--state", "REDIS_URL"),
    "credmock-sqlite-w2": ("--state", "sqlite:///{folder}/state.db", "--workers", "2"),
    "credmock-redis-w2": ("--state", "REDIS_URL", "--workers", "2"),
}


@dataclass(frozen=True)
class Target:
    """A server under test and how to start it."""

    key: str
    label: str
    command: tuple[str, ...]
    stateful: bool  # tokens, outbox and login are real (credmock); else any token will do
    prepare: Callable[[Path], None] | None = None  # writes what the server reads into its folder
    env: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.label


def credmock_target(key: str) -> Target:
    arguments = CREDMOCK_VARIANTS[key]
    label = key if not arguments else f"{key} ({' '.join(arguments)})"
    command = (CREDMOCK, "serve", "--host", "127.0.0.1", "--port", "{port}", *arguments)
    if "REDIS_URL" in arguments:
        command = (sys.executable, str(BENCH_DIR / "with_redis.py"), "{folder}", *command)
    return Target(key=key, label=label.replace("REDIS_URL", "redis://..."), command=command, stateful=True)


def tool_version(command: list[str]) -> str:
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except OSError:
        return "absent"
    output = (completed.stdout or completed.stderr).strip().splitlines()
    return output[0] if completed.returncode == 0 and output else "?"


def prism_target() -> Target | None:
    if not PRISM.exists():
        return None
    command = (str(PRISM), "mock", "-h", "127.0.0.1", "-p", "{port}", str(CONTRACT))
    return Target("prism", f"Prism {tool_version([str(PRISM), '--version'])}", command, stateful=False)


def ceiling_target() -> Target:
    command = (sys.executable, str(BENCH_DIR / "ceiling.py"), "{port}")
    return Target("ceiling", "ceiling (Starlette + uvloop)", command, stateful=False)


def uncompiled_target() -> Target:
    command = (sys.executable, str(BENCH_DIR / "uncompiled.py"), "{port}")
    return Target("uncompiled", "credmock, Connexion's per-request path", command, stateful=True)


def wiremock_jar() -> Path | None:
    return next(iter(sorted((TOOLS / "wiremock").glob("**/wiremock-standalone-*.jar"))), None)


def write_wiremock_stub(folder: Path) -> None:
    """WireMock's stub of the reset request: the path, a bearer header, 204."""
    (folder / "mappings").mkdir(parents=True, exist_ok=True)
    stub = {
        "request": {
            "method": "POST",
            "urlPath": RESET.steps[0].path.replace("$tenant", TENANT),
            "headers": {"Authorization": {"matches": "Bearer .+"}},
        },
        "response": {"status": 204},
    }
    (folder / "mappings" / "reset.json").write_text(json.dumps(stub))


def wiremock_target() -> Target | None:
    jar, java = wiremock_jar(), shutil.which("java")
    if jar is None or java is None:
        return None
    version = jar.stem.removeprefix("wiremock-standalone-")
    command = (
        java, "-jar", str(jar), "--bind-address", "127.0.0.1", "--port", "{port}", "--root-dir", "{folder}",
        "--no-request-journal", "--disable-banner",
    )  # fmt: skip
    return Target("wiremock", f"WireMock {version}", command, stateful=False, prepare=write_wiremock_stub)


def call(
    base_url: str, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> tuple[int, bytes]:  # fmt: skip
    """One HTTP exchange on a fresh connection: (status, body)."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@dataclass
class Server:
    target: Target
    process: subprocess.Popen[bytes]
    base_url: str
    cold_start: float
    token: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        stop_process(self.process, timeout=15)


def bearer_token(target: Target, base_url: str) -> str:
    if not target.stateful:
        return ANY_TOKEN
    body = json.dumps({"tenant": TENANT, "kind": "anonymous"})
    status, answer = call(base_url, "POST", "/_mock/tokens", body, {"Content-Type": "application/json"})
    if status != 201:
        raise RuntimeError(f"{target}: POST /_mock/tokens answered {status}: {answer[:200]!r}")
    return json.loads(answer)["access_token"]


def first_answer(target: Target, base_url: str) -> str | None:
    """The token, once the server answers the reset scenario's request as expected."""
    token = bearer_token(target, base_url)
    step = RESET.steps[0]
    values = RESET.values(1, 1, token)
    headers = {name: RESET.expand(value, values) for name, value in step.headers.items()}
    path, body = RESET.expand(step.path, values), RESET.expand(step.body or "", values)
    status, _ = call(base_url, step.method, path, body, headers, timeout=2)
    return token if status == step.expect else None


@contextlib.contextmanager
def running(target: Target) -> Iterator[Server]:
    """The server, started; the time to its first expected answer is its cold start."""
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryFile() as log:
        if target.prepare:
            target.prepare(Path(folder))
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        command = [part.format(port=port, folder=folder) for part in target.command]
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        server = None
        try:
            while server is None:
                if process.poll() is not None:
                    log.seek(0)
                    output = log.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(f"{target} exited with {process.returncode}:\n{output}")
                if time.perf_counter() - started > START_TIMEOUT:
                    raise RuntimeError(f"{target} gave no answer within {START_TIMEOUT} s")
                with contextlib.suppress(OSError, http.client.HTTPException, RuntimeError):
                    token = first_answer(target, base_url)
                    if token is not None:
                        server = Server(target, process, base_url, time.perf_counter() - started, token)
                        break
                time.sleep(0.005)
            yield server
        finally:
            if server is not None:
                server.stop()
            elif process.poll() is None:
                process.kill()
                process.wait()


def process_tree(pid: int) -> list[int]:
    """The process and its descendants."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
    return found


def rss_mib(pid: int) -> float:
    """Resident memory of the process and its descendants, in MiB."""
    total_kib = 0
    for current in process_tree(pid):
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{current}/status").read_text()
            found = re.search(r"^VmRSS:\s+(\d+)", status, re.M)
            total_kib += int(found.group(1)) if found else 0
    return total_kib / 1024


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) the process and its descendants have used so far."""
    ticks = 0
    for current in process_tree(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_until_idle(pid: int, window: float = 0.5, busy_share: float = 0.05, timeout: float = 30.0) -> None:
    """Return once the process tree uses under ``busy_share`` of a core over ``window`` seconds
    (a JVM compiling, a runtime warming up after its first answer), or after ``timeout``: a server
    still busy after it answered would slow the cold start of the next one."""
    deadline = time.monotonic() + timeout
    before = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(window)
        after = cpu_seconds(pid)
        if after - before < busy_share * window:
            return
        before = after


def machine_facts() -> dict[str, Any]:
    import os
    import platform
    from importlib import metadata

    cpu = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    return {
        "cpu": cpu.group(1) if cpu else platform.processor(),
        "cores": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "connexion": metadata.version("connexion"),
        "uvicorn": metadata.version("uvicorn"),
        "wrk": tool_version(["wrk", "-v"]) if shutil.which("wrk") else "absent: Python load driver",
        "java": tool_version(["java", "-version"]) if shutil.which("java") else "absent",
    }
