"""Where auth secrets come from: ``env:``, ``secretsmanager:`` and ``ssm:`` references.

``env:META_ACCESS_TOKEN``, ``secretsmanager:prod/meta#token`` (``#key`` picks a
field of a JSON secret, for any source) and ``ssm:/martech/meta/token`` (read
with decryption). Values come back wrapped in ``Secret`` so they print as
``***``; errors name the reference, never the value.

boto3 is imported only when an AWS reference is first resolved without an
injected client (``import boto3`` alone costs ~180 ms of cold start).
"""

from __future__ import annotations

import enum
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from martech_bus.awsapi import TRANSIENT_CODES
from martech_bus.errors import ConfigError, TransientError

logger = logging.getLogger(__name__)

REDACTED = "***"

Clock = Callable[[], float]

# botocore errors raised before any request that no retry will fix.
_BOTOCORE_CONFIG_ERRORS = ("NoCredentialsError", "PartialCredentialsError", "NoRegionError")


class SecretSource(enum.StrEnum):
    ENV = "env"
    SECRETS_MANAGER = "secretsmanager"
    SSM = "ssm"


@dataclass(frozen=True, slots=True)
class SecretRef:
    """A reference to a secret, never the secret: safe to log and to keep in config."""

    source: SecretSource
    name: str
    key: str | None = None

    @classmethod
    def parse(cls, text: str) -> SecretRef:
        """``<source>:<name>[#<json key>]``; ConfigError when malformed."""
        source, colon, rest = text.partition(":")
        name, hash_, key = rest.partition("#")
        if not colon or source not in SecretSource.__members__.values():
            known = ", ".join(f"{s}:" for s in SecretSource)
            raise ConfigError(f"secret reference {text!r} must start with one of {known}")
        if not name or (hash_ and not key):
            raise ConfigError(f"secret reference {text!r} needs a name (and a key after '#')")
        return cls(SecretSource(source), name, key or None)

    def __str__(self) -> str:
        return f"{self.source}:{self.name}" + (f"#{self.key}" if self.key else "")


class Secret:
    """A secret value that prints as ``***``; call ``reveal()`` where it is really needed."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return REDACTED

    __str__ = __repr__


class SecretUnavailableError(TransientError):
    """Fetching a secret failed in a way that may pass (throttling, endpoint down)."""


class SecretsManagerClient(Protocol):
    def get_secret_value(self, *, SecretId: str) -> Mapping[str, Any]: ...  # noqa: N803


class SsmClient(Protocol):
    def get_parameter(self, *, Name: str, WithDecryption: bool) -> Mapping[str, Any]: ...  # noqa: N803


class SecretResolver:
    """Resolves ``SecretRef``s, caching AWS values for ``ttl`` seconds (injected clock).

    ``env:`` references are read live. Pass boto3 clients to control endpoints
    and credentials; otherwise they are created on first use from the environment.
    """

    def __init__(
        self,
        secretsmanager_client: SecretsManagerClient | None = None,
        ssm_client: SsmClient | None = None,
        *,
        clock: Clock = time.monotonic,
        ttl: float = 300.0,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._clients: dict[SecretSource, Any] = {}
        if secretsmanager_client is not None:
            self._clients[SecretSource.SECRETS_MANAGER] = secretsmanager_client
        if ssm_client is not None:
            self._clients[SecretSource.SSM] = ssm_client
        self._clock = clock
        self._ttl = ttl
        self._environ = environ
        self._cache: dict[tuple[SecretSource, str], tuple[float, str]] = {}
        self._lock = threading.Lock()

    def resolve(self, ref: SecretRef | str) -> Secret:
        """The secret's value; ConfigError (naming the reference) when it is missing."""
        ref = SecretRef.parse(ref) if isinstance(ref, str) else ref
        raw = self._raw(ref)
        value = _pick_key(ref, raw) if ref.key else raw
        if not value:
            raise ConfigError(f"secret {ref} is empty")
        return Secret(value)

    def invalidate(self, ref: SecretRef | str | None = None) -> None:
        """Forget a cached value (all of them when ``ref`` is None), e.g. after a 401."""
        with self._lock:
            if ref is None:
                self._cache.clear()
                return
            ref = SecretRef.parse(ref) if isinstance(ref, str) else ref
            self._cache.pop((ref.source, ref.name), None)

    def _raw(self, ref: SecretRef) -> str:
        if ref.source is SecretSource.ENV:
            environ = os.environ if self._environ is None else self._environ
            value = environ.get(ref.name)
            if not value:
                raise ConfigError(f"secret {ref}: environment variable {ref.name} is not set")
            return value
        slot = (ref.source, ref.name)
        with self._lock:
            cached = self._cache.get(slot)
        if cached is not None and self._clock() - cached[0] < self._ttl:
            return cached[1]
        value = self._fetch(ref)
        with self._lock:
            self._cache[slot] = (self._clock(), value)
        logger.debug("fetched secret %s", ref)
        return value

    def _fetch(self, ref: SecretRef) -> str:
        try:
            client = self._client(ref.source)
            if ref.source is SecretSource.SSM:
                answer = client.get_parameter(Name=ref.name, WithDecryption=True)
                return str(answer["Parameter"]["Value"])
            answer = client.get_secret_value(SecretId=ref.name)
        except ConfigError:
            raise
        except Exception as exc:
            translated = _translate_aws_error(ref, exc)
            if translated is None:
                raise
            raise translated from None  # `from None`: botocore's message may echo request values
        if "SecretString" in answer:
            return str(answer["SecretString"])
        return bytes(answer["SecretBinary"]).decode("utf-8")

    def _client(self, source: SecretSource) -> Any:
        client = self._clients.get(source)
        if client is None:
            try:
                import boto3
            except ImportError as exc:
                raise ConfigError(
                    f"{source}: secret references need boto3: pip install 'martech-bus[aws]'"
                ) from exc
            client = self._clients[source] = boto3.client(str(source))
        return client


def _pick_key(ref: SecretRef, raw: str) -> str:
    try:
        document = json.loads(raw)
    except ValueError:
        raise ConfigError(f"secret {ref}: the secret is not a JSON object") from None
    if not isinstance(document, dict):
        raise ConfigError(f"secret {ref}: the secret is not a JSON object")
    value = document.get(ref.key)
    if value is None:
        raise ConfigError(f"secret {ref}: the JSON secret has no key {ref.key!r}")
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ConfigError(f"secret {ref}: key {ref.key!r} does not hold a string")
    return str(value)


def _translate_aws_error(ref: SecretRef, exc: Exception) -> Exception | None:
    """botocore's errors, translated without importing botocore; None for anything else (a bug)."""
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):  # botocore ClientError
        code = str(response.get("Error", {}).get("Code", "unknown"))
        if code in TRANSIENT_CODES:
            return SecretUnavailableError(f"secret {ref}: {code}, try again later")
        return ConfigError(f"secret {ref} cannot be read: {code}")
    if type(exc).__name__ in _BOTOCORE_CONFIG_ERRORS:
        return ConfigError(f"secret {ref} cannot be read: {type(exc).__name__}")
    if type(exc).__module__.startswith("botocore"):  # connection errors, timeouts
        return SecretUnavailableError(f"secret {ref}: {type(exc).__name__}, try again later")
    return None


__all__ = [
    "REDACTED",
    "Secret",
    "SecretRef",
    "SecretResolver",
    "SecretSource",
    "SecretUnavailableError",
    "SecretsManagerClient",
    "SsmClient",
]
