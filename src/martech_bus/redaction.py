"""Keep secrets out of what outlives a request: DLQ records, and later log lines.

The HTTP sink should never hand on a secret, but a dead letter is kept for days
and shown to people, so this runs again as a last line of defence: sensitive
headers are dropped; sensitive query parameters, JSON body keys and bearer
tokens inside text are masked (so the shape of the request stays readable).
Names are compared case-insensitively, with ``_`` and ``-`` treated alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK: Final = "***"  # the marker martech_bus.secrets and the HTTP sink use
#: Exact names (headers, query parameters, body keys) that carry secrets.
SENSITIVE_NAMES: Final = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "apikey",
        "key",
        "sig",
        "x-amz-security-token",
        "x-shopify-hmac-sha256",
        "stripe-signature",
        "client-secret",
        "password",
    }
)
#: Any name containing one of these carries a secret too (x-auth-token, access_token, ...).
SENSITIVE_PARTS: Final = (
    "secret",
    "token",
    "password",
    "passwd",
    "signature",
    "api-key",
    "apikey",
    "authorization",
    "authentication",
    "credential",
    "private-key",
    "cookie",
)
EXCERPT_LIMIT: Final = 4096
# "Bearer <token>" in any case; "Basic <base64>" capitalised, so "basic validation" stays.
_CREDENTIAL_SCHEMES: Final = re.compile(r"\b((?i:bearer)|Basic)(\s+)[A-Za-z0-9._~+/=-]{6,}")
_QUERY_PARAM: Final = re.compile(r"([?&;])([^=&;#\s\"']+)=([^&;#\s\"']*)")
# "x-api-key: abc", "'client_secret': 'abc'", "token=abc" inside free text.
_NAMED_SECRET: Final = re.compile(
    r"(?i)\b([\w-]*(?:authorization|token|secret|password|api[-_]?key|signature)[\w-]*)"
    r"([\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic|token)\s+)?)([^\s\"'&,;}]+)"
)


def is_sensitive(name: str) -> bool:
    """True when a header, parameter or key called ``name`` may carry a secret."""
    normal = name.strip().lower().replace("_", "-")
    return normal in SENSITIVE_NAMES or any(part in normal for part in SENSITIVE_PARTS)


def headers(value: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> dict[str, str]:
    """Headers without the sensitive ones; repeated names joined with ``, ``."""
    pairs = value.items() if isinstance(value, Mapping) else (value or ())
    kept: dict[str, str] = {}
    for name, item in pairs:
        if is_sensitive(str(name)):
            continue
        text = text_of(item)
        kept[str(name)] = f"{kept[str(name)]}, {text}" if str(name) in kept else text
    return kept


def url(value: str) -> str:
    """``value`` with sensitive query parameters masked and any user:password removed."""
    try:
        parts = urlsplit(value)
    except ValueError:  # not a URL after all (a bad IPv6 literal, say): treat it as text
        return text(value)
    netloc = parts.netloc.rpartition("@")[2]
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = parts.query
    if any(is_sensitive(k) for k, _ in pairs):  # else keep the query exactly as sent
        query = urlencode([(k, MASK if is_sensitive(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def text(value: str) -> str:
    """Free text (an error message) with bearer tokens and sensitive query parameters masked."""
    value = _NAMED_SECRET.sub(lambda m: f"{m[1]}{m[2]}{MASK}", value)
    value = _CREDENTIAL_SCHEMES.sub(lambda m: f"{m[1]}{m[2]}{MASK}", value)
    return _QUERY_PARAM.sub(lambda m: f"{m[1]}{m[2]}={MASK}" if is_sensitive(m[2]) else m[0], value)


def data(value: Any) -> Any:
    """JSON-like data with the values of sensitive keys masked, at any depth."""
    if isinstance(value, Mapping):
        return {str(k): MASK if is_sensitive(str(k)) else data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [data(item) for item in value]
    return value


def body(value: Any) -> Any:
    """A body with sensitive JSON keys masked; text that parses as JSON is masked too."""
    if isinstance(value, bytes | bytearray | memoryview):
        value = bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return text(value)
        if not isinstance(parsed, dict | list):
            return value
        return json.dumps(data(parsed), ensure_ascii=False, default=str)
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(data(value), ensure_ascii=False, default=str)
    return None if value is None else text_of(value)


def excerpt(value: str | None, limit: int = EXCERPT_LIMIT) -> str | None:
    """The first ``limit`` characters of ``value``, saying how much was cut."""
    if value is None or len(value) <= limit:
        return value
    return f"{value[:limit]}... [{len(value) - limit} more characters]"


def exchange(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A request, a response or other detail as safe JSON data (headers, body, url handled apart)."""
    if value is None:
        return None
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key == "headers":
            out[key] = headers(item)
        elif key == "body":
            out[key] = body(item)
        elif key == "url":
            out[key] = url(text_of(item))
        elif is_sensitive(key):
            out[key] = MASK
        elif item is None or isinstance(item, bool | int | float):
            out[key] = item
        else:
            out[key] = text(text_of(item))
    return out


def text_of(value: Any) -> str:
    """``value`` as text: bytes decoded as UTF-8, anything else through ``str``."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)
