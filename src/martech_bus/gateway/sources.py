"""Inbound sources: ``sources/<name>/source.yaml`` + inbound mappings + fixtures.

An inbound source is a vendor that posts its own payloads to
``POST /v1/sources/<name>``. Its folder mirrors an adapter folder::

    sources/shopify/
      source.yaml                   # this module's model
      mappings/order_completed.yaml # inbound mappings: vendor payload -> canonical event
      fixtures/<case>.input.json    # a vendor payload
      fixtures/<case>.headers.json  # optional: request headers (Shopify's topic)
      fixtures/<case>.expected.json # the canonical events it becomes (a JSON array)

``source.yaml``::

    name: shopify                       # = the folder name
    kind: shopify                       # segment | shopify | signed_json
    description: Shopify order webhooks.
    owner: {team: commerce-platform, contact: commerce@example.com}
    expires_on: "2027-06-30"            # quoted: the gateway is a stop-gap by design
    migration_plan: https://wiki.example.com/martech/shopify/migration
    signature:
      scheme: shopify                   # shopify | hmac_sha256 | timestamped (default: by kind)
      secrets: [env:SHOPIFY_SECRET, env:SHOPIFY_SECRET_NEXT]   # references, several for rotation
    routes:                             # payload type -> mappings/<file>.yaml
      orders/create: order_completed
    unmapped: quarantine                # or skip: payload types without a route

The payload type is what the kind says it is: Segment's ``type`` (``track``,
``identify``, ``page``, ...; a ``batch`` splits into its items, and a route may
map ``track`` by ``event`` name, ``page``/``screen`` by ``name``), Shopify's
``X-Shopify-Topic`` header, the ``type`` field for ``signed_json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final, Literal, cast, get_args

from martech_bus.adapter._reader import Entries, Reader, join, paired_fixtures, value_of
from martech_bus.adapter.manifest import Owner
from martech_bus.config import setting
from martech_bus.errors import ConfigError, Location, MappingError, Problem
from martech_bus.gateway.signatures import (
    DEFAULT_TOLERANCE,
    SHOPIFY_HEADER,
    TIMESTAMPED_HEADER,
    BodyHmac,
    Encoding,
    Timestamped,
    Verifier,
)
from martech_bus.mapping.hints import did_you_mean
from martech_bus.mapping.spec import MappingSpec
from martech_bus.secrets import SecretRef
from martech_bus.yamlfile.nodes import YMap, YNode, YScalar, describe

SourceKind = Literal["segment", "shopify", "signed_json"]
Scheme = Literal["shopify", "hmac_sha256", "timestamped"]
Unmapped = Literal["quarantine", "skip"]
KINDS: Final = get_args(SourceKind)
SCHEMES: Final = get_args(Scheme)
DEFAULT_SCHEME: Final[Mapping[str, Scheme]] = {
    "segment": "hmac_sha256",
    "shopify": "shopify",
    "signed_json": "timestamped",
}
#: Segment's message types; a route may name one mapping, or one per selector value.
SEGMENT_TYPES: Final = ("track", "identify", "page", "screen", "group", "alias")
#: The field that picks a mapping when a Segment route maps names to mappings.
SEGMENT_SELECTORS: Final[Mapping[str, str]] = {"track": "event", "page": "name", "screen": "name"}
#: Request headers kept with a buffered payload (lower-case), by kind: the normalizer reads them.
KEPT_HEADERS: Final[Mapping[str, tuple[str, ...]]] = {
    "segment": (),
    "shopify": (
        "x-shopify-topic",
        "x-shopify-webhook-id",
        "x-shopify-shop-domain",
        "x-shopify-api-version",
        "x-shopify-triggered-at",
    ),
    "signed_json": (),
}
#: Buffered records keep those headers in their meta under ``header.<lower-case name>``.
HEADER_PREFIX: Final = "header."
#: The route name of ``POST /v1/events`` in the buffer; no source may use it.
CANONICAL: Final = "canonical"
MANIFEST: Final = "source.yaml"
#: A fixture input is normalized as if it were this buffered record (its events' ids and
#: received_at derive from them, so the expected output files can be exact).
FIXTURE_RECORD_ID: Final = "fixture"
FIXTURE_RECEIVED_AT: Final = 1_795_183_392.0  # 2026-11-20T14:03:12Z
_TOP_REQUIRED: Final = (
    "name",
    "kind",
    "owner",
    "expires_on",
    "migration_plan",
    "signature",
    "routes",
)
_TOP_OPTIONAL: Final = ("description", "runbook", "unmapped")
_NAME: Final = re.compile(r"[a-z][a-z0-9_]*")
_HEADER_NAME: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_ENV_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SECRET_SOURCES: Final = ("env", "secretsmanager", "ssm")
_HEADERS: Final = ".headers.json"

Route = str | Mapping[str, str]


@dataclass(frozen=True, slots=True)
class SignatureSpec:
    """How a source's requests are signed; ``secrets`` are references, resolved per request."""

    scheme: Scheme
    secrets: tuple[SecretRef, ...]
    header: str
    encoding: Encoding = "hex"
    prefix: str = ""
    tolerance: float = DEFAULT_TOLERANCE

    def verifier(self) -> Verifier:
        if self.scheme == "timestamped":
            return Timestamped(self.header, self.tolerance)
        return BodyHmac(self.header, self.encoding, self.prefix)


@dataclass(frozen=True, slots=True)
class SourceFixture:
    """One contract case: a vendor payload (and headers) in, canonical events out."""

    name: str
    input: Path
    expected: Path
    headers: Path | None = None

    def load_input(self) -> bytes:
        return self.input.read_bytes()

    def load_expected(self) -> Any:
        return json.loads(self.expected.read_text(encoding="utf-8"))

    def load_headers(self) -> dict[str, str]:
        if self.headers is None:
            return {}
        found = json.loads(self.headers.read_text(encoding="utf-8"))
        return {str(key): str(value) for key, value in found.items()}


@dataclass(frozen=True, slots=True)
class InboundSource:
    """One declared inbound source (see the module docstring)."""

    name: str
    kind: SourceKind
    owner: Owner
    expires_on: date
    migration_plan: str
    signature: SignatureSpec
    routes: Mapping[str, Route]
    specs: Mapping[str, MappingSpec]  # inbound mapping specs by file stem
    directory: Path
    description: str | None = None
    runbook: str | None = None
    unmapped: Unmapped = "quarantine"
    file: str | None = None

    def expired(self, today: date) -> bool:
        """True once ``today`` is past ``expires_on`` (the source keeps working; it nags)."""
        return today > self.expires_on

    def days_left(self, today: date) -> int:
        """Days until ``expires_on`` (negative once past it)."""
        return (self.expires_on - today).days

    @property
    def kept_headers(self) -> tuple[str, ...]:
        return KEPT_HEADERS[self.kind]

    @property
    def verifier(self) -> Verifier:
        return self.signature.verifier()

    def mapping_name(self, payload_type: str, selector: str | None = None) -> str | None:
        """The inbound mapping (file stem) for a payload type (and selector value), if routed."""
        route = self.routes.get(payload_type)
        if route is None or isinstance(route, str):
            return route
        return route.get(selector) if selector is not None else None

    def fixtures(self) -> list[SourceFixture]:
        """Every ``fixtures/<case>.input.json`` with its ``.expected.json`` (and ``.headers.json``)."""
        folder = self.directory / "fixtures"
        return [
            SourceFixture(
                name,
                given,
                expected,
                headers if (headers := folder / f"{name}{_HEADERS}").is_file() else None,
            )
            for name, given, expected in paired_fixtures(folder)
        ]


# -- the parser --------------------------------------------------------------------------------


class SourceParser(Reader):
    """Reads one ``source.yaml`` tree; ``problems`` collects everything wrong with it."""

    def __init__(self, file: str, directory: Path) -> None:
        super().__init__(file)
        self.directory = directory

    def parse(self, root: YNode) -> InboundSource | None:
        top = self.section(
            root, "", required=_TOP_REQUIRED, optional=_TOP_OPTIONAL, what="a mapping (the source)"
        )
        if top is None:
            return None
        name = self.field(top, "name", self.name)
        kind = self.field(top, "kind", lambda n, p: self.choice(n, p, KINDS))
        description = self.field(top, "description", self.text)
        owner = self.field(top, "owner", self.owner)
        expires = self.field(top, "expires_on", self.iso_date)
        plan = self.field(top, "migration_plan", self.link)
        runbook = self.field(top, "runbook", self.link)
        unmapped = self.field(
            top, "unmapped", lambda n, p: self.choice(n, p, ("quarantine", "skip"))
        )
        signature = self.field(top, "signature", lambda n, p: self.signature(n, p, kind))
        routes = self.field(top, "routes", lambda n, p: self.routes(n, p, kind))
        specs = self.load_specs(top, routes) if routes else {}
        if self.problems:
            return None
        assert name and kind and owner and expires and plan and signature and routes
        return InboundSource(
            name=name,
            kind=kind,
            owner=owner,
            expires_on=expires,
            migration_plan=plan,
            signature=signature,
            routes=routes,
            specs=specs,
            directory=self.directory,
            description=description,
            runbook=runbook,
            unmapped=unmapped or "quarantine",
            file=self.file,
        )

    def field(self, entries: Entries, key: str, read: Any) -> Any:
        node = value_of(entries, key)
        return None if node is None else read(node, key)

    def name(self, node: YNode, path: str) -> str | None:
        name = self.text(node, path, pattern=_NAME)
        if name == CANONICAL:
            self.problem(node, path, f"{CANONICAL!r} is reserved for POST /v1/events")
            return None
        if name is not None and name != self.directory.name:
            self.problem(
                node,
                path,
                f"the source is called {name!r} but lives in {self.directory.name!r}/: "
                "name must equal the folder name",
            )
        return name

    def signature(self, node: YNode, path: str, kind: str | None) -> SignatureSpec | None:
        entries = self.section(
            node,
            path,
            required=("secrets",),
            optional=("scheme", "header", "encoding", "prefix", "tolerance"),
        )
        if entries is None:
            return None
        scheme: Scheme | None = DEFAULT_SCHEME.get(kind or "")
        if "scheme" in entries:
            chosen = self.choice(entries["scheme"][1], join(path, "scheme"), SCHEMES)
            scheme = cast(Scheme, chosen) if chosen else None
        if scheme is None:
            return None
        secrets = (
            self.secrets(entries["secrets"][1], join(path, "secrets"))
            if "secrets" in entries
            else None
        )
        header = {"shopify": SHOPIFY_HEADER, "timestamped": TIMESTAMPED_HEADER}.get(scheme)
        if "header" in entries:
            header = self.text(entries["header"][1], join(path, "header"), pattern=_HEADER_NAME)
        elif header is None:
            self.problem(
                node,
                join(path, "header"),
                f"the {scheme} scheme needs 'header' (where the signature is)",
            )
        encoding: Encoding = "base64" if scheme == "shopify" else "hex"
        prefix = ""
        tolerance = DEFAULT_TOLERANCE
        for key in ("encoding", "prefix"):
            if key in entries and scheme != "hmac_sha256":
                self.problem(
                    entries[key][0],
                    join(path, key),
                    f"{key!r} only applies to the hmac_sha256 scheme",
                )
        if "tolerance" in entries and scheme != "timestamped":
            self.problem(
                entries["tolerance"][0],
                join(path, "tolerance"),
                "'tolerance' only applies to the timestamped scheme",
            )
        if scheme == "hmac_sha256" and "encoding" in entries:
            found = self.choice(entries["encoding"][1], join(path, "encoding"), ("hex", "base64"))
            encoding = "base64" if found == "base64" else "hex"
        if scheme == "hmac_sha256" and "prefix" in entries:
            prefix = self.text(entries["prefix"][1], join(path, "prefix")) or ""
        if scheme == "timestamped" and "tolerance" in entries:
            tolerance = (
                self.number(entries["tolerance"][1], join(path, "tolerance"), positive=True)
                or DEFAULT_TOLERANCE
            )
        if secrets is None or header is None:
            return None
        return SignatureSpec(scheme, tuple(secrets), header, encoding, prefix, tolerance)

    def secrets(self, node: YNode, path: str) -> list[SecretRef] | None:
        found = self.items(node, path, self.secret)
        if found is not None and not found:
            self.problem(node, path, "list at least one secret reference")
            return None
        if found is not None and len(set(found)) != len(found):
            self.problem(node, path, "a secret is listed twice")
        return found

    def secret(self, node: YNode, path: str) -> SecretRef | None:
        text = self.text(node, path)
        if text is None:
            return None
        prefix, colon, _ = text.partition(":")
        if not colon or prefix not in _SECRET_SOURCES:
            self.problem(
                node,
                path,
                "secrets never live in source.yaml: write a reference "
                "(env:NAME, secretsmanager:name#json_key or ssm:/param/name)",
            )
            return None
        try:
            ref = SecretRef.parse(text)
        except ConfigError as exc:
            self.problem(node, path, exc.message)
            return None
        if ref.source == "env" and not _ENV_NAME.fullmatch(ref.name):
            self.problem(node, path, f"{ref.name!r} is not an environment variable name")
            return None
        return ref

    # -- routes -----------------------------------------------------------------------------

    def routes(self, node: YNode, path: str, kind: str | None) -> dict[str, Route] | None:
        if not isinstance(node, YMap) or not node.items:
            self.problem(node, path, f"must map payload types to mappings, got {describe(node)}")
            return None
        found: dict[str, Route] = {}
        for key_node, value in node.items:
            key = str(key_node.value)
            here = join(path, key)
            if not self.route_key(key_node, here, key, kind):
                continue
            route: Route | None
            if isinstance(value, YMap):
                route = self.selected(value, here, key, kind)
            else:
                route = self.text(value, here, pattern=_NAME)
            if route:
                found[key] = route
        return found if len(found) == len(node.items) else None

    def route_key(self, node: YScalar, path: str, key: str, kind: str | None) -> bool:
        if not isinstance(node.value, str) or not key.strip():
            self.problem(node, path, f"a payload type is text, got {describe(node)}")
            return False
        if kind == "segment" and key not in SEGMENT_TYPES:
            if key == "batch":
                self.problem(
                    node, path, "a Segment batch is split into its items: route the item types"
                )
            else:
                self.problem(
                    node,
                    path,
                    f"{key!r} is not a Segment message type ({', '.join(SEGMENT_TYPES)})"
                    + did_you_mean(key, SEGMENT_TYPES),
                )
            return False
        if kind == "shopify" and "/" not in key:
            self.problem(node, path, f"a Shopify topic looks like orders/create, got {key!r}")
            return False
        return True

    def selected(self, node: YMap, path: str, key: str, kind: str | None) -> dict[str, str] | None:
        selector = SEGMENT_SELECTORS.get(key) if kind == "segment" else None
        if selector is None:
            self.problem(
                node,
                path,
                "route to one mapping file; only Segment track (by event) and page/screen "
                "(by name) may map names to mappings",
            )
            return None
        found: dict[str, str] = {}
        for name_node, value in node.items:
            mapping = self.text(value, join(path, str(name_node.value)), pattern=_NAME)
            if mapping:
                found[str(name_node.value)] = mapping
        return found if len(found) == len(node.items) and found else None

    def load_specs(self, top: Entries, routes: Mapping[str, Route]) -> dict[str, MappingSpec]:
        from martech_bus.gateway.transforms import INBOUND
        from martech_bus.mapping.parser import load_mapping

        routes_node = value_of(top, "routes")
        stems: dict[str, str] = {}
        for key, route in routes.items():
            for stem in [route] if isinstance(route, str) else route.values():
                stems.setdefault(stem, join("routes", key))
        specs: dict[str, MappingSpec] = {}
        for stem, where in stems.items():
            file = self.directory / "mappings" / f"{stem}.yaml"
            if not file.is_file():
                self.problem(
                    routes_node,
                    where,
                    f"routes to {stem!r}, but there is no mappings/{stem}.yaml",
                )
                continue
            try:
                specs[stem] = load_mapping(file, registry=INBOUND)
            except MappingError as exc:  # the mapping file's own problems, with its lines
                self.problems.extend(exc.problems or [Problem(exc.message, exc.location)])
        return specs


# -- loading -----------------------------------------------------------------------------------


def load_source(path_or_dir: str | Path) -> InboundSource:
    """A source from its folder or its ``source.yaml``; ConfigError lists every problem."""
    from martech_bus.yamlfile.loader import read_yaml_file

    path = Path(path_or_dir)
    directory = path.parent if path.name == MANIFEST else path
    manifest = directory / MANIFEST
    file = str(manifest)
    if not manifest.is_file():
        raise ConfigError(
            f"no {MANIFEST} here: a source folder holds its declaration",
            location=Location(file=file),
        )
    parser = SourceParser(file, directory)
    source = parser.parse(read_yaml_file(manifest, error=ConfigError))
    if source is None or parser.problems:
        problems = sorted(parser.problems, key=_file_order)
        if len(problems) == 1:
            raise ConfigError(problems[0].message, location=problems[0].location)
        raise ConfigError(
            f"{len(problems)} problems in the source",
            location=Location(file=file),
            problems=problems,
        )
    return source


def sources_dir(explicit: str | Path | None = None) -> Path:
    """``explicit`` > ``MARTECH_BUS_SOURCES_DIR`` > ``./sources``."""
    return Path(
        setting("sources_dir", None if explicit is None else str(explicit), "sources") or "sources"
    )


def find_sources(root: str | Path | None = None) -> dict[str, InboundSource]:
    """Every source under ``root``, by name; one ConfigError lists the problems of all of them."""
    base = sources_dir(root)
    found: dict[str, InboundSource] = {}
    problems: list[Problem] = []
    folders = sorted(p for p in base.iterdir() if (p / MANIFEST).is_file()) if base.is_dir() else []
    for directory in folders:
        try:
            source = load_source(directory)
        except ConfigError as exc:
            problems.extend(exc.problems or [Problem(exc.message, exc.location)])
            continue
        found[source.name] = source
    if problems:
        raise ConfigError(f"{len(problems)} problems in the sources", problems=problems)
    return found


def _file_order(problem: Problem) -> tuple[str, int, int]:
    where = problem.location
    return (where.file or "", where.line or 0, where.column or 0)


__all__ = [
    "CANONICAL",
    "HEADER_PREFIX",
    "KINDS",
    "SCHEMES",
    "InboundSource",
    "SignatureSpec",
    "SourceFixture",
    "SourceParser",
    "find_sources",
    "load_source",
    "sources_dir",
]
