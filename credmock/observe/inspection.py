"""What the mock shows of its own work, and the faults it injects: one per app, wired here.

The request journal and the faults live in their own bounded objects, beside the domain (a
reset clears them too); the request log writes each exchange as it ends.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from connexion.middleware import MiddlewarePosition

from credmock.observe.coverage import Coverage
from credmock.observe.exchanges import ObserveMiddleware, Recorder
from credmock.observe.faults import FaultMiddleware, FaultRegistry
from credmock.observe.journal import Journal
from credmock.observe.request_log import RequestLog
from credmock.settings import Settings


@dataclass
class Inspection:
    settings: Settings
    journal: Journal
    faults: FaultRegistry
    request_log: RequestLog | None
    coverage: Coverage | None = None  # the API coverage of the clients, kept in the store

    @classmethod
    def from_settings(
        cls, settings: Settings, contract_operations: Collection[str], coverage: Coverage | None = None
    ) -> Inspection:
        """Checks the settings (a bad log format or journal size raises ValueError at start)."""
        return cls(
            settings=settings,
            journal=Journal(settings.journal_size),
            faults=FaultRegistry(contract_operations, random.Random(settings.seed)),
            request_log=None if settings.quiet else RequestLog(settings.log_format),
            coverage=coverage,
        )

    def reset(self, *, keep_coverage: bool = False) -> None:
        """Forget the requests seen (the API coverage too, unless ``keep_coverage``) and the
        faults in force."""
        self.journal.clear()
        self.faults.clear()
        if self.coverage is not None and not keep_coverage:
            self.coverage.clear()

    def install(self, app: Any) -> None:
        """Add the middlewares to ``app`` (a Connexion app). Call it before any other middleware
        placed before the exception middleware (CORS), so every answer, preflights and errors
        included, is observed."""
        recorders: list[Recorder] = []
        if self.journal.size:
            recorders.append(self.journal.record)
        if self.request_log is not None:
            recorders.append(self.request_log)
        if self.coverage is not None:
            recorders.append(self.coverage.record)
        app.add_middleware(
            ObserveMiddleware,
            position=MiddlewarePosition.BEFORE_EXCEPTION,
            recorders=tuple(recorders),
            keep_body=bool(self.journal.size),
        )
        app.add_middleware(
            FaultMiddleware,
            position=MiddlewarePosition.BEFORE_SECURITY,
            faults=self.faults,
            latency_ms=self.settings.latency_ms,
        )
