"""``MARTECH_BUS_SHADOW``: ``sqlite`` (default), ``sqlite:PATH`` or ``memory``."""

from __future__ import annotations

from martech_bus.backends import choose_backend
from martech_bus.config import setting
from martech_bus.shadow.store import MemoryShadowStore, ShadowStore


def shadow_store(spec: str | None = None) -> ShadowStore:
    """The shadow store ``spec`` (else ``MARTECH_BUS_SHADOW``, else SQLite) names."""

    def sqlite(where: str | None) -> ShadowStore:
        from martech_bus.shadow.sqlite import SqliteShadowStore

        return SqliteShadowStore(where)

    def memory(_: str | None) -> ShadowStore:
        return MemoryShadowStore()

    value = setting("shadow", spec, "sqlite") or "sqlite"
    store: ShadowStore = choose_backend("shadow", value, {"sqlite": sqlite, "memory": memory})
    return store


__all__ = ["shadow_store"]
