"""Contract fixtures: every adapter renders each canonical input to exactly its expected body."""

from __future__ import annotations

import hashlib
import importlib
import re
from typing import Any

import pytest

from martech_bus.adapter import Adapter, Fixture
from martech_bus.schema.validate import validate_event
from tests.adapters.helpers import json_diff, keys_in, registry, repo_adapters, strings_in

CASES = [(adapter, fixture) for adapter in repo_adapters() for fixture in adapter.fixtures()]
IDS = [f"{adapter.name}-{fixture.name}" for adapter, fixture in CASES]
#: Every adapter carries these order_completed cases (besides one per other mapped event).
REQUIRED_ORDER_CASES = (
    "order_completed_full",
    "order_completed_minimal",
    "order_completed_anonymous_without_optionals",
    "order_completed_unicode",
    "order_completed_50_products",
)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def datum(fixture: Fixture) -> dict[str, Any]:
    _, event = validate_event(registry(), fixture.load_input())
    return event


@pytest.mark.parametrize(("adapter", "fixture"), CASES, ids=IDS)
def test_the_fixture_input_is_a_valid_canonical_event(adapter: Adapter, fixture: Fixture) -> None:
    entry, _ = validate_event(registry(), fixture.load_input())
    assert entry.subject in adapter.events()


@pytest.mark.parametrize(("adapter", "fixture"), CASES, ids=IDS)
def test_rendering_the_input_gives_exactly_the_expected_body(
    adapter: Adapter, fixture: Fixture
) -> None:
    expected = fixture.load_expected()
    rendered = adapter.render(datum(fixture))
    assert rendered == expected, f"{fixture.expected} differs:\n{json_diff(expected, rendered)}"


@pytest.mark.parametrize(("adapter", "fixture"), CASES, ids=IDS)
def test_the_expected_body_satisfies_the_vendor_payload_schema(
    adapter: Adapter, fixture: Fixture
) -> None:
    assert adapter.payload_schema is not None
    assert adapter.check_payload(fixture.load_expected()) == []


@pytest.mark.parametrize(("adapter", "fixture"), CASES, ids=IDS)
def test_a_rendered_body_holds_only_plain_json_values(adapter: Adapter, fixture: Fixture) -> None:
    def walk(value: Any, where: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                assert isinstance(key, str), where
                walk(item, f"{where}.{key}")
        elif isinstance(value, list):
            for n, item in enumerate(value):
                walk(item, f"{where}[{n}]")
        else:  # a Decimal or datetime would only fail when the sink encodes the body
            assert type(value) in (str, int, float, bool, type(None)), f"{where}: {value!r}"

    walk(adapter.render(datum(fixture)), "body")


@pytest.mark.parametrize("adapter", repo_adapters(), ids=lambda a: a.name)
def test_every_payload_schema_is_valid_json_schema_2020_12(adapter: Adapter) -> None:
    jsonschema = importlib.import_module("jsonschema")
    assert adapter.payload_schema is not None
    assert adapter.payload_schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(adapter.payload_schema)


@pytest.mark.parametrize("adapter", repo_adapters(), ids=lambda a: a.name)
def test_every_adapter_has_the_order_cases_and_a_fixture_per_mapped_event(
    adapter: Adapter,
) -> None:
    names = {fixture.name for fixture in adapter.fixtures()}
    assert set(REQUIRED_ORDER_CASES) <= names
    covered = {fixture.load_input()["event_type"] for fixture in adapter.fixtures()}
    assert covered == set(adapter.events())
    assert len(adapter.events()) >= 3


def test_the_repository_has_the_six_vendor_adapters() -> None:
    assert [a.name for a in repo_adapters()] == [
        "amplitude",
        "braze",
        "ga4",
        "klaviyo",
        "meta_capi",
        "webhook",
    ]


def test_the_fifty_product_order_keeps_every_product() -> None:
    for adapter in repo_adapters():
        fixture = next(f for f in adapter.fixtures() if f.name == "order_completed_50_products")
        skus = {f"p-{n}" for n in range(1, 51)}
        assert skus <= strings_in(fixture.load_expected()), adapter.name


# -- PII rules (REFERENCE.md) each appear in at least one fixture ------------------------------


def _inputs_and_bodies() -> list[tuple[str, dict[str, Any], Any]]:
    return [
        (f"{adapter.name}/{fixture.name}", fixture.load_input(), fixture.load_expected())
        for adapter, fixture in CASES
    ]


def test_an_already_hashed_email_passes_through_lower_cased_not_hashed_again() -> None:
    seen = 0
    for case, event, body in _inputs_and_bodies():
        email = (event.get("properties") or {}).get("email") or ""
        if re.fullmatch(r"[0-9A-Fa-f]{64}", email) and email != email.lower():
            sent = strings_in(body)
            assert email.lower() in sent, case
            assert hashlib.sha256(email.lower().encode()).hexdigest() not in sent, case
            seen += 1
    assert seen >= 1


def test_a_blank_email_or_phone_is_never_hashed_and_its_field_is_left_out() -> None:
    seen = 0
    for case, event, body in _inputs_and_bodies():
        properties = event.get("properties") or {}
        if properties.get("email", None) is not None and not properties["email"].strip():
            assert EMPTY_SHA256 not in strings_in(body), case
            assert not {"em", "ph", "email", "phone", "phone_number"} & keys_in(body), case
            seen += 1
    assert seen >= 2


def test_a_phone_is_hashed_as_its_digits_with_the_country_code() -> None:
    seen = 0
    for _, event, body in _inputs_and_bodies():
        phone = (event.get("properties") or {}).get("phone") or ""
        if re.search(r"\d", phone) and re.search(r"\D", phone):
            digits = re.sub(r"\D", "", phone).lstrip("0")  # "0049 ..." and "+49 ..." alike
            if hashlib.sha256(digits.encode()).hexdigest() in strings_in(body):
                seen += 1
    assert seen >= 2


def test_the_empty_string_hash_appears_in_no_expected_body() -> None:
    for case, _, body in _inputs_and_bodies():
        assert EMPTY_SHA256 not in strings_in(body), case
