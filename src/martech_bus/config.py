"""Settings: an explicit argument wins over a ``MARTECH_BUS_*`` variable, which wins over a default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENV_PREFIX = "MARTECH_BUS_"


def setting(
    name: str,
    explicit: str | None = None,
    default: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """Resolve one setting: ``explicit`` > ``MARTECH_BUS_<NAME>`` > ``default``."""
    if explicit is not None:
        return explicit
    env = os.environ if environ is None else environ
    value = env.get(ENV_PREFIX + name.upper())
    if value is not None and value != "":
        return value
    return default


@dataclass(frozen=True, slots=True)
class Paths:
    """Where the embedded defaults live: the catalogue, the adapters, and local state."""

    schemas_dir: Path
    adapters_dir: Path
    data_dir: Path

    @classmethod
    def resolve(
        cls,
        *,
        schemas_dir: str | Path | None = None,
        adapters_dir: str | Path | None = None,
        data_dir: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Paths:
        def pick(name: str, explicit: str | Path | None, default: str) -> Path:
            value = setting(
                name, None if explicit is None else str(explicit), default, environ=environ
            )
            assert value is not None  # a default is always given
            return Path(value)

        return cls(
            schemas_dir=pick("schemas_dir", schemas_dir, "schemas"),
            adapters_dir=pick("adapters_dir", adapters_dir, "adapters"),
            data_dir=pick("data_dir", data_dir, ".martech-bus"),
        )
