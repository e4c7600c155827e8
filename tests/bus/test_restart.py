"""The broker is killed and restarted while we publish: nothing is lost silently.

tansu keeps records in memory only, so a restart also loses what it had confirmed
before. The test therefore checks the publisher's promise (every event ends
confirmed or handed back) and then does what a producer of record does with a real
Kafka, plus one tansu-specific step:

1. re-send every handed-back event (a real Kafka needs only this);
2. re-send every event whose confirmation came before the restart finished
   (tansu lost those; a real Kafka keeps them, and re-sending would only add
   duplicates that consumers drop by event_id).

After that a consumer sees every event_id at least once, and exactly once after
deduplicating by event_id.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from martech_bus.bus.publisher import BusPublisher, PublishReport
from martech_bus.bus.topics import BusConfig, TopicSettings, admin_client, apply_topics, plan_topics
from martech_bus.schema.codec import AvroCodec
from martech_bus.schema.registry import SchemaRegistry
from martech_bus.sinks.kafka import KafkaSink
from martech_bus.testing.kafka import EmbeddedBroker
from tests.bus.helpers import QUIET, event_ids, read_until

pytestmark = pytest.mark.integration

BATCHES = 40
BATCH = 25
KILL_AFTER = 8  # batches confirmed before the kill


def _provision(bootstrap: str, registry: SchemaRegistry, config: BusConfig) -> None:
    plan = [t for t in plan_topics(registry, config) if t.event == "order_completed"]
    apply_topics(admin_client(bootstrap, {"logger": QUIET}), plan)


def test_a_broker_killed_and_restarted_mid_publish_loses_nothing_silently(
    registry: SchemaRegistry, order: Callable[..., dict[str, Any]]
) -> None:
    config = replace(BusConfig(), defaults=TopicSettings(3, 1, {}))
    with EmbeddedBroker() as broker:
        _provision(broker.bootstrap, registry, config)
        sink = KafkaSink(
            {"message.timeout.ms": 3000, "logger": QUIET},
            bootstrap=broker.bootstrap,
            wedge_timeout=2.0,
        )
        publisher = BusPublisher(registry, sink, config=config)
        events = [[order(user_id=f"u-{n % 40}") for n in range(BATCH)] for _ in range(BATCHES)]
        everything = {e["event_id"]: e for batch in events for e in batch}

        kill_now, killed, restarted = threading.Event(), threading.Event(), threading.Event()

        def kill_and_restart() -> None:
            kill_now.wait(60)
            broker.kill()
            killed.set()
            broker.start()  # same port, empty
            _provision(broker.bootstrap, registry, config)
            restarted.set()

        killer = threading.Thread(target=kill_and_restart, daemon=True)
        killer.start()

        reports: list[PublishReport] = []
        produced_before_restart: set[str] = set()
        for index, batch in enumerate(events):
            if not restarted.is_set():
                produced_before_restart.update(e["event_id"] for e in batch)
            if index == KILL_AFTER:
                # Enqueue a batch, then kill the broker under it; publishing carries on
                # while the broker restarts.
                reports.append(publisher.publish(batch, wait=False))
                kill_now.set()
                assert killed.wait(30)
                continue
            reports.append(publisher.publish(batch, timeout=15))
        killer.join(timeout=30)
        assert restarted.is_set(), "the broker was not restarted"

        # 1. The promise: every event ended confirmed or handed back, exactly once.
        confirmed = [c.event_id for r in reports for c in r.confirmed]
        handed_back = [f.event_id for r in reports for f in r.failed]
        stats = f"{len(handed_back)} handed back, {sink.replacements} producers replaced"
        assert sorted(confirmed + handed_back) == sorted(everything), stats
        assert all(not r.rejected for r in reports)
        assert publisher.sink.pending == 0

        # 2. Re-send what was handed back, and (tansu only) whatever was produced before the
        #    restart finished and confirmed: the old broker's confirmations died with it.
        lost_by_tansu = [i for i in confirmed if i in produced_before_restart]
        resend = [everything[i] for i in dict.fromkeys(handed_back + lost_by_tansu)]
        for _ in range(3):
            again = publisher.publish(resend, timeout=15)
            done = {c.event_id for c in again.confirmed}
            resend = [e for e in resend if e["event_id"] not in done]
            if not resend:
                break
        assert resend == [], stats

        # 3. An independent reader sees every event at least once; once each after dedupe.
        topic = publisher.topic_for("order_completed")
        records = read_until(
            broker.bootstrap, topic, lambda got: set(event_ids(got)) >= set(everything), timeout=30
        )
        ids = event_ids(records)
        assert set(ids) == set(everything)
        codec = AvroCodec(registry)
        deduped = {codec.decode(r.value or b"")[1]["event_id"]: r for r in records}
        assert sorted(deduped) == sorted(everything)
