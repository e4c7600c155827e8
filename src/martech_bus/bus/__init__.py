"""The bus: publish canonical events to Kafka (Avro, Confluent wire format, CloudEvents headers).

Pipeline layer: it uses ``schema`` (validation, codec, registry) and ``sinks.kafka``.
Names load lazily; nothing here imports confluent-kafka until a broker is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from martech_bus._lazy import lazy_getattr

if TYPE_CHECKING:
    from martech_bus.bus.publisher import (
        BusFlushError,
        BusPublisher,
        Published,
        PublishReport,
        Rejected,
        Unconfirmed,
    )
    from martech_bus.bus.topics import (
        BusConfig,
        DesiredTopic,
        TopicRouter,
        TopicStatus,
        apply_topics,
        inspect_topics,
        load_bus_config,
        major_versions,
        plan_topics,
    )

_LAZY = {
    "BusFlushError": "martech_bus.bus.publisher",
    "BusPublisher": "martech_bus.bus.publisher",
    "PublishReport": "martech_bus.bus.publisher",
    "Published": "martech_bus.bus.publisher",
    "Rejected": "martech_bus.bus.publisher",
    "Unconfirmed": "martech_bus.bus.publisher",
    "BusConfig": "martech_bus.bus.topics",
    "DesiredTopic": "martech_bus.bus.topics",
    "TopicRouter": "martech_bus.bus.topics",
    "TopicStatus": "martech_bus.bus.topics",
    "apply_topics": "martech_bus.bus.topics",
    "inspect_topics": "martech_bus.bus.topics",
    "load_bus_config": "martech_bus.bus.topics",
    "major_versions": "martech_bus.bus.topics",
    "plan_topics": "martech_bus.bus.topics",
}

__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = [
    "BusConfig",
    "BusFlushError",
    "BusPublisher",
    "DesiredTopic",
    "PublishReport",
    "Published",
    "Rejected",
    "TopicRouter",
    "TopicStatus",
    "Unconfirmed",
    "apply_topics",
    "inspect_topics",
    "load_bus_config",
    "major_versions",
    "plan_topics",
]
