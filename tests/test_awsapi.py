"""botocore errors become store errors marked transient or terminal."""

from __future__ import annotations

import inspect
import subprocess
import sys
from typing import cast

import botocore.exceptions as boto
import pytest

from martech_bus.awsapi import (
    TRANSIENT_CODES,
    TerminalStoreError,
    TransientStoreError,
    boto_errors,
    translate_boto_error,
)
from martech_bus.errors import MartechBusError, TerminalError, TransientError


def client_error(code: str, status: int = 400) -> boto.ClientError:
    response = {
        "Error": {"Code": code, "Message": "nope"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return boto.ClientError(response, "PutItem")


@pytest.mark.parametrize("code", sorted(TRANSIENT_CODES))
def test_throttling_and_service_trouble_are_transient(code: str) -> None:
    assert isinstance(translate_boto_error(client_error(code), "t"), TransientStoreError)


def test_a_5xx_status_is_transient_whatever_the_code() -> None:
    assert isinstance(translate_boto_error(client_error("Weird", 503), "t"), TransientError)


@pytest.mark.parametrize(
    "code", ["ResourceNotFoundException", "AccessDeniedException", "ValidationException"]
)
def test_refusals_are_terminal_and_name_what_they_are_about(code: str) -> None:
    error = translate_boto_error(client_error(code), "DynamoDB table 'x'")
    assert isinstance(error, TerminalStoreError) and isinstance(error, TerminalError)
    assert str(error) == f"DynamoDB table 'x': {code}: nope"


def test_every_connection_and_http_client_error_is_transient() -> None:
    """The table is complete: botocore's whole network-failure family is covered by its bases."""
    network = [
        cls
        for _, cls in inspect.getmembers(boto, inspect.isclass)
        if issubclass(cls, boto.ConnectionError | boto.HTTPClientError)
    ]
    assert len(network) >= 8
    for cls in network:
        exc = cast(BaseException, cls.__new__(cls))
        Exception.__init__(exc, "down")  # skip botocore's keyword-only message formatting
        assert isinstance(translate_boto_error(exc, "t"), TransientStoreError), cls


def test_other_botocore_errors_are_terminal_and_the_rest_pass_through() -> None:
    assert isinstance(translate_boto_error(boto.NoRegionError(), "t"), TerminalStoreError)
    plain = KeyError("x")
    assert translate_boto_error(plain, "t") is plain
    with pytest.raises(KeyError), boto_errors("t"):
        raise plain
    with pytest.raises(MartechBusError) as info, boto_errors("t"):
        raise client_error("ThrottlingException")
    assert isinstance(info.value.__cause__, boto.ClientError)


def test_the_aws_backends_do_not_import_boto3_until_they_need_a_client() -> None:
    probe = (
        "import sys, martech_bus.idempotency.dynamodb, martech_bus.sinks.dlq_sqs, "
        "martech_bus.idempotency, martech_bus.sinks.dlq; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore'}))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
