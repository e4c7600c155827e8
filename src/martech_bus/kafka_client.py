"""Kafka client settings for a real cluster: ``MARTECH_BUS_KAFKA_CONFIG`` names a properties file.

Security and tuning (``security.protocol``, ``sasl.mechanisms``, ``sasl.username``,
``ssl.ca.location``, ...) are the same for every client martech-bus makes — the
publisher, the connector's consumer and dead-letter producer, ``bus topics``'s
admin client, ``bus tail`` — so they live in one file, in the format Kafka
clients and Confluent Cloud already hand out (``client.properties``)::

    # client.properties
    security.protocol=SASL_SSL
    sasl.mechanisms=PLAIN
    sasl.username=env:KAFKA_API_KEY
    sasl.password=env:KAFKA_API_SECRET

Lines are ``key=value`` or ``key: value``; ``#`` and ``!`` start comments. A value
``env:NAME`` is read from the environment, so the file itself holds no secret.
``bootstrap.servers`` in the file is ignored: the bootstrap comes from
``--bootstrap`` / ``MARTECH_BUS_KAFKA_BOOTSTRAP``. Settings a caller passes
explicitly win over the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from martech_bus.config import setting
from martech_bus.errors import ConfigError, Location

SETTING: Final = "kafka_config"  # MARTECH_BUS_KAFKA_CONFIG
_IGNORED: Final = frozenset({"bootstrap.servers"})


def client_properties(
    path: str | Path | None = None, *, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The settings of ``path`` (else ``MARTECH_BUS_KAFKA_CONFIG``; none: empty)."""
    env = os.environ if environ is None else environ
    named = str(path) if path is not None else setting(SETTING, environ=env)
    if not named:
        return {}
    file = Path(named)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the Kafka client settings: {exc.strerror or exc}",
            location=Location(file=str(file)),
        ) from None
    return _parse(text, file, env)


def with_client_properties(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` on top of the client properties file (``config`` wins)."""
    return {**client_properties(), **config}


def _parse(text: str, file: Path, env: Mapping[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        cut = min((i for i in (line.find("="), line.find(":")) if i > 0), default=-1)
        where = Location(file=str(file), line=number)
        if cut < 0:
            raise ConfigError(f"expected key=value, got {line!r}", location=where)
        key, value = line[:cut].strip(), line[cut + 1 :].strip()
        if key in _IGNORED:
            continue
        if value.startswith("env:"):
            name = value[4:]
            if name not in env:
                raise ConfigError(
                    f"{key} refers to the environment variable {name}, which is not set",
                    location=where,
                )
            value = env[name]
        found[key] = value
    return found


__all__ = ["SETTING", "client_properties", "with_client_properties"]
