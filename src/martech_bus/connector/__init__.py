"""The bus-side delivery connector (the marathon path): Kafka consumer group -> pipeline -> vendor.

``Connector("meta_capi").run()`` reads the canonical topics the adapter maps and
delivers with the same mapping files and the same pipeline as the sprint path.
See ``docs/connector.md`` for deployment and scaling, and ``martech-bus
connector run`` (or ``python -m martech_bus.connector run``) for the command.
confluent-kafka is imported when the connector starts, not with this package.
"""

from martech_bus.connector.core import (
    Connector,
    ConnectorError,
    ConsumerFactory,
    ConsumerLike,
    confluent_consumer,
    default_group,
)
from martech_bus.connector.decoding import BusDecoder, reader_versions, topic_for, topics_for
from martech_bus.connector.offsets import OffsetTracker
from martech_bus.connector.stats import ConnectorStats

__all__ = [
    "BusDecoder",
    "Connector",
    "ConnectorError",
    "ConnectorStats",
    "ConsumerFactory",
    "ConsumerLike",
    "OffsetTracker",
    "confluent_consumer",
    "default_group",
    "reader_versions",
    "topic_for",
    "topics_for",
]
