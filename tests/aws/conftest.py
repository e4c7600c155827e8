"""Fixtures for the Lambda entry point tests."""

from __future__ import annotations

import pytest

from tests.aws.fakes import Harness


@pytest.fixture
def lam() -> Harness:
    """The entry point around a scripted pipeline; call it with a Lambda event."""
    return Harness()
