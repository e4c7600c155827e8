"""The adapter manifest (``adapters/<vendor>/adapter.yaml``): a model and its strict parser.

A manifest says everything about one vendor integration except how each event is
shaped (that is the mapping files' job): who owns it and for how long, the HTTP
endpoint and where its secrets come from, how payloads are batched and wrapped
into a request body, rate limit, retry overrides, how the vendor reports errors,
which consent purposes it needs, and which mapping version it uses per event.
The format is documented in ``docs/adapters.md``; in brief::

    name: meta_capi                     # = the folder name
    display_name: Meta Conversions API
    owner: {team: growth-engineering, contact: growth-eng@example.com}
    cadence: sprint                     # sprint | hybrid | marathon
    expires_on: "2027-03-31"            # quoted; required for sprint and hybrid
    migration_plan: https://...         # required for sprint and hybrid
    runbook: https://...
    endpoint:
      method: POST
      url: https://graph.facebook.com/v19.0/{pixel_id}/events
      params: {pixel_id: env:META_PIXEL_ID}      # literals or secret references
      query: {}
      headers: {}
      auth: {scheme: query, param: access_token, secret: env:META_ACCESS_TOKEN}
      idempotency_header: null
    batch:
      max_events: 1000
      max_bytes: 2000000
      envelope:                         # the mapping language, over {items, params}
        data: {path: items}
    rate_limit: {per_second: 50, burst: 100}
    circuit_breaker: {failures: 5, reset_seconds: 30}   # the defaults
    retry: {max_attempts: 5}
    error_in_200: {path: error, when: present, message_path: error.message}
    consent: {purposes: [marketing], missing: deny}
    mappings: {order_completed: 3, product_viewed: 1}
    governance:                         # the decision matrix (docs/governance.md)
      scores: {risk_compliance: 1, data_maturity: 1, integration_complexity: 1, business_impact: 1}
      risks: {privacy: 3, vendor_lock_in: 2, performance: 2, observability: 3}

``martech_bus.adapter.parser`` reads a file into this model, reporting every
problem at once (file:line:column and key path); a manifest never loads half.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final, Literal, get_args
from urllib.parse import quote

from martech_bus.mapping.consent import consent_block_reason
from martech_bus.mapping.spec import MappingSpec
from martech_bus.secrets import SecretRef

Cadence = Literal["sprint", "hybrid", "marathon"]
AuthScheme = Literal["header", "bearer", "query", "basic"]
When = Literal["present", "absent", "truthy", "falsy", "equals"]
SecretSource = Literal["env", "secretsmanager", "ssm"]

CADENCES: Final = get_args(Cadence)
AUTH_SCHEMES: Final = get_args(AuthScheme)
WHEN: Final = get_args(When)
SECRET_SOURCES: Final = get_args(SecretSource)
#: RetryPolicy settings a manifest may override (``martech_bus.retry.RetryPolicy``).
RETRY_SETTINGS: Final = ("max_attempts", "base_delay", "max_delay", "budget", "retry_after_cap")
#: Names the envelope reads: the batch's payloads and the endpoint's params.
ENVELOPE_ROOTS: Final = ("items", "params")
METHODS: Final = ("POST", "PUT", "PATCH")

#: The decision-matrix dimensions (0-3 each) and the risk buckets (1-5 each) of ``governance``.
SCORE_KEYS: Final = (
    "risk_compliance",
    "data_maturity",
    "integration_complexity",
    "business_impact",
)
RISK_KEYS: Final = ("privacy", "vendor_lock_in", "performance", "observability")
SCORE_RANGE: Final = (0, 3)
RISK_RANGE: Final = (1, 5)

#: ``{name}`` placeholders in the URL and in signing templates.
PLACEHOLDER: Final = re.compile(r"\{([^{}]*)\}")


# -- the model -------------------------------------------------------------------------------


SecretReference = SecretRef
"""Where a secret comes from (``env:NAME``, ``secretsmanager:name#key``, ``ssm:/name``), never its value."""


Setting = str | SecretReference
"""A configured value: literal text, or a reference to a secret resolved at run time."""

Resolve = Callable[[str], str]
"""Reference text (``env:META_ACCESS_TOKEN``) -> the secret's value."""


@dataclass(frozen=True, slots=True)
class Auth:
    """How a request carries its credential.

    ``header``: ``<name>: <prefix><secret>``; ``bearer``: ``Authorization: Bearer <secret>``;
    ``query``: ``?<name>=<secret>``; ``basic``: ``Authorization: Basic`` of username:secret.
    """

    scheme: AuthScheme
    secret: SecretReference
    name: str | None = None
    prefix: str = ""
    username: SecretReference | None = None

    def sink_settings(self) -> dict[str, str]:
        """The settings of ``martech_bus.sinks.http.AuthSpec`` (``AuthSpec(**settings)``)."""
        settings = {"kind": self.scheme, "secret": str(self.secret)}
        if self.name is not None:
            settings["name"] = self.name
        if self.prefix:
            settings["prefix"] = self.prefix
        if self.username is not None:
            settings["username"] = str(self.username)
        return settings


@dataclass(frozen=True, slots=True)
class ResolvedRequest:
    """An endpoint with its params filled in and secret references resolved (auth excluded)."""

    method: str
    url: str
    query: dict[str, str]
    headers: dict[str, str]
    params: dict[str, str]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The vendor API call: ``{placeholders}`` in ``url`` are filled from ``params``."""

    url: str
    method: str = "POST"
    params: Mapping[str, Setting] = field(default_factory=dict)
    query: Mapping[str, Setting] = field(default_factory=dict)
    headers: Mapping[str, Setting] = field(default_factory=dict)
    auth: Auth | None = None
    idempotency_header: str | None = None

    def placeholders(self) -> tuple[str, ...]:
        """The ``{names}`` in the URL, in order."""
        return tuple(PLACEHOLDER.findall(self.url))

    def secret_references(self) -> list[SecretReference]:
        """Every secret the endpoint needs (params, query, headers, auth), each once."""
        found: list[SecretReference] = []
        settings = [*self.params.values(), *self.query.values(), *self.headers.values()]
        if self.auth is not None:
            settings += [self.auth.secret, *([self.auth.username] if self.auth.username else [])]
        for value in settings:
            if isinstance(value, SecretReference) and value not in found:
                found.append(value)
        return found

    def resolve(self, secret: Resolve) -> ResolvedRequest:
        """Fill the URL and resolve params, query and headers (auth stays with the sink)."""
        params = {name: _resolved(value, secret) for name, value in self.params.items()}
        url = PLACEHOLDER.sub(lambda m: quote(params[m.group(1)], safe=":"), self.url)
        return ResolvedRequest(
            self.method,
            url,
            {name: _resolved(value, secret) for name, value in self.query.items()},
            {name: _resolved(value, secret) for name, value in self.headers.items()},
            params,
        )

    def unresolved_params(self) -> dict[str, str]:
        """Params as written: literals, and references as their text (for renders without secrets)."""
        return {name: str(value) for name, value in self.params.items()}


def _resolved(value: Setting, secret: Resolve) -> str:
    return secret(str(value)) if isinstance(value, SecretReference) else value


@dataclass(frozen=True, slots=True)
class Batch:
    """How payloads become requests; ``envelope`` (None: the one payload is the body)."""

    max_events: int = 1
    max_bytes: int | None = None
    envelope: MappingSpec | None = None


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A token bucket: ``per_second`` requests on average, at most ``burst`` at once."""

    per_second: float
    burst: int


@dataclass(frozen=True, slots=True)
class CircuitBreakerSettings:
    """Open the vendor's circuit after ``failures`` consecutive transient failures, for ``reset_seconds``.

    While open, deliveries fail fast (retried later or dead-lettered, by the
    entry point); one trial request after ``reset_seconds`` closes it again.
    """

    failures: int = 5
    reset_seconds: float = 30.0


@dataclass(frozen=True, slots=True)
class ErrorIn200:
    """How to recognise an error in a 2xx body: the value at ``path`` meets ``when``."""

    path: str
    when: When = "present"
    value: Any = None
    message_path: str | None = None
    retryable: bool = False


@dataclass(frozen=True, slots=True)
class PartialFailure:
    """Where a 2xx body lists the batch items the vendor refused."""

    path: str
    index_field: str = "index"
    message_field: str = "message"
    retryable_field: str | None = None
    retryable: bool = False


@dataclass(frozen=True, slots=True)
class Consent:
    """The consent purposes the vendor needs; ``events`` overrides them per event type."""

    purposes: tuple[str, ...]
    missing_allowed: bool = False
    events: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def purposes_for(self, event_type: str) -> tuple[str, ...]:
        return self.events.get(event_type, self.purposes)

    def block_reason(self, event: Mapping[str, Any]) -> str | None:
        """None when the event may be sent; else why not (``"consent denied: marketing"``)."""
        purposes = self.purposes_for(str(event.get("event_type")))
        return consent_block_reason(event, purposes, missing_allowed=self.missing_allowed)


@dataclass(frozen=True, slots=True)
class Owner:
    team: str
    contact: str


@dataclass(frozen=True, slots=True)
class Signing:
    """HMAC signing of outgoing bodies, as data (the HTTP sink does the signing).

    ``payload`` is what is signed (``{ts}`` and ``{body}``, the raw body bytes);
    ``scheme`` is the header value (``{ts}`` and ``{hex}``, the hex digest).
    """

    header: str
    secret: SecretReference
    scheme: str = "t={ts},v1={hex}"
    payload: str = "{ts}.{body}"
    algorithm: Literal["hmac-sha256"] = "hmac-sha256"


@dataclass(frozen=True, slots=True)
class Scores:
    """Decision-matrix scores, 0-3 each: the higher, the more the integration belongs on the bus."""

    risk_compliance: int
    data_maturity: int
    integration_complexity: int
    business_impact: int

    def total(self) -> int:
        return (
            self.risk_compliance
            + self.data_maturity
            + self.integration_complexity
            + self.business_impact
        )

    def as_dict(self) -> dict[str, int]:
        return {key: getattr(self, key) for key in SCORE_KEYS}


@dataclass(frozen=True, slots=True)
class Risks:
    """Risk buckets, 1 (low) to 5 (high)."""

    privacy: int
    vendor_lock_in: int
    performance: int
    observability: int

    def highest(self) -> int:
        return max(self.privacy, self.vendor_lock_in, self.performance, self.observability)

    def as_dict(self) -> dict[str, int]:
        return {key: getattr(self, key) for key in RISK_KEYS}


@dataclass(frozen=True, slots=True)
class Governance:
    """The ``governance`` block: decision-matrix scores and risk buckets.

    ``line``/``column`` locate the block so checks on it (a cadence contradicting
    the scores, ``martech_bus.governance``) can point at the file.
    """

    scores: Scores
    risks: Risks
    line: int | None = field(default=None, compare=False)
    column: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Manifest:
    """One vendor integration, as declared in its ``adapter.yaml``."""

    name: str
    display_name: str
    owner: Owner
    cadence: Cadence
    endpoint: Endpoint
    consent: Consent
    mappings: Mapping[str, int]
    description: str | None = None
    expires_on: date | None = None
    migration_plan: str | None = None
    runbook: str | None = None
    batch: Batch = field(default_factory=Batch)
    rate_limit: RateLimit | None = None
    circuit_breaker: CircuitBreakerSettings = field(default_factory=CircuitBreakerSettings)
    retry: Mapping[str, float | int] = field(default_factory=dict)
    error_in_200: ErrorIn200 | None = None
    partial_failure: PartialFailure | None = None
    signing: Signing | None = None
    governance: Governance | None = None
    file: str | None = None

    def expired(self, today: date) -> bool:
        """True when the integration has outlived its ``expires_on``."""
        return self.expires_on is not None and today > self.expires_on
