"""Shared test fixtures: where the repository's catalogue lives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from martech_bus.testing.aws import AwsEndpoint, moto_endpoint

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def schemas_dir() -> Path:
    return REPO_ROOT / "schemas"


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[AwsEndpoint]:
    """moto's server on 127.0.0.1 (SQS, DynamoDB, SSM, S3, Secrets Manager), shared by the session."""
    with moto_endpoint() as endpoint:
        yield endpoint


@pytest.fixture
def aws(aws_endpoint: AwsEndpoint) -> Iterator[AwsEndpoint]:
    """The local AWS endpoint, emptied after the test."""
    yield aws_endpoint
    aws_endpoint.reset()
