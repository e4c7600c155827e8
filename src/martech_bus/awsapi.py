"""botocore errors -> martech-bus store errors, for every AWS-backed store (DynamoDB, SQS).

botocore is never imported here: an exception can only be a botocore one if
botocore is already loaded, so the classes are looked up in ``sys.modules``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from martech_bus.errors import MartechBusError, TerminalError, TransientError

INSTALL_HINT: Final = "pip install 'martech-bus[aws]'"

#: ClientError codes worth retrying (throttling and service-side trouble).
TRANSIENT_CODES: Final = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "RequestTimeout",
        "RequestThrottled",
        "TransactionInProgressException",
        "KMS.ThrottlingException",
    }
)


class StoreError(MartechBusError):
    """A storage backend (SQLite, DynamoDB, SQS, a file) failed."""


class TransientStoreError(StoreError, TransientError):
    """The backend is unreachable, throttling, or failing on its side: try again later."""


class TerminalStoreError(StoreError, TerminalError):
    """The backend refuses the request (missing table or queue, no permission, bad input)."""


def translate_boto_error(exc: BaseException, what: str) -> BaseException:
    """The store error for a botocore exception about ``what``; any other exception unchanged."""
    boto = sys.modules.get("botocore.exceptions")
    if boto is None:
        return exc
    if isinstance(exc, boto.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        message = f"{what}: {code or 'error'}: {error.get('Message', '')}".rstrip(": ")
        transient = code in TRANSIENT_CODES or status >= 500
        return (TransientStoreError if transient else TerminalStoreError)(message)
    if isinstance(exc, boto.ConnectionError | boto.HTTPClientError):
        return TransientStoreError(f"{what}: {exc}")
    if isinstance(exc, boto.BotoCoreError):  # no credentials, no region, invalid parameters
        return TerminalStoreError(f"{what}: {exc}")
    return exc


@contextmanager
def boto_errors(what: str) -> Iterator[None]:
    """Re-raise botocore exceptions raised in the block as store errors about ``what``."""
    try:
        yield
    except Exception as exc:
        translated = translate_boto_error(exc, what)
        if translated is exc:
            raise
        raise translated from exc


def default_client(service: str) -> Any:
    """A boto3 client from the environment's configuration (imports boto3 on first use)."""
    try:
        import boto3
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"the {service} backend needs boto3: {INSTALL_HINT}") from exc
    return boto3.client(service)
