"""The manifest parser: a positioned YAML tree -> a checked ``Manifest`` and its pinned mapping specs.

Every problem is collected (file:line:column and key path) so a manifest is
reported whole; nothing is returned unless the manifest is entirely right.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, cast
from urllib.parse import urlsplit

from martech_bus.adapter._reader import (
    Entries,
    Reader,
    is_null,
    join,
    key_of,
    value_of,
)
from martech_bus.adapter.manifest import (
    AUTH_SCHEMES,
    CADENCES,
    ENVELOPE_ROOTS,
    METHODS,
    PLACEHOLDER,
    RETRY_SETTINGS,
    RISK_KEYS,
    RISK_RANGE,
    SCORE_KEYS,
    SCORE_RANGE,
    SECRET_SOURCES,
    WHEN,
    Auth,
    Batch,
    CircuitBreakerSettings,
    Consent,
    Endpoint,
    ErrorIn200,
    Governance,
    Manifest,
    PartialFailure,
    RateLimit,
    Risks,
    Scores,
    SecretReference,
    Setting,
    Signing,
    When,
)
from martech_bus.errors import ConfigError, MappingError, Problem
from martech_bus.mapping.hints import did_you_mean
from martech_bus.mapping.paths import parse_path
from martech_bus.mapping.spec import MappingSpec, Pos
from martech_bus.yamlfile.nodes import YMap, YNode, YScalar, describe, from_python

_TOP_REQUIRED: Final = (
    "name",
    "display_name",
    "owner",
    "cadence",
    "endpoint",
    "consent",
    "mappings",
)
_TOP_OPTIONAL: Final = (
    "description",
    "expires_on",
    "migration_plan",
    "runbook",
    "batch",
    "rate_limit",
    "circuit_breaker",
    "retry",
    "error_in_200",
    "partial_failure",
    "signing",
    "governance",
)
_PARAM_NAME: Final = re.compile(r"[a-z][a-z0-9_]*")
_HEADER_NAME: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_ENV_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LOCAL_HOSTS: Final = ("localhost", "127.0.0.1", "[::1]")
_SIGNATURE_FIELDS: Final = ("ts", "hex")
_SIGNED_FIELDS: Final = ("ts", "body")

LoadSpec = Callable[[Path], MappingSpec]


@dataclass(frozen=True, slots=True)
class Parsed:
    """A checked manifest and the mapping spec it pins per event type."""

    manifest: Manifest
    specs: Mapping[str, MappingSpec]


class ManifestParser(Reader):
    """Reads one manifest tree; ``problems`` collects everything wrong with it."""

    def __init__(self, file: str, directory: Path, load_spec: LoadSpec) -> None:
        super().__init__(file)
        self.directory = directory
        self.load_spec = load_spec

    def parse(self, root: YNode) -> Parsed | None:
        top = self.section(
            root,
            "",
            required=_TOP_REQUIRED,
            optional=_TOP_OPTIONAL,
            what="a mapping (the manifest)",
        )
        if top is None:
            return None
        name = self.field(top, "", "name", self.name)
        display = self.field(top, "", "display_name", self.text)
        description = self.field(top, "", "description", self.text)
        owner = self.field(top, "", "owner", self.owner)
        cadence = self.field(top, "", "cadence", lambda n, p: self.choice(n, p, CADENCES))
        expires = self.field(top, "", "expires_on", self.iso_date)
        plan = self.field(top, "", "migration_plan", self.link)
        runbook = self.field(top, "", "runbook", self.link)
        self.check_cadence(root, top, cadence)
        endpoint = self.field(top, "", "endpoint", self.endpoint)
        pins = self.field(top, "", "mappings", self.pins)
        specs = self.resolve_pins(top, pins) if pins is not None else None
        batch = self.field(top, "", "batch", lambda n, p: self.batch(n, p, endpoint)) or Batch()
        self.check_params_used(top, endpoint, batch)
        rate_limit = self.field(top, "", "rate_limit", self.rate_limit)
        breaker = self.field(top, "", "circuit_breaker", self.circuit_breaker)
        retry = self.field(top, "", "retry", self.retry)
        error_in_200 = self.field(top, "", "error_in_200", self.error_in_200)
        partial = self.field(top, "", "partial_failure", self.partial_failure)
        consent = self.field(top, "", "consent", lambda n, p: self.consent(n, p, pins))
        signing = self.field(top, "", "signing", self.signing)
        governance = self.field(top, "", "governance", lambda n, p: read_governance(self, n, p))
        if self.problems:
            return None
        assert name and display and owner and cadence and endpoint and consent
        assert pins is not None and specs is not None
        manifest = Manifest(
            name=name,
            display_name=display,
            owner=owner,
            cadence=cadence,
            endpoint=endpoint,
            consent=consent,
            mappings=pins,
            description=description,
            expires_on=expires,
            migration_plan=plan,
            runbook=runbook,
            batch=batch,
            rate_limit=rate_limit,
            circuit_breaker=breaker or CircuitBreakerSettings(),
            retry=retry or {},
            error_in_200=error_in_200,
            partial_failure=partial,
            signing=signing,
            governance=governance,
            file=self.file,
        )
        return Parsed(manifest, specs)

    def field(
        self, entries: Entries, at: str, key: str, read: Callable[[YNode, str], Any]
    ) -> Any:  # the reader's own return type; Any keeps the call sites short
        """``read`` the value under ``key`` (None when absent); ``at`` is the section's key path."""
        node = value_of(entries, key)
        return None if node is None else read(node, join(at, key))

    # -- identity and lifecycle ------------------------------------------------------------------

    def name(self, node: YNode, path: str) -> str | None:
        name = self.identifier(node, path)
        if name is not None and name != self.directory.name:
            self.problem(
                node,
                path,
                f"the adapter is called {name!r} but lives in {self.directory.name!r}/: "
                "name must equal the folder name",
            )
        return name

    def check_cadence(self, root: YNode, top: Entries, cadence: str | None) -> None:
        if cadence not in ("sprint", "hybrid"):
            return
        for key, why in (
            ("expires_on", 'a quoted ISO date, e.g. expires_on: "2027-03-31"'),
            ("migration_plan", "a link to the plan for moving onto the bus"),
        ):
            if key not in top:
                self.problem(
                    root,
                    key,
                    f"a {cadence} integration is temporary by design: it needs {key} ({why})",
                )

    # -- endpoint ------------------------------------------------------------------------------

    def endpoint(self, node: YNode, path: str) -> Endpoint | None:
        entries = self.section(
            node,
            path,
            required=("url",),
            optional=("method", "params", "query", "headers", "auth", "idempotency_header"),
        )
        if entries is None:
            return None
        method = "POST"
        if "method" in entries:
            method = self.field(entries, path, "method", lambda n, p: self.choice(n, p, METHODS))
        params = self.field(entries, path, "params", self.params) or {}
        url = self.field(entries, path, "url", lambda n, p: self.url(n, p, params))
        query = self.field(entries, path, "query", self.settings) or {}
        headers = self.field(entries, path, "headers", self.headers) or {}
        auth = self.field(entries, path, "auth", self.auth)
        idem = None
        idem_node = value_of(entries, "idempotency_header")
        if not is_null(idem_node):
            assert idem_node is not None
            idem = self.text(idem_node, join(path, "idempotency_header"), pattern=_HEADER_NAME)
        self.check_header_clash(entries, path, headers, auth, idem)
        if None in (url, method):
            return None
        return Endpoint(url, method, params, query, headers, auth, idem)

    def url(self, node: YNode, path: str, params: Mapping[str, Setting]) -> str | None:
        text = self.text(node, path)
        if text is None:
            return None
        bare = PLACEHOLDER.sub("x", text)
        parts = urlsplit(bare)
        if parts.scheme not in ("http", "https") or not parts.netloc or {"{", "}"} & set(bare):
            self.problem(
                node, path, f"must be an http(s) URL with {{param}} placeholders, got {text!r}"
            )
            return None
        if parts.scheme == "http" and parts.hostname not in _LOCAL_HOSTS:
            self.problem(
                node, path, f"vendor endpoints use https (http only on localhost): {text!r}"
            )
        for name in PLACEHOLDER.findall(text):
            if name not in params:
                self.problem(
                    node,
                    path,
                    f"the placeholder {{{name}}} is not declared in endpoint.params"
                    + did_you_mean(name, params),
                )
        return text

    def params(self, node: YNode, path: str) -> dict[str, Setting] | None:
        entries = self.open_section(node, path)
        if entries is None:
            return None
        found: dict[str, Setting] = {}
        for key, (key_node, value) in entries.items():
            if not _PARAM_NAME.fullmatch(key):
                self.problem(
                    key_node,
                    join(path, key),
                    f"param names are lower_case identifiers, got {key!r}",
                )
                continue
            setting = self.setting(value, join(path, key))
            if setting is not None:
                found[key] = setting
        return found

    def settings(self, node: YNode, path: str) -> dict[str, Setting] | None:
        entries = self.open_section(node, path)
        if entries is None:
            return None
        found = {key: self.setting(value, join(path, key)) for key, (_, value) in entries.items()}
        return {key: value for key, value in found.items() if value is not None}

    def headers(self, node: YNode, path: str) -> dict[str, Setting] | None:
        found = self.settings(node, path)
        entries = self.open_section(node, path, report=False) or {}
        seen: dict[str, str] = {}
        for key, (key_node, _) in entries.items():
            if not _HEADER_NAME.fullmatch(key):
                self.problem(key_node, join(path, key), f"{key!r} is not a valid header name")
            elif key.lower() in seen:
                self.problem(
                    key_node,
                    join(path, key),
                    f"header {key!r} is already set as {seen[key.lower()]!r}",
                )
            seen.setdefault(key.lower(), key)
        return found

    def open_section(self, node: YNode, path: str, *, report: bool = True) -> Entries | None:
        """A mapping with free-form keys (params, query, headers)."""
        if not isinstance(node, YMap):
            if report:
                self.problem(node, path, f"must be a mapping, got {describe(node)}")
            return None
        return {str(key.value): (key, value) for key, value in node.items}

    def setting(self, node: YNode, path: str) -> Setting | None:
        """Literal text, or a secret reference (text starting with ``env:``, ``secretsmanager:``, ``ssm:``)."""
        if (
            isinstance(node, YScalar)
            and isinstance(node.value, int | float)
            and not isinstance(node.value, bool)
        ):
            self.problem(node, path, f'must be text; quote it: "{node.value}"')
            return None
        text = self.text(node, path)
        if text is None:
            return None
        return self.reference(node, path, text) if _is_reference(text) else text

    def secret(self, node: YNode, path: str) -> SecretReference | None:
        """A value that must be a secret reference: secrets never live in a manifest."""
        text = self.text(node, path)
        if text is None:
            return None
        if not _is_reference(text):
            self.problem(
                node,
                path,
                "secrets never live in a manifest: write a reference "
                "(env:NAME, secretsmanager:name#json_key or ssm:/param/name)",
            )
            return None
        return self.reference(node, path, text)

    def reference(self, node: YNode, path: str, text: str) -> SecretReference | None:
        try:
            ref = SecretReference.parse(text)
        except ConfigError as exc:
            self.problem(node, path, exc.message)
            return None
        if ref.source == "env" and not _ENV_NAME.fullmatch(ref.name):
            self.problem(node, path, f"{ref.name!r} is not an environment variable name")
            return None
        return ref

    def auth(self, node: YNode, path: str) -> Auth | None:
        entries = self.section(
            node,
            path,
            required=("scheme", "secret"),
            optional=("header", "param", "prefix", "username"),
        )
        if entries is None:
            return None
        scheme = self.field(entries, path, "scheme", lambda n, p: self.choice(n, p, AUTH_SCHEMES))
        secret = self.field(entries, path, "secret", self.secret)
        needs = {"header": "header", "query": "param", "basic": "username"}.get(scheme or "")
        allowed = {"header": ("header", "prefix"), "query": ("param",), "basic": ("username",)}.get(
            scheme or "", ()
        )
        for key in ("header", "param", "prefix", "username"):
            key_node = key_of(entries, key)
            if key_node is not None and scheme and key not in allowed:
                self.problem(key_node, join(path, key), f"{key!r} does not apply to {scheme} auth")
        if needs and needs not in entries and scheme:
            self.problem(node, join(path, needs), f"{scheme} auth needs {needs!r}")
        name = None
        if "header" in entries:
            name = self.field(
                entries, path, "header", lambda n, p: self.text(n, p, pattern=_HEADER_NAME)
            )
        if "param" in entries:
            name = self.field(entries, path, "param", self.text)
        prefix = self.field(entries, path, "prefix", self.raw_text) or ""
        username = self.field(entries, path, "username", self.secret)
        if scheme is None or secret is None:
            return None
        return Auth(scheme, secret, name, prefix, username)

    def raw_text(self, node: YNode, path: str) -> str | None:
        """Text that may be padded (``"Klaviyo-API-Key "``): a quoted string, kept as written."""
        if isinstance(node, YScalar) and isinstance(node.value, str):
            return node.value
        self.problem(node, path, f"must be a string, got {describe(node)}")
        return None

    def check_header_clash(
        self,
        entries: Entries,
        path: str,
        headers: Mapping[str, Setting],
        auth: Auth | None,
        idempotency: str | None,
    ) -> None:
        """A header set twice (statically and by auth/idempotency) would be sent with one value lost."""
        static = {name.lower() for name in headers}
        owned: list[tuple[str, str | None]] = [("idempotency_header", idempotency)]
        if auth is not None and auth.scheme in ("bearer", "basic"):
            owned.append(("auth", "Authorization"))
        elif auth is not None and auth.scheme == "header":
            owned.append(("auth", auth.name))
        for key, header in owned:
            if header is not None and header.lower() in static:
                node = value_of(entries, key)
                self.problem(
                    node,
                    join(path, key),
                    f"header {header!r} is also set in endpoint.headers: set it in one place",
                )

    # -- batching and the envelope ---------------------------------------------------------------

    def batch(self, node: YNode, path: str, endpoint: Endpoint | None) -> Batch | None:
        entries = self.section(node, path, optional=("max_events", "max_bytes", "envelope"))
        if entries is None:
            return None
        most = self.field(entries, path, "max_events", lambda n, p: self.integer(n, p, minimum=1))
        size = self.field(entries, path, "max_bytes", lambda n, p: self.integer(n, p, minimum=1))
        most = most or 1
        envelope_node = value_of(entries, "envelope")
        envelope = None
        if envelope_node is None and most > 1:
            self.problem(
                node,
                join(path, "envelope"),
                f"max_events is {most}: an envelope must say how several payloads make one body "
                "(e.g. envelope: {data: {path: items}})",
            )
        elif envelope_node is not None:
            envelope = self.envelope(envelope_node, join(path, "envelope"), most, endpoint)
        return Batch(most, size, envelope)

    def envelope(
        self, node: YNode, path: str, max_events: int, endpoint: Endpoint | None
    ) -> MappingSpec | None:
        """The envelope is an ``output`` in the mapping language, read over ``{items, params}``."""
        from martech_bus.mapping.parser import spec_from_tree

        tree = YMap(
            (
                (YScalar("mapping_version"), YScalar(1)),
                (YScalar("source"), from_python({"event": "batch", "versions": [1]})),
                (YScalar("output"), node),
            )
        )
        try:
            spec = spec_from_tree(tree, file=self.file)
        except MappingError as exc:
            for problem in exc.problems or [Problem(exc.message, exc.location)]:
                inner = (problem.location.path or "output").removeprefix("output")
                moved = replace(problem.location, path=path + inner)  # output.x -> batch.envelope.x
                self.problems.append(Problem(problem.message, moved))
            return None
        declared = endpoint.params if endpoint is not None else {}
        reads = spec.input_paths()
        if not any(parse_path(read.path).steps[:1] == ("items",) for read in reads):
            self.problem(
                node, path, "the envelope never reads items: every payload would be dropped"
            )
        for read in reads:
            steps = parse_path(read.path).steps
            at = Pos(read.line, read.column)
            field_path = join(path, read.output) if read.output else path
            if not steps or steps[0] not in ENVELOPE_ROOTS:
                self.problem(
                    at,
                    field_path,
                    f"the envelope reads {read.path!r}; it can only read items (the batch's "
                    "payloads) and params.<name> (endpoint params)",
                )
            elif steps[0] == "params" and (len(steps) != 2 or steps[1] not in declared):
                self.problem(
                    at,
                    field_path,
                    f"the envelope reads {read.path!r}, which is not one of endpoint.params "
                    f"({', '.join(declared) or 'none declared'})",
                )
            elif (
                steps[0] == "items"
                and len(steps) > 1
                and isinstance(steps[1], int)
                and max_events > 1
            ):
                self.problem(
                    at,
                    field_path,
                    f"the envelope takes {read.path!r} from one payload for the whole request, "
                    f"but max_events is {max_events}: payloads of other users would be sent under "
                    "that value; use max_events: 1",
                )
        return spec

    def check_params_used(self, top: Entries, endpoint: Endpoint | None, batch: Batch) -> None:
        """A declared param nothing reads is a typo or a leftover (and a secret fetched for nothing)."""
        if endpoint is None:
            return
        used = set(endpoint.placeholders())
        if batch.envelope is not None:
            for read in batch.envelope.input_paths():
                steps = parse_path(read.path).steps
                if len(steps) == 2 and steps[0] == "params":
                    used.add(str(steps[1]))
        endpoint_node = value_of(top, "endpoint")
        params_node = None
        if isinstance(endpoint_node, YMap):
            params_node = next((v for k, v in endpoint_node.items if k.value == "params"), None)
        if not isinstance(params_node, YMap):
            return
        for key_node, _ in params_node.items:
            if key_node.value in endpoint.params and key_node.value not in used:
                self.problem(
                    key_node,
                    f"endpoint.params.{key_node.value}",
                    "declared but never used: reference it as {"
                    f"{key_node.value}}} in the URL or params.{key_node.value} in the envelope",
                )

    # -- delivery behaviour ------------------------------------------------------------------------

    def rate_limit(self, node: YNode, path: str) -> RateLimit | None:
        entries = self.section(node, path, required=("per_second",), optional=("burst",))
        if entries is None:
            return None
        rate = self.field(
            entries, path, "per_second", lambda n, p: self.number(n, p, positive=True)
        )
        burst = self.field(entries, path, "burst", lambda n, p: self.integer(n, p, minimum=1))
        if rate is None or ("burst" in entries and burst is None):
            return None
        return RateLimit(rate, burst if burst is not None else max(1, int(rate)))

    def circuit_breaker(self, node: YNode, path: str) -> CircuitBreakerSettings | None:
        entries = self.section(node, path, optional=("failures", "reset_seconds"))
        if entries is None:
            return None
        defaults = CircuitBreakerSettings()
        failures = self.field(entries, path, "failures", lambda n, p: self.integer(n, p, minimum=1))
        reset = self.field(
            entries, path, "reset_seconds", lambda n, p: self.number(n, p, positive=True)
        )
        if ("failures" in entries and failures is None) or (
            "reset_seconds" in entries and reset is None
        ):
            return None
        return CircuitBreakerSettings(
            failures if failures is not None else defaults.failures,
            reset if reset is not None else defaults.reset_seconds,
        )

    def retry(self, node: YNode, path: str) -> dict[str, float | int] | None:
        entries = self.section(node, path, optional=RETRY_SETTINGS)
        if entries is None:
            return None
        found: dict[str, float | int] = {}
        for key in entries:
            if key == "max_attempts":
                value: float | int | None = self.field(
                    entries, path, key, lambda n, p: self.integer(n, p, minimum=1)
                )
            else:
                value = self.field(entries, path, key, self.number)
            if value is not None:
                found[key] = value
        if found.get("max_delay", float("inf")) < found.get("base_delay", 0):
            self.problem(
                value_of(entries, "max_delay"), join(path, "max_delay"), "must be >= base_delay"
            )
        return found

    def json_path(self, node: YNode, path: str) -> str | None:
        text = self.text(node, path)
        if text is None:
            return None
        try:
            parsed = parse_path(text)
        except ValueError as exc:
            self.problem(node, path, str(exc))
            return None
        if parsed.anchor != "scope" or parsed.has_wildcard:
            self.problem(
                node, path, f"{text!r}: a response path is plain keys and indexes (a.b[0].c)"
            )
            return None
        return text

    def error_in_200(self, node: YNode, path: str) -> ErrorIn200 | None:
        entries = self.section(
            node, path, required=("path",), optional=("when", "value", "message_path", "retryable")
        )
        if entries is None:
            return None
        json_path = self.field(entries, path, "path", self.json_path)
        when = "present"
        if "when" in entries:
            when = self.field(entries, path, "when", lambda n, p: self.choice(n, p, WHEN))
        value_node = value_of(entries, "value")
        if when == "equals" and value_node is None:
            self.problem(node, join(path, "value"), "when: equals needs the value to compare with")
        elif when != "equals" and value_node is not None and when is not None:
            self.problem(
                value_node, join(path, "value"), f"value only applies to when: equals, not {when}"
            )
        if value_node is not None and not isinstance(value_node, YScalar):
            self.problem(value_node, join(path, "value"), "value must be a scalar")
        message = self.field(entries, path, "message_path", self.json_path)
        retryable = self.field(entries, path, "retryable", self.boolean) or False
        if json_path is None or when is None:
            return None
        value = value_node.value if isinstance(value_node, YScalar) else None
        return ErrorIn200(json_path, cast(When, when), value, message, retryable)

    def partial_failure(self, node: YNode, path: str) -> PartialFailure | None:
        entries = self.section(
            node,
            path,
            required=("path",),
            optional=("index_field", "message_field", "retryable_field", "retryable"),
        )
        if entries is None:
            return None
        json_path = self.field(entries, path, "path", self.json_path)
        index = self.field(entries, path, "index_field", self.text) or "index"
        message = self.field(entries, path, "message_field", self.text) or "message"
        retryable_field = self.field(entries, path, "retryable_field", self.text)
        retryable = self.field(entries, path, "retryable", self.boolean) or False
        return (
            None
            if json_path is None
            else PartialFailure(json_path, index, message, retryable_field, retryable)
        )

    def signing(self, node: YNode, path: str) -> Signing | None:
        entries = self.section(
            node, path, required=("header", "secret"), optional=("scheme", "payload", "algorithm")
        )
        if entries is None:
            return None
        header = self.field(
            entries, path, "header", lambda n, p: self.text(n, p, pattern=_HEADER_NAME)
        )
        secret = self.field(entries, path, "secret", self.secret)
        scheme = self.field(
            entries, path, "scheme", lambda n, p: self.template(n, p, _SIGNATURE_FIELDS, "hex")
        )
        payload = self.field(
            entries, path, "payload", lambda n, p: self.template(n, p, _SIGNED_FIELDS, "body")
        )
        if "algorithm" in entries:
            self.field(entries, path, "algorithm", lambda n, p: self.choice(n, p, ("hmac-sha256",)))
        if header is None or secret is None:
            return None
        defaults = Signing(header, secret)
        return Signing(header, secret, scheme or defaults.scheme, payload or defaults.payload)

    def template(self, node: YNode, path: str, allowed: tuple[str, ...], needed: str) -> str | None:
        text = self.raw_text(node, path)
        if text is None:
            return None
        names = PLACEHOLDER.findall(text)
        unknown = [name for name in names if name not in allowed]
        if unknown:
            self.problem(
                node,
                path,
                f"unknown placeholder {{{unknown[0]}}}; use {', '.join('{' + a + '}' for a in allowed)}",
            )
            return None
        if needed not in names:
            self.problem(node, path, f"must contain {{{needed}}}")
            return None
        return text

    # -- consent and mappings ----------------------------------------------------------------------

    def consent(self, node: YNode, path: str, pins: Mapping[str, int] | None) -> Consent | None:
        entries = self.section(node, path, required=("purposes",), optional=("missing", "events"))
        if entries is None:
            return None
        purposes = self.field(entries, path, "purposes", self.purposes)
        missing = "deny"
        if "missing" in entries:
            missing = self.field(
                entries, path, "missing", lambda n, p: self.choice(n, p, ("deny", "allow"))
            )
        events: dict[str, tuple[str, ...]] = {}
        events_node = value_of(entries, "events")
        if events_node is not None:
            for key, (key_node, value) in (
                self.open_section(events_node, join(path, "events")) or {}
            ).items():
                here = join(path, f"events.{key}")
                if pins is not None and key not in pins:
                    self.problem(
                        key_node,
                        here,
                        f"{key!r} is not an event this adapter maps ({', '.join(pins)})",
                    )
                found = self.purposes(value, here)
                if found is not None:
                    events[key] = found
        if purposes is None or missing is None:
            return None
        return Consent(purposes, missing == "allow", events)

    def purposes(self, node: YNode, path: str) -> tuple[str, ...] | None:
        found = self.items(node, path, self.identifier)
        if found is not None and len(set(found)) != len(found):
            self.problem(node, path, "a purpose is listed twice")
        return None if found is None else tuple(found)

    def pins(self, node: YNode, path: str) -> dict[str, int] | None:
        entries = self.open_section(node, path)
        if entries is None:
            return None
        if not entries:
            self.problem(
                node, path, "pin at least one event's mapping version (order_completed: 3)"
            )
        found: dict[str, int] = {}
        for key, (key_node, value) in entries.items():
            here = join(path, key)
            if self.identifier(key_node, here) is None:
                continue
            version = self.integer(value, here, minimum=1)
            if version is not None:
                found[key] = version
        return found if len(found) == len(entries) else None

    def resolve_pins(self, top: Entries, pins: Mapping[str, int]) -> dict[str, MappingSpec]:
        """The mapping spec per pinned event: ``mappings/<event>.yaml`` or ``<event>.v<N>.yaml``."""
        pins_node = value_of(top, "mappings")
        assert isinstance(pins_node, YMap)
        nodes = {str(key.value): value for key, value in pins_node.items}
        specs: dict[str, MappingSpec] = {}
        for event, version in pins.items():
            spec = self.pinned(event, version, nodes[event], f"mappings.{event}")
            if spec is not None:
                specs[event] = spec
        return specs

    def pinned(self, event: str, version: int, node: YNode, here: str) -> MappingSpec | None:
        folder = self.directory / "mappings"
        candidates = [folder / f"{event}.yaml", *sorted(folder.glob(f"{event}.v*.yaml"))]
        held: dict[int, str] = {}
        chosen = None
        before = len(self.problems)
        for file in (f for f in candidates if f.is_file()):
            shown = file.relative_to(self.directory).as_posix()
            try:
                spec = self.load_spec(file)
            except MappingError as exc:  # the file's own problems, with its lines
                self.problems.extend(exc.problems or [Problem(exc.message, exc.location)])
                continue
            tag = file.name.removeprefix(f"{event}.").removesuffix(".yaml")
            if spec.event != event:
                self.problem(
                    node,
                    here,
                    f"{shown} maps {spec.event!r} events, not {event!r}: "
                    "fix its source.event or rename the file",
                )
            elif tag.startswith("v") and tag != f"v{spec.mapping_version}":
                self.problem(
                    node,
                    here,
                    f"{shown} holds mapping_version {spec.mapping_version}: "
                    f"name it {event}.v{spec.mapping_version}.yaml",
                )
            elif spec.mapping_version in held:
                self.problem(
                    node,
                    here,
                    f"{shown} and {held[spec.mapping_version]} both hold "
                    f"mapping_version {spec.mapping_version}",
                )
            else:
                held[spec.mapping_version] = shown
                if spec.mapping_version == version:
                    chosen = spec
        # A faulty candidate may be the one meant: "no file holds it" would only add noise.
        if chosen is None and len(self.problems) == before:
            found = ", ".join(str(v) for v in sorted(held)) or "none"
            self.problem(
                node,
                here,
                f"pins {event} mapping version {version}, but no mapping file holds it "
                f"(looked for mappings/{event}.yaml and mappings/{event}.v<N>.yaml; "
                f"versions found: {found})",
            )
        return chosen


def read_governance(reader: Reader, node: YNode, path: str) -> Governance | None:
    """The ``governance`` block: ``scores`` (0-3 each) and ``risks`` (1-5 each), all required.

    A function over any ``Reader`` so other declarations (gateway sources) can carry the block too.
    """
    entries = reader.section(node, path, required=("scores", "risks"))
    if entries is None:
        return None
    scores = _bounded_block(reader, entries, path, "scores", SCORE_KEYS, SCORE_RANGE)
    risks = _bounded_block(reader, entries, path, "risks", RISK_KEYS, RISK_RANGE)
    if scores is None or risks is None:
        return None
    line, column = getattr(node, "line", None), getattr(node, "column", None)
    return Governance(Scores(**scores), Risks(**risks), line, column)


def _bounded_block(
    reader: Reader,
    entries: Entries,
    at: str,
    key: str,
    keys: tuple[str, ...],
    bounds: tuple[int, int],
) -> dict[str, int] | None:
    """A mapping of every one of ``keys`` to an integer within ``bounds``; None if anything is off."""
    node = value_of(entries, key)
    if node is None:
        return None
    path = join(at, key)
    found = reader.section(node, path, required=keys)
    if found is None:
        return None
    low, high = bounds
    values: dict[str, int] = {}
    for name, (_, value_node) in found.items():
        value = value_node.value if isinstance(value_node, YScalar) else None
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            values[name] = value
        else:
            reader.problem(
                value_node,
                join(path, name),
                f"must be an integer from {low} to {high}, got {describe(value_node)}",
            )
    return values if len(values) == len(keys) else None


def _is_reference(text: str) -> bool:
    source, colon, _ = text.partition(":")
    return bool(colon) and source in SECRET_SOURCES
