"""resolve_kafka_bootstrap: external cluster > testcontainers (Docker) > embedded tansu."""

from __future__ import annotations

import socket

import pytest

from martech_bus.errors import ConfigError
from martech_bus.testing.kafka import KafkaBroker, resolve_kafka_bootstrap
from tests.kafka.clients import admin

pytestmark = pytest.mark.integration


def test_MARTECH_BUS_KAFKA_BOOTSTRAP_names_an_external_cluster_that_close_leaves_running(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARTECH_BUS_KAFKA_BOOTSTRAP", kafka_bootstrap)

    with resolve_kafka_bootstrap() as resolved:
        assert (resolved.kind, resolved.bootstrap) == ("external", kafka_bootstrap)
        assert not resolved.supports_faults

    admin(kafka_bootstrap).list_topics(timeout=10)  # still answers


def test_an_unreachable_MARTECH_BUS_KAFKA_BOOTSTRAP_is_a_config_error_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as reserved:  # bound, not listening: connections are refused
        reserved.bind(("127.0.0.1", 0))
        nowhere = f"127.0.0.1:{reserved.getsockname()[1]}"
        monkeypatch.setenv("MARTECH_BUS_KAFKA_BOOTSTRAP", nowhere)

        with pytest.raises(ConfigError, match=f"MARTECH_BUS_KAFKA_BOOTSTRAP={nowhere}"):
            resolve_kafka_bootstrap(startup_timeout=1)


def test_without_a_docker_daemon_the_embedded_broker_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MARTECH_BUS_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.delenv("TC_HOST", raising=False)
    monkeypatch.delenv("TESTCONTAINERS_HOST_OVERRIDE", raising=False)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/martech-bus-test/docker.sock")

    with resolve_kafka_bootstrap() as resolved:
        assert resolved.kind == "embedded"
        assert resolved.bootstrap.startswith("127.0.0.1:")
        assert resolved.supports_faults
        admin(resolved.bootstrap).list_topics(timeout=10)


def test_kill_and_restart_are_refused_on_a_kafka_martech_bus_did_not_start() -> None:
    external = KafkaBroker("127.0.0.1:9", "external")

    with pytest.raises(ConfigError, match="kill\\(\\) needs the embedded broker"):
        external.kill()
    with pytest.raises(ConfigError, match="restart\\(\\) needs the embedded broker"):
        external.restart()
