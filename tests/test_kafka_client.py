"""Kafka client settings from a properties file (MARTECH_BUS_KAFKA_CONFIG)."""

from __future__ import annotations

from pathlib import Path

import pytest

from martech_bus.errors import ConfigError
from martech_bus.kafka_client import client_properties, with_client_properties

PROPERTIES = """\
# Confluent Cloud style
security.protocol=SASL_SSL
sasl.mechanisms: PLAIN
! another comment style
sasl.username=env:KAFKA_API_KEY
sasl.password=env:KAFKA_API_SECRET
bootstrap.servers=ignored.example.com:9092
"""
ENV = {"KAFKA_API_KEY": "key", "KAFKA_API_SECRET": "secret"}


@pytest.fixture
def properties(tmp_path: Path) -> Path:
    path = tmp_path / "client.properties"
    path.write_text(PROPERTIES, encoding="utf-8")
    return path


def test_without_the_setting_there_are_no_extra_settings() -> None:
    assert client_properties(environ={}) == {}


def test_the_file_is_read_with_both_separators_and_env_references(properties: Path) -> None:
    assert client_properties(properties, environ=ENV) == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": "PLAIN",
        "sasl.username": "key",
        "sasl.password": "secret",
    }


def test_the_setting_names_the_file(properties: Path) -> None:
    settings = client_properties(environ={**ENV, "MARTECH_BUS_KAFKA_CONFIG": str(properties)})
    assert settings["security.protocol"] == "SASL_SSL"


def test_bootstrap_servers_in_the_file_is_ignored(properties: Path) -> None:
    assert "bootstrap.servers" not in client_properties(properties, environ=ENV)


def test_a_missing_environment_variable_names_the_file_and_line(properties: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        client_properties(properties, environ={"KAFKA_API_KEY": "key"})
    assert caught.value.location.line == 6
    assert "KAFKA_API_SECRET" in caught.value.message


def test_a_line_without_a_separator_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.properties"
    path.write_text("acks=all\njust-a-word\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        client_properties(path, environ={})
    assert caught.value.location.line == 2


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        client_properties(tmp_path / "absent.properties", environ={})


def test_explicit_settings_win_over_the_file(
    properties: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARTECH_BUS_KAFKA_CONFIG", str(properties))
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    merged = with_client_properties({"security.protocol": "SSL", "acks": "all"})
    assert merged["security.protocol"] == "SSL" and merged["sasl.username"] == "key"


def test_the_connector_consumer_gets_the_file_settings_under_its_own(
    properties: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from martech_bus.connector import Connector

    monkeypatch.setenv("MARTECH_BUS_KAFKA_CONFIG", str(properties))
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    connector = Connector("meta_capi", bootstrap="127.0.0.1:9")
    config = connector._config()
    assert config["sasl.password"] == "secret"
    assert config["bootstrap.servers"] == "127.0.0.1:9"
    assert config["enable.auto.commit"] is False
