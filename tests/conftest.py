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


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """Undo what ``configure_logging`` (called by handlers under test) does to global loggers.

    Its redacting filter on the package logger rewrites records before ``caplog`` sees
    them, so a test that ran it must not change what later tests observe.
    """
    import logging

    from martech_bus.observability.logs import PACKAGE_LOGGER, THIRD_PARTY_LOGGERS

    names = (PACKAGE_LOGGER, *THIRD_PARTY_LOGGERS)
    root = logging.getLogger()
    saved_root = (list(root.handlers), list(root.filters), root.level)
    saved = {
        name: (list(logging.getLogger(name).filters), logging.getLogger(name).level)
        for name in names
    }
    yield
    handlers, filters, level = saved_root
    root.handlers[:] = handlers
    root.filters[:] = filters
    root.setLevel(level)
    for name, (kept, was) in saved.items():
        logger = logging.getLogger(name)
        logger.filters[:] = kept
        logger.setLevel(was)
