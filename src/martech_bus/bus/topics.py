"""Bus topics: the naming convention, major schema versions, and provisioning from ``bus.yaml``.

**Convention.** One topic per canonical event and *major* schema version,
``martech.{event}.v{major}`` by default (``topic_pattern`` in ``bus.yaml``).

**Major versions** are derived from the registry, deterministically, with
``check_compatibility``: v1 starts major 1; each later version joins the current
major when it can read data written by *every* version already in that major
(BACKWARD within the major), and otherwise starts the next major. A topic holds
every version of its major, so a consumer on the newest schema of the major can
read all of it; a breaking version gets a new topic instead of poisoning the old
one. (Under BACKWARD_TRANSITIVE this is exactly "compatible with the
predecessor"; under plain BACKWARD it also catches a version that reads v2 but
not v1.) The subject's compatibility mode does not enter the computation, so
the same catalogue always yields the same topics.

**Provisioning.** ``bus.yaml`` (repository root, or ``MARTECH_BUS_BUS_CONFIG``) gives
defaults (partitions, replication factor, topic configs such as ``retention.ms``
and ``cleanup.policy``) and per-topic overrides. ``plan_topics`` turns the
catalogue and the config into desired topics; ``inspect_topics`` compares them
with the broker; ``apply_topics`` creates the missing ones and reports every other
difference without changing it (adding partitions moves keys between partitions,
breaking per-user order; shortening retention deletes data: both are a human's
call). confluent-kafka is imported only to talk to a broker.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

from martech_bus.config import setting
from martech_bus.errors import ConfigError, Location, MartechBusError

if TYPE_CHECKING:
    from martech_bus.schema.registry import RegisteredSchema, SchemaRegistry

INSTALL_HINT: Final = "pip install 'martech-bus[kafka]'"
DEFAULT_TOPIC_PATTERN: Final = "martech.{event}.v{major}"
DEFAULT_CONFIG_FILE: Final = "bus.yaml"
CONFIG_SETTING: Final = "bus_config"  # MARTECH_BUS_BUS_CONFIG
BOOTSTRAP_SETTING: Final = "kafka_bootstrap"  # MARTECH_BUS_KAFKA_BOOTSTRAP
DEFAULT_BOOTSTRAP: Final = "127.0.0.1:9092"
SUBJECT_STRATEGIES: Final = ("topic", "record", "topic_record")
_TOPIC_NAME: Final = re.compile(r"[A-Za-z0-9._-]{1,249}\Z")
_PLACEHOLDERS: Final = frozenset({"event", "major"})


def resolve_bootstrap(explicit: str | None = None) -> str:
    """``explicit`` > ``MARTECH_BUS_KAFKA_BOOTSTRAP`` > ``127.0.0.1:9092``."""
    value = setting(BOOTSTRAP_SETTING, explicit, DEFAULT_BOOTSTRAP)
    assert value is not None  # a default is given
    return value


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True, slots=True)
class TopicSettings:
    """How one topic is created: partitions, replication factor and topic configs."""

    partitions: int = 3
    replication_factor: int = 1
    config: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TopicOverride:
    """Per-topic changes to the defaults; ``config`` entries are merged over the defaults'."""

    partitions: int | None = None
    replication_factor: int | None = None
    config: Mapping[str, str] = field(default_factory=dict)


#: Used when no bus.yaml exists: fine for a laptop; the shipped bus.yaml sets production values.
BUILTIN_DEFAULTS: Final = TopicSettings(
    partitions=3,
    replication_factor=1,
    config={"cleanup.policy": "delete", "retention.ms": str(7 * 24 * 3600 * 1000)},
)


@dataclass(frozen=True)
class BusConfig:
    """Topic convention, provisioning defaults and overrides, CloudEvents attribute prefixes."""

    topic_pattern: str = DEFAULT_TOPIC_PATTERN
    #: Confluent subject naming for synced schema ids: ``topic`` (``<topic>-value``),
    #: ``record`` (the record's full name) or ``topic_record``.
    subject_strategy: str = "topic"
    defaults: TopicSettings = BUILTIN_DEFAULTS
    overrides: Mapping[str, TopicOverride] = field(default_factory=dict)
    #: ``ce_source`` is this prefix + the event's ``source`` (a URI reference).
    source_prefix: str = "/martech/"
    #: ``ce_type`` is this prefix + the event type, e.g. ``martech.order_completed``.
    type_prefix: str = "martech."
    path: Path | None = None

    def __post_init__(self) -> None:
        _check_pattern(self.topic_pattern, self.location("topic_pattern"))
        if self.subject_strategy not in SUBJECT_STRATEGIES:
            raise ConfigError(
                f"subject_strategy must be one of {', '.join(SUBJECT_STRATEGIES)}, "
                f"not {self.subject_strategy!r}",
                location=self.location("subject_strategy"),
            )
        for name in self.overrides:
            if not _TOPIC_NAME.match(name):
                raise ConfigError(
                    f"{name!r} is not a valid Kafka topic name", location=self.location("topics")
                )

    def location(self, path: str) -> Location:
        """Where a key of this config was written (for error messages)."""
        return Location(file=str(self.path) if self.path else None, path=path)

    def topic_name(self, event: str, major: int) -> str:
        """The topic of ``event``'s major version ``major``."""
        name = self.topic_pattern.format(event=event, major=major)
        if not _TOPIC_NAME.match(name):
            raise ConfigError(
                f"topic_pattern gives {name!r} for event {event!r}: not a valid Kafka topic "
                "name (letters, digits, '.', '_', '-'; at most 249)",
                location=self.location("topic_pattern"),
            )
        return name

    def settings_for(self, topic: str) -> TopicSettings:
        """The defaults with ``topic``'s override applied."""
        override = self.overrides.get(topic)
        if override is None:
            return self.defaults
        return TopicSettings(
            partitions=override.partitions or self.defaults.partitions,
            replication_factor=override.replication_factor or self.defaults.replication_factor,
            config={**self.defaults.config, **override.config},
        )


def _check_pattern(pattern: str, where: Location) -> None:
    try:
        parsed = [
            (name, spec, conversion)
            for _, name, spec, conversion in string.Formatter().parse(pattern)
            if name is not None
        ]
    except ValueError as exc:
        raise ConfigError(f"topic_pattern {pattern!r}: {exc}", location=where) from None
    fields = {name for name, _, _ in parsed}
    if any(spec or conversion for _, spec, conversion in parsed):
        raise ConfigError(
            f"topic_pattern {pattern!r}: plain {{event}} and {{major}} only (no format specs)",
            location=where,
        )
    if fields != _PLACEHOLDERS:
        raise ConfigError(
            f"topic_pattern {pattern!r} must use exactly the placeholders {{event}} and "
            f"{{major}} (found: {', '.join(sorted(fields)) or 'none'})",
            location=where,
        )


def config_path(explicit: str | Path | None = None) -> Path:
    """``explicit`` > ``MARTECH_BUS_BUS_CONFIG`` > ``./bus.yaml``."""
    value = setting(CONFIG_SETTING, None if explicit is None else str(explicit))
    return Path(value) if value else Path(DEFAULT_CONFIG_FILE)


def load_bus_config(path: str | Path | None = None) -> BusConfig:
    """Read ``bus.yaml`` strictly; without a file (and none named) the built-in defaults apply.

    A file named explicitly or by ``MARTECH_BUS_BUS_CONFIG`` must exist.
    """
    named = path is not None or setting(CONFIG_SETTING) is not None
    chosen = config_path(path)
    if not chosen.exists():
        if named:
            raise ConfigError("bus config file not found", location=Location(file=str(chosen)))
        return BusConfig()
    from martech_bus.yamlfile.loader import read_yaml_file
    from martech_bus.yamlfile.nodes import to_python

    return parse_bus_config(to_python(read_yaml_file(chosen)), path=chosen)


def parse_bus_config(data: Any, *, path: Path | None = None) -> BusConfig:
    """A BusConfig from plain data (a parsed bus.yaml); every problem names its key."""
    reader = _Reader(str(path) if path else None)
    top = reader.mapping(
        data,
        "",
        {"topic_pattern", "subject_strategy", "cloudevents", "defaults", "topics"},
    )
    defaults = reader.settings(top.get("defaults"), "defaults", BUILTIN_DEFAULTS)
    overrides = {
        str(name): reader.override(entry, f"topics.{name}")
        for name, entry in reader.mapping(top.get("topics"), "topics", None).items()
    }
    events = reader.mapping(top.get("cloudevents"), "cloudevents", {"source_prefix", "type_prefix"})
    return BusConfig(
        topic_pattern=reader.text(top.get("topic_pattern", DEFAULT_TOPIC_PATTERN), "topic_pattern"),
        subject_strategy=reader.text(top.get("subject_strategy", "topic"), "subject_strategy"),
        defaults=defaults,
        overrides=overrides,
        source_prefix=reader.text(
            events.get("source_prefix", "/martech/"), "cloudevents.source_prefix"
        ),
        type_prefix=reader.text(events.get("type_prefix", "martech."), "cloudevents.type_prefix"),
        path=path,
    )


@dataclass(frozen=True, slots=True)
class _Reader:
    file: str | None

    def fail(self, path: str, message: str) -> ConfigError:
        return ConfigError(message, location=Location(file=self.file, path=path or None))

    def mapping(self, value: Any, path: str, allowed: set[str] | None) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(path, f"expected a mapping, got {type(value).__name__}")
        if allowed is not None:
            unknown = sorted(str(key) for key in value if key not in allowed)
            if unknown:
                raise self.fail(
                    path,
                    f"unknown key{'s' * (len(unknown) > 1)} {', '.join(map(repr, unknown))} "
                    f"(allowed: {', '.join(sorted(allowed))})",
                )
        return {str(key): item for key, item in value.items()}

    def text(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(path, f"expected a non-empty string, got {value!r}")
        return value

    def positive(self, value: Any, path: str) -> int:
        if type(value) is not int or value < 1:
            raise self.fail(path, f"expected a positive integer, got {value!r}")
        return value

    def topic_config(self, value: Any, path: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, item in self.mapping(value, path, None).items():
            if isinstance(item, bool):
                out[key] = "true" if item else "false"
            elif isinstance(item, int | str) and item != "":
                out[key] = str(item)
            else:
                raise self.fail(
                    f"{path}.{key}",
                    f"a topic config value must be a string or integer, got {item!r}",
                )
        return out

    def settings(self, value: Any, path: str, base: TopicSettings) -> TopicSettings:
        entry = self.mapping(value, path, {"partitions", "replication_factor", "config"})
        return TopicSettings(
            partitions=self.positive(
                entry.get("partitions", base.partitions), f"{path}.partitions"
            ),
            replication_factor=self.positive(
                entry.get("replication_factor", base.replication_factor),
                f"{path}.replication_factor",
            ),
            config=(
                self.topic_config(entry["config"], f"{path}.config")
                if "config" in entry
                else dict(base.config)
            ),
        )

    def override(self, value: Any, path: str) -> TopicOverride:
        entry = self.mapping(value, path, {"partitions", "replication_factor", "config"})
        partitions = entry.get("partitions")
        replication = entry.get("replication_factor")
        return TopicOverride(
            partitions=None
            if partitions is None
            else self.positive(partitions, f"{path}.partitions"),
            replication_factor=(
                None
                if replication is None
                else self.positive(replication, f"{path}.replication_factor")
            ),
            config=self.topic_config(entry.get("config"), f"{path}.config"),
        )


# --------------------------------------------------------------------------- majors and plan


def major_versions(registry: SchemaRegistry, subject: str) -> dict[int, int]:
    """``{version: major}`` for every version of ``subject`` (see the module docstring)."""
    from martech_bus.schema.compat import check_compatibility

    majors: dict[int, int] = {}
    current: list[RegisteredSchema] = []
    major = 0
    for entry in registry.versions(subject):
        if not current or not all(
            check_compatibility(entry.schema, earlier.schema) for earlier in current
        ):
            major += 1
            current = []
        current.append(entry)
        majors[entry.version] = major
    return majors


@dataclass(frozen=True, slots=True)
class DesiredTopic:
    """One topic the catalogue needs: which event, which major, which schema versions."""

    name: str
    event: str
    major: int
    versions: tuple[int, ...]
    settings: TopicSettings


class TopicRouter:
    """Which topic each registered schema version is published to (computed once per subject)."""

    def __init__(self, registry: SchemaRegistry, config: BusConfig | None = None) -> None:
        self.registry = registry
        self.config = config or BusConfig()
        self._majors: dict[str, dict[int, int]] = {}

    def major(self, subject: str, version: int) -> int:
        majors = self._majors.get(subject)
        if majors is None:
            majors = self._majors[subject] = major_versions(self.registry, subject)
        return majors[version]

    def topic(self, subject: str, version: int) -> str:
        """The topic of ``subject`` ``version``."""
        return self.config.topic_name(subject, self.major(subject, version))

    def topic_of(self, entry: RegisteredSchema) -> str:
        return self.topic(entry.subject, entry.version)

    @cached_property
    def plan(self) -> list[DesiredTopic]:
        """Every topic the catalogue needs, sorted by name."""
        grouped: dict[str, tuple[str, int, list[int]]] = {}
        for entry in self.registry:
            name = self.topic_of(entry)
            event, _, versions = grouped.setdefault(
                name, (entry.subject, self.major(entry.subject, entry.version), [])
            )
            if event != entry.subject:
                raise ConfigError(
                    f"topic_pattern {self.config.topic_pattern!r} maps both {event!r} and "
                    f"{entry.subject!r} to topic {name!r}",
                    location=self.config.location("topic_pattern"),
                )
            versions.append(entry.version)
        unknown = sorted(set(self.config.overrides) - set(grouped))
        if unknown:
            raise ConfigError(
                f"overrides for topics the catalogue does not have: {', '.join(unknown)} "
                f"(planned: {', '.join(sorted(grouped))})",
                location=self.config.location("topics"),
            )
        return [
            DesiredTopic(name, event, major, tuple(versions), self.config.settings_for(name))
            for name, (event, major, versions) in sorted(grouped.items())
        ]


def topic_for(
    entry: RegisteredSchema,
    registry: SchemaRegistry | None = None,
    config: BusConfig | None = None,
) -> str:
    """The topic ``entry``'s events are published to (for consumers, e.g. the connector).

    Majors need the subject's earlier versions: pass the ``registry`` the entry came
    from, or leave it out and the catalogue directory the entry was loaded from is
    read (once per directory). ``config`` defaults to ``load_bus_config()``.
    """
    if registry is None:
        if entry.path is None:
            raise ConfigError(
                f"topic_for({entry.subject} v{entry.version}) needs the registry: "
                "this entry was not loaded from a catalogue directory"
            )
        registry = _catalogue(str(entry.path.parent.parent))
    return TopicRouter(registry, config or load_bus_config()).topic_of(entry)


@functools.cache
def _catalogue(root: str) -> SchemaRegistry:
    from martech_bus.schema.registry import SchemaRegistry

    return SchemaRegistry.load(root)


def plan_topics(registry: SchemaRegistry, config: BusConfig | None = None) -> list[DesiredTopic]:
    """The topics the catalogue needs under ``config``, sorted by name."""
    return TopicRouter(registry, config).plan


# --------------------------------------------------------------------------- the broker side


class AdminLike(Protocol):
    """The part of ``confluent_kafka.admin.AdminClient`` used here."""

    def list_topics(self, topic: str | None = ..., timeout: float = ...) -> Any: ...

    def create_topics(self, new_topics: list[Any], **kwargs: Any) -> dict[str, Any]: ...

    def describe_configs(self, resources: list[Any], **kwargs: Any) -> dict[Any, Any]: ...


def admin_client(
    bootstrap: str | None = None, config: Mapping[str, Any] | None = None
) -> AdminLike:
    """A confluent-kafka AdminClient for ``bootstrap`` (default: ``resolve_bootstrap()``)."""
    import logging

    try:
        from confluent_kafka.admin import AdminClient
    except ImportError:
        raise ConfigError(f"talking to Kafka needs confluent-kafka: {INSTALL_HINT}") from None
    from martech_bus.kafka_client import client_properties

    settings: dict[str, Any] = {
        **client_properties(),
        "bootstrap.servers": resolve_bootstrap(bootstrap),
        "logger": logging.getLogger("martech_bus.bus.librdkafka"),
        **(config or {}),
    }
    admin: AdminLike = AdminClient(settings)
    return admin


State = Literal["ok", "missing", "differs", "created", "error"]


@dataclass(frozen=True, slots=True)
class TopicStatus:
    """A desired topic next to what the broker has."""

    desired: DesiredTopic
    exists: bool
    partitions: int | None = None
    replication_factor: int | None = None
    config: Mapping[str, str | None] = field(default_factory=dict)
    differences: tuple[str, ...] = ()
    created: bool = False
    error: str | None = None

    @property
    def state(self) -> State:
        if self.error is not None:
            return "error"
        if not self.exists:
            return "missing"
        if self.differences:
            return "differs"
        return "created" if self.created else "ok"

    @property
    def settled(self) -> bool:
        """The broker matches the plan."""
        return self.state in ("ok", "created")


class ProvisioningError(MartechBusError):
    """The broker could not be asked about its topics."""


def inspect_topics(
    admin: AdminLike, plan: Sequence[DesiredTopic], *, timeout: float = 15.0
) -> list[TopicStatus]:
    """Compare the plan with the broker (never creates anything)."""
    # Listing *all* topics: a metadata request naming a topic creates it on brokers with
    # auto-creation (tansu always does).
    try:
        metadata = admin.list_topics(timeout=timeout)
    except Exception as exc:
        raise ProvisioningError(f"cannot list the broker's topics: {exc}") from exc
    present = {name: meta for name, meta in metadata.topics.items() if meta.error is None}
    configs = _describe(admin, [d.name for d in plan if d.name in present], timeout)
    statuses = []
    for desired in plan:
        meta = present.get(desired.name)
        if meta is None:
            statuses.append(TopicStatus(desired, exists=False))
            continue
        partitions = len(meta.partitions)
        replicas = min((len(p.replicas) for p in meta.partitions.values()), default=0)
        actual, error = configs.get(desired.name, ({}, None))
        wanted = desired.settings
        differences = []
        if partitions != wanted.partitions:
            differences.append(
                f"partitions: {partitions} on the broker, {wanted.partitions} planned"
            )
        if replicas != wanted.replication_factor:
            differences.append(
                f"replication factor: {replicas} on the broker, {wanted.replication_factor} planned"
            )
        for key, value in sorted(wanted.config.items()):
            have = actual.get(key)
            if have != value:
                shown = "not set" if have is None else repr(have)
                differences.append(f"{key}: {shown} on the broker, {value!r} planned")
        statuses.append(
            TopicStatus(
                desired,
                exists=True,
                partitions=partitions,
                replication_factor=replicas,
                config={key: actual.get(key) for key in wanted.config},
                differences=tuple(differences),
                error=error,
            )
        )
    return statuses


def _describe(
    admin: AdminLike, names: Iterable[str], timeout: float
) -> dict[str, tuple[dict[str, str | None], str | None]]:
    from confluent_kafka.admin import ConfigResource  # type: ignore[attr-defined]  # re-exported without __all__

    names = list(names)
    if not names:
        return {}
    resources = [ConfigResource("topic", name) for name in names]
    futures = admin.describe_configs(resources, request_timeout=timeout)
    out: dict[str, tuple[dict[str, str | None], str | None]] = {}
    for resource, future in futures.items():
        try:
            entries = future.result(timeout=timeout)
        except Exception as exc:
            out[resource.name] = ({}, f"cannot describe its config: {exc}")
            continue
        out[resource.name] = ({key: entry.value for key, entry in entries.items()}, None)
    return out


def apply_topics(
    admin: AdminLike, plan: Sequence[DesiredTopic], *, timeout: float = 30.0
) -> list[TopicStatus]:
    """Create the missing topics; report every other difference without changing it.

    Returns the broker's state afterwards; topics created now have ``created`` set,
    a topic that could not be created carries the broker's ``error``.
    """
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]  # re-exported without __all__

    before = inspect_topics(admin, plan, timeout=timeout)
    missing = [status.desired for status in before if not status.exists]
    errors: dict[str, str] = {}
    created: set[str] = set()
    if missing:
        futures = admin.create_topics(
            [
                NewTopic(
                    d.name,
                    num_partitions=d.settings.partitions,
                    replication_factor=d.settings.replication_factor,
                    config=dict(d.settings.config),
                )
                for d in missing
            ],
            operation_timeout=timeout,
            request_timeout=timeout,
        )
        for name, future in futures.items():
            try:
                future.result(timeout=timeout)
                created.add(name)
            except KafkaException as exc:
                error = exc.args[0] if exc.args else None
                if (
                    isinstance(error, KafkaError)
                    and error.code() == KafkaError.TOPIC_ALREADY_EXISTS
                ):
                    continue  # someone else created it meanwhile: inspect says how
                errors[name] = f"cannot create: {exc}"
    after = inspect_topics(admin, plan, timeout=timeout) if missing else before
    return [
        replace(
            status,
            created=status.desired.name in created,
            error=errors.get(status.desired.name, status.error),
        )
        for status in after
    ]


__all__ = [
    "BOOTSTRAP_SETTING",
    "BUILTIN_DEFAULTS",
    "CONFIG_SETTING",
    "DEFAULT_BOOTSTRAP",
    "DEFAULT_CONFIG_FILE",
    "DEFAULT_TOPIC_PATTERN",
    "AdminLike",
    "BusConfig",
    "DesiredTopic",
    "ProvisioningError",
    "TopicOverride",
    "TopicRouter",
    "TopicSettings",
    "TopicStatus",
    "admin_client",
    "apply_topics",
    "config_path",
    "inspect_topics",
    "load_bus_config",
    "major_versions",
    "parse_bus_config",
    "plan_topics",
    "resolve_bootstrap",
    "topic_for",
]
