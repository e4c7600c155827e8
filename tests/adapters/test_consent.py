"""Consent gating: a purpose is granted only by an explicit true."""

from __future__ import annotations

from martech_bus.mapping.consent import consent_block_reason
from tests.adapters.helpers import repo_adapters


def test_every_purpose_granted_lets_the_event_through() -> None:
    event = {"consent": {"marketing": True, "analytics": True}}
    assert consent_block_reason(event, ["marketing", "analytics"]) is None


def test_no_purposes_needed_lets_any_event_through() -> None:
    assert consent_block_reason({}, []) is None


def test_a_denied_purpose_blocks_with_its_name() -> None:
    assert consent_block_reason({"consent": {"marketing": False}}, ["marketing"]) == (
        "consent denied: marketing"
    )


def test_a_missing_purpose_blocks_unless_missing_is_allowed() -> None:
    event = {"consent": {"analytics": True}}
    assert consent_block_reason(event, ["marketing"]) == "consent missing: marketing"
    assert consent_block_reason(event, ["marketing"], missing_allowed=True) is None


def test_a_null_purpose_counts_as_missing() -> None:
    assert consent_block_reason({"consent": {"marketing": None}}, ["marketing"]) == (
        "consent missing: marketing"
    )


def test_an_event_without_consent_lacks_every_purpose() -> None:
    assert consent_block_reason({"consent": None}, ["ads", "analytics"]) == (
        "consent missing: ads, analytics"
    )


def test_a_value_that_is_not_true_is_a_denial() -> None:
    for value in ("true", 1, "yes"):
        assert consent_block_reason({"consent": {"marketing": value}}, ["marketing"]) == (
            "consent denied: marketing"
        )


def test_denied_purposes_are_named_before_missing_ones() -> None:
    event = {"consent": {"ads": False, "marketing": False}}
    assert consent_block_reason(event, ["analytics", "ads", "marketing"]) == (
        "consent denied: ads, marketing; consent missing: analytics"
    )


def test_missing_allowed_never_excuses_a_denial() -> None:
    event = {"consent": {"marketing": False}}
    assert consent_block_reason(event, ["marketing", "ads"], missing_allowed=True) == (
        "consent denied: marketing"
    )


def test_an_adapter_applies_its_per_event_consent_override() -> None:
    braze = next(a for a in repo_adapters() if a.name == "braze")
    withdrawn = {"consent": {"marketing": False}}
    unsubscribe = {"event_type": "email_subscription_changed", **withdrawn}
    order = {"event_type": "order_completed", **withdrawn}
    assert braze.consent_block_reason(unsubscribe) is None
    assert braze.consent_block_reason(order) == "consent denied: marketing"
