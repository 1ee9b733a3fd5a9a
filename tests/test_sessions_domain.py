"""The session and legal-entity rules and the PUT saves, on every store (memory, SQLite, Redis):
a login continues the anonymous session and records ``last_login``; a refresh scoped to a legal
entity the customer belongs to; the saves are the updates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from credmock.app import build_domain
from credmock.core import exceptions as errors
from credmock.core.models import B2B, B2C, Address, LegalEntity
from credmock.core.seeding import FixtureError, load_fixtures
from credmock.domain import Domain
from credmock.settings import Settings
from tests.stores import STORES

START = 1_700_000_000.0
FIXTURES = """
tenants:
  demo:
    customers:
      - {id: "1", email: erin@shop.test, password: erin-pass-1,
         legalEntities: [{id: le-1, name: Eck Tools, contactAssignmentId: ca-1}, {id: le-2}]}
      - {id: "2", email: finn@shop.test, password: finn-pass-2}
"""


@pytest.fixture(params=STORES)
def make_domain(request: pytest.FixtureRequest, store_urls, tmp_path: Path) -> Callable[..., Domain]:
    fixtures = tmp_path / "customers.yaml"
    fixtures.write_text(FIXTURES, encoding="utf-8")

    def make(**overrides: Any) -> Domain:
        settings = Settings(
            seed=7,
            clock_start=START,
            state=store_urls(request.param),
            reset_on_start=True,
            fixtures_path=fixtures,
            **overrides,
        )
        domain = build_domain(settings)
        request.addfinalizer(domain.close)
        return domain

    return make


@pytest.fixture
def domain(make_domain) -> Domain:
    return make_domain()


def test_login_continues_the_session_of_the_anonymous_token(domain):
    anonymous = domain.anonymous_login("demo")
    token = domain.login("demo", "finn@shop.test", "finn-pass-2", anonymous_token=anonymous)
    assert token.session_id == anonymous.session_id
    assert domain.login("demo", "finn@shop.test", "finn-pass-2").session_id != anonymous.session_id


def test_login_records_last_login_without_changing_the_version(domain):
    customer = domain.get_customer("demo", "2")
    assert customer.last_login is None
    domain.clock.advance(90)
    domain.login("demo", "finn@shop.test", "finn-pass-2")
    after = domain.get_customer("demo", "2")
    assert (after.last_login, after.version) == (START + 90, customer.version)


def test_a_failed_login_records_nothing(domain):
    with pytest.raises(errors.LoginFailed):
        domain.login("demo", "finn@shop.test", "wrong")
    assert domain.get_customer("demo", "2").last_login is None


def test_fixtures_legal_entities_are_kept_and_make_the_customer_b2b(domain):
    erin, finn = domain.get_customer("demo", "1"), domain.get_customer("demo", "2")
    assert erin.legal_entities == [LegalEntity("le-1", "Eck Tools", "ca-1"), LegalEntity("le-2")]
    assert (erin.business_model, finn.business_model) == (B2B, B2C)


def test_a_profile_update_keeps_the_legal_entities(domain):
    token = domain.login("demo", "erin@shop.test", "erin-pass-1")
    domain.update_profile(token, {"firstName": "Erin"})
    assert [entity.id for entity in domain.get_customer("demo", "1").legal_entities] == ["le-1", "le-2"]


def test_refresh_scopes_the_token_to_a_legal_entity_of_the_customer(domain):
    token = domain.login("demo", "erin@shop.test", "erin-pass-1")
    scoped = domain.refresh_customer_token("demo", token.refresh_token, legal_entity_id="le-2")
    assert (scoped.legal_entity_id, scoped.session_id) == ("le-2", token.session_id)
    again = domain.refresh_customer_token("demo", scoped.refresh_token)
    assert again.legal_entity_id == "le-2"
    rescoped = domain.refresh_customer_token("demo", again.refresh_token, legal_entity_id="le-1")
    assert rescoped.legal_entity_id == "le-1"


def test_refresh_to_a_legal_entity_the_customer_lacks_is_refused_and_spends_nothing(domain):
    token = domain.login("demo", "finn@shop.test", "finn-pass-2")
    with pytest.raises(errors.UnknownLegalEntity) as raised:
        domain.refresh_customer_token("demo", token.refresh_token, legal_entity_id="le-1")
    assert (raised.value.status, [d.field for d in raised.value.details]) == (400, ["legal_entity_id"])
    assert domain.refresh_customer_token("demo", token.refresh_token).legal_entity_id is None


def test_save_profile_is_update_profile(domain):
    token = domain.login("demo", "finn@shop.test", "finn-pass-2")
    saved = domain.save_profile(token, {"lastName": "Falk"}, version=1)
    assert (saved.last_name, saved.version) == ("Falk", 2)
    with pytest.raises(errors.StaleVersion):
        domain.save_profile(token, {"lastName": "Other"}, version=1)


def test_save_address_is_update_address(domain):
    token = domain.login("demo", "finn@shop.test", "finn-pass-2")
    home = domain.add_address(token, Address(contact_name="Finn"))
    saved = domain.save_address(token, home.id, {"city": "Kiel"}, version=1)
    assert (saved.city, saved.version) == ("Kiel", 2)
    with pytest.raises(errors.StaleVersion):
        domain.save_address(token, home.id, {"city": "Bonn"}, version=1)
    with pytest.raises(errors.NotFound):
        domain.save_address(token, "0000000000", {"city": "Bonn"})


@pytest.mark.parametrize(
    ("entities", "message"),
    [
        ("legalEntities: le-1", "'legalEntities' must be a list"),
        ("legalEntities: [le-1]", "tenants.demo.customers[0].legalEntities[0]: expected a mapping"),
        ("legalEntities: [{name: X}]", "tenants.demo.customers[0].legalEntities[0]: 'id' is required"),
        ("legalEntities: [{id: a, nmae: X}]", "unknown key 'nmae' (did you mean 'name'?)"),
        ("legalEntities: [{id: a}, {id: a}]", "two legal entities have the same 'id'"),
        ("legalEntities: [{id: [a]}]", "'id' must be a string"),
    ],
)
def test_fixture_legal_entity_mistakes_are_named(tmp_path: Path, entities: str, message: str):
    path = tmp_path / "customers.yaml"
    path.write_text(
        f"tenants:\n  demo:\n    customers:\n      - {{email: a@b.test, password: p, {entities}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(FixtureError) as raised:
        load_fixtures(path)
    assert message in str(raised.value)
