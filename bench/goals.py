"""What the bench judges, as data: each goal is a metric of the judged credmock target, on its
own or as a ratio to another target's, with a bound."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Goal:
    name: str
    metric: str  # a run metric (median of the runs), or rss:last / rss:growth
    reference: str | None  # the target key the metric is divided by; None: judged as it is
    at_least: float | None = None
    at_most: float | None = None
    subject: str | None = None  # the target key measured; None: the judged one

    @property
    def bound(self) -> str:
        unit = "x" if self.reference else ""
        if self.at_least is not None:
            return f">= {self.at_least:g}{unit}"
        if self.reference is None:
            return f"<= {self.at_most:.0%}"
        return f"<= {self.at_most:g}{unit}"

    def met(self, measured: float | None) -> bool | None:
        if measured is None:
            return None
        if self.at_least is not None and measured < self.at_least:
            return False
        return not (self.at_most is not None and measured > self.at_most)


GOALS: tuple[Goal, ...] = (
    Goal("throughput at 16 connections, x Prism", "rps_c16", "prism", at_least=3.0),
    Goal("p99 at 16 connections, x Prism", "p99_ms_c16", "prism", at_most=0.5),
    Goal("throughput at 16 connections, x the Starlette ceiling", "rps_c16", "ceiling", at_least=0.4),
    Goal("cold start to the first answer, x Prism", "cold_start_s", "prism", at_most=0.5),
    Goal("RSS after the last checkpoint, x Prism", "rss:last", "prism", at_most=0.5),
    Goal("RSS growth from the first to the last checkpoint", "rss:growth", None, at_most=0.10),
    # The shared stores against the memory store, and a second worker on Redis.
    Goal("Redis: req/s at 16 connections, x memory", "rps_c16", "credmock", 0.5, subject="credmock-redis"),
    Goal("Redis: p99 at 16 connections, x memory", "p99_ms_c16", "credmock", None, 2.0, "credmock-redis"),
    Goal("SQLite: req/s at 16 connections, x memory", "rps_c16", "credmock", 0.8, subject="credmock-sqlite"),
    Goal(
        "Redis, 2 workers: req/s at 16 connections, x 1 worker",
        "rps_c16",
        "credmock-redis",
        at_least=1.3,
        subject="credmock-redis-w2",
    ),
)


def rss_targets(judged: str) -> list[str]:
    """The targets whose memory the goals need weighed: the judged one and its RSS references."""
    keys = [judged]
    keys += [
        goal.reference
        for goal in GOALS
        if goal.metric.startswith("rss:") and goal.reference and goal.subject in (None, judged)
    ]
    return list(dict.fromkeys(keys))
