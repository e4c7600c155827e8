"""PII keys from the catalogue, and PII found in free text."""

from __future__ import annotations

import pytest

from martech_bus.observability.pii import PiiFields
from martech_bus.schema.registry import SchemaRegistry

DEFAULT = PiiFields.default()


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("email", "email"),
        ("phone", "phone"),
        ("first_name", "name"),
        ("last_name", "name"),
        ("city", "address"),
        ("ip", "ip"),
        ("user_id", "user_id"),
        ("anonymous_id", "device_id"),
    ],
)
def test_the_catalogue_tags_become_pii_keys(registry: SchemaRegistry, key: str, kind: str) -> None:
    assert PiiFields.from_registry(registry).kind(key) == kind


def test_a_generic_name_is_pii_only_under_its_parent(registry: SchemaRegistry) -> None:
    pii = PiiFields.from_registry(registry)
    assert (pii.kind("id", "device"), pii.kind("id", "dead_letter"), pii.kind("id")) == (
        "device_id",
        None,
        None,
    )


def test_keys_compare_in_any_case_and_spelling() -> None:
    assert DEFAULT.kind("First-Name") == DEFAULT.kind("FIRST_NAME") == "name"


def test_ordinary_keys_are_not_pii(registry: SchemaRegistry) -> None:
    pii = PiiFields.from_registry(registry)
    assert [pii.kind(k) for k in ("event_id", "country", "sku", "vendor")] == [None] * 4


def test_kept_kinds_are_not_masked(registry: SchemaRegistry) -> None:
    pii = PiiFields.from_registry(registry, keep=("user_id",))
    assert (pii.kind("user_id"), pii.kind("email")) == (None, "email")


@pytest.mark.parametrize(
    "email", ["jane@example.com", "j.d+promo@mail.example.co.uk", "JANE_DOE@Example.ORG"]
)
def test_emails_in_text_are_replaced(email: str) -> None:
    assert DEFAULT.text(f"sent to {email}.") == "sent to [email]."


def test_url_encoded_emails_are_replaced() -> None:
    assert DEFAULT.text("?to=jane.doe%40example.com&x=1") == "?to=[email]&x=1"


@pytest.mark.parametrize(
    "phone",
    [
        "+14155550123",
        "+1 415 555 0123",
        "+1-415-555-0123",
        "+44 20 7946 0958",
        "+44 (0)20 7946 0958",
        "(415) 555-0123",
        "415-555-0123",
        "415.555.0123",
        "415 555 0123",
        "020 7946 0958",
        "07700 900123",
    ],
)
def test_phone_numbers_in_text_are_replaced(phone: str) -> None:
    assert DEFAULT.text(f"call {phone} now") == "call [phone] now"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tel:+14155550123", "tel:[phone]"),
        ("?to=+14155550123&x=1", "?to=[phone]&x=1"),
        ("?to=%2B14155550123", "?to=[phone]"),
    ],
)
def test_international_numbers_in_uris_are_replaced(text: str, expected: str) -> None:
    assert DEFAULT.text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "at 2026-11-20T12:00:00.123+00:00",
        "on 2026-11-20",
        "event 550e8400-e29b-41d4-a716-446655440000",
        "event 12345678-1234-1234-1234-123456789012",
        "host 192.168.100.200:9092",
        "took 1500 ms, 3 attempts",
        "epoch 1763640000 or 1763640000123",
        "version 1.2.3, status 503",
        "order 100234",
        "ratio 0.12345678",
    ],
)
def test_numbers_that_are_not_phones_are_kept(text: str) -> None:
    assert DEFAULT.text(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("first_name=Jane", "first_name=[name]"),
        ("{'last_name': 'de la Cruz'}", "{'last_name': '[name]'}"),
        ('{"city": "Springfield", "country": "US"}', '{"city": "[address]", "country": "US"}'),
        ("user-id: u-42", "user-id: [user_id]"),
    ],
)
def test_keyed_pii_in_text_is_replaced(text: str, expected: str) -> None:
    assert DEFAULT.text(text) == expected


def test_a_marker_is_not_masked_again() -> None:
    assert DEFAULT.text("email=[email] phone=[phone]") == "email=[email] phone=[phone]"
