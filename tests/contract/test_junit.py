"""JUnit XML of contract results: the shape CI parsers (GitLab, Jenkins, GitHub actions) read."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from martech_bus.contract import CheckResult
from martech_bus.contract.junit import FAILURE_TYPE, junit_xml, write_junit_xml

RESULTS = [
    CheckResult("catalogue", "the catalogue", True, "9 subjects", "catalogue", "schemas"),
    CheckResult(
        "adapter/acme/fixture/full",
        "adapter acme: fixture full",
        False,
        "fixture full of adapter acme:\n--- expected\n+++ rendered",
        "fixture",
        "adapters/acme",
        Path("adapters/acme/fixtures/full.input.json"),
        0.25,
    ),
    CheckResult("adapter/acme/expiry", "adapter acme: expiry", True, "", "expiry", "adapters/acme"),
]


def test_the_document_counts_tests_and_failures_per_suite_and_overall() -> None:
    root = ET.fromstring(junit_xml(RESULTS))

    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "1", "0")
    suites = {s.get("name"): (s.get("tests"), s.get("failures")) for s in root}
    assert suites == {"schemas": ("1", "0"), "adapters/acme": ("2", "1")}


def test_a_failure_carries_its_first_line_as_message_and_the_whole_text() -> None:
    root = ET.fromstring(junit_xml(RESULTS))
    case = root.find(".//testcase[@name='adapter/acme/fixture/full']")

    assert case is not None
    assert (case.get("classname"), case.get("time")) == ("adapters.acme", "0.250")
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("type") == FAILURE_TYPE
    assert failure.get("message") == "fixture full of adapter acme:"
    assert failure.text == RESULTS[1].message


def test_a_passed_check_has_no_failure_and_keeps_its_note() -> None:
    root = ET.fromstring(junit_xml(RESULTS))
    case = root.find(".//testcase[@name='catalogue']")

    assert case is not None
    assert case.find("failure") is None
    assert case.findtext("system-out") == "9 subjects"


def test_characters_xml_cannot_hold_are_replaced_so_the_file_stays_parseable() -> None:
    broken = CheckResult("x", "x", False, "bell \x07 and nul \x00", "fixture", "g")

    root = ET.fromstring(junit_xml([broken]))

    assert root.findtext(".//failure") == "bell ? and nul ?"


def test_writing_creates_the_report_folder(tmp_path: Path) -> None:
    path = write_junit_xml(RESULTS, tmp_path / "reports" / "contract.xml")

    assert path.read_bytes().startswith(b"<?xml")
    assert ET.parse(path).getroot().get("tests") == "3"


#: Attributes the Jenkins JUnit XSD (the strictest common reader) allows, per element.
ALLOWED = {
    "testsuites": {"name", "tests", "failures", "errors", "skipped", "disabled", "time"},
    "testsuite": {
        "name",
        "tests",
        "failures",
        "errors",
        "skipped",
        "disabled",
        "time",
        "timestamp",
        "hostname",
        "id",
        "package",
    },
    "testcase": {"name", "classname", "time", "assertions", "status"},
    "failure": {"message", "type"},
    "system-out": set(),
}


def test_only_attributes_the_junit_schema_allows_are_written() -> None:
    for element in ET.fromstring(junit_xml(RESULTS)).iter():
        assert set(element.attrib) <= ALLOWED[element.tag], element.tag
