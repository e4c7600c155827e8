"""The package-level runtime of generated models: lazy names and ``model_for``.

A generated package (``martech_bus.events``) only lists where each of its names
lives and which class models each subject version; ``ModelIndex`` turns those
tables into the package's ``__getattr__``, ``__dir__`` and ``model_for``.

This module does not import pydantic: importing a generated package loads no model
module (and no pydantic) until one of its names is used.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from martech_bus._lazy import lazy_getattr
from martech_bus.errors import UnknownSchemaError

if TYPE_CHECKING:
    from martech_bus.schema.models import EventModel


class ModelIndex:
    """Where each name of a generated package lives, and the model of each subject version.

    ``namespace`` is the package's ``globals()``; ``names`` maps a name to its module,
    absolute or relative to the package (``.order_completed``); ``models`` maps
    ``(subject, version)`` to the name of its model class.
    """

    def __init__(
        self,
        namespace: MutableMapping[str, Any],
        names: Mapping[str, str],
        models: Mapping[tuple[str, int], str],
    ) -> None:
        package: str = namespace["__name__"]
        modules = {
            name: f"{package}{module}" if module.startswith(".") else module
            for name, module in names.items()
        }
        self._namespace = namespace
        self._models = models
        self._resolve = lazy_getattr(package, modules)

    def getattr(self, name: str) -> Any:
        """The package's ``__getattr__``: imports the name's module on first use, keeps the value."""
        value = self._resolve(name)
        self._namespace[name] = value
        return value

    def dir(self) -> list[str]:
        """The package's ``__dir__``: its public names."""
        return sorted(self._namespace["__all__"])

    def model_for(self, subject: str, version: int) -> type[EventModel]:
        """The model class of one subject version (imports only that subject's module)."""
        name = self._models.get((subject, version))
        if name is None:
            known = ", ".join(f"{s} v{v}" for s, v in self._models)
            raise UnknownSchemaError(
                f"no generated model for {subject} v{version} (known: {known})"
            )
        model: type[EventModel] = self.getattr(name)
        return model


__all__ = ["ModelIndex"]
