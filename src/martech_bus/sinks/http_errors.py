"""httpx exceptions translated into transient or terminal delivery errors: the one table.

Every exception class httpx exports is listed (a test walks httpx's hierarchy),
so a new httpx version cannot add a failure mode that slips through unclassified.
Lookup follows the exception's MRO, so an unlisted subclass still gets its parent's kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from martech_bus.errors import DeliveryError, TerminalDeliveryError, TransientDeliveryError
from martech_bus.sinks._httpx import httpx

TRANSIENT = TransientDeliveryError
TERMINAL = TerminalDeliveryError

HTTPX_ERRORS: Mapping[type[Exception], type[DeliveryError]] = MappingProxyType(
    {
        # The vendor never got the request, or its answer was lost: sending again is
        # the fix, and idempotency keys make a duplicate harmless.
        httpx.HTTPError: TERMINAL,  # only reached by an unknown direct subclass: do not retry blind
        httpx.RequestError: TRANSIENT,
        httpx.TransportError: TRANSIENT,
        httpx.TimeoutException: TRANSIENT,
        httpx.ConnectTimeout: TRANSIENT,
        httpx.ReadTimeout: TRANSIENT,
        httpx.WriteTimeout: TRANSIENT,
        httpx.PoolTimeout: TRANSIENT,
        httpx.NetworkError: TRANSIENT,
        httpx.ConnectError: TRANSIENT,
        httpx.ReadError: TRANSIENT,
        httpx.WriteError: TRANSIENT,
        httpx.CloseError: TRANSIENT,
        httpx.ProxyError: TRANSIENT,
        httpx.ProtocolError: TRANSIENT,
        httpx.RemoteProtocolError: TRANSIENT,  # the server dropped the connection mid-exchange
        httpx.DecodingError: TRANSIENT,  # a garbled (e.g. truncated gzip) body from a proxy or vendor
        # Our request or our configuration is wrong: every retry fails the same way.
        httpx.LocalProtocolError: TERMINAL,  # we built an invalid request (e.g. a bad header value)
        httpx.UnsupportedProtocol: TERMINAL,  # the URL's scheme is not http(s)
        httpx.TooManyRedirects: TERMINAL,
        httpx.InvalidURL: TERMINAL,
        httpx.CookieConflict: TERMINAL,
        # Raised only by raise_for_status(), which the sink never calls: statuses are
        # judged by RetryPolicy.retry_statuses instead.
        httpx.HTTPStatusError: TERMINAL,
        # Misuse of a streamed body: a bug on our side, not the vendor's.
        httpx.StreamError: TERMINAL,
        httpx.StreamConsumed: TERMINAL,
        httpx.StreamClosed: TERMINAL,
        httpx.ResponseNotRead: TERMINAL,
        httpx.RequestNotRead: TERMINAL,
    }
)

TRANSLATED: tuple[type[Exception], ...] = tuple(HTTPX_ERRORS)
"""What the sink catches around ``client.send``: exactly the table's classes."""


def translate(error: Exception, redact: Callable[[str], str] = str) -> DeliveryError:
    """The delivery error for an httpx exception; ``redact`` scrubs secrets out of its message."""
    for cls in type(error).__mro__:
        kind = HTTPX_ERRORS.get(cls)
        if kind is not None:
            return kind(redact(f"{type(error).__name__}: {error}"))
    raise TypeError(f"not an httpx error: {type(error).__name__}") from error


__all__ = ["HTTPX_ERRORS", "TRANSLATED", "translate"]
