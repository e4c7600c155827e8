"""Webhook signatures, checked on the raw request bytes (REFERENCE.md, "Webhook signatures").

Three schemes, all HMAC-SHA256 compared with ``hmac.compare_digest``, all with
several active secrets (rotation: a request signed with any of them passes):

- ``shopify``: base64 HMAC of the raw body in ``X-Shopify-Hmac-Sha256``;
- ``hmac_sha256``: the HMAC of the raw body, hex or base64, in a named header,
  optionally behind a prefix (``sha256=...``);
- ``timestamped`` (Stripe-style, for our own signed sources): ``t=<unix>,v1=<hex>``
  signs ``"<t>.<raw body>"``; a timestamp outside ``tolerance`` seconds of the
  injected clock is refused (a replayed request), and several ``v1`` values are
  accepted so a sender can sign with the old and the new secret during rotation.

A failure raises ``SignatureError`` whose message says what was wrong with the
request, never which secret was tried or what the expected value was.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from martech_bus.errors import MartechBusError

Encoding = Literal["hex", "base64"]

SHOPIFY_HEADER: Final = "X-Shopify-Hmac-Sha256"
TIMESTAMPED_HEADER: Final = "X-Martech-Signature"
DEFAULT_TOLERANCE: Final = 300.0
# A header longer than this is not a signature; refusing it bounds the parsing work.
_MAX_HEADER: Final = 4096


class SignatureError(MartechBusError):
    """The request's signature is missing, malformed, stale or does not match."""


class NoSecretError(SignatureError):
    """None of the source's secret references resolved: the request cannot be checked."""


class Verifier(Protocol):
    """Checks one request; ``headers`` have lower-case names; raises ``SignatureError``."""

    def verify(
        self, body: bytes, headers: Mapping[str, str], secrets: Sequence[bytes], now: float
    ) -> None: ...


def hmac_sha256(secret: bytes, message: bytes) -> bytes:
    """The raw HMAC-SHA256 digest."""
    return hmac.new(secret, message, hashlib.sha256).digest()


def _header(headers: Mapping[str, str], name: str) -> str:
    value = (headers.get(name.lower()) or "").strip()
    if not value:
        raise SignatureError(f"the {name} header is missing")
    if len(value) > _MAX_HEADER:
        raise SignatureError(f"the {name} header is too long to be a signature")
    return value


def _no_secrets(secrets: Sequence[bytes]) -> None:
    if not secrets:
        # A configuration problem, not the sender's: the caller answers 503 for it.
        raise NoSecretError("no signing secret is available for this source")


def _matches_any(given: Sequence[bytes], expected: Sequence[bytes]) -> bool:
    # Every pair is compared (no early exit), so timing says nothing about which matched.
    found = False
    for candidate in given:
        for digest in expected:
            found |= hmac.compare_digest(candidate, digest)
    return found


@dataclass(frozen=True, slots=True)
class BodyHmac:
    """The HMAC of the raw body in ``header``: hex or base64, after an optional ``prefix``."""

    header: str
    encoding: Encoding = "hex"
    prefix: str = ""

    def verify(
        self, body: bytes, headers: Mapping[str, str], secrets: Sequence[bytes], now: float
    ) -> None:
        _no_secrets(secrets)
        value = _header(headers, self.header)
        if self.prefix:
            if not value.startswith(self.prefix):
                raise SignatureError(f"the {self.header} header must start with {self.prefix!r}")
            value = value[len(self.prefix) :]
        given = _decode(value, self.encoding, self.header)
        if not _matches_any([given], [hmac_sha256(secret, body) for secret in secrets]):
            raise SignatureError(f"the {self.header} signature does not match the body")

    def sign(self, body: bytes, secret: bytes) -> str:
        """The header value a sender would send."""
        return self.prefix + _encode(hmac_sha256(secret, body), self.encoding)


def shopify() -> BodyHmac:
    """Shopify webhooks: base64 HMAC-SHA256 of the raw body in ``X-Shopify-Hmac-Sha256``."""
    return BodyHmac(SHOPIFY_HEADER, "base64")


@dataclass(frozen=True, slots=True)
class Timestamped:
    """``t=<unix>,v1=<hex>[,v1=<hex>...]`` signing ``"<t>.<raw body>"``, within ``tolerance`` s."""

    header: str = TIMESTAMPED_HEADER
    tolerance: float = DEFAULT_TOLERANCE

    def verify(
        self, body: bytes, headers: Mapping[str, str], secrets: Sequence[bytes], now: float
    ) -> None:
        _no_secrets(secrets)
        timestamp, signatures = self.parse(_header(headers, self.header))
        # Both directions: a far-future timestamp would stay valid for a replay later.
        if not math.isfinite(now) or abs(now - timestamp) > self.tolerance:
            raise SignatureError(
                f"the {self.header} timestamp is outside the {self.tolerance:g} s tolerance "
                "(a stale or replayed request, or a clock far off)"
            )
        signed = f"{timestamp}.".encode() + body
        if not _matches_any(signatures, [hmac_sha256(secret, signed) for secret in secrets]):
            raise SignatureError(f"no v1 signature in {self.header} matches the body")

    def parse(self, value: str) -> tuple[int, list[bytes]]:
        """The timestamp and the ``v1`` digests; unknown schemes (``v0=``) are ignored."""
        timestamp: int | None = None
        signatures: list[bytes] = []
        for part in value.split(","):
            key, equals, item = part.strip().partition("=")
            if not equals:
                raise SignatureError(f"the {self.header} header is not t=<unix>,v1=<hex>")
            if key == "t":
                if timestamp is not None or not item.isascii() or not item.isdigit():
                    raise SignatureError(f"the {self.header} header needs one integer t=")
                timestamp = int(item)
            elif key == "v1":
                signatures.append(_decode(item, "hex", self.header))
        if timestamp is None:
            raise SignatureError(f"the {self.header} header has no t= timestamp")
        if not signatures:
            raise SignatureError(f"the {self.header} header has no v1= signature")
        return timestamp, signatures

    def sign(self, body: bytes, secrets: Sequence[bytes], timestamp: int) -> str:
        """The header value a sender would send (one ``v1`` per secret)."""
        signed = f"{timestamp}.".encode() + body
        return ",".join(
            [f"t={timestamp}", *(f"v1={hmac_sha256(s, signed).hex()}" for s in secrets)]
        )


def _decode(value: str, encoding: Encoding, header: str) -> bytes:
    try:
        if encoding == "hex":
            return bytes.fromhex(value)
        return base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raise SignatureError(f"the {header} signature is not {encoding}") from None


def _encode(digest: bytes, encoding: Encoding) -> str:
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode("ascii")


__all__ = [
    "DEFAULT_TOLERANCE",
    "SHOPIFY_HEADER",
    "TIMESTAMPED_HEADER",
    "BodyHmac",
    "NoSecretError",
    "SignatureError",
    "Timestamped",
    "Verifier",
    "hmac_sha256",
    "shopify",
]
