"""An error is answered with a status its operation declares: the fitting of
:mod:`credmock.http.errors`, on its own (the token matrix of test_declared_security.py covers it
over HTTP)."""

from __future__ import annotations

from credmock.core import exceptions as errors
from credmock.http.errors import DeclaredStatuses, fitted

SPEC = {
    "servers": [{"url": "https://api.example.com/base"}],
    "paths": {
        "/customer/{tenant}/login": {"post": {"responses": {"200": {}, "400": {}, "401": {}}}},
        "/customer/{tenant}/me": {
            "parameters": [],
            "get": {"responses": {"200": {}, "401": {}, "403": {}}},
            "patch": {"responses": {"200": {}, "400": {}, "401": {}, "403": {}}},
        },
        "/anonymous/login": {"get": {"responses": {"200": {}}}},
    },
}


def declared() -> DeclaredStatuses:
    statuses = DeclaredStatuses()
    statuses.add_spec(SPEC)
    return statuses


def test_statuses_are_found_by_method_and_path_under_the_base_path():
    statuses = declared()
    assert statuses.of("POST", "/base/customer/demo/login") == {200, 400, 401}
    assert statuses.of("HEAD", "/base/customer/demo/me") == {200, 401, 403}
    assert statuses.of("DELETE", "/base/customer/demo/me") is None
    assert statuses.of("POST", "/customer/demo/login") is None


def test_a_refused_token_where_403_is_not_declared_is_the_401_fault():
    error = fitted(errors.AnonymousTokenRequired(reason="customer token"), frozenset({200, 400, 401}))
    assert isinstance(error, errors.InvalidAccessToken)
    assert error.status == 401
    assert "answered 401: the operation declares no 403" in error.reason


def test_a_stale_version_where_409_is_not_declared_is_a_400_that_keeps_its_words():
    conflict = errors.Conflict("changed", [errors.FieldProblem("metadata.version", "stale_value", "changed")])
    error = fitted(conflict, frozenset({200, 400, 401, 403}))
    assert (error.status, error.body()["type"], error.body()["details"][0]["field"]) == (
        400,
        "conflict_resource",
        "metadata.version",
    )


def test_a_declared_status_is_kept_and_one_without_a_fitting_status_too():
    forbidden = errors.TenantMismatch()
    assert fitted(forbidden, frozenset({200, 401, 403})) is forbidden
    bad = errors.InvalidTenant()
    assert fitted(bad, frozenset({200})) is bad  # the anonymous login declares no error at all
    assert fitted(bad, None) is bad  # no operation: not the contract's
