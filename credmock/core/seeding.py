"""Reading the fixtures file and making fake customers: the state a reset returns to."""

from __future__ import annotations

import dataclasses
import difflib
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from credmock.core import exceptions as errors
from credmock.core.models import ADDRESS_FIELDS, PROFILE_FIELDS, Address, CustomerProfile, LegalEntity


class FixtureError(ValueError):
    """The fixtures file cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class CustomerSeed:
    tenant: str
    email: str
    password: str
    first_name: str = ""
    last_name: str = ""
    contact_email: str | None = None
    id: str | None = None
    profile: CustomerProfile = field(default_factory=CustomerProfile)
    initial_password: bool = False
    legal_entities: tuple[LegalEntity, ...] = ()


# The keys each level of a fixtures file may have; any other is a typo, named at load.
DOCUMENT_KEYS = ("tenants",)
TENANT_KEYS = ("customers", "doubleOptIn")
CUSTOMER_KEYS = (
    "id",
    "email",
    "password",
    "firstName",
    "lastName",
    "contactEmail",
    "initialPassword",
    *PROFILE_FIELDS,
    "addresses",
    "legalEntities",
)
# The keys of a customer's nested mappings (``mixins`` holds anything).
NESTED_KEYS = {"b2b": ("companyRegistrationId",), "metadata": ("mixins",)}
# The keys of a legal entity a customer belongs to (the reference's ``b2b.legalEntities`` entry).
LEGAL_ENTITY_KEYS = ("id", "name", "contactAssignmentId")
# The keys of an address: the reference's, and the two the mock sets when none is given.
ADDRESS_KEYS = ("id", *ADDRESS_FIELDS, "isDefault")


def check_keys(where: str, entry: dict[Any, Any], known: Iterable[str]) -> None:
    """A fixtures error naming the first key of ``entry`` not in ``known``, and the likely one."""
    known = tuple(known)
    for key in entry:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
            raise FixtureError(f"{where}: unknown key {str(key)!r} ({hint})")


def load_fixtures(path: Path) -> tuple[list[str], list[CustomerSeed]]:
    """Tenants and customers of a fixtures file::

    tenants:
      demo:
        customers:
          - {email: alice@example.com, password: alice-pass-1, firstName: Alice}
    """
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError) as error:
        raise FixtureError(f"{path}: cannot read fixtures: {error}") from None
    except yaml.YAMLError as error:
        raise FixtureError(f"{path}: cannot read fixtures: {_yaml_problem(error)}") from None
    if isinstance(document, dict):
        check_keys(f"{path}", document, DOCUMENT_KEYS)
    tenants = document.get("tenants") if isinstance(document, dict) else None
    if not isinstance(tenants, dict):
        raise FixtureError(f"{path}: expected a mapping 'tenants: {{name: {{customers: [...]}}}}'")
    seeds: list[CustomerSeed] = []
    for tenant, content in tenants.items():
        if isinstance(content, dict):
            check_keys(f"{path}: tenants.{tenant}", content, TENANT_KEYS)
        customers = (content or {}).get("customers", []) if isinstance(content, dict) else None
        if not isinstance(customers, list):
            raise FixtureError(f"{path}: tenant {tenant!r}: 'customers' must be a list")
        for index, entry in enumerate(customers):
            seeds.append(_customer_seed(path, str(tenant), index, entry))
    return [str(tenant) for tenant in tenants], seeds


def double_opt_in_tenants(path: Path) -> frozenset[str]:
    """The tenants a fixtures file marks ``doubleOptIn: true`` (signups there activate by email)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return frozenset()  # load_fixtures, which runs first, names the problem
    tenants = document.get("tenants") if isinstance(document, dict) else None
    marked = set()
    for tenant, content in (tenants or {}).items() if isinstance(tenants, dict) else ():
        value = content.get("doubleOptIn", False) if isinstance(content, dict) else False
        if not isinstance(value, bool):
            raise FixtureError(f"{path}: tenants.{tenant}: 'doubleOptIn' must be true or false")
        if value:
            marked.add(str(tenant))
    return frozenset(marked)


def _yaml_problem(error: yaml.YAMLError) -> str:
    """PyYAML's multi-line report as one line: the problem and where it is."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"invalid YAML at line {mark.line + 1} column {mark.column + 1}: {error.problem}"
    return " ".join(str(error).split())


def _customer_seed(path: Path, tenant: str, index: int, entry: Any) -> CustomerSeed:
    where = f"{path}: tenants.{tenant}.customers[{index}]"
    if not isinstance(entry, dict):
        raise FixtureError(f"{where}: expected a mapping")
    check_keys(where, entry, CUSTOMER_KEYS)
    for name, keys in NESTED_KEYS.items():
        if isinstance(entry.get(name), dict):
            check_keys(f"{where}.{name}", entry[name], keys)
    for required in ("email", "password"):
        if not isinstance(entry.get(required), str) or not entry[required]:
            raise FixtureError(f"{where}: '{required}' is required")
    initial_password = entry.get("initialPassword", False)
    if not isinstance(initial_password, bool):
        raise FixtureError(f"{where}: 'initialPassword' must be true or false")
    try:
        profile = CustomerProfile.from_details(entry)
    except errors.ApiError as error:
        raise FixtureError(f"{where}: {error.message}") from None
    profile = dataclasses.replace(profile, addresses=_addresses(where, entry.get("addresses")))
    return CustomerSeed(
        tenant=tenant,
        email=entry["email"],
        password=entry["password"],
        first_name=str(entry.get("firstName", "")),
        last_name=str(entry.get("lastName", "")),
        contact_email=entry.get("contactEmail"),
        id=str(entry["id"]) if entry.get("id") is not None else None,
        profile=profile,
        initial_password=initial_password,
        legal_entities=_legal_entities(where, entry.get("legalEntities")),
    )


def _entries(
    where: str, name: str, entries: Any, keys: Iterable[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each entry of the list ``name`` of a fixtures customer (none when absent), with where it
    stands: a list of mappings with known keys, or a FixtureError naming the place."""
    if entries is None:
        return
    if not isinstance(entries, list):
        raise FixtureError(f"{where}: '{name}' must be a list")
    for index, entry in enumerate(entries):
        place = f"{where}.{name}[{index}]"
        if not isinstance(entry, dict):
            raise FixtureError(f"{place}: expected a mapping")
        check_keys(place, entry, keys)
        yield place, entry


def _legal_entities(where: str, entries: Any) -> tuple[LegalEntity, ...]:
    """The legal entities a fixtures customer belongs to: ``id`` required, ``name`` and
    ``contactAssignmentId`` optional; each id once."""
    entities = []
    for place, entry in _entries(where, "legalEntities", entries, LEGAL_ENTITY_KEYS):
        texts = {}
        for key in LEGAL_ENTITY_KEYS:
            value = entry.get(key)
            if value is not None and (not isinstance(value, (str, int)) or isinstance(value, bool)):
                raise FixtureError(f"{place}: '{key}' must be a string")
            texts[key] = "" if value is None else str(value)
        if not texts["id"]:
            raise FixtureError(f"{place}: 'id' is required")
        entities.append(
            LegalEntity(
                id=texts["id"], name=texts["name"], contact_assignment_id=texts["contactAssignmentId"]
            )
        )
    ids = [entity.id for entity in entities]
    if len(ids) != len(set(ids)):
        raise FixtureError(f"{where}: two legal entities have the same 'id'")
    return tuple(entities)


def _addresses(where: str, entries: Any) -> list[Address]:
    """The addresses of a fixtures customer: ``id`` (drawn when absent) and ``isDefault`` (the
    first address when none is marked) as given, the rest as a signup's ``customerAddress``."""
    addresses = []
    for place, entry in _entries(where, "addresses", entries, ADDRESS_KEYS):
        if isinstance(entry.get("metadata"), dict):
            check_keys(f"{place}.metadata", entry["metadata"], ("mixins",))
        try:
            address = Address.from_wire(entry)
        except errors.ApiError as error:
            raise FixtureError(f"{place}: {error.message}") from None
        is_default = entry.get("isDefault", False)
        if not isinstance(is_default, bool):
            raise FixtureError(f"{place}: 'isDefault' must be true or false")
        address_id = entry.get("id")
        if address_id is not None and (not isinstance(address_id, (str, int)) or str(address_id) == ""):
            raise FixtureError(f"{place}: 'id' must be a non-empty string")
        addresses.append(dataclasses.replace(address, id=str(address_id or ""), is_default=is_default))
    ids = [address.id for address in addresses if address.id]
    if len(ids) != len(set(ids)):
        raise FixtureError(f"{where}: two addresses have the same 'id'")
    if sum(address.is_default for address in addresses) > 1:
        raise FixtureError(f"{where}: only one address can be 'isDefault: true'")
    return addresses


FAKE_CUSTOMER_PASSWORD = "password123"
# RFC 2606 reserves these for examples: no person receives mail there, so a reset test that
# delivers to a relay (--smtp-url) never mails a stranger.
RESERVED_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")


def ascii_word(text: str) -> str:
    """``text`` in ASCII letters and digits only (``José`` -> ``jose``), for an address's local part."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if char.isascii() and char.isalnum()).lower()


def fake_customers(tenant: str, count: int, seed: int, locale: str | None = None) -> list[CustomerSeed]:
    """``count`` customers from Faker (of ``locale``, Faker's default if None); the same seed
    gives the same customers. Their addresses are on :data:`RESERVED_EMAIL_DOMAINS` only, with an
    ASCII local part whatever the locale's names.

    They all share the password ``FAKE_CUSTOMER_PASSWORD``, so any of them can log in.
    """
    if count <= 0:
        return []
    from faker import Faker  # imported here: Faker is slow to import and most runs need none

    faker = Faker(locale)
    faker.seed_instance(seed)
    seeds = []
    for number in range(1, count + 1):
        first, last = faker.first_name(), faker.last_name()
        names = [word for word in (ascii_word(first), ascii_word(last)) if word] or ["customer"]
        local_part = ".".join([*names, str(number)])
        domain = RESERVED_EMAIL_DOMAINS[faker.random_int(0, len(RESERVED_EMAIL_DOMAINS) - 1)]
        seeds.append(
            CustomerSeed(
                tenant=tenant,
                email=f"{local_part}@{domain}",
                password=FAKE_CUSTOMER_PASSWORD,
                first_name=first,
                last_name=last,
            )
        )
    return seeds
