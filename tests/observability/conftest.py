"""Fixtures for observability tests: a clean logging state and the catalogue.

The gateway's and the connector's fixtures are borrowed from their conftest files:
the tests here send events through those entry points (metrics, the log sweep).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from martech_bus.observability.logs import KNOWN_SECRETS, PACKAGE_LOGGER, THIRD_PARTY_LOGGERS
from martech_bus.schema.registry import SchemaRegistry
from tests.connector.conftest import bus, make_httpserver, offline, vendor, world  # noqa: F401
from tests.connector.test_connector_logic import frames  # noqa: F401
from tests.connector.test_processes import processes  # noqa: F401
from tests.gateway.conftest import fake, make_gateway, memory_buffer, secrets, sources  # noqa: F401

State = dict[str, tuple[int, bool, list[logging.Handler], list[Any]]]


@pytest.fixture(scope="session")
def registry(schemas_dir: Path) -> SchemaRegistry:
    return SchemaRegistry.load(schemas_dir)


def _logging_state() -> State:
    state: State = {}
    for name in ("", PACKAGE_LOGGER, *THIRD_PARTY_LOGGERS):
        logger = logging.getLogger(name or None)
        state[name] = (logger.level, logger.propagate, list(logger.handlers), list(logger.filters))
    return state


def _restore(state: State) -> None:
    for name, (level, propagate, handlers, filters) in state.items():
        logger = logging.getLogger(name or None)
        logger.setLevel(level)
        logger.propagate = propagate
        logger.handlers[:] = handlers
        logger.filters[:] = filters


@pytest.fixture
def clean_logging() -> Iterator[None]:
    """Whatever a test configures is undone afterwards, remembered secrets included."""
    state = _logging_state()
    yield
    _restore(state)
    KNOWN_SECRETS.clear()


@pytest.fixture(scope="module")
def module_logging() -> Iterator[None]:
    """The same, for a module that configures logging once."""
    state = _logging_state()
    yield
    _restore(state)
    KNOWN_SECRETS.clear()
