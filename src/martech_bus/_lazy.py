"""Lazy public names: a package lists where each name lives; the module loads on first use.

Keeps ``import martech_bus`` (and its subpackages) cheap in a Lambda cold start.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` resolving ``names`` (name -> module) on first access."""

    def resolve(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return resolve
