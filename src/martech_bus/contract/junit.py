"""Contract results as JUnit XML, the report format every CI understands.

One ``<testsuite>`` per group (``schemas``, ``adapters/meta_capi``, ...), one
``<testcase>`` per check: ``classname`` is the group in dotted form and ``name`` the
check id, so GitLab, Jenkins and the GitHub test-report actions show
``adapters.meta_capi / adapter/meta_capi/fixture/order_completed_full``. A failure
carries its first line as ``message`` and the whole explanation (a diff) as text.
Only attributes the Jenkins JUnit XSD allows are written (no ``file``, as pytest's
``xunit2`` family), so strict validators accept the file too.
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from martech_bus.contract.model import CheckResult

#: Characters XML 1.0 cannot hold at all (ElementTree would write them and break the file).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
FAILURE_TYPE = "ContractCheckFailed"


def _text(value: str) -> str:
    return _NOT_XML.sub("?", value)


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def junit_xml(results: Sequence[CheckResult], *, name: str = "martech-bus contract") -> bytes:
    """The JUnit XML document for ``results`` (UTF-8, with an XML declaration)."""
    groups: dict[str, list[CheckResult]] = {}
    for result in results:
        groups.setdefault(result.group or "contract", []).append(result)
    failures = sum(not r.passed for r in results)
    root = ET.Element(
        "testsuites",
        name=name,
        tests=str(len(results)),
        failures=str(failures),
        errors="0",
        skipped="0",
        time=_seconds(sum(r.duration for r in results)),
    )
    stamp = datetime.now(UTC).replace(microsecond=0).isoformat()
    host = socket.gethostname()
    for group, members in groups.items():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=_text(group),
            tests=str(len(members)),
            failures=str(sum(not r.passed for r in members)),
            errors="0",
            skipped="0",
            time=_seconds(sum(r.duration for r in members)),
            timestamp=stamp,
            hostname=host,
        )
        classname = group.strip("/").replace("/", ".") or "contract"
        for result in members:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=_text(classname),
                name=_text(result.id),
                time=_seconds(result.duration),
            )
            if not result.passed:
                failure = ET.SubElement(
                    case,
                    "failure",
                    message=_text(result.message.splitlines()[0] if result.message else "failed"),
                    type=FAILURE_TYPE,
                )
                failure.text = _text(result.message)
            elif result.message:
                ET.SubElement(case, "system-out").text = _text(result.message)
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body + b"\n"


def write_junit_xml(
    results: Sequence[CheckResult], path: str | Path, *, name: str = "martech-bus contract"
) -> Path:
    """Write ``junit_xml(results)`` to ``path`` (parent folders created); the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(junit_xml(results, name=name))
    return target


__all__ = ["FAILURE_TYPE", "junit_xml", "write_junit_xml"]
