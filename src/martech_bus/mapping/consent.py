"""Consent gating: may this event go to a vendor that needs these purposes?

An event carries ``consent: {purpose: bool}``. A purpose is granted only by an
explicit ``true``; ``false`` (or any other value) denies it, and an absent (or
null) purpose is *missing*, which counts as denied unless the adapter declares
``missing: allow``. Pure and stdlib-only: it runs once per event and vendor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_NO_CONSENT: Mapping[str, Any] = {}


def consent_block_reason(
    event: Mapping[str, Any], purposes: Sequence[str], *, missing_allowed: bool = False
) -> str | None:
    """None when every purpose is granted; else why not (``"consent denied: marketing"``).

    Denied purposes are named before missing ones, each in the order given:
    ``"consent denied: ads; consent missing: analytics"``.
    """
    if not purposes:
        return None
    given = event.get("consent")
    if not isinstance(given, Mapping):
        given = _NO_CONSENT
    denied: list[str] = []
    missing: list[str] = []
    for purpose in purposes:
        value = given.get(purpose)
        if value is True:
            continue
        if value is None:
            if not missing_allowed:
                missing.append(purpose)
        else:  # false, and anything that is not a clear yes ("true", 1) is not consent
            denied.append(purpose)
    reasons = []
    if denied:
        reasons.append("consent denied: " + ", ".join(denied))
    if missing:
        reasons.append("consent missing: " + ", ".join(missing))
    return "; ".join(reasons) or None
