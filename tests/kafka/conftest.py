"""Kafka fixtures: the session broker (external, testcontainers or embedded tansu), topic names."""

from __future__ import annotations

import re
import uuid

import pytest


@pytest.fixture
def topic(request: pytest.FixtureRequest) -> str:
    """A topic name no other test uses (the session broker is shared)."""
    stem = re.sub(r"[^a-zA-Z0-9._-]", "-", request.node.name)[:60]
    return f"{stem}-{uuid.uuid4().hex[:8]}"
