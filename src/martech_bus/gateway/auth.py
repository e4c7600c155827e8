"""Bearer tokens for ``POST /v1/events``, and the development-mode rule for when there are none.

``MARTECH_BUS_GATEWAY_TOKENS`` holds one or more tokens, comma-separated: during
a rotation both the old and the new token are listed, clients move over, then
the old one is removed. Tokens are compared as SHA-256 digests with
``hmac.compare_digest``, against every configured token without stopping at a
match, so neither the length nor which token matched shows in the timing.

Without tokens the gateway is in development mode: ``gateway serve`` binds to a
loopback address only and the canonical endpoint answers local clients only.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Final

from martech_bus.config import setting
from martech_bus.errors import ConfigError

LOOPBACK_NAMES: Final = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


class BearerAuth:
    """The accepted bearer tokens; ``check`` returns None when a request may pass."""

    def __init__(self, tokens: Iterable[str] = ()) -> None:
        cleaned = [token.strip() for token in tokens]
        if any(not token or any(c.isspace() for c in token) for token in cleaned):
            raise ConfigError("a gateway token must be non-empty and contain no whitespace")
        self._digests = tuple(_digest(token) for token in dict.fromkeys(cleaned))

    @classmethod
    def from_setting(
        cls, explicit: str | None = None, *, environ: Mapping[str, str] | None = None
    ) -> BearerAuth:
        """Tokens from ``explicit`` > ``MARTECH_BUS_GATEWAY_TOKENS`` (comma-separated)."""
        raw = setting("gateway_tokens", explicit, "", environ=environ) or ""
        tokens = [part.strip() for part in raw.split(",") if part.strip()]
        made = cls(tokens)
        if tokens:
            from martech_bus.observability.logs import remember_secrets

            remember_secrets(*tokens)  # a token that reaches a log line is masked there
        return made

    @property
    def configured(self) -> bool:
        """False in development mode (no tokens)."""
        return bool(self._digests)

    def __len__(self) -> int:
        return len(self._digests)

    def check(self, authorization: str | None) -> str | None:
        """None when ``authorization`` is ``Bearer <a configured token>``; otherwise why not."""
        if not authorization:
            return "the Authorization header is missing (expected: Bearer <token>)"
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "the Authorization header must be: Bearer <token>"
        given = _digest(token.strip())
        matched = False
        for digest in self._digests:
            matched |= hmac.compare_digest(given, digest)
        return None if matched else "the bearer token is not valid"


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``; False for anything else, unknown included."""
    if not host:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_binding(host: str, auth: BearerAuth) -> str | None:
    """Refuse a non-loopback bind without tokens; the development-mode warning, if any."""
    if auth.configured:
        return None
    if not is_loopback(host):
        raise ConfigError(
            f"refusing to listen on {host!r} without bearer tokens: anyone who can reach it "
            "could post events. Set MARTECH_BUS_GATEWAY_TOKENS (comma-separated; e.g. "
            "`openssl rand -hex 32`), or listen on 127.0.0.1 for local development"
        )
    return (
        "development mode: MARTECH_BUS_GATEWAY_TOKENS is not set, so POST /v1/events "
        f"takes requests from this machine only, without a token (listening on {host})"
    )


__all__ = ["BearerAuth", "check_binding", "is_loopback"]
