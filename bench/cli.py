"""``make bench``: credmock under load beside Prism, a bare Starlette ceiling and WireMock.

Each server is started as a user starts it, one process on a free loopback port, and driven
by wrk from a separate process. In each run every server is started afresh and the servers
take turns under load in short bursts, so that all of them meet the same moments of a busy
machine; figures are medians over the runs, and the goals judge ratios measured side by side,
not absolute figures. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import load
from bench.goals import rss_targets
from bench.report import Figures, fmt, table, verdict_lines, verdicts
from bench.scenarios import FLOW, RESET
from bench.servers import (
    BENCH_DIR,
    CREDMOCK_VARIANTS,
    Target,
    ceiling_target,
    credmock_target,
    machine_facts,
    prism_target,
    rss_mib,
    running,
    uncompiled_target,
    wait_until_idle,
    wiremock_target,
)
from credmock.settings import Settings

RESULTS_DIR = BENCH_DIR / "results"
REFERENCES = {
    "prism": prism_target,
    "ceiling": ceiling_target,
    "wiremock": wiremock_target,
    "uncompiled": uncompiled_target,  # not by default: what the compiled operations give
}
MISSING = {
    "prism": "Prism is not installed (bench/install-tools.sh, with Node): no Prism column",
    "wiremock": "WireMock needs Java and its jar (bench/install-tools.sh): no WireMock column",
}


# The judged credmock, the references, then credmock on each state store and with two workers.
DEFAULT_TARGETS = (
    "credmock", "prism", "ceiling", "wiremock",
    "credmock-sqlite", "credmock-redis", "credmock-sqlite-w2", "credmock-redis-w2",
)  # fmt: skip


def targets_of(keys: list[str]) -> list[Target]:
    targets = []
    for key in keys:
        if key in CREDMOCK_VARIANTS:
            targets.append(credmock_target(key))
        elif key in REFERENCES:
            target = REFERENCES[key]()
            if target is None:
                print(MISSING[key], flush=True)
            else:
                targets.append(target)
        else:
            raise SystemExit(
                f"unknown target {key!r}: choose from {', '.join([*CREDMOCK_VARIANTS, *REFERENCES])}"
            )
    if not targets or targets[0].key not in CREDMOCK_VARIANTS:
        raise SystemExit("the first target is the judged one: a credmock variant")
    return targets


def measure_run(targets: list[Target], options: argparse.Namespace) -> dict[str, dict[str, float | None]]:
    """One run: every server started afresh (one after the other, each once the one before is
    idle, for its cold start), then the load in short bursts taking turns (A, B, C, A, B, C,
    ...), so each server meets the same moments of the machine's own load; a server's figure
    sums (or, for latencies, takes the median of) its bursts."""
    with contextlib.ExitStack() as stack:
        servers = []
        for target in targets:
            servers.append(stack.enter_context(running(target)))
            wait_until_idle(servers[-1].pid)  # the next cold start on a machine at rest
        figures: dict[str, dict[str, float | None]] = {
            server.target.key: {"cold_start_s": server.cold_start, "wrong_answers": 0} for server in servers
        }
        for server in servers:
            load.run(server, RESET, 16, options.warmup)
        bursts = max(1, round(options.duration / options.burst))
        for connections in (1, 16):
            results: dict[str, list[load.LoadResult]] = {server.target.key: [] for server in servers}
            for burst in range(bursts):
                for server in servers if burst % 2 == 0 else servers[::-1]:
                    results[server.target.key].append(load.run(server, RESET, connections, options.burst))
            for key, found in results.items():
                figures[key][f"rps_c{connections}"] = sum(r.requests for r in found) / sum(
                    r.seconds for r in found
                )
                for metric in ("p50_ms", "p99_ms"):
                    values = [getattr(r, metric) for r in found if getattr(r, metric) is not None]
                    figures[key][f"{metric}_c{connections}"] = statistics.median(values) if values else None
                figures[key]["wrong_answers"] += sum(r.wrong_answers for r in found)  # type: ignore[operator]
        for server in servers:
            if server.target.stateful:
                load.prepare(server, FLOW, options.flow_connections)
                flows = load.run(server, FLOW, options.flow_connections, options.flow_duration)
                figures[server.target.key]["flows_per_s"] = flows.cycles_per_second
                figures[server.target.key]["wrong_answers"] += flows.wrong_answers  # type: ignore[operator]
    return figures


def measure_rss(target: Target, checkpoints: list[int]) -> dict[str, float]:
    """RSS after each checkpoint's number of reset requests (16 connections). wrk runs for a
    duration, not a count: the load runs in chunks sized from the rate so far, so a checkpoint
    is passed by at most a second's worth of requests."""
    rss: dict[str, float] = {}
    with running(target) as server:
        rss["start"] = rss_mib(server.pid)
        done, rate = 0, None
        for checkpoint in checkpoints:
            while done < checkpoint:
                seconds = 1.0 if rate is None else min(10.0, max(1.0, (checkpoint - done) / rate))
                result = load.run(server, RESET, 16, seconds)
                done += result.requests
                rate = max(result.per_second, 1.0)
            rss[str(checkpoint)] = rss_mib(server.pid)
            print(f"  {target}: RSS {rss[str(checkpoint)]:.1f} MiB after {done:,} requests", flush=True)
    return rss


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 run, short loads, 10k/30k RSS")
    parser.add_argument("--runs", type=int, default=3, help="interleaved runs per server (medians)")
    parser.add_argument(
        "--duration", type=float, default=8, help="seconds of load per server for each req/s figure"
    )
    parser.add_argument("--burst", type=float, default=2, help="seconds of one burst (servers take turns)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of 16-connection load first")
    parser.add_argument("--flow-duration", type=float, default=5, help="seconds of the reset flows")
    parser.add_argument("--flow-connections", type=int, default=4)
    parser.add_argument(
        "--rss-requests", type=int, nargs="+", default=[100_000, 300_000], metavar="N",
        help="read the RSS after this many requests (cumulative)",
    )  # fmt: skip
    parser.add_argument(
        "--targets", default=",".join(DEFAULT_TARGETS),
        help=f"servers, comma-separated, the judged credmock first; known: "
        f"{', '.join([*CREDMOCK_VARIANTS, *REFERENCES])}",
    )  # fmt: skip
    parser.add_argument("--no-rss", action="store_true", help="skip the memory checkpoints")
    parser.add_argument("--profile", action="store_true", help="also record a py-spy profile of credmock")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR, help="results folder")
    options = parser.parse_args(argv)
    if options.quick:
        options.runs, options.duration, options.burst, options.warmup, options.flow_duration = 1, 2, 1, 1, 2
        options.rss_requests = [10_000, 30_000]
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_arguments(argv)
    targets = targets_of([key.strip() for key in options.targets.split(",") if key.strip()])
    if not shutil.which("wrk"):
        print("wrk is not installed: the Python load driver runs the load (lower figures)", flush=True)
    figures = {target.key: Figures() for target in targets}
    began = time.monotonic()
    for run in range(options.runs):
        order = targets if run % 2 == 0 else targets[::-1]
        for target, measured in zip(order, measure_run(order, options).values(), strict=True):
            figures[target.key].runs.append(measured)
            print(
                f"run {run + 1}/{options.runs} {target}: start {measured['cold_start_s']:.2f} s, "
                f"{fmt(measured['rps_c1'])} req/s at 1, {fmt(measured['rps_c16'])} req/s at 16 "
                f"(p99 {fmt(measured['p99_ms_c16'], 1)} ms), flows/s {fmt(measured.get('flows_per_s'))}, "
                f"wrong answers {measured['wrong_answers']:.0f}",
                flush=True,
            )
    if not options.no_rss:
        by_key = {target.key: target for target in targets}
        for key in rss_targets(targets[0].key):
            if key in by_key:
                figures[key].rss = measure_rss(by_key[key], options.rss_requests)
    options.output.mkdir(parents=True, exist_ok=True)
    name = "quick" if options.quick else "latest"
    profile_note = ""
    if options.profile:
        with running(targets[0]) as server:
            load.run(server, RESET, 16, options.warmup)
            text = load.profile(server, RESET, 16, options.duration, options.output / f"profile-{name}")
        (options.output / f"profile-{name}.txt").write_text(text)
        profile_note = f", profile-{name}.txt"
    found = verdicts(targets[0], figures, options.rss_requests)
    report = table(targets, figures, options.rss_requests, options.flow_connections)
    report += "\n" + verdict_lines(targets[0], found)
    settings = Settings()
    summary = (
        f"credmock benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load by "
        f"{'wrk' if shutil.which('wrk') else 'the Python driver'}; {RESET.description}; medians of "
        f"{options.runs} interleaved run(s), {options.duration:g} s each; request validation on, response "
        f"validation {'on' if settings.validate_responses else 'off'}; took "
        f"{(time.monotonic() - began) / 60:.1f} min\n\n"
    )
    print("\n" + summary + report, flush=True)
    (options.output / f"{name}.md").write_text(summary + report)
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_facts(),
        "options": {
            key: str(value) if isinstance(value, Path) else value for key, value in vars(options).items()
        },
        "targets": {
            target.key: {
                "label": str(target),
                "command": list(target.command),
                "runs": figures[target.key].runs,
                "rss_mib": figures[target.key].rss,
            }
            for target in targets
        },
        "verdicts": found,
    }
    (options.output / f"{name}.json").write_text(json.dumps(document, indent=2) + "\n")
    print(f"saved {options.output / name}.md and .json{profile_note}", flush=True)
    return wrong_answer_status(targets, figures)


def wrong_answer_status(targets: list[Target], figures: dict[str, Figures]) -> int:
    """1 when a credmock under load answered anything but what the scenario expects (a wrong
    status, a missing token, a socket error): speed is reported, correctness is required."""
    wrong = {
        str(target): sum(run["wrong_answers"] or 0 for run in figures[target.key].runs)
        for target in targets
        if target.key in CREDMOCK_VARIANTS
    }
    failed = {label: count for label, count in wrong.items() if count}
    for label, count in failed.items():
        print(f"bench: {label} gave {count:.0f} wrong answers under load", file=sys.stderr, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
