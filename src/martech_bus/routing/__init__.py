"""Migration flags: per integration a route mode (direct, dual, shadow, bus), sticky
percentage rollouts between modes, route decisions, and flag stores with an audit trail.

``flag_store()`` opens the store ``MARTECH_BUS_FLAGS`` names (default: ``flags.yaml``);
``store.decide(vendor, event)`` is the per-event call. Names load lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from martech_bus._lazy import lazy_getattr

if TYPE_CHECKING:
    from martech_bus.routing.audit import AuditEntry, AuditLog, JsonlAuditLog, MemoryAuditLog
    from martech_bus.routing.decision import RouteDecision, decide
    from martech_bus.routing.flags import Flag, Setting, nag, parse_setting
    from martech_bus.routing.modes import RouteMode, parse_mode
    from martech_bus.routing.rollout import bucket, in_rollout, routing_key
    from martech_bus.routing.store import (
        KEEP,
        FlagConflictError,
        FlagStore,
        ReadOnlyFlagStoreError,
        flag_store,
    )
    from martech_bus.routing.store_env import EnvFlagStore
    from martech_bus.routing.store_memory import MemoryFlagStore
    from martech_bus.routing.store_ssm import SsmFlagStore
    from martech_bus.routing.store_yaml import YamlFlagStore

_LAZY = {
    "AuditEntry": "martech_bus.routing.audit",
    "AuditLog": "martech_bus.routing.audit",
    "JsonlAuditLog": "martech_bus.routing.audit",
    "MemoryAuditLog": "martech_bus.routing.audit",
    "RouteDecision": "martech_bus.routing.decision",
    "decide": "martech_bus.routing.decision",
    "Flag": "martech_bus.routing.flags",
    "Setting": "martech_bus.routing.flags",
    "nag": "martech_bus.routing.flags",
    "parse_setting": "martech_bus.routing.flags",
    "RouteMode": "martech_bus.routing.modes",
    "parse_mode": "martech_bus.routing.modes",
    "bucket": "martech_bus.routing.rollout",
    "in_rollout": "martech_bus.routing.rollout",
    "routing_key": "martech_bus.routing.rollout",
    "KEEP": "martech_bus.routing.store",
    "FlagConflictError": "martech_bus.routing.store",
    "FlagStore": "martech_bus.routing.store",
    "ReadOnlyFlagStoreError": "martech_bus.routing.store",
    "flag_store": "martech_bus.routing.store",
    "EnvFlagStore": "martech_bus.routing.store_env",
    "MemoryFlagStore": "martech_bus.routing.store_memory",
    "SsmFlagStore": "martech_bus.routing.store_ssm",
    "YamlFlagStore": "martech_bus.routing.store_yaml",
}

__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = [
    "KEEP",
    "AuditEntry",
    "AuditLog",
    "EnvFlagStore",
    "Flag",
    "FlagConflictError",
    "FlagStore",
    "JsonlAuditLog",
    "MemoryAuditLog",
    "MemoryFlagStore",
    "ReadOnlyFlagStoreError",
    "RouteDecision",
    "RouteMode",
    "Setting",
    "SsmFlagStore",
    "YamlFlagStore",
    "bucket",
    "decide",
    "flag_store",
    "in_rollout",
    "nag",
    "parse_mode",
    "parse_setting",
    "routing_key",
]
