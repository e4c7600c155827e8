"""``martech-bus dev ...``: local development helpers (a Kafka-compatible broker, for now)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import typer

from martech_bus.cli.output import EXIT_CHECK_FAILED, console, err_console

app = typer.Typer(
    help="Local development helpers: run a Kafka-compatible broker on 127.0.0.1.",
    no_args_is_help=True,
)

DEFAULT_PORT = 9092


@app.callback()
def _dev() -> None:
    """Local development helpers: run a Kafka-compatible broker on 127.0.0.1."""
    # A callback keeps `dev` a command group even with one command, so `dev broker` parses.


def _connect_help(bootstrap: str, log_path: Path) -> str:
    return f"""\
Kafka-compatible broker (tansu, in memory) listening on {bootstrap}

Point martech-bus at it:
  export MARTECH_BUS_KAFKA_BOOTSTRAP={bootstrap}
Watch a topic:
  martech-bus bus tail <topic>
From Python (any Kafka client works, e.g. confluent-kafka or kafka-python; kcat does not):
  from confluent_kafka import Producer
  producer = Producer({{"bootstrap.servers": "{bootstrap}"}})
  producer.produce("events", b"hello"); producer.flush(10)

Everything lives in memory: stopping the broker loses every topic and record.
Broker log: {log_path}
Press Ctrl-C to stop."""


@app.command("broker")
def broker(
    port: int = typer.Option(
        DEFAULT_PORT,
        "--port",
        "-p",
        min=0,
        max=65535,
        help="Port on 127.0.0.1 (0: any free port).",
    ),
    log_file: Path | None = typer.Option(
        None,
        "--log-file",
        help="Write the broker's own output here (default: a temporary file, removed on exit).",
        show_default=False,
    ),
) -> None:
    """Run the embedded Kafka-compatible broker (tansu) in the foreground until Ctrl-C."""
    from martech_bus.testing.kafka import EmbeddedBroker

    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    # Handlers before the broker starts, so a signal during startup still ends in a clean stop.
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    embedded = EmbeddedBroker(port, log_path=log_file)
    clean = False
    try:
        embedded.start()
        console.print(_connect_help(embedded.bootstrap, embedded.log_path), markup=False)
        console.file.flush()  # a pipe is block-buffered; whoever reads it waits for this line
        # Polling keeps the main thread responsive to signals and notices a crashed broker.
        while not stopping.wait(0.2):
            if not embedded.running:
                err_console.print(
                    f"error: the broker stopped unexpectedly; its log ({embedded.log_path}):\n"
                    f"{embedded.log_tail()}",
                    markup=False,
                )
                raise typer.Exit(EXIT_CHECK_FAILED)
        console.print("stopping the broker", markup=False)
        clean = True
    finally:
        # After a failure the log stays behind: the error message points at it.
        if clean:
            embedded.close()
        else:
            embedded.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
