"""``martech-bus gateway ...``: serve the buffered gateway; list and replay its quarantine."""

from __future__ import annotations

import gc
import logging
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from martech_bus.cli.options import (
    AdaptersOption,
    FlagsOption,
    QuarantineOption,
    SchemasOption,
    SourcesOption,
)
from martech_bus.cli.output import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, console, show_error
from martech_bus.errors import MartechBusError

if TYPE_CHECKING:
    from martech_bus.gateway.quarantine import QuarantinedItem

app = typer.Typer(
    help="The buffered gateway: accept events and vendor webhooks, buffer them durably, drain them.",
    no_args_is_help=True,
)
quarantine_app = typer.Typer(
    help="Payloads that did not normalize: list them, replay them after a fix.",
    no_args_is_help=True,
)
app.add_typer(quarantine_app, name="quarantine")

logger = logging.getLogger("martech_bus.gateway")

BufferOption = typer.Option(
    None,
    "--buffer",
    metavar="SETTING",
    help="Buffer: sqlite[:PATH], memory or sqs:URL (default: $MARTECH_BUS_BUFFER, else sqlite).",
)


@app.command("serve")
def serve(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on; other than loopback only with tokens."
    ),
    port: int = typer.Option(8080, "--port", help="Port to listen on."),
    sources: Path | None = SourcesOption,
    buffer: str | None = BufferOption,
    adapter: list[str] = typer.Option(
        [],
        "--adapter",
        help="Also drain the buffer in this process, delivering to this adapter (repeat for several).",
    ),
    quarantine: str | None = QuarantineOption,
    schemas: Path | None = SchemasOption,
    adapters_dir: Path | None = AdaptersOption,
    max_body_bytes: int | None = typer.Option(
        None,
        "--max-body-bytes",
        help="Request body limit (default: $MARTECH_BUS_GATEWAY_MAX_BODY_BYTES, else 1 MiB).",
    ),
    flags: str | None = FlagsOption,
    bootstrap: str | None = typer.Option(
        None,
        "--bootstrap",
        help="Kafka for integrations in dual, shadow or bus mode (default: $MARTECH_BUS_KAFKA_BOOTSTRAP).",
    ),
    access_log: bool = typer.Option(False, "--access-log", help="Log every request."),
    log_level: str = typer.Option("INFO", "--log-level", help="Log level (JSON lines on stderr)."),
) -> None:
    """Serve POST /v1/events and POST /v1/sources/<source> with uvicorn (202 = durably buffered).

    Bearer tokens come from MARTECH_BUS_GATEWAY_TOKENS (comma-separated). Without
    them the gateway runs in development mode: it listens on a loopback address
    only and takes events from this machine only.
    """
    try:
        import uvicorn

        from martech_bus.gateway.app import create_app
    except ImportError as exc:
        raise typer.BadParameter(
            "the gateway needs its extra: pip install 'martech-bus[gateway]'"
        ) from exc
    from martech_bus.buffer.select import buffer_store
    from martech_bus.gateway.auth import BearerAuth, check_binding
    from martech_bus.gateway.expiry import ExpiryMonitor
    from martech_bus.gateway.ingest import Gateway
    from martech_bus.gateway.metrics import gateway_metrics
    from martech_bus.gateway.settings import GatewaySettings
    from martech_bus.gateway.sources import find_sources
    from martech_bus.observability.logs import configure_logging

    auth = BearerAuth.from_setting()
    development = check_binding(host, auth)  # refuses a public address without tokens
    settings = GatewaySettings.resolve(max_body_bytes=max_body_bytes)
    found = find_sources(sources)
    configure_logging(log_level.upper())
    if development:
        logger.warning(development)
    metrics = gateway_metrics()
    expiry = ExpiryMonitor(found.values(), interval=settings.expiry_warn_interval, metrics=metrics)
    expiry.start()
    store = buffer_store(buffer)
    stop = threading.Event()
    drainer_thread: threading.Thread | None = None
    runtime = None
    extra = []
    if adapter:
        from martech_bus.gateway.drainer import Drainer
        from martech_bus.gateway.normalizer import Normalizer
        from martech_bus.gateway.quarantine import quarantine_store
        from martech_bus.integration import Runtime
        from martech_bus.pipeline import RetryLater

        runtime = Runtime(
            schemas_dir=schemas,
            adapters_dir=adapters_dir,
            flags_setting=flags,
            kafka_bootstrap=bootstrap,
        )
        # The request was answered long ago: a vendor delivery that exhausts its retries is
        # dead-lettered (replayable), not left to loop in the buffer. A publish to the bus
        # that fails is different: the broker comes back, so the record stays buffered.
        pipeline = runtime.pipeline(
            adapter, retry_later=RetryLater.DEAD_LETTER, bus_retry_later=RetryLater.REPORT
        )
        drainer = Drainer(
            store,
            Normalizer(found, runtime.registry),
            pipeline.process,
            quarantine_store(quarantine),
            metrics=metrics,
            expiry=expiry,
        )
        from martech_bus.gateway.metrics import watch_stores

        # DLQ size/age per adapter and quarantine size per source, measured at each scrape.
        watch_stores(
            metrics,
            dead_letters=runtime.dead_letters,
            integrations=[runtime.adapter(name).name for name in adapter],
            quarantine=drainer.quarantine,
            sources=found,
        )
        extra.append(runtime.metrics)
        drainer_thread = threading.Thread(
            target=drainer.run, args=(stop,), name="martech-bus-drainer", daemon=True
        )
    from martech_bus.observability import otel

    otel.enable([metrics, *extra])  # only when MARTECH_BUS_OTEL is set
    gateway = Gateway(
        store,
        found,
        auth=auth,
        max_body_bytes=settings.max_body_bytes,
        metrics=metrics,
        extra_metrics=extra,
        expiry=expiry,
        local_only=True,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(gateway),
            host=host,
            port=port,
            log_config=None,  # our JSON logging, redaction included
            access_log=access_log,
            lifespan="off",
        )
    )
    logger.info(
        "gateway on http://%s:%d: %d source(s) (%s), %s",
        host,
        port,
        len(found),
        ", ".join(found) or "none",
        f"draining to {', '.join(adapter)}" if adapter else "not draining (no --adapter)",
    )
    if drainer_thread is not None:
        drainer_thread.start()
    # Everything loaded so far lives as long as the process: keep it out of the GC's full
    # collections, which otherwise walk it on every pass (9-15 ms pauses in the ack path).
    gc.collect()
    gc.freeze()
    try:
        server.run()
    finally:
        stop.set()
        if drainer_thread is not None:
            drainer_thread.join(timeout=30)
        if runtime is not None:
            runtime.close()
        store.close()


@quarantine_app.command("list")
def list_items(
    source: str | None = typer.Option(None, "--source", help="Only this source's items."),
    limit: int | None = typer.Option(None, "--limit", help="At most this many, oldest first."),
    quarantine: str | None = QuarantineOption,
) -> None:
    """List quarantined payloads, oldest first, with why they did not normalize."""
    from martech_bus.gateway.quarantine import quarantine_store

    items = quarantine_store(quarantine).list(source=source, limit=limit)
    table = Table(title=f"{len(items)} quarantined item{'s' * (len(items) != 1)}")
    for column in ("id", "source", "received", "attempts", "reason"):
        table.add_column(column, no_wrap=column != "reason")
    for item in items:
        table.add_row(
            item.id, item.source, _when(item.received_at), str(item.attempts), _reason(item)
        )
    console.print(table)


@quarantine_app.command("replay")
def replay(
    source: str | None = typer.Option(None, "--source", help="Only this source's items."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Normalize again and report, but buffer and remove nothing."
    ),
    sources: Path | None = SourcesOption,
    buffer: str | None = BufferOption,
    quarantine: str | None = QuarantineOption,
    schemas: Path | None = SchemasOption,
) -> None:
    """Normalize quarantined payloads again (after a mapping fix); buffer what now works.

    Exit 1 when any item still fails (it stays quarantined with its new reason).
    """
    from martech_bus.buffer.select import buffer_store
    from martech_bus.config import Paths
    from martech_bus.gateway.normalizer import Normalizer
    from martech_bus.gateway.quarantine import quarantine_store
    from martech_bus.gateway.replay import ReplayVerdict, replay_quarantine
    from martech_bus.gateway.sources import find_sources
    from martech_bus.schema.registry import SchemaRegistry

    normalizer = Normalizer(
        find_sources(sources), SchemaRegistry.load(Paths.resolve(schemas_dir=schemas).schemas_dir)
    )
    store = quarantine_store(quarantine)
    with buffer_store(buffer) as target:
        report = replay_quarantine(store, normalizer, target, source=source, dry_run=dry_run)
    for done in report.items:
        if done.verdict is ReplayVerdict.FAILED or done.reason:
            console.print(
                f"  {done.verdict.value:<12} {done.item.id} {done.reason or ''}", markup=False
            )
    failed = report.count(ReplayVerdict.FAILED)
    events = sum(done.events for done in report.items)
    if dry_run:
        console.print(
            f"would replay {report.count(ReplayVerdict.WOULD_REPLAY)} ({events} events), "
            f"would skip {report.count(ReplayVerdict.SKIPPED)}, still failing {failed}"
        )
    else:
        console.print(
            f"replayed {report.count(ReplayVerdict.REPLAYED)} ({events} events buffered), "
            f"skipped {report.count(ReplayVerdict.SKIPPED)}, still failing {failed}"
        )
    if failed:
        raise typer.Exit(EXIT_CHECK_FAILED)


def _when(epoch: float) -> str:
    from martech_bus.gateway.normalizer import iso_millis

    return iso_millis(epoch)


def _reason(item: QuarantinedItem) -> str:
    if not item.problems:
        return item.reason
    return item.reason + "".join(f"\n  - {problem}" for problem in item.problems)


def main(argv: list[str] | None = None) -> int:
    """``python -m martech_bus.gateway ...``: the gateway commands with the CLI's exit codes."""
    from typer.exceptions import Exit, TyperException

    try:
        result = app(args=argv, prog_name="martech-bus gateway", standalone_mode=False)
    except Exit as exc:
        return exc.exit_code
    except TyperException as exc:
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        return exc.exit_code
    except MartechBusError as exc:
        show_error(exc)
        return EXIT_BAD_INPUT
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
