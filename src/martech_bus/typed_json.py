"""Datum form <-> JSON without losing types: Decimal, datetime, date, time and bytes survive.

The JSON value stays what the event validator accepts (decimal strings, ISO 8601
timestamps with their offset), so a replay can re-validate it against whatever
schema is current; beside it, a map from JSON Pointer (RFC 6901) to a type tag
restores the exact datum form without needing the schema.
"""

from __future__ import annotations

import base64
import math
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Final

_RESTORE: Final[dict[str, Callable[[Any], Any]]] = {
    "decimal": Decimal,
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "time": time.fromisoformat,
    "bytes": lambda text: base64.b64decode(text, validate=True),
    "uuid": uuid.UUID,
}


def dump(value: Any) -> tuple[Any, dict[str, str]]:
    """``value`` as plain JSON data, and the type tags needed to restore it."""
    tags: dict[str, str] = {}
    return _dump(value, "", tags), tags


def load(data: Any, tags: Mapping[str, str]) -> Any:
    """Undo ``dump``: ``data`` (changed in place) with every tagged position restored."""
    for pointer, tag in tags.items():
        restore = _RESTORE.get(tag)
        if restore is None:
            raise ValueError(f"unknown type tag {tag!r} at {pointer or '/'}")
        if pointer == "":
            return restore(data)
        *parents, last = [_unescape(part) for part in pointer.split("/")[1:]]
        node = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = restore(node[int(last)])
        else:
            node[last] = restore(node[last])
    return data


def _dump(value: Any, pointer: str, tags: dict[str, str]) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} at {pointer or '/'} has no JSON form")
        return value
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"a {type(key).__name__} key at {pointer or '/'} has no JSON form")
            out[key] = _dump(item, f"{pointer}/{_escape(key)}", tags)
        return out
    if isinstance(value, list | tuple):
        return [_dump(item, f"{pointer}/{i}", tags) for i, item in enumerate(value)]
    tag, text = _tagged(value, pointer)
    tags[pointer] = tag
    return text


def _tagged(value: Any, pointer: str) -> tuple[str, str]:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} at {pointer or '/'} has no JSON form")
        return "decimal", str(value)  # str keeps the exponent, so the scale survives
    if isinstance(value, datetime):  # before date: a datetime is a date
        return "datetime", value.isoformat()
    if isinstance(value, date):
        return "date", value.isoformat()
    if isinstance(value, time):
        return "time", value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return "bytes", base64.b64encode(value).decode("ascii")
    if isinstance(value, uuid.UUID):
        return "uuid", str(value)
    raise TypeError(f"a {type(value).__name__} value at {pointer or '/'} has no JSON form")


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")
