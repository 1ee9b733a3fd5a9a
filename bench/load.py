"""Load on a server: a scenario of :mod:`bench.scenarios` for some seconds at some connections,
by wrk (``scenario.lua``) or, when wrk is absent, by a Python driver running the same data."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.scenarios import Scenario, capture, lua_table
from bench.servers import BENCH_DIR, Server, call

SCENARIO_LUA = BENCH_DIR / "scenario.lua"


@dataclass
class LoadResult:
    requests: int
    seconds: float
    cycles: int
    wrong_answers: int  # an unexpected status, a missing capture, or a socket error
    p50_ms: float | None = None
    p99_ms: float | None = None

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cycles_per_second(self) -> float:
        return self.cycles / self.seconds if self.seconds else 0.0


def prepare(server: Server, scenario: Scenario, connections: int) -> None:
    """The scenario's setup steps, once per connection (say, creating the customers it resets)."""
    for connection in range(1, connections + 1):
        values = scenario.values(connection, 0, server.token)
        for step in scenario.setup:
            headers = {name: scenario.expand(value, values) for name, value in step.headers.items()}
            body = scenario.expand(step.body, values) if step.body else None
            status, answer = call(
                server.base_url, step.method, scenario.expand(step.path, values), body, headers
            )
            if status != step.expect:
                raise RuntimeError(
                    f"{server.target}: setup {step.method} {step.path} answered {status}: {answer[:200]!r}"
                )


def run(server: Server, scenario: Scenario, connections: int, seconds: float) -> LoadResult:
    if shutil.which("wrk"):
        return run_wrk(server, scenario, connections, seconds)
    return PythonDriver(server, scenario, connections, seconds).run()


def run_wrk(server: Server, scenario: Scenario, connections: int, seconds: float) -> LoadResult:
    # A cycle of several steps keeps its state per Lua thread: one connection per thread.
    threads = 1 if len(scenario.steps) == 1 else connections
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as table:
        table.write(lua_table(scenario))
        table.flush()
        command = [
            "wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
            "-s", str(SCENARIO_LUA), server.base_url,
        ]  # fmt: skip
        environment = {**os.environ, "BENCH_SCENARIO": table.name, "BENCH_TOKEN": server.token}
        completed = subprocess.run(command, capture_output=True, text=True, env=environment, check=True)
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            found = json.loads(line.removeprefix("BENCH_JSON "))
            return LoadResult(
                requests=found["requests"],
                seconds=found["duration_us"] / 1e6,
                cycles=found["cycles"],
                wrong_answers=found["wrong"] + found["errors"],
                p50_ms=found["p50_us"] / 1000,
                p99_ms=found["p99_us"] / 1000,
            )
    raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")


def percentile(ordered: list[float], rank: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * rank / 100))]


class PythonDriver:
    """The load generator when wrk is absent: a thread and a keep-alive connection per
    connection. The GIL caps it well below wrk, so its figures understate fast servers."""

    def __init__(self, server: Server, scenario: Scenario, connections: int, seconds: float) -> None:
        self.server, self.scenario, self.connections, self.seconds = server, scenario, connections, seconds
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.cycles = self.wrong_answers = 0

    def worker(self, number: int, deadline: float) -> None:
        host, port = self.server.base_url.removeprefix("http://").rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        scenario, cycle = self.scenario, 1
        values = scenario.values(number, cycle, self.server.token)
        step_index = 0
        while time.perf_counter() < deadline:
            step = scenario.steps[step_index]
            headers = {name: scenario.expand(value, values) for name, value in step.headers.items()}
            body = scenario.expand(step.body, values) if step.body else None
            began = time.perf_counter()
            try:
                connection.request(
                    step.method, scenario.expand(step.path, values), body=body, headers=headers
                )
                response = connection.getresponse()
                status, answer = response.status, response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                status, answer = -1, b""
            elapsed = time.perf_counter() - began
            captured = capture(step.capture, answer) if step.capture and status == step.expect else None
            with self.lock:
                self.latencies.append(elapsed)
                if status != step.expect or (step.capture and captured is None):
                    self.wrong_answers += 1
                    step_index = len(scenario.steps)  # restart the cycle
                elif step_index == len(scenario.steps) - 1:
                    self.cycles += 1
            if step.capture and captured is not None and step.capture_as:
                values[step.capture_as] = captured
            step_index += 1
            if step_index >= len(scenario.steps):
                cycle += 1
                values = scenario.values(number, cycle, self.server.token)
                step_index = 0
        connection.close()

    def run(self) -> LoadResult:
        deadline = time.perf_counter() + self.seconds
        began = time.perf_counter()
        workers = [
            threading.Thread(target=self.worker, args=(number, deadline))
            for number in range(1, self.connections + 1)
        ]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        ordered = sorted(self.latencies)
        return LoadResult(
            requests=len(ordered),
            seconds=time.perf_counter() - began,
            cycles=self.cycles,
            wrong_answers=self.wrong_answers,
            p50_ms=percentile(ordered, 50) * 1000 if ordered else None,
            p99_ms=percentile(ordered, 99) * 1000 if ordered else None,
        )


def profile(server: Server, scenario: Scenario, connections: int, seconds: float, output: Path) -> str:
    """Where the server's time goes under the load: py-spy's samples summed by function."""
    import re
    import sys
    from collections import Counter

    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        return "py-spy is not installed (bench/install-tools.sh installs it into the venv)\n"
    raw = output.with_suffix(".raw")
    recorder = subprocess.Popen(
        # --subprocesses: a server started through a wrapper (with_redis.py) or with workers
        [str(py_spy), "record", "-p", str(server.pid), "-d", str(round(seconds)), "-r", "100", "-f", "raw",
         "--subprocesses", "-o", str(raw)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    run(server, scenario, connections, seconds + 1)
    recorder.wait(timeout=seconds + 60)
    lines = raw.read_text().splitlines() if raw.exists() else []
    # the raw samples stay beside the summary (for a flame graph: flamegraph.pl or speedscope)
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count = line.rpartition(" ")
        total += int(count)
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    if not total:
        return "py-spy recorded no samples (is ptrace allowed here?)\n"
    report = [f"{server.target}: {total} samples, {scenario.name} at {connections} connections", "", "self:"]
    report += [f"  {count / total:6.1%}  {frame}" for frame, count in own.most_common(25)]
    report += ["", "inclusive (frames under 95%):"]
    report += [
        f"  {count / total:6.1%}  {frame}" for frame, count in inclusive.most_common() if count / total < 0.95
    ][:50]
    return "\n".join(report) + "\n"
