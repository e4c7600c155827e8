"""Fixtures for the mapping language tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.mapping.helpers import order_event


@pytest.fixture
def event() -> dict[str, Any]:
    return order_event()
