"""The key of an API coverage count, shared by the store that keeps the counts and the observing
layer that makes them."""

from __future__ import annotations

# (operationId, status, error type: an ErrorMessage's ``type``, a fault's ``errorcode``, or "").
CoverageKey = tuple[str, int, str]
