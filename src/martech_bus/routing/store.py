"""Flag stores: one API over a YAML file, environment variables, SSM and memory.

The base class owns the logic: a read cache with a TTL (so the hot path does not
hit SSM per event), flips with an optimistic version check, the audit trail,
rollback and expiry nags. A backend implements three hooks: ``_read``,
``_read_all`` and (unless read-only) ``_write``.

``flag_store(spec)`` picks a backend from ``MARTECH_BUS_FLAGS``:

| value | store |
|---|---|
| ``yaml`` (default), ``yaml:PATH`` | :class:`~martech_bus.routing.store_yaml.YamlFlagStore` (``flags.yaml``) |
| ``env`` | :class:`~martech_bus.routing.store_env.EnvFlagStore` (read-only) |
| ``ssm:/PREFIX`` | :class:`~martech_bus.routing.store_ssm.SsmFlagStore` |
| ``memory`` | :class:`~martech_bus.routing.store_memory.MemoryFlagStore` |

``MARTECH_BUS_FLAGS_TTL`` sets the cache TTL in seconds (default 30).
"""

from __future__ import annotations

import builtins
import logging
import os
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Final, TypedDict

from martech_bus.config import setting
from martech_bus.errors import ConfigError, TerminalError
from martech_bus.routing.audit import ROLLBACK, SET, AuditEntry, AuditLog, JsonlAuditLog
from martech_bus.routing.decision import RouteDecision, decide
from martech_bus.routing.flags import Flag, Setting, check_integration, is_integration, nag

#: Seconds since the epoch, like ``time.time``.
Clock = Callable[[], float]

DEFAULT_TTL: Final = 30.0
DEFAULT_FILE: Final = "flags.yaml"

_log = logging.getLogger("martech_bus.routing")


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


#: For ``set``'s ``owner`` / ``expires_on``: leave the stored value as it is.
KEEP: Final = _Keep()


class StoreOptions(TypedDict, total=False):
    """Keyword arguments every flag store accepts."""

    ttl: float | None  # cache TTL in seconds (None: MARTECH_BUS_FLAGS_TTL, else 30)
    clock: Clock
    audit: AuditLog | None  # None: the store's default audit log


class FlagConflictError(TerminalError):
    """A flip refused because the flag changed since it was read (a concurrent flip)."""


class ReadOnlyFlagStoreError(ConfigError):
    """A flip on a store that cannot be written (environment variables)."""


def current_user() -> str:
    """Who is flipping when ``--who`` is not given: ``$USER``, else the login name."""
    user = os.environ.get("USER")
    if user:
        return user
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # no login name (some containers): still record the flip
        return "unknown"


class FlagStore(ABC):
    """Migration flags per integration; see the module docstring."""

    #: Stores that cannot be flipped (``_write`` is not implemented).
    read_only: ClassVar[bool] = False

    def __init__(
        self,
        *,
        ttl: float | None = None,
        clock: Clock = time.time,
        audit: AuditLog | None = None,
    ) -> None:
        self.ttl = _ttl(ttl)
        self.clock = clock
        self.audit = self._default_audit() if audit is None else audit
        self._cache: dict[str, tuple[float, Flag | None]] = {}
        self._nagged: set[str] = set()

    #: How the store is named in messages and audit entries, e.g. ``yaml:flags.yaml``.
    name: str = "flags"

    # -- reading ---------------------------------------------------------------------------

    def get(self, integration: str) -> Flag | None:
        """``integration``'s flag (None: it has none), from the cache while it is fresh."""
        now = self.clock()
        hit = self._cache.get(integration)
        if hit is not None and now < hit[0]:
            return hit[1]
        flag = self._read(integration)
        self._cache[integration] = (now + self.ttl, flag)
        if flag is not None:
            self._nag_once(flag)
        return flag

    def flag_for(self, vendor: str, source: str | None = None) -> Flag | None:
        """The flag that routes ``source``'s events to ``vendor``: ``source:vendor``, else ``vendor``."""
        if source and is_integration(f"{source}:{vendor}"):
            specific = self.get(f"{source}:{vendor}")
            if specific is not None:
                return specific
        return self.get(vendor)

    def decide(self, vendor: str, event: Mapping[str, Any]) -> RouteDecision:
        """The route decision for ``event`` to ``vendor`` (its ``source`` picks a per-source flag)."""
        source = event.get("source")
        return decide(self.flag_for(vendor, source if isinstance(source, str) else None), event)

    def list(self) -> list[Flag]:
        """Every flag, sorted by integration, read from the backend (and cached)."""
        flags = sorted(self._read_all(), key=lambda flag: flag.integration)
        until = self.clock() + self.ttl
        for flag in flags:
            self._cache[flag.integration] = (until, flag)
        return flags

    def invalidate(self, integration: str | None = None) -> None:
        """Forget cached reads (one integration's, or all)."""
        if integration is None:
            self._cache.clear()
        else:
            self._cache.pop(integration, None)

    def today(self) -> date:
        """The clock's date (UTC): what expiry is judged against."""
        return datetime.fromtimestamp(self.clock(), UTC).date()

    def nag(self, today: date | None = None) -> builtins.list[str]:
        """Warnings for expired flags and transitional ones without an end date."""
        return nag(self.list(), today or self.today())

    def history(self, integration: str, limit: int | None = None) -> builtins.list[AuditEntry]:
        """``integration``'s recorded flips, newest first."""
        entries = self.audit.entries(integration)[::-1]
        return entries if limit is None else entries[:limit]

    # -- flipping --------------------------------------------------------------------------

    def set(
        self,
        integration: str,
        new: Setting,
        *,
        reason: str,
        who: str | None = None,
        owner: str | _Keep | None = KEEP,
        expires_on: date | _Keep | None = KEEP,
        expected_version: int | None = None,
    ) -> Flag:
        """Flip ``integration`` to ``new`` and record who, when and why.

        ``expected_version`` (0: the flag must not exist yet) refuses the flip with
        FlagConflictError when someone changed the flag since it was read; the
        backend checks the version it replaces in any case, so two concurrent flips
        never both win. ``owner`` and ``expires_on`` stay as stored unless given.
        """
        return self._flip(
            integration,
            new,
            reason=reason,
            who=who,
            owner=owner,
            expires_on=expires_on,
            expected_version=expected_version,
        )

    def rollback(
        self, integration: str, *, reason: str | None = None, who: str | None = None
    ) -> Flag:
        """Restore the setting before the last flip not yet rolled back; recorded as a flip.

        Rollbacks stack: a second rollback undoes the flip before that, not the
        first rollback. It is refused when the flag no longer holds what the audit
        trail says was set (changed by hand), or when the flip created the flag.
        """
        self._check_writable()
        target = _last_undoable(self.audit.entries(integration))
        if target is None:
            raise ConfigError(
                f"{integration}: no recorded flip to roll back in {self.audit_name()}"
            )
        current = self._read(integration)
        if current is None or current.setting != target.after:
            now = "no flag" if current is None else current.setting.compact()
            raise ConfigError(
                f"{integration}: the flag is {now}, but the last recorded flip set "
                f"{target.after.compact()}; it was changed outside `flag set`, so set it explicitly"
            )
        if target.before is None:
            raise ConfigError(
                f"{integration}: the last recorded flip created the flag; there is no earlier "
                "setting to restore (set one explicitly; an integration without a flag routes direct)"
            )
        return self._flip(
            integration,
            target.before,
            reason=reason
            or f"rollback of {target.after.compact()} (set by {target.who} at {target.at:%Y-%m-%d %H:%M})",
            who=who,
            owner=KEEP,
            expires_on=KEEP,
            expected_version=current.version,
            action=ROLLBACK,
            undoes=target.id,
        )

    def _flip(
        self,
        integration: str,
        new: Setting,
        *,
        reason: str,
        who: str | None,
        owner: str | _Keep | None,
        expires_on: date | _Keep | None,
        expected_version: int | None,
        action: str = SET,
        undoes: str | None = None,
    ) -> Flag:
        self._check_writable()
        check_integration(integration)
        if not reason or not reason.strip():
            raise ConfigError(f"{integration}: a flip needs a reason (the audit trail keeps it)")
        current = self._read(integration)
        found = 0 if current is None else current.version
        if expected_version is not None and expected_version != found:
            raise FlagConflictError(
                f"{integration}: the flag is at version {found}, not {expected_version}: "
                "someone flipped it meanwhile; look again and retry"
            )
        flag = Flag(
            integration,
            new,
            expires_on=(current.expires_on if current else None)
            if isinstance(expires_on, _Keep)
            else expires_on,
            owner=(current.owner if current else None) if isinstance(owner, _Keep) else owner,
            reason=reason.strip(),
            version=found,
        )
        saved = self._write(flag, found)
        self._cache[integration] = (self.clock() + self.ttl, saved)
        self.audit.record(
            AuditEntry(
                id=uuid.uuid4().hex[:12],
                at=datetime.fromtimestamp(self.clock(), UTC),
                integration=integration,
                who=who or current_user(),
                action=action,
                before=None if current is None else current.setting,
                after=new,
                reason=reason.strip(),
                version=saved.version,
                undoes=undoes,
            )
        )
        return saved

    # -- hooks -----------------------------------------------------------------------------

    @abstractmethod
    def _read(self, integration: str) -> Flag | None:
        """The stored flag, or None."""

    @abstractmethod
    def _read_all(self) -> builtins.list[Flag]:
        """Every stored flag."""

    def _write(self, flag: Flag, expected_version: int) -> Flag:
        """Store ``flag`` if the stored version is still ``expected_version`` (0: absent).

        Returns the flag with its new version; raises FlagConflictError when the
        stored version moved on. The check and the write must be atomic, or as
        close as the backend allows.
        """
        raise ReadOnlyFlagStoreError(f"the {self.name} flag store is read-only")

    def _default_audit(self) -> AuditLog:
        return JsonlAuditLog()

    # -- helpers ---------------------------------------------------------------------------

    def _check_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyFlagStoreError(
                f"the {self.name} flag store is read-only; flip flags in a yaml or ssm store"
            )

    def audit_name(self) -> str:
        """Where the audit trail is, for messages."""
        path = getattr(self.audit, "path", None)
        return f"the audit log {path}" if path is not None else "the audit log"

    def _nag_once(self, flag: Flag) -> None:
        """Log an expiry nag once per integration and store, when the flag is first read."""
        if flag.integration in self._nagged:
            return
        warnings = flag.warnings(self.today())
        if warnings:
            self._nagged.add(flag.integration)
            for warning in warnings:
                _log.warning("migration flag: %s", warning)


def _last_undoable(entries: builtins.list[AuditEntry]) -> AuditEntry | None:
    """The newest ``set`` not undone by a later rollback (rollbacks themselves are not undone)."""
    undone: set[str] = set()
    for entry in reversed(entries):
        if entry.action == ROLLBACK:
            if entry.undoes is not None:
                undone.add(entry.undoes)
            continue
        if entry.id not in undone:
            return entry
    return None


def _ttl(explicit: float | None) -> float:
    if explicit is not None:
        value: float = explicit
    else:
        raw = setting("flags_ttl", None, str(DEFAULT_TTL)) or ""
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(
                f"MARTECH_BUS_FLAGS_TTL must be a number of seconds, got {raw!r}"
            ) from None
    if not value >= 0:
        raise ConfigError(f"the flag cache TTL must be 0 or more seconds, got {value}")
    return value


def flag_store(
    spec: str | None = None,
    *,
    client: Any = None,
    clock: Clock = time.time,
    ttl: float | None = None,
    audit: AuditLog | None = None,
    environ: Mapping[str, str] | None = None,
) -> FlagStore:
    """The flag store ``spec`` (else ``MARTECH_BUS_FLAGS``, else ``yaml``) names."""
    value = setting("flags", spec, "yaml", environ=environ) or "yaml"
    kind, _, where = value.partition(":")
    options: StoreOptions = {"clock": clock, "ttl": ttl, "audit": audit}
    if kind == "yaml":
        from martech_bus.routing.store_yaml import YamlFlagStore

        # The default file may be absent (everything routes direct); a named one must exist.
        return YamlFlagStore(where or DEFAULT_FILE, missing_ok=not where, **options)
    if kind == "env":
        from martech_bus.routing.store_env import EnvFlagStore

        return EnvFlagStore(environ=environ, **options)
    if kind == "ssm":
        from martech_bus.routing.store_ssm import SsmFlagStore

        if not where:
            raise ConfigError(
                "the ssm flag store needs a parameter prefix, e.g. ssm:/martech-bus/flags"
            )
        return SsmFlagStore(where, client=client, **options)
    if kind == "memory":
        from martech_bus.routing.store_memory import MemoryFlagStore

        return MemoryFlagStore(**options)
    raise ConfigError(
        f"MARTECH_BUS_FLAGS={value!r}: unknown flag store {kind!r} (known: env, memory, ssm, yaml)"
    )


__all__ = [
    "DEFAULT_TTL",
    "KEEP",
    "Clock",
    "FlagConflictError",
    "FlagStore",
    "ReadOnlyFlagStoreError",
    "StoreOptions",
    "current_user",
    "flag_store",
]
