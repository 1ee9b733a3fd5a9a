"""The bench's table (Markdown) and its verdict on each goal of :mod:`bench.goals`."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from bench.goals import GOALS
from bench.servers import Target


@dataclass
class Figures:
    """One target's figures: each run's metrics, and its RSS at each checkpoint."""

    runs: list[dict[str, float | None]] = field(default_factory=list)
    rss: dict[str, float] = field(default_factory=dict)

    def value(self, metric: str, checkpoints: list[int]) -> float | None:
        if metric.startswith("rss:"):
            point = metric.removeprefix("rss:")
            first, last = (self.rss.get(str(checkpoints[index])) for index in (0, -1))
            if point == "growth":
                return (last - first) / first if first and last is not None else None
            return last if point == "last" else self.rss.get(point)
        values = [run[metric] for run in self.runs if run.get(metric) is not None]
        return statistics.median(values) if values else None  # type: ignore[type-var]


def paired_ratio(mine: Figures, theirs: Figures, metric: str, checkpoints: list[int]) -> float | None:
    """The median over the runs of mine / theirs, each run's pair measured side by side (the
    machine's load moves between runs, less within one); a memory metric: the plain ratio."""
    if metric.startswith("rss:"):
        a, b = mine.value(metric, checkpoints), theirs.value(metric, checkpoints)
        return a / b if a is not None and b else None
    ratios = [
        own[metric] / other[metric]  # type: ignore[operator]
        for own, other in zip(mine.runs, theirs.runs, strict=False)
        if own.get(metric) is not None and other.get(metric)
    ]
    return statistics.median(ratios) if ratios else None


def fmt(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def table(
    targets: list[Target], figures: dict[str, Figures], checkpoints: list[int], flow_connections: int
) -> str:
    """Each target's medians, then the judged one's ratio to each other (median of per-run ratios)."""
    judged, references = targets[0], targets[1:]
    rows: list[tuple[str, str, int]] = [
        ("req/s, 1 connection", "rps_c1", 0),
        ("p99 ms, 1 connection", "p99_ms_c1", 2),
        ("req/s, 16 connections", "rps_c16", 0),
        ("p50 ms, 16 connections", "p50_ms_c16", 2),
        ("p99 ms, 16 connections", "p99_ms_c16", 2),
        (f"reset flows/s ({flow_connections} connections, 4 requests each)", "flows_per_s", 0),
        ("cold start to first answer, s", "cold_start_s", 2),
        *[(f"RSS after {point:,} requests, MiB", f"rss:{point}", 1) for point in checkpoints],
    ]
    header = ["", *[str(target) for target in targets]]
    header += [f"{judged.key}/{reference.key}" for reference in references]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, metric, digits in rows:
        cells = [label, *[fmt(figures[target.key].value(metric, checkpoints), digits) for target in targets]]
        for reference in references:
            ratio = paired_ratio(figures[judged.key], figures[reference.key], metric, checkpoints)
            cells.append("" if ratio is None else f"{ratio:.2f}x")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def verdicts(judged: Target, figures: dict[str, Figures], checkpoints: list[int]) -> list[dict[str, Any]]:
    found = []
    for goal in GOALS:
        subject = goal.subject or judged.key
        if subject not in figures:
            measured = None
        elif goal.reference is None:
            measured = figures[subject].value(goal.metric, checkpoints)
        elif goal.reference in figures and goal.reference != subject:
            measured = paired_ratio(figures[subject], figures[goal.reference], goal.metric, checkpoints)
        else:
            measured = None
        found.append(
            {"goal": goal.name, "bound": goal.bound, "measured": measured, "met": goal.met(measured)}
        )
    return found


def verdict_lines(judged: Target, found: list[dict[str, Any]]) -> str:
    lines = [f"Goals, for {judged}:"]
    for verdict in found:
        measured = verdict["measured"]
        if measured is None:
            shown = "n/a"
        elif verdict["bound"].endswith("%"):
            shown = f"{measured:+.1%}"
        else:
            shown = f"{measured:.2f}x"
        state = {True: "met", False: "NOT met", None: "not measured"}[verdict["met"]]
        lines.append(f"- {verdict['goal']}: {shown} (goal {verdict['bound']}): {state}")
    return "\n".join(lines) + "\n"
