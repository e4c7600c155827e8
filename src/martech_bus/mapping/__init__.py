"""The YAML mapping language: one canonical event -> one vendor payload.

``load_compiled(path)`` is the usual entry point. Names load lazily so importing
the package costs nothing; PyYAML is imported only when a file is parsed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from martech_bus._lazy import lazy_getattr

if TYPE_CHECKING:
    from martech_bus.mapping.compiler import CompiledMapping, compile_mapping
    from martech_bus.mapping.parser import (
        load_compiled,
        load_mapping,
        parse_mapping,
        spec_from_dict,
    )
    from martech_bus.mapping.registry import TransformDef, TransformRegistry
    from martech_bus.mapping.spec import InputPath, MappingSpec
    from martech_bus.mapping.transforms import REGISTRY, new_registry, transform
    from martech_bus.mapping.values import UNDEFINED

_LAZY = {
    "CompiledMapping": "martech_bus.mapping.compiler",
    "compile_mapping": "martech_bus.mapping.compiler",
    "load_compiled": "martech_bus.mapping.parser",
    "load_mapping": "martech_bus.mapping.parser",
    "parse_mapping": "martech_bus.mapping.parser",
    "spec_from_dict": "martech_bus.mapping.parser",
    "TransformDef": "martech_bus.mapping.registry",
    "TransformRegistry": "martech_bus.mapping.registry",
    "InputPath": "martech_bus.mapping.spec",
    "MappingSpec": "martech_bus.mapping.spec",
    "REGISTRY": "martech_bus.mapping.transforms",
    "new_registry": "martech_bus.mapping.transforms",
    "transform": "martech_bus.mapping.transforms",
    "UNDEFINED": "martech_bus.mapping.values",
}


__getattr__ = lazy_getattr(__name__, _LAZY)


__all__ = [
    "REGISTRY",
    "UNDEFINED",
    "CompiledMapping",
    "InputPath",
    "MappingSpec",
    "TransformDef",
    "TransformRegistry",
    "compile_mapping",
    "load_compiled",
    "load_mapping",
    "new_registry",
    "parse_mapping",
    "spec_from_dict",
    "transform",
]
