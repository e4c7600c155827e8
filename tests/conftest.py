"""Shared test fixtures: where the repository's catalogue lives.

``aws_endpoint``, ``kafka_broker`` and ``kafka_bootstrap`` come from martech-bus's own
pytest plugin (``martech_bus.testing.plugin``), as they do in users' repositories.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from martech_bus.testing.aws import AwsEndpoint

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def schemas_dir() -> Path:
    return REPO_ROOT / "schemas"


@pytest.fixture
def aws(aws_endpoint: AwsEndpoint) -> Iterator[AwsEndpoint]:
    """The local AWS endpoint, emptied after the test."""
    yield aws_endpoint
    aws_endpoint.reset()
