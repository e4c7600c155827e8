"""Which log keys carry personal data, and how personal data is found in free text.

Keys: the catalogue tags PII fields (``"pii": "email"`` on a field of
``schemas/*/v*.avsc``); ``PiiFields.from_registry`` collects them once, on top of
a built-in list that also protects processes started without a registry. A
generic name (``id``, ``name``), or one that is PII in one record and not in
another, only counts under the same parent key (``device.id``), so a dead
letter's ``id`` stays readable while ``context.device.id`` does not.

``user_id`` and ``anonymous_id`` are masked too: the catalogue tags them, a
pseudonymous id is still personal data (GDPR recital 26), and ``event_id`` is
the key that correlates log lines. Pass ``keep=("user_id",)`` to decide otherwise.

Free text: e-mail addresses (also URL-encoded, ``%40``) become ``[email]``,
phone-number-like strings ``[phone]``, and ``key=value`` / ``"key": "value"``
pairs whose key is a PII key ``[<kind>]``. The phone pattern wants a leading
``+``, a trunk ``0`` or a grouped national format, so timestamps, dates, UUIDs,
IP addresses and bare ids are left alone (an unformatted 11-digit number is too).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from martech_bus.schema.registry import SchemaRegistry

#: PII keys known without a catalogue: the envelope's, and common spellings in extras.
DEFAULT_PII_NAMES: Final[Mapping[str, str]] = {
    "email": "email",
    "email_address": "email",
    "phone": "phone",
    "phone_number": "phone",
    "mobile": "phone",
    "first_name": "name",
    "last_name": "name",
    "full_name": "name",
    "ip": "ip",
    "ip_address": "ip",
    "user_id": "user_id",
    "anonymous_id": "device_id",
    "city": "address",
    "street": "address",
    "postal_code": "address",
    "date_of_birth": "birthdate",
}
DEFAULT_PII_PARENTS: Final[Mapping[tuple[str, str], str]] = {("device", "id"): "device_id"}
#: Names too common to mask everywhere: PII only under the parent the catalogue names.
GENERIC_NAMES: Final = frozenset({"id", "name", "value", "key", "type", "number"})

EMAIL: Final = re.compile(
    r"[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}"
)
PHONE: Final = re.compile(
    # International, also URL-encoded (%2B): +1 415 555 0100, +44 (0)20 7946 0958.
    r"(?:(?<![\w+])(?:\+|%2[Bb])\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}"
    # National formats, not the tail of a word, number, path, time or parameter.
    r"|(?<![\w+/.=:-])(?:"
    r"\(\d{2,5}\) ?\d{3,4}[ .-]?\d{3,4}"  # (415) 555-0100
    r"|\d{3}([.-])\d{3}\1\d{4}"  # 415-555-0100, 415.555.0100
    r"|\d{3} \d{3} \d{4}"  # 415 555 0100
    r"|0\d{2,4}[ -]?\d{3,4}[ -]?\d{3,4}"  # trunk 0: 020 7946 0958, 07700900123
    r"))"
    r"(?![\w-]|\.\d)"
)
PHONE_DIGITS: Final = range(7, 16)  # E.164 allows at most 15 digits
# `first_name=Jane`, `"email": "jane@example.com"`, `'last_name': 'Doe'` inside text; the
# key alternatives come from the PII names. A value that is already a marker is left alone.
KEYED_TEMPLATE: Final = (
    r"(?<![\w-])(?P<key>@NAMES@)(?P<sep>[\"']?\s*[:=]\s*)"
    r"(?:(?P<q>[\"'])(?P<quoted>[^\"'\n]*)(?P=q)|(?P<bare>(?!\[\w+\])[^\s\"'&,;})\]]+))"
)


def normal(key: str) -> str:
    """Keys compare case-insensitively with ``-`` and ``_`` alike (as ``redaction`` does)."""
    return key.strip().lower().replace("-", "_")


@dataclass(frozen=True)
class PiiFields:
    """PII keys: anywhere by name, or only under a given parent key; each with its kind."""

    by_name: Mapping[str, str]
    by_parent: Mapping[tuple[str, str], str]

    @classmethod
    def default(cls, *, keep: Iterable[str] = ()) -> PiiFields:
        """The built-in keys only (no catalogue)."""
        kept = frozenset(keep)
        return cls(
            {k: v for k, v in DEFAULT_PII_NAMES.items() if v not in kept},
            {k: v for k, v in DEFAULT_PII_PARENTS.items() if v not in kept},
        )

    @classmethod
    def from_registry(cls, registry: SchemaRegistry, *, keep: Iterable[str] = ()) -> PiiFields:
        """The built-in keys plus every PII-tagged field of every schema version."""
        kept = frozenset(keep)
        tagged: list[tuple[str | None, str, str]] = []
        untagged: set[str] = set()
        for entry in registry:
            for parent, name, kind in _fields(entry.schema):
                if kind is None:
                    untagged.add(normal(name))
                elif kind not in kept:
                    tagged.append((None if parent is None else normal(parent), normal(name), kind))
        base = cls.default(keep=kept)
        by_name = dict(base.by_name)
        by_parent = dict(base.by_parent)
        for parent, name, kind in tagged:
            if name in GENERIC_NAMES or name in untagged:
                if parent is not None:
                    by_parent.setdefault((parent, name), kind)
            else:
                by_name.setdefault(name, kind)
        return cls(by_name, by_parent)

    def kind(self, key: str, parent: str | None = None) -> str | None:
        """The PII kind of a value under ``key`` (inside ``parent``), or None."""
        name = normal(key)
        found = self.by_name.get(name)
        if found is None and parent is not None:
            found = self.by_parent.get((normal(parent), name))
        return found

    @cached_property
    def _keyed_pattern(self) -> re.Pattern[str]:
        names = sorted(self.by_name, key=len, reverse=True)  # longest first: email_address
        alternatives = "|".join(re.escape(name).replace("_", "[-_]") for name in names)
        return re.compile(KEYED_TEMPLATE.replace("@NAMES@", alternatives or "(?!)"), re.IGNORECASE)

    def text(self, value: str) -> str:
        """``value`` with keyed PII, e-mail addresses and phone numbers replaced by markers."""
        if "=" in value or ":" in value:
            value = self._keyed_pattern.sub(self._keyed, value)
        value = EMAIL.sub("[email]", value)
        return PHONE.sub(_phone, value)

    def _keyed(self, match: re.Match[str]) -> str:
        kind = self.kind(match["key"]) or "pii"
        quote = match["q"] or ""
        return f"{match['key']}{match['sep']}{quote}[{kind}]{quote}"


def _phone(match: re.Match[str]) -> str:
    digits = sum(char.isdigit() for char in match[0])
    return "[phone]" if digits in PHONE_DIGITS else match[0]


def _fields(schema: Any) -> Iterator[tuple[str | None, str, str | None]]:
    """(parent field, field, pii kind or None) for every record field, named types followed."""
    named: dict[str, Any] = {}
    seen: set[tuple[str | None, str]] = set()

    def walk(node: Any, parent: str | None) -> Iterator[tuple[str | None, str, str | None]]:
        if isinstance(node, list):
            for branch in node:
                yield from walk(branch, parent)
        elif isinstance(node, str):
            record = named.get(node) or named.get(node.rpartition(".")[2])
            if record is not None:
                yield from walk(record, parent)
        elif isinstance(node, dict):
            kind = node.get("type")
            if kind == "record":
                name = str(node.get("name", ""))
                named.setdefault(name, node)
                named.setdefault(name.rpartition(".")[2], node)
                if (parent, name) in seen:  # a recursive type
                    return
                seen.add((parent, name))
                for field in node.get("fields", ()):
                    pii = field.get("pii")
                    yield parent, str(field["name"]), None if pii is None else str(pii)
                    yield from walk(field.get("type"), str(field["name"]))
            elif kind == "array":
                yield from walk(node.get("items"), parent)
            elif kind == "map":
                yield from walk(node.get("values"), parent)
            elif isinstance(kind, dict | list):
                yield from walk(kind, parent)

    yield from walk(schema, None)


__all__ = ["DEFAULT_PII_NAMES", "EMAIL", "GENERIC_NAMES", "PHONE", "PiiFields"]
