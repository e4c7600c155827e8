"""Signature schemes on the raw body: Shopify, hex/base64 HMAC, Stripe-style timestamped; rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from martech_bus.gateway.signatures import (
    BodyHmac,
    NoSecretError,
    SignatureError,
    Timestamped,
    shopify,
)
from martech_bus.testing.clock import FakeTime

BODY = b'{"id": 820982911946154508, "total_price": "59.90"}'
OLD, NEW = b"old-secret", b"new-secret"


def _headers(name: str, value: str) -> dict[str, str]:
    return {name.lower(): value}


def _b64(secret: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret, message, hashlib.sha256).digest()).decode()


def test_shopify_accepts_the_base64_hmac_of_the_raw_body() -> None:
    shopify().verify(BODY, _headers("X-Shopify-Hmac-Sha256", _b64(OLD, BODY)), [OLD], 0.0)


def test_shopify_refuses_the_hmac_of_a_reserialized_body() -> None:
    # the same JSON with other whitespace: verifying parsed-and-redumped JSON would be wrong
    other = b'{"id":820982911946154508,"total_price":"59.90"}'

    with pytest.raises(SignatureError, match="does not match"):
        shopify().verify(BODY, _headers("X-Shopify-Hmac-Sha256", _b64(OLD, other)), [OLD], 0.0)


def test_during_a_rotation_either_active_secret_passes() -> None:
    for signer in (OLD, NEW):
        shopify().verify(
            BODY, _headers("X-Shopify-Hmac-Sha256", _b64(signer, BODY)), [OLD, NEW], 0.0
        )


def test_a_retired_secret_no_longer_passes() -> None:
    with pytest.raises(SignatureError):
        shopify().verify(BODY, _headers("X-Shopify-Hmac-Sha256", _b64(OLD, BODY)), [NEW], 0.0)


def test_without_any_secret_nothing_can_be_verified() -> None:
    with pytest.raises(NoSecretError):
        shopify().verify(BODY, _headers("X-Shopify-Hmac-Sha256", _b64(OLD, BODY)), [], 0.0)


def test_hex_hmac_with_a_prefix_like_github() -> None:
    scheme = BodyHmac("X-Hub-Signature-256", "hex", "sha256=")
    value = "sha256=" + hmac.new(OLD, BODY, hashlib.sha256).hexdigest()

    scheme.verify(BODY, _headers("X-Hub-Signature-256", value), [OLD], 0.0)
    assert scheme.sign(BODY, OLD) == value


def test_a_missing_prefix_is_refused() -> None:
    scheme = BodyHmac("X-Hub-Signature-256", "hex", "sha256=")

    with pytest.raises(SignatureError, match="must start with"):
        scheme.verify(BODY, _headers("X-Hub-Signature-256", scheme.sign(BODY, OLD)[7:]), [OLD], 0.0)


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_signature_header_is_missing(value: str) -> None:
    with pytest.raises(SignatureError, match="missing"):
        shopify().verify(BODY, _headers("X-Shopify-Hmac-Sha256", value), [OLD], 0.0)


def test_an_oversized_signature_header_is_refused_before_decoding() -> None:
    with pytest.raises(SignatureError, match="too long"):
        shopify().verify(BODY, _headers("X-Shopify-Hmac-Sha256", "A" * 10_000), [OLD], 0.0)


# -- timestamped (Stripe-style) ---------------------------------------------------------------


def _stripe(secret: bytes, timestamp: int, body: bytes = BODY) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def test_timestamped_signs_the_timestamp_dot_raw_body(fake: FakeTime) -> None:
    now = int(fake.clock())
    value = f"t={now},v1={_stripe(OLD, now)}"

    Timestamped().verify(BODY, _headers("X-Martech-Signature", value), [OLD], fake.clock())
    assert Timestamped().sign(BODY, [OLD], now) == value


def test_timestamped_accepts_within_the_300_second_tolerance(fake: FakeTime) -> None:
    sent = int(fake.clock())
    value = Timestamped().sign(BODY, [OLD], sent)
    fake.advance(300)

    Timestamped().verify(BODY, _headers("X-Martech-Signature", value), [OLD], fake.clock())


def test_timestamped_refuses_a_stale_timestamp(fake: FakeTime) -> None:
    value = Timestamped().sign(BODY, [OLD], int(fake.clock()))
    fake.advance(301)

    with pytest.raises(SignatureError, match="tolerance"):
        Timestamped().verify(BODY, _headers("X-Martech-Signature", value), [OLD], fake.clock())


def test_timestamped_refuses_a_timestamp_far_in_the_future(fake: FakeTime) -> None:
    value = Timestamped().sign(BODY, [OLD], int(fake.clock()) + 3600)

    with pytest.raises(SignatureError, match="tolerance"):
        Timestamped().verify(BODY, _headers("X-Martech-Signature", value), [OLD], fake.clock())


def test_timestamped_tolerance_is_configurable(fake: FakeTime) -> None:
    value = Timestamped().sign(BODY, [OLD], int(fake.clock()))
    fake.advance(60)

    with pytest.raises(SignatureError, match="tolerance"):
        Timestamped(tolerance=30).verify(
            BODY, _headers("X-Martech-Signature", value), [OLD], fake.clock()
        )


def test_timestamped_accepts_any_of_several_v1_values_during_a_rotation(fake: FakeTime) -> None:
    now = int(fake.clock())
    # the sender signs with both secrets; the receiver knows only the new one already
    value = f"t={now},v1={_stripe(OLD, now)},v1={_stripe(NEW, now)}"

    Timestamped().verify(BODY, _headers("X-Martech-Signature", value), [NEW], fake.clock())


def test_timestamped_refuses_a_signature_for_another_timestamp(fake: FakeTime) -> None:
    now = int(fake.clock())
    value = f"t={now},v1={_stripe(OLD, now - 1)}"

    with pytest.raises(SignatureError, match="no v1 signature"):
        Timestamped().verify(BODY, _headers("X-Martech-Signature", value), [OLD], fake.clock())


def test_timestamped_ignores_unknown_schemes_but_needs_a_v1(fake: FakeTime) -> None:
    now = int(fake.clock())

    with pytest.raises(SignatureError, match="no v1="):
        Timestamped().verify(
            BODY, _headers("X-Martech-Signature", f"t={now},v0=abc"), [OLD], fake.clock()
        )


@pytest.mark.parametrize(
    "value",
    ["v1=abcd", "t=notanumber,v1=abcd", "t=1,t=2,v1=abcd", "garbage", "t=1,v1=xyz"],
    ids=["no-timestamp", "timestamp-not-integer", "two-timestamps", "no-pairs", "v1-not-hex"],
)
def test_timestamped_refuses_a_malformed_header(value: str, fake: FakeTime) -> None:
    with pytest.raises(SignatureError):
        Timestamped().verify(BODY, _headers("X-Martech-Signature", value), [OLD], fake.clock())
