"""Transport failures (timeouts, dropped and refused connections) and the httpx translation table."""

from __future__ import annotations

import threading

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from martech_bus.errors import TerminalDeliveryError, TransientDeliveryError
from martech_bus.retry import RetryPolicy
from martech_bus.sinks.base import OutcomeKind
from martech_bus.sinks.http_errors import HTTPX_ERRORS, translate
from martech_bus.testing.aws import free_port
from tests.delivery.conftest import MakeSink
from tests.delivery.helpers import delivery


def httpx_error_classes() -> set[type[Exception]]:
    """Every exception class httpx defines: each export and HTTPError, with all their subclasses."""
    exported = (getattr(httpx, name) for name in httpx.__all__)
    pending = [e for e in exported if isinstance(e, type) and issubclass(e, Exception)]
    found: set[type[Exception]] = set()
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending.extend(cls.__subclasses__())
    return found


def class_name(cls: type[Exception]) -> str:
    return cls.__name__


HTTPX_CLASSES: list[type[Exception]] = sorted(httpx_error_classes(), key=class_name)


@pytest.mark.parametrize("cls", HTTPX_CLASSES, ids=class_name)
def test_every_httpx_exception_class_is_in_the_translation_table(cls: type[Exception]) -> None:
    assert cls in HTTPX_ERRORS, f"httpx.{cls.__name__} is not classified as transient or terminal"


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (httpx.ConnectError("refused"), TransientDeliveryError),
        (httpx.ReadTimeout("timed out"), TransientDeliveryError),
        (httpx.RemoteProtocolError("Server disconnected"), TransientDeliveryError),
        (httpx.LocalProtocolError("bad header"), TerminalDeliveryError),
        (httpx.UnsupportedProtocol("ftp"), TerminalDeliveryError),
        (httpx.TooManyRedirects("loop"), TerminalDeliveryError),
    ],
)
def test_httpx_errors_translate_to_transient_or_terminal(
    error: Exception, kind: type[Exception]
) -> None:
    translated = translate(error)
    assert type(translated) is kind
    assert type(error).__name__ in str(translated)


def test_an_unlisted_subclass_takes_its_parents_kind() -> None:
    class NewTimeout(httpx.ReadTimeout):
        pass

    assert isinstance(translate(NewTimeout("later")), TransientDeliveryError)


def test_a_read_timeout_is_retried(
    httpserver: HTTPServer, make_sink: MakeSink, http_client: httpx.Client
) -> None:
    released = threading.Event()
    calls: list[int] = []

    def slow_then_fast(request: Request) -> Response:
        calls.append(1)
        if len(calls) == 1:
            released.wait(timeout=2)  # longer than the client's 0.2 s read timeout
        return Response('{"ok": true}', status=200, content_type="application/json")

    httpserver.expect_request("/events").respond_with_handler(slow_then_fast)
    with httpx.Client(timeout=httpx.Timeout(2.0, read=0.2)) as client:
        try:
            [outcome] = make_sink(client=client).deliver([delivery(1)])
        finally:
            released.set()
    assert (outcome.kind, outcome.attempts) == (OutcomeKind.DELIVERED, 2)


def test_a_timeout_on_every_attempt_leaves_the_event_for_later(
    httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    released = threading.Event()

    def never_in_time(request: Request) -> Response:
        released.wait(timeout=2)
        return Response("late")

    httpserver.expect_request("/events").respond_with_handler(never_in_time)
    with httpx.Client(timeout=httpx.Timeout(2.0, read=0.2)) as client:
        try:
            [outcome] = make_sink(client=client, policy=RetryPolicy(max_attempts=2)).deliver(
                [delivery(1)]
            )
        finally:
            released.set()
    assert (outcome.kind, outcome.attempts) == (OutcomeKind.RETRY_LATER, 2)
    assert outcome.detail["error"].startswith("ReadTimeout")
    assert outcome.detail["response"] is None


def test_a_dropped_connection_is_retried(
    dropping_server: tuple[str, list[int]], make_sink: MakeSink
) -> None:
    url, accepted = dropping_server
    [outcome] = make_sink(url=url, policy=RetryPolicy(max_attempts=3)).deliver([delivery(1)])
    assert (outcome.kind, outcome.attempts) == (OutcomeKind.RETRY_LATER, 3)
    assert outcome.detail["error"].startswith("RemoteProtocolError")
    assert len(accepted) == 3


def test_a_refused_connection_is_retried(make_sink: MakeSink) -> None:
    url = f"http://127.0.0.1:{free_port()}/events"
    [outcome] = make_sink(url=url, policy=RetryPolicy(max_attempts=2)).deliver([delivery(1)])
    assert (outcome.kind, outcome.attempts) == (OutcomeKind.RETRY_LATER, 2)
    assert outcome.detail["error"].startswith("ConnectError")
