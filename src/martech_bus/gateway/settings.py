"""Gateway settings: explicit argument > ``MARTECH_BUS_*`` variable > default.

| setting | default |
|---|---|
| ``MARTECH_BUS_GATEWAY_TOKENS`` | none: development mode (see ``auth``) |
| ``MARTECH_BUS_GATEWAY_MAX_BODY_BYTES`` | 1048576 (1 MiB) |
| ``MARTECH_BUS_GATEWAY_EXPIRY_WARN_INTERVAL`` | 3600 seconds |
| ``MARTECH_BUS_SOURCES_DIR`` | ``./sources`` |
| ``MARTECH_BUS_BUFFER`` | ``sqlite`` (see ``martech_bus.buffer.select``) |
| ``MARTECH_BUS_QUARANTINE`` | ``sqlite`` (``<data_dir>/quarantine.sqlite3``) |
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from martech_bus.config import setting
from martech_bus.errors import ConfigError
from martech_bus.gateway.expiry import DEFAULT_INTERVAL
from martech_bus.gateway.ingest import DEFAULT_MAX_BODY_BYTES


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """The numeric settings of one gateway process."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    expiry_warn_interval: float = DEFAULT_INTERVAL

    @classmethod
    def resolve(
        cls,
        *,
        max_body_bytes: int | None = None,
        expiry_warn_interval: float | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> GatewaySettings:
        size = _number("gateway_max_body_bytes", max_body_bytes, DEFAULT_MAX_BODY_BYTES, environ)
        if size != int(size) or size < 1:
            raise ConfigError(
                f"MARTECH_BUS_GATEWAY_MAX_BODY_BYTES must be a whole number >= 1, got {size:g}"
            )
        interval = _number(
            "gateway_expiry_warn_interval", expiry_warn_interval, DEFAULT_INTERVAL, environ
        )
        if interval <= 0:
            raise ConfigError(
                f"MARTECH_BUS_GATEWAY_EXPIRY_WARN_INTERVAL must be > 0 seconds, got {interval:g}"
            )
        return cls(int(size), interval)


def _number(
    name: str, explicit: float | None, default: float, environ: Mapping[str, str] | None
) -> float:
    raw = setting(name, None if explicit is None else str(explicit), str(default), environ=environ)
    try:
        value = float(raw or "")
    except ValueError:
        raise ConfigError(f"MARTECH_BUS_{name.upper()} must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise ConfigError(f"MARTECH_BUS_{name.upper()} must be finite, got {raw!r}")
    return value


__all__ = ["GatewaySettings"]
