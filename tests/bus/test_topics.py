"""Topic naming, major versions, bus.yaml, and provisioning against a real broker."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from martech_bus.bus.topics import (
    BUILTIN_DEFAULTS,
    BusConfig,
    DesiredTopic,
    TopicSettings,
    admin_client,
    apply_topics,
    inspect_topics,
    load_bus_config,
    major_versions,
    parse_bus_config,
    plan_topics,
    topic_for,
)
from martech_bus.errors import ConfigError
from martech_bus.schema.registry import SchemaRegistry
from martech_bus.testing.kafka import create_topics
from tests.bus.catalogues import COLOUR, SIZE_STRING, event_schema, widget_catalogue
from tests.bus.helpers import QUIET
from tests.schema.catalogue import write_catalogue

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- naming and majors


def test_the_default_topic_is_martech_event_v_major(registry: SchemaRegistry) -> None:
    names = [topic.name for topic in plan_topics(registry)]

    assert "martech.order_completed.v1" in names
    assert "martech.page_viewed.v1" in names


def test_a_backward_compatible_version_shares_its_predecessors_topic(
    registry: SchemaRegistry,
) -> None:
    (order,) = [t for t in plan_topics(registry) if t.event == "order_completed"]

    assert (order.name, order.major, order.versions) == ("martech.order_completed.v1", 1, (1, 2))


def test_a_breaking_version_starts_the_next_major_and_topic(tmp_path: Path) -> None:
    registry = SchemaRegistry.load(widget_catalogue(tmp_path / "schemas"))

    assert major_versions(registry, "widget_made") == {1: 1, 2: 1, 3: 2, 4: 2}
    assert [(t.name, t.versions) for t in plan_topics(registry)] == [
        ("martech.widget_made.v1", (1, 2)),
        ("martech.widget_made.v2", (3, 4)),
    ]


def test_a_version_that_reads_its_predecessor_but_not_an_older_one_starts_a_major(
    tmp_path: Path,
) -> None:
    # v2 adds `colour` with a default; v3 drops the default: v3 reads v2 data, not v1 data.
    required_colour = {"name": "colour", "type": "string"}
    catalogue = write_catalogue(
        tmp_path / "schemas",
        {
            "widget_made": [
                event_schema("WidgetMade", SIZE_STRING),
                event_schema(
                    "WidgetMade", SIZE_STRING, {**COLOUR, "type": "string", "default": "red"}
                ),
                event_schema("WidgetMade", SIZE_STRING, required_colour),
            ]
        },
        widget_made="BACKWARD",
    )

    assert major_versions(SchemaRegistry.load(catalogue), "widget_made") == {1: 1, 2: 1, 3: 2}


def test_the_topic_pattern_is_configurable(registry: SchemaRegistry) -> None:
    config = BusConfig(topic_pattern="bus-{event}-major{major}")

    assert "bus-order_completed-major1" in [t.name for t in plan_topics(registry, config)]


@pytest.mark.parametrize(
    "pattern", ["martech.{event}", "{event}.{major}.{minor}", "{event!r}.v{major}"]
)
def test_a_topic_pattern_without_exactly_event_and_major_is_refused(pattern: str) -> None:
    with pytest.raises(ConfigError, match="topic_pattern"):
        BusConfig(topic_pattern=pattern)


def test_a_pattern_giving_an_invalid_topic_name_is_refused(registry: SchemaRegistry) -> None:
    with pytest.raises(ConfigError, match="not a valid Kafka topic name"):
        plan_topics(registry, BusConfig(topic_pattern="bus/{event}/v{major}"))


# --------------------------------------------------------------------------- bus.yaml


def test_the_shipped_bus_yaml_loads_and_plans_the_whole_catalogue(
    registry: SchemaRegistry,
) -> None:
    config = load_bus_config(ROOT / "bus.yaml")
    plan = plan_topics(registry, config)

    assert {t.event for t in plan} == set(registry.subjects())
    assert all(t.settings.replication_factor >= 1 for t in plan)
    assert all("retention.ms" in t.settings.config for t in plan)


def test_without_a_bus_yaml_the_builtin_defaults_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MARTECH_BUS_BUS_CONFIG", raising=False)

    assert load_bus_config().defaults == BUILTIN_DEFAULTS


def test_a_named_bus_config_that_does_not_exist_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARTECH_BUS_BUS_CONFIG", str(tmp_path / "nope.yaml"))

    with pytest.raises(ConfigError, match="not found"):
        load_bus_config()


def test_overrides_merge_over_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "bus.yaml"
    path.write_text(
        "defaults:\n"
        "  partitions: 6\n"
        "  replication_factor: 3\n"
        "  config:\n"
        "    retention.ms: 604800000\n"
        "    cleanup.policy: delete\n"
        "topics:\n"
        "  martech.order_completed.v1:\n"
        "    partitions: 12\n"
        "    config:\n"
        "      retention.ms: 2592000000\n",
        encoding="utf-8",
    )
    config = load_bus_config(path)

    assert config.settings_for("martech.order_completed.v1") == TopicSettings(
        12, 3, {"retention.ms": "2592000000", "cleanup.policy": "delete"}
    )
    assert config.settings_for("martech.page_viewed.v1") == TopicSettings(
        6, 3, {"retention.ms": "604800000", "cleanup.policy": "delete"}
    )


def test_an_unknown_key_in_bus_yaml_is_refused_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown key 'partition'") as caught:
        parse_bus_config({"defaults": {"partition": 3}}, path=tmp_path / "bus.yaml")

    assert caught.value.location.path == "defaults"


def test_a_yaml_1_1_boolean_in_bus_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bus.yaml"
    path.write_text("defaults:\n  config:\n    unclean.leader.election.enable: no\n")

    with pytest.raises(ConfigError):
        load_bus_config(path)


def test_an_override_for_a_topic_the_catalogue_lacks_is_refused(
    registry: SchemaRegistry,
) -> None:
    config = parse_bus_config({"topics": {"martech.order_completed.v9": {"partitions": 1}}})

    with pytest.raises(ConfigError, match=r"martech\.order_completed\.v9"):
        plan_topics(registry, config)


# --------------------------------------------------------------------------- against the broker


@pytest.fixture
def small_plan(registry: SchemaRegistry) -> list[DesiredTopic]:
    config = BusConfig(
        topic_pattern=f"p{uuid.uuid4().hex[:10]}.{{event}}.v{{major}}",
        defaults=TopicSettings(2, 1, {"retention.ms": "3600000", "cleanup.policy": "delete"}),
    )
    return [
        t for t in plan_topics(registry, config) if t.event in ("order_completed", "page_viewed")
    ]


@pytest.mark.integration
def test_apply_creates_the_missing_topics_with_their_settings(
    kafka_bootstrap: str, small_plan: list[DesiredTopic]
) -> None:
    admin = admin_client(kafka_bootstrap, {"logger": QUIET})

    statuses = apply_topics(admin, small_plan)

    assert [(s.state, s.partitions) for s in statuses] == [("created", 2), ("created", 2)]
    assert all(
        s.config == {"retention.ms": "3600000", "cleanup.policy": "delete"} for s in statuses
    )
    assert all(s.settled for s in inspect_topics(admin, small_plan))


@pytest.mark.integration
def test_inspect_reports_missing_topics_without_creating_them(
    kafka_bootstrap: str, small_plan: list[DesiredTopic]
) -> None:
    admin = admin_client(kafka_bootstrap, {"logger": QUIET})

    first = inspect_topics(admin, small_plan)
    again = inspect_topics(admin, small_plan)

    assert [s.state for s in first] == ["missing", "missing"]
    assert [s.state for s in again] == ["missing", "missing"]


@pytest.mark.integration
def test_apply_reports_a_partition_difference_and_changes_nothing(
    kafka_bootstrap: str, small_plan: list[DesiredTopic]
) -> None:
    admin = admin_client(kafka_bootstrap, {"logger": QUIET})
    existing = small_plan[0]
    create_topics(kafka_bootstrap, [existing.name], partitions=5)

    statuses = apply_topics(admin, small_plan)

    by_name = {s.desired.name: s for s in statuses}
    assert by_name[existing.name].state == "differs"
    assert by_name[existing.name].partitions == 5
    assert "partitions: 5 on the broker, 2 planned" in by_name[existing.name].differences
    assert any(
        "retention.ms: not set on the broker" in d for d in by_name[existing.name].differences
    )
    assert by_name[small_plan[1].name].state == "created"
    assert inspect_topics(admin, [existing])[0].partitions == 5


@pytest.mark.integration
def test_apply_twice_creates_nothing_the_second_time(
    kafka_bootstrap: str, small_plan: list[DesiredTopic]
) -> None:
    admin = admin_client(kafka_bootstrap, {"logger": QUIET})
    apply_topics(admin, small_plan)

    statuses = apply_topics(admin, small_plan)

    assert [s.state for s in statuses] == ["ok", "ok"]


def test_topic_for_gives_consumers_the_publishers_topic(registry: SchemaRegistry) -> None:
    entry = registry.get("order_completed", 2)

    assert topic_for(entry, registry, BusConfig()) == "martech.order_completed.v1"


def test_topic_for_without_a_registry_reads_the_entrys_catalogue(tmp_path: Path) -> None:
    registry = SchemaRegistry.load(widget_catalogue(tmp_path / "schemas"))

    topics = [topic_for(registry.get("widget_made", v), config=BusConfig()) for v in (1, 3)]

    assert topics == ["martech.widget_made.v1", "martech.widget_made.v2"]
