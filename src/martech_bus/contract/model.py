"""What a contract check is and what it says: one named check, one result."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from martech_bus.errors import MartechBusError


class CheckFailed(Exception):  # noqa: N818 - reads as what happened: raise CheckFailed(...)
    """Raised by a check body: the check failed, and ``message`` says why (a diff, a list)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdict of one check: ``message`` explains a failure (or notes something on a pass)."""

    id: str
    subject: str
    passed: bool
    message: str = ""
    kind: str = ""
    group: str = ""
    path: Path | None = None
    duration: float = 0.0


@dataclass(frozen=True, slots=True)
class Check:
    """One named check, planned but not yet run.

    ``id`` is stable and unique (``adapter/meta_capi/fixture/order_completed_full``) and
    ``name`` is its part within the group (``fixture/order_completed_full``); ``group``
    is the folder it belongs to as shown to people (``adapters/meta_capi``), ``folder``
    that folder and ``path`` the file or folder it is about. ``body`` returns a note
    on success and raises ``CheckFailed`` (or any ``MartechBusError``) on failure.
    """

    id: str
    name: str
    kind: str
    subject: str
    group: str
    folder: Path
    path: Path
    body: Callable[[], str]

    def run(self, *, catch_all: bool = True) -> CheckResult:
        """Run the body; with ``catch_all`` an unexpected exception is a failure, not a crash.

        The pytest plugin passes ``catch_all=False`` so a bug shows its traceback.
        """
        started = time.perf_counter()
        try:
            note = self.body()
        except CheckFailed as exc:
            return self._result(False, exc.message, started)
        except MartechBusError as exc:
            return self._result(False, str(exc), started)
        except Exception as exc:
            if not catch_all:
                raise
            return self._result(False, f"internal error: {type(exc).__name__}: {exc}", started)
        return self._result(True, note, started)

    def _result(self, passed: bool, message: str, started: float) -> CheckResult:
        return CheckResult(
            id=self.id,
            subject=self.subject,
            passed=passed,
            message=message,
            kind=self.kind,
            group=self.group,
            path=self.path,
            duration=time.perf_counter() - started,
        )


__all__ = ["Check", "CheckFailed", "CheckResult"]
