"""The mock API's view of the mock's own work (spec/mock-api.yaml): the request journal, the
faults on demand and the inbox page. Each handler gets the app's :class:`Inspection` first,
then the domain."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

from credmock.core.clock import iso_time
from credmock.domain import Domain
from credmock.observe.coverage import OperationCoverage
from credmock.observe.exchanges import Exchange
from credmock.observe.faults import Fault
from credmock.observe.inspection import Inspection
from credmock.observe.journal import masked_body

Body = dict[str, Any]


def journal_entry(exchange: Exchange) -> dict[str, Any]:
    return {
        "id": exchange.id,
        "time": iso_time(exchange.time),
        "method": exchange.method,
        "path": exchange.path,
        "tenant": exchange.tenant,
        "operationId": exchange.operation_id,
        "status": exchange.status,
        "reason": exchange.reason,
        "durationMs": round(exchange.duration * 1000, 3),
        "body": masked_body(exchange),
        "fault": exchange.fault,
        "injected": exchange.injected,
    }


def list_requests(
    inspection: Inspection,
    _domain: Domain,
    method: str | None = None,
    path: str | None = None,
    status: int | None = None,
    tenant: str | None = None,
    operation: str | None = None,
    limit: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    exchanges = inspection.journal.find(
        method=method, path=path, status=status, tenant=tenant, operation=operation, limit=limit
    )
    return [journal_entry(exchange) for exchange in exchanges], 200


def clear_requests(inspection: Inspection, _domain: Domain) -> tuple[None, int]:
    inspection.journal.clear()
    return None, 204


def fault_view(fault: Fault) -> dict[str, Any]:
    view: dict[str, Any] = {"id": fault.id, "operation": fault.operation, "fired": fault.fired}
    optional = {
        "tenant": fault.tenant,
        "status": fault.status,
        "body": fault.body,
        "headers": fault.headers or None,
        "delayMs": list(fault.delay_ms) if fault.delay_ms else None,
        "times": fault.times,
        "remaining": fault.remaining,
        "probability": fault.probability if fault.probability < 1 else None,
        "fault": fault.kind,
    }
    view.update({name: value for name, value in optional.items() if value is not None})
    return view


def create_fault(
    inspection: Inspection, _domain: Domain, body: Body
) -> tuple[dict[str, Any], int, dict[str, str]]:
    fault = inspection.faults.add(body)
    return fault_view(fault), 201, {"Location": f"/_mock/faults/{fault.id}"}


def list_faults(inspection: Inspection, _domain: Domain) -> tuple[list[dict[str, Any]], int]:
    return [fault_view(fault) for fault in inspection.faults.list()], 200


def clear_faults(inspection: Inspection, _domain: Domain) -> tuple[None, int]:
    inspection.faults.clear()
    return None, 204


def delete_fault(inspection: Inspection, _domain: Domain, faultId: str) -> tuple[None, int]:
    inspection.faults.remove(faultId)
    return None, 204


# The page runs its own inline script and styles, talks to this server only, and loads nothing
# from anywhere else; the emails it shows (in a sandboxed frame) inherit the same policy.
INBOX_HEADERS = {
    "Content-Type": "text/html",  # the page declares its charset (utf-8) itself
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src data:; frame-src 'self'; form-action 'none'; frame-ancestors 'self'"
    ),
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


@functools.cache
def inbox_page() -> str:
    return resources.files("credmock.observe").joinpath("inbox.html").read_text(encoding="utf-8")


def get_inbox(_inspection: Inspection, _domain: Domain) -> tuple[str, int, dict[str, str]]:
    """The inbox page: the outbox in a browser, newest first, updating by itself."""
    return inbox_page(), 200, INBOX_HEADERS


def operation_coverage(entry: OperationCoverage) -> dict[str, Any]:
    declared = set(entry.operation.statuses)
    return {
        "operationId": entry.operation.operation_id,
        "method": entry.operation.method,
        "path": entry.operation.path,
        "requests": entry.requests,
        "declaredStatuses": list(entry.operation.statuses),
        "statusesSeen": [
            {"status": status, "requests": requests, "declared": status in declared}
            for status, requests in sorted(entry.statuses_seen.items())
        ],
        "statusesNotSeen": entry.statuses_not_seen,
        "errorTypesSeen": [
            {"status": status, "type": kind, "requests": requests}
            for (status, kind), requests in sorted(entry.error_types_seen.items())
        ],
    }


def coverage_body(entries: list[OperationCoverage]) -> dict[str, Any]:
    """The answer of getCoverage for ``entries``: each operation, and the totals."""
    declared = sum(len(entry.operation.statuses) for entry in entries)
    reached = sum(entry.declared_statuses_seen for entry in entries)
    total = {
        "operations": len(entries),
        "operationsSeen": sum(1 for entry in entries if entry.requests),
        "requests": sum(entry.requests for entry in entries),
        "declaredStatuses": declared,
        "declaredStatusesSeen": reached,
        "percent": round(100 * reached / declared, 2) if declared else 100.0,
    }
    return {"operations": [operation_coverage(entry) for entry in entries], "total": total}


def get_coverage(inspection: Inspection, _domain: Domain) -> tuple[dict[str, Any], int]:
    """Per contract operation, what the clients reached, as every worker and instance counted it."""
    return coverage_body(inspection.coverage.report() if inspection.coverage is not None else []), 200


def clear_coverage(inspection: Inspection, _domain: Domain) -> tuple[None, int]:
    if inspection.coverage is not None:
        inspection.coverage.clear()
    return None, 204


def reset_state(inspection: Inspection, domain: Domain) -> tuple[None, int]:
    """Back to the fixtures, with no requests in the journal, no API coverage and no faults in force."""
    domain.reset_state()
    inspection.reset()
    return None, 204


OPERATIONS = {
    "listRequests": list_requests,
    "clearRequests": clear_requests,
    "createFault": create_fault,
    "listFaults": list_faults,
    "clearFaults": clear_faults,
    "deleteFault": delete_fault,
    "resetState": reset_state,
    "getCoverage": get_coverage,
    "clearCoverage": clear_coverage,
    "getInbox": get_inbox,
}
