"""Choose a backend from one setting: ``kind`` or ``kind:where``.

Every store has an embedded default that needs no server and a production twin
chosen by configuration (explicit argument > ``MARTECH_BUS_*`` > default):

| setting | forms |
|---|---|
| ``MARTECH_BUS_DLQ`` | ``sqlite`` (default), ``sqlite:PATH``, ``jsonl[:PATH]``, ``memory``, ``sqs:QUEUE_URL`` |
| ``MARTECH_BUS_IDEMPOTENCY`` | ``sqlite`` (default), ``sqlite:PATH``, ``memory``, ``dynamodb:TABLE`` |
| ``MARTECH_BUS_BUFFER`` | ``sqlite`` (default), ``sqlite:PATH``, ``memory``, ``sqs:QUEUE_URL`` (see ``martech_bus.buffer``) |
| ``MARTECH_BUS_FLAGS`` | ``yaml`` (default, ``flags.yaml``), ``yaml:PATH``, ``env``, ``memory``, ``ssm:/PREFIX`` (see ``martech_bus.routing``) |

Files default to ``MARTECH_BUS_DATA_DIR`` (``./.martech-bus/``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from martech_bus.config import setting
from martech_bus.errors import ConfigError

if TYPE_CHECKING:
    from martech_bus.idempotency.base import IdempotencyStore
    from martech_bus.sinks.dlq import DeadLetterStore


def choose_backend(name: str, value: str, kinds: dict[str, Callable[[str | None], Any]]) -> Any:
    """Build the backend ``value`` (``kind[:where]``) names; ``name`` is the setting, for errors."""
    kind, _, where = value.partition(":")
    build = kinds.get(kind)
    if build is None:
        known = ", ".join(sorted(kinds))
        raise ConfigError(
            f"MARTECH_BUS_{name.upper()}={value!r}: unknown backend {kind!r} (known: {known})"
        )
    return build(where or None)


def backend_location(kind: str, where: str | None) -> str:
    """``where``, or a ConfigError saying the ``kind`` backend needs one."""
    if not where:
        raise ConfigError(f"the {kind} backend needs a location, e.g. {kind}:NAME")
    return where


def dead_letter_store(spec: str | None = None, *, client: Any = None) -> DeadLetterStore:
    """The dead-letter store the setting ``MARTECH_BUS_DLQ`` names (default: SQLite)."""

    def sqlite(where: str | None) -> DeadLetterStore:
        from martech_bus.sinks.dlq_sqlite import SqliteDeadLetterStore

        return SqliteDeadLetterStore(where)

    def jsonl(where: str | None) -> DeadLetterStore:
        from martech_bus.sinks.dlq_jsonl import JsonlDeadLetterStore

        return JsonlDeadLetterStore(where)

    def memory(_: str | None) -> DeadLetterStore:
        from martech_bus.sinks.dlq_memory import MemoryDeadLetterStore

        return MemoryDeadLetterStore()

    def sqs(where: str | None) -> DeadLetterStore:
        from martech_bus.sinks.dlq_sqs import SqsDeadLetterStore

        return SqsDeadLetterStore(backend_location("sqs", where), client=client)

    value = setting("dlq", spec, "sqlite") or "sqlite"
    store: DeadLetterStore = choose_backend(
        "dlq", value, {"sqlite": sqlite, "jsonl": jsonl, "memory": memory, "sqs": sqs}
    )
    return store


def idempotency_store(spec: str | None = None, *, client: Any = None) -> IdempotencyStore:
    """The idempotency store the setting ``MARTECH_BUS_IDEMPOTENCY`` names (default: SQLite)."""

    def sqlite(where: str | None) -> IdempotencyStore:
        from martech_bus.idempotency.sqlite import SqliteIdempotencyStore

        return SqliteIdempotencyStore(where)

    def memory(_: str | None) -> IdempotencyStore:
        from martech_bus.idempotency.memory import MemoryIdempotencyStore

        return MemoryIdempotencyStore()

    def dynamodb(where: str | None) -> IdempotencyStore:
        from martech_bus.idempotency.dynamodb import DynamoDbIdempotencyStore

        return DynamoDbIdempotencyStore(backend_location("dynamodb", where), client=client)

    value = setting("idempotency", spec, "sqlite") or "sqlite"
    store: IdempotencyStore = choose_backend(
        "idempotency", value, {"sqlite": sqlite, "memory": memory, "dynamodb": dynamodb}
    )
    return store
