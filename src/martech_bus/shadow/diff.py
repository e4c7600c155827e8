"""Field-level differences between two vendor payloads (JSON values).

Paths use the mapping language's notation: ``data[0].user_data.em``. Objects
are compared key by key, lists item by item; anything else by value, with one
allowance: an int and a float that are equal are the same number (JSON does not
tell 1 from 1.0, and neither does any vendor).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

Kind = Literal["changed", "missing_on_bus", "only_on_bus"]
_ABSENT: Final = object()


@dataclass(frozen=True, slots=True)
class FieldDifference:
    """One differing field: where, how, and both values (absent sides are None)."""

    path: str
    kind: Kind
    direct: Any = None
    bus: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "direct": self.direct, "bus": self.bus}


def diff_payloads(direct: Any, bus: Any, path: str = "") -> list[FieldDifference]:
    """Every leaf where ``bus`` differs from ``direct``, in document order."""
    out: list[FieldDifference] = []
    _diff(direct, bus, path, out)
    return out


def _diff(direct: Any, bus: Any, path: str, out: list[FieldDifference]) -> None:
    if isinstance(direct, Mapping) and isinstance(bus, Mapping):
        for key in [*direct, *(k for k in bus if k not in direct)]:
            child = f"{path}.{key}" if path else str(key)
            _diff(direct.get(key, _ABSENT), bus.get(key, _ABSENT), child, out)
        return
    if _is_list(direct) and _is_list(bus):
        for index in range(max(len(direct), len(bus))):
            left = direct[index] if index < len(direct) else _ABSENT
            right = bus[index] if index < len(bus) else _ABSENT
            _diff(left, right, f"{path}[{index}]", out)
        return
    if direct is _ABSENT:
        out.append(FieldDifference(path, "only_on_bus", None, bus))
    elif bus is _ABSENT:
        out.append(FieldDifference(path, "missing_on_bus", direct, None))
    elif not _same(direct, bus):
        out.append(FieldDifference(path, "changed", direct, bus))


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    return type(left) is type(right) and bool(left == right)


__all__ = ["FieldDifference", "Kind", "diff_payloads"]
