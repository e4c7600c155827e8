"""Environment-variable flag store (read-only): flags set in a deployment's environment.

One variable per integration, ``MARTECH_BUS_FLAG_<INTEGRATION>``: the integration
upper-cased, with ``:`` written ``__`` (``web:meta_capi`` ->
``MARTECH_BUS_FLAG_WEB__META_CAPI``). The value is a mode or a rollout in the
compact syntax::

    MARTECH_BUS_FLAG_BRAZE=bus                 # everyone on the bus
    MARTECH_BUS_FLAG_BRAZE=dual:bus:25         # 25 % of users moved from dual to bus
    MARTECH_BUS_FLAG_BRAZE=dual:bus:25:2024b   # the same with the salt "2024b"

These flags have no owner, reason, end date or history; their version is 1.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import ClassVar, Final, Unpack

from martech_bus.errors import Location
from martech_bus.routing.flags import Flag, check_integration, parse_setting
from martech_bus.routing.store import FlagStore, StoreOptions

PREFIX: Final = "MARTECH_BUS_FLAG_"


def variable_for(integration: str) -> str:
    """The environment variable that holds ``integration``'s flag."""
    return PREFIX + integration.upper().replace(":", "__")


def integration_for(variable: str) -> str:
    """The integration a ``MARTECH_BUS_FLAG_*`` variable names (the inverse of ``variable_for``)."""
    return variable.removeprefix(PREFIX).lower().replace("__", ":")


class EnvFlagStore(FlagStore):
    """Flags from ``MARTECH_BUS_FLAG_*`` variables of ``environ`` (default: ``os.environ``)."""

    read_only: ClassVar[bool] = True

    def __init__(
        self, *, environ: Mapping[str, str] | None = None, **options: Unpack[StoreOptions]
    ) -> None:
        super().__init__(**options)
        self.environ = os.environ if environ is None else environ
        self.name = "env"

    def _read(self, integration: str) -> Flag | None:
        variable = variable_for(integration)
        value = self.environ.get(variable)
        return None if not value else self._flag(integration, variable, value)

    def _read_all(self) -> list[Flag]:
        flags = []
        for variable, value in sorted(self.environ.items()):
            if not variable.startswith(PREFIX) or not value:
                continue
            integration = integration_for(variable)
            # Routing never lists, so a misspelt variable would otherwise go unnoticed for good.
            check_integration(integration, location=Location(path=variable))
            flags.append(self._flag(integration, variable, value))
        return flags

    @staticmethod
    def _flag(integration: str, variable: str, value: str) -> Flag:
        return Flag(integration, parse_setting(value, location=Location(path=variable)), version=1)
