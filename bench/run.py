"""``make bench``: credmock under load, beside Prism, on this machine.

Each server is started as a user starts it (``credmock serve``, ``prism mock spec/openapi.yaml``),
one process on a free loopback port, and driven from a separate load process: wrk (Debian
package, see ``bench/install-tools.sh``) with the Lua scripts next to this file, or a Python
driver when wrk is absent. Figures are medians of interleaved runs (server A, server B, server
A, ...), each run on a freshly started server:

- requests/s and p50/p99 latency of the password-reset request (POST
  /customer/demo/password/reset, valid anonymous token and body, 204) at 1 and 16 connections;
- complete password-reset flows per second (request, outbox read, reset, login), credmock only:
  Prism is stateless, it has no outbox and no login to finish a flow with;
- cold start: from process start to the first 204 of that request;
- RSS of the server after 100 000 and after 300 000 requests.

The table (Markdown) and the JSON are saved under ``bench/results/``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from credmock.settings import Settings
from credmock.testing import free_port

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
PRISM = BENCH_DIR / ".tools" / "node_modules" / ".bin" / "prism"
CONTRACT = ROOT / "spec" / "openapi.yaml"
RESET_LUA = BENCH_DIR / "reset.lua"
FLOW_LUA = BENCH_DIR / "flow.lua"

TENANT = "demo"
RESET_PATH = f"/customer/{TENANT}/password/reset"
RESET_EMAIL = "alice@example.com"
FLOW_EMAIL_PREFIX = "bench-flow-"
FLOW_PASSWORD = "bench-flow-pass"
ANY_TOKEN = "any-token-will-do"  # Prism checks that a bearer token is there, not which one
START_TIMEOUT = 60.0


# Servers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A server under test and how to start it."""

    key: str
    label: str
    command: Callable[[int], list[str]]
    stateful: bool  # credmock: tokens, outbox and login are real

    def __str__(self) -> str:
        return self.label


def credmock_target(engine: str) -> Target:
    executable = str(Path(sys.executable).with_name("credmock"))
    return Target(
        key=f"credmock-{engine}",
        label=f"credmock ({engine})",
        command=lambda port: [
            executable,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--engine",
            engine,
        ],
        stateful=True,
    )


def prism_target() -> Target:
    return Target(
        key="prism",
        label=f"Prism {tool_version([str(PRISM), '--version'])}",
        command=lambda port: [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), str(CONTRACT)],
        stateful=False,
    )


def call(
    base_url: str, method: str, path: str, body: Any = None, token: str | None = None, timeout: float = 5.0
) -> tuple[int, bytes]:
    """One HTTP exchange on a fresh connection: (status, body)."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def anonymous_token(target: Target, base_url: str) -> str:
    if not target.stateful:
        return ANY_TOKEN
    status, body = call(base_url, "POST", "/_mock/tokens", {"tenant": TENANT, "kind": "anonymous"})
    if status != 201:
        raise RuntimeError(f"{target}: POST /_mock/tokens answered {status}: {body[:200]!r}")
    return json.loads(body)["access_token"]


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
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(target: Target, log: Any) -> Server:
    """Start the server (its output into ``log``) and wait for the first 204 of the reset
    request: the time that took is the cold start."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    process = subprocess.Popen(target.command(port), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = started + START_TIMEOUT
    token = None
    while True:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"{target} exited with {process.returncode}:\n{log.read().decode()[-2000:]}")
        if time.perf_counter() > deadline:
            process.kill()
            raise RuntimeError(f"{target} gave no 204 within {START_TIMEOUT} s")
        try:
            token = token or anonymous_token(target, base_url)
            status, _ = call(base_url, "POST", RESET_PATH, {"email": RESET_EMAIL}, token, timeout=1)
            if status == 204:
                break
        except (OSError, http.client.HTTPException, RuntimeError):
            pass
        time.sleep(0.005)
    return Server(target, process, base_url, time.perf_counter() - started, token)


@contextlib.contextmanager
def running(target: Target) -> Iterator[Server]:
    with tempfile.TemporaryFile() as log:
        server = start(target, log)
        try:
            yield server
        finally:
            server.stop()


def rss_mib(pid: int) -> float:
    """Resident memory of the process and its descendants, in MiB."""
    total_kib = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{current}/status").read_text()
            total_kib += int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1))  # type: ignore[union-attr]
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
    return total_kib / 1024


# Load ---------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float | None = None
    p99_ms: float | None = None
    wrong_answers: int = 0  # an unexpected status, or a socket error
    flows: int = 0

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def flows_per_second(self) -> float:
        return self.flows / self.seconds if self.seconds else 0.0


def run_wrk(
    base_url: str, script: Path, threads: int, connections: int, seconds: float, env: dict[str, str]
) -> dict[str, Any]:
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
        "-s", str(script), base_url,
    ]  # fmt: skip
    completed = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, **env}, check=True, cwd=BENCH_DIR
    )
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line.removeprefix("BENCH_JSON "))
    raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")


class PythonDriver:
    """The load generator when wrk is absent: a thread and a keep-alive connection per
    connection. The GIL caps it well below wrk, so its figures understate fast servers."""

    def __init__(self, base_url: str, connections: int, seconds: float) -> None:
        self.host, port = base_url.removeprefix("http://").rsplit(":", 1)
        self.port = int(port)
        self.connections = connections
        self.seconds = seconds
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.wrong_answers = 0
        self.flows = 0

    def _exchange(self, connection: http.client.HTTPConnection, method: str, path: str, body: str | None,
                  headers: dict[str, str]) -> tuple[int, bytes]:  # fmt: skip
        began = time.perf_counter()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        with self.lock:
            self.latencies.append(time.perf_counter() - began)
        return response.status, payload

    def run(self, steps: Callable[[int], Iterator[tuple[str, str, str | None, int]]],
            headers: dict[str, str]) -> LoadResult:  # fmt: skip
        """``steps(worker)`` yields (method, path, body, expected status) forever; a generator
        receives each answer's body through ``send``; a finished flow is a ``None`` yield."""
        deadline = time.perf_counter() + self.seconds

        def worker(number: int) -> None:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
            flow = steps(number)
            step = next(flow)
            while time.perf_counter() < deadline:
                if step is None:
                    with self.lock:
                        self.flows += 1
                    step = next(flow)
                    continue
                method, path, body, expected = step
                try:
                    status, payload = self._exchange(connection, method, path, body, headers)
                except (OSError, http.client.HTTPException):
                    connection.close()
                    status, payload = -1, b""
                if status != expected:
                    with self.lock:
                        self.wrong_answers += 1
                    flow = steps(number)
                    step = next(flow)
                else:
                    step = flow.send(payload)
            connection.close()

        began = time.perf_counter()
        workers = [threading.Thread(target=worker, args=(number,)) for number in range(self.connections)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        elapsed = time.perf_counter() - began
        ordered = sorted(self.latencies)
        return LoadResult(
            requests=len(ordered),
            seconds=elapsed,
            p50_ms=percentile(ordered, 50) * 1000 if ordered else None,
            p99_ms=percentile(ordered, 99) * 1000 if ordered else None,
            wrong_answers=self.wrong_answers,
            flows=self.flows,
        )


def percentile(ordered: list[float], rank: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * rank / 100))]


def reset_load(server: Server, connections: int, seconds: float) -> LoadResult:
    """The reset request at ``connections`` connections for ``seconds``."""
    if shutil.which("wrk"):
        env = {
            "BENCH_PATH": RESET_PATH,
            "BENCH_TOKEN": server.token,
            "BENCH_EMAIL": RESET_EMAIL,
        }
        found = run_wrk(server.base_url, RESET_LUA, 1, connections, seconds, env)
        return LoadResult(
            requests=found["requests"],
            seconds=found["duration_us"] / 1e6,
            p50_ms=found["p50_us"] / 1000,
            p99_ms=found["p99_us"] / 1000,
            wrong_answers=found["unexpected_status"] + found["errors"],
        )
    body = json.dumps({"email": RESET_EMAIL})

    def steps(_worker: int) -> Iterator[Any]:
        while True:
            yield ("POST", RESET_PATH, body, 204)

    driver = PythonDriver(server.base_url, connections, seconds)
    return driver.run(steps, {"Content-Type": "application/json", "Authorization": f"Bearer {server.token}"})


def prepare_flow_customers(server: Server, count: int) -> str:
    """Create the flow customers; returns how a flow logs in: "storefront" when the server has
    the storefront login (POST /customer/{tenant}/login), else "mock" (POST /_mock/tokens)."""
    for number in range(1, count + 1):
        email = f"{FLOW_EMAIL_PREFIX}{number}@example.com"
        status, body = call(
            server.base_url,
            "POST",
            f"/_mock/tenants/{TENANT}/customers",
            {"email": email, "password": FLOW_PASSWORD},
        )
        if status != 201:
            raise RuntimeError(f"creating the flow customer {email} answered {status}: {body[:200]!r}")
    login = {"email": f"{FLOW_EMAIL_PREFIX}1@example.com", "password": FLOW_PASSWORD}
    status, _ = call(server.base_url, "POST", f"/customer/{TENANT}/login", login, server.token)
    return "storefront" if status == 200 else "mock"


def flow_load(server: Server, connections: int, seconds: float) -> LoadResult:
    login = prepare_flow_customers(server, connections)
    if shutil.which("wrk"):
        env = {
            "BENCH_TENANT": TENANT,
            "BENCH_TOKEN": server.token,
            "BENCH_EMAIL_PREFIX": FLOW_EMAIL_PREFIX,
            "BENCH_LOGIN": login,
        }
        found = run_wrk(server.base_url, FLOW_LUA, connections, connections, seconds, env)
        return LoadResult(
            requests=found["requests"],
            seconds=found["duration_us"] / 1e6,
            wrong_answers=found["failures"] + found["errors"],
            flows=found["flows"],
        )

    def steps(worker: int) -> Iterator[Any]:
        email = f"{FLOW_EMAIL_PREFIX}{worker + 1}@example.com"
        generation = 0
        while True:
            generation += 1
            password = f"flow-pass-{worker}-{generation}"
            yield ("POST", RESET_PATH, json.dumps({"email": email}), 204)
            latest = yield (
                "GET",
                f"/_mock/outbox/latest?kind=password-reset&to={email.replace('@', '%40')}",
                None,
                200,
            )
            token = json.loads(latest)["token"]
            yield ("POST", f"{RESET_PATH}/update", json.dumps({"token": token, "password": password}), 204)
            credentials = {"email": email, "password": password}
            if login == "storefront":
                yield ("POST", f"/customer/{TENANT}/login", json.dumps(credentials), 200)
            else:
                yield (
                    "POST",
                    "/_mock/tokens",
                    json.dumps({"tenant": TENANT, "kind": "customer", **credentials}),
                    201,
                )
            yield None

    driver = PythonDriver(server.base_url, connections, seconds)
    return driver.run(steps, {"Content-Type": "application/json", "Authorization": f"Bearer {server.token}"})


# Profile ------------------------------------------------------------------------------------


def profile(server: Server, seconds: float, connections: int) -> str:
    """Where the server's time goes under the 16-connection load: py-spy's samples, summed by
    function (inclusive and self), as text."""
    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        return "py-spy is not installed (bench/install-tools.sh installs it into the venv)\n"
    with tempfile.TemporaryDirectory() as folder:
        raw = Path(folder) / "profile.txt"
        recorder = subprocess.Popen(
            [str(py_spy), "record", "-p", str(server.pid), "-d", str(round(seconds)), "-r", "100",
             "-f", "raw", "-o", str(raw)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        reset_load(server, connections, seconds + 1)
        recorder.wait(timeout=seconds + 30)
        lines = raw.read_text().splitlines() if raw.exists() else []
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count = line.rpartition(" ")
        samples = int(count)
        total += samples
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    if not total:
        return "py-spy recorded no samples (is ptrace allowed here?)\n"
    report = [f"{server.target}: {total} samples, 16-connection reset load", "", "self time:"]
    report += [f"  {count / total:6.1%}  {frame}" for frame, count in own.most_common(20)]
    report += ["", "inclusive time (frames under 95%):"]
    report += [
        f"  {count / total:6.1%}  {frame}" for frame, count in inclusive.most_common() if count / total < 0.95
    ][:45]
    return "\n".join(report) + "\n"


# Runs and report ----------------------------------------------------------------------------


@dataclass
class Figures:
    """One target's figures of every run."""

    runs: list[dict[str, float | None]] = field(default_factory=list)
    rss: dict[str, float] = field(default_factory=dict)

    def median(self, metric: str) -> float | None:
        values = [run[metric] for run in self.runs if run.get(metric) is not None]
        return statistics.median(values) if values else None  # type: ignore[type-var]


def measure_run(server: Server, options: argparse.Namespace) -> dict[str, float | None]:
    reset_load(server, 16, options.warmup)
    figures: dict[str, float | None] = {"cold_start_s": server.cold_start}
    wrong = 0
    for connections in (1, 16):
        result = reset_load(server, connections, options.duration)
        figures[f"rps_c{connections}"] = result.per_second
        figures[f"p50_ms_c{connections}"] = result.p50_ms
        figures[f"p99_ms_c{connections}"] = result.p99_ms
        wrong += result.wrong_answers
    if server.target.stateful:
        flows = flow_load(server, options.flow_connections, options.flow_duration)
        figures["flows_per_s"] = flows.flows_per_second
        wrong += flows.wrong_answers
    figures["wrong_answers"] = wrong
    return figures


def measure_rss(target: Target, checkpoints: list[int]) -> dict[str, float]:
    """RSS after each checkpoint's number of reset requests (16 connections). The load runs in
    chunks sized from the rate so far (wrk runs for a duration, not a count), so a checkpoint is
    passed by at most a second's worth of requests; the RSS is read right after it."""
    rss: dict[str, float] = {}
    with running(target) as server:
        rss["start"] = rss_mib(server.pid)
        done, rate = 0, None
        for checkpoint in checkpoints:
            while done < checkpoint:
                seconds = 1.0 if rate is None else min(10.0, max(1.0, (checkpoint - done) / rate))
                result = reset_load(server, 16, seconds)
                done += result.requests
                rate = max(result.per_second, 1.0)
            rss[str(checkpoint)] = rss_mib(server.pid)
            print(f"  {target}: RSS {rss[str(checkpoint)]:.1f} MiB after {done:,} requests", flush=True)
    return rss


def fmt(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def ratio(value: float | None, reference: float | None) -> str:
    return "" if value is None or not reference else f"{value / reference:.2f}x"


def report(
    targets: list[Target], figures: dict[str, Figures], options: argparse.Namespace
) -> tuple[str, list]:
    """The Markdown table and the verdict on each target of issue 5."""
    credmock_targets = [target for target in targets if target.stateful]
    prism = next((target for target in targets if not target.stateful), None)
    first, last = (str(checkpoint) for checkpoint in (options.rss_requests[0], options.rss_requests[-1]))
    rows: list[tuple[str, str, int]] = [
        ("req/s, 1 connection", "rps_c1", 0),
        ("p50 ms, 1 connection", "p50_ms_c1", 2),
        ("p99 ms, 1 connection", "p99_ms_c1", 2),
        ("req/s, 16 connections", "rps_c16", 0),
        ("p50 ms, 16 connections", "p50_ms_c16", 2),
        ("p99 ms, 16 connections", "p99_ms_c16", 2),
        (f"reset flows/s ({options.flow_connections} connections, 4 requests each)", "flows_per_s", 0),
        ("cold start to first 204, s", "cold_start_s", 2),
        (f"RSS after {int(first):,} requests, MiB", f"rss:{first}", 1),
        (f"RSS after {int(last):,} requests, MiB", f"rss:{last}", 1),
    ]

    def value(target: Target, metric: str) -> float | None:
        if metric.startswith("rss:"):
            return figures[target.key].rss.get(metric.removeprefix("rss:"))
        return figures[target.key].median(metric)

    header = ["", *[str(target) for target in targets]]
    if prism:
        header += [f"{target.key.removeprefix('credmock-')}/Prism" for target in credmock_targets]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, metric, digits in rows:
        cells = [label, *[fmt(value(target, metric), digits) for target in targets]]
        if prism:
            cells += [ratio(value(target, metric), value(prism, metric)) for target in credmock_targets]
        lines.append("| " + " | ".join(cells) + " |")

    verdicts: list[dict[str, Any]] = []
    main = credmock_targets[0]

    def judge(name: str, measured: float | None, goal: str, met: bool | None) -> None:
        verdicts.append({"target": name, "measured": measured, "goal": goal, "met": met})

    if prism:
        throughput = value(main, "rps_c16"), value(prism, "rps_c16")
        p99 = value(main, "p99_ms_c16"), value(prism, "p99_ms_c16")
        cold = value(main, "cold_start_s"), value(prism, "cold_start_s")
        memory = value(main, f"rss:{last}"), value(prism, f"rss:{last}")

        def share(pair: tuple[float | None, float | None]) -> float | None:
            return pair[0] / pair[1] if pair[0] is not None and pair[1] else None

        judge(
            "throughput at 16 connections, x Prism",
            share(throughput),
            ">= 1.0",
            _at_least(share(throughput), 1.0),
        )
        judge("p99 at 16 connections, x Prism", share(p99), "<= 1.0", _at_most(share(p99), 1.0))
        judge("cold start, x Prism", share(cold), "<= 0.5", _at_most(share(cold), 0.5))
        judge(
            f"RSS after {int(last):,} requests, x Prism",
            share(memory),
            "<= 0.5",
            _at_most(share(memory), 0.5),
        )
    early, late = value(main, f"rss:{first}"), value(main, f"rss:{last}")
    growth = (late - early) / early if early and late is not None else None
    judge(
        f"RSS growth from {int(first):,} to {int(last):,} requests", growth, "<= 10%", _at_most(growth, 0.10)
    )
    lines.append("")
    lines.append(f"Targets (issue 5), for {main}:")
    for verdict in verdicts:
        measured = verdict["measured"]
        shown = (
            "n/a"
            if measured is None
            else (f"{measured:+.1%}" if verdict["goal"].endswith("%") else f"{measured:.2f}")
        )
        state = {True: "met", False: "NOT met", None: "not measured"}[verdict["met"]]
        lines.append(f"- {verdict['target']}: {shown} (goal {verdict['goal']}): {state}")
    return "\n".join(lines) + "\n", verdicts


def _at_least(measured: float | None, goal: float) -> bool | None:
    return None if measured is None else measured >= goal


def _at_most(measured: float | None, goal: float) -> bool | None:
    return None if measured is None else measured <= goal


def tool_version(command: list[str]) -> str:
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except OSError:
        return "absent"
    return (
        (completed.stdout or completed.stderr).strip().splitlines()[0] if completed.returncode == 0 else "?"
    )


def machine() -> dict[str, Any]:
    cpu = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    return {
        "cpu": cpu.group(1) if cpu else platform.processor(),
        "cores": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "connexion": metadata.version("connexion"),
        "uvicorn": metadata.version("uvicorn"),
        "wrk": tool_version(["wrk", "-v"]) if shutil.which("wrk") else "absent: Python load driver",
    }


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1 run, short loads, 10k/30k RSS points"
    )
    parser.add_argument("--runs", type=int, default=3, help="interleaved runs per server (medians)")
    parser.add_argument("--duration", type=float, default=10, help="seconds of each req/s measurement")
    parser.add_argument(
        "--warmup", type=float, default=2, help="seconds of 16-connection load before measuring"
    )
    parser.add_argument(
        "--flow-duration", type=float, default=5, help="seconds of the reset-flow measurement"
    )
    parser.add_argument("--flow-connections", type=int, default=4)
    parser.add_argument(
        "--rss-requests", type=int, nargs="+", default=[100_000, 300_000], metavar="N",
        help="read the RSS after this many requests (cumulative)",
    )  # fmt: skip
    parser.add_argument(
        "--engines",
        default="async,flask",
        help="credmock engines to measure, comma-separated; the first is judged against the targets",
    )
    parser.add_argument("--no-prism", action="store_true", help="measure credmock alone")
    parser.add_argument("--profile", action="store_true", help="also record a py-spy profile of each engine")
    parser.add_argument("--output", type=Path, default=None, help="results folder (default bench/results)")
    options = parser.parse_args(argv)
    if options.quick:
        options.runs, options.duration, options.warmup, options.flow_duration = 1, 3, 1, 2
        options.rss_requests = [10_000, 30_000]
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_arguments(argv)
    engines = [engine.strip() for engine in options.engines.split(",") if engine.strip()]
    targets = [credmock_target(engine) for engine in engines]
    if options.no_prism:
        pass
    elif PRISM.exists():
        targets.append(prism_target())
    else:
        print(
            "Prism is not installed (run bench/install-tools.sh with Node present): credmock alone",
            flush=True,
        )
    if not shutil.which("wrk"):
        print("wrk is not installed: the Python load driver runs the load (lower figures)", flush=True)
    figures = {target.key: Figures() for target in targets}
    began = time.monotonic()
    for run in range(options.runs):
        order = targets if run % 2 == 0 else list(reversed(targets))
        for target in order:
            with running(target) as server:
                measured = measure_run(server, options)
            figures[target.key].runs.append(measured)
            print(
                f"run {run + 1}/{options.runs} {target}: start {measured['cold_start_s']:.2f} s, "
                f"{fmt(measured['rps_c1'])} req/s at 1, {fmt(measured['rps_c16'])} req/s at 16 "
                f"(p99 {fmt(measured['p99_ms_c16'], 1)} ms), flows/s {fmt(measured.get('flows_per_s'))}, "
                f"wrong answers {measured['wrong_answers']:.0f}",
                flush=True,
            )
    for target in [targets[0], *[target for target in targets if not target.stateful]]:
        figures[target.key].rss = measure_rss(target, options.rss_requests)
    profiles = {}
    if options.profile:
        for target in targets:
            if target.stateful:
                with running(target) as server:
                    reset_load(server, 16, options.warmup)
                    profiles[target.key] = profile(server, options.duration, 16)
    table, verdicts = report(targets, figures, options)
    minutes = (time.monotonic() - began) / 60
    settings = Settings()
    summary = (
        f"credmock/Prism benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"load by {'wrk' if shutil.which('wrk') else 'the Python driver'}; medians of {options.runs} "
        f"interleaved run(s), {options.duration:g} s each; request validation on, response validation "
        f"{'on' if settings.validate_responses else 'off'}; took {minutes:.1f} min\n\n"
    )
    print("\n" + summary + table, flush=True)
    folder = options.output or RESULTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    name = "quick" if options.quick else "latest"
    (folder / f"{name}.md").write_text(summary + table)
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "options": {
            key: str(value) if isinstance(value, Path) else value for key, value in vars(options).items()
        },
        "targets": {
            target.key: {
                "label": str(target),
                "runs": figures[target.key].runs,
                "rss_mib": figures[target.key].rss,
            }
            for target in targets
        },
        "verdicts": verdicts,
        "table": table,
    }
    (folder / f"{name}.json").write_text(json.dumps(document, indent=2) + "\n")
    for key, text in profiles.items():
        (folder / f"profile-{key}.txt").write_text(text)
    print(f"saved {folder / name}.md and .json" + (", profiles" if profiles else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
