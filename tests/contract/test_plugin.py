"""The pytest plugin, run by pytest itself (pytester) in throwaway repositories."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from martech_bus.scaffold.adapter import scaffold_adapter
from martech_bus.schema.registry import SchemaRegistry
from tests.contract.helpers import ROOT, TODAY, repo_copy
from tests.contract.test_scaffold import plan

#: Checks in a repository holding the shipped catalogue and one scaffolded adapter.
SCHEMA_CHECKS = 20
ACME_CHECKS = 7


@pytest.fixture
def repo(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The pytester directory holding the shipped catalogue and a freshly scaffolded acme."""
    for name in ("SCHEMAS_DIR", "ADAPTERS_DIR", "SOURCES_DIR"):
        monkeypatch.delenv(f"MARTECH_BUS_{name}", raising=False)
    path = repo_copy(pytester.path)
    registry = SchemaRegistry.load(path / "schemas")
    scaffold_adapter(plan(), path / "adapters", registry, today=TODAY)
    return path


def test_plain_pytest_collects_one_passing_item_per_check(
    pytester: pytest.Pytester, repo: Path
) -> None:
    result = pytester.runpytest("-v")

    result.assert_outcomes(passed=SCHEMA_CHECKS + ACME_CHECKS)
    result.stdout.fnmatch_lines(
        [
            "schemas::catalogue PASSED*",
            "schemas::compatibility/order_completed PASSED*",
            "adapters/acme::manifest PASSED*",
            "adapters/acme::fixture/order_completed_full PASSED*",
        ]
    )


def test_a_failed_check_reads_as_its_diff_without_a_traceback(
    pytester: pytest.Pytester, repo: Path
) -> None:
    expected = repo / "adapters/acme/fixtures/order_completed_full.expected.json"
    body = json.loads(expected.read_text())
    body["properties"]["order_id"] = "ORD-1"
    expected.write_text(json.dumps(body))

    result = pytester.runpytest()

    result.assert_outcomes(passed=SCHEMA_CHECKS + ACME_CHECKS - 1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*contract check adapter/acme/fixture/order_completed_full*",
            "fixture order_completed_full of adapter acme:",
            '-    "order_id": "ORD-1",',
            '+    "order_id": "order-1001",',
            "FAILED adapters/acme::fixture/order_completed_full - fixture order_compl*",
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")
    result.stdout.no_fnmatch_line("*runner.py*")


def test_the_command_line_switch_turns_the_checks_off(
    pytester: pytest.Pytester, repo: Path
) -> None:
    result = pytester.runpytest("--no-contract-tests")

    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_the_ini_switch_turns_them_off_and_the_flag_back_on(
    pytester: pytest.Pytester, repo: Path
) -> None:
    pytester.makeini("[pytest]\nmartech_bus_contract = false\n")

    assert pytester.runpytest().ret == pytest.ExitCode.NO_TESTS_COLLECTED
    pytester.runpytest("--contract-tests").assert_outcomes(passed=SCHEMA_CHECKS + ACME_CHECKS)


def test_given_paths_collect_only_the_checks_inside_them(
    pytester: pytest.Pytester, repo: Path
) -> None:
    pytester.makepyfile(test_unit="def test_unit():\n    pass\n")

    pytester.runpytest("adapters/acme").assert_outcomes(passed=ACME_CHECKS)
    pytester.runpytest("test_unit.py").assert_outcomes(passed=1)


def test_the_contract_marker_selects_or_skips_them(pytester: pytest.Pytester, repo: Path) -> None:
    pytester.makepyfile(test_unit="def test_unit():\n    pass\n")

    pytester.runpytest("-m", "not contract").assert_outcomes(passed=1)
    result = pytester.runpytest("-m", "contract", "-k", "acme and fixture")
    result.assert_outcomes(passed=2)


def test_the_ini_can_point_at_folders_elsewhere(pytester: pytest.Pytester, repo: Path) -> None:
    (repo / "contract").mkdir()
    for name in ("schemas", "adapters"):
        (repo / name).rename(repo / "contract" / name)
    pytester.makeini(
        "[pytest]\nmartech_bus_schemas = contract/schemas\nmartech_bus_adapters = contract/adapters\n"
    )

    pytester.runpytest().assert_outcomes(passed=SCHEMA_CHECKS + ACME_CHECKS)


def test_a_project_without_a_catalogue_gets_no_contract_items(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_unit="def test_unit():\n    pass\n")

    pytester.runpytest().assert_outcomes(passed=1)


def test_the_plugin_serves_the_fixtures_for_users_tests(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--fixtures")

    result.stdout.fnmatch_lines_random(
        [
            "recording_pipeline*",
            "vendor_stub*",
            "kafka_broker*",
            "kafka_bootstrap*",
            "aws_endpoint*",
            "contract_roots*",
        ]
    )


def test_loading_the_plugin_imports_no_heavy_dependency() -> None:
    probe = (
        "import sys, json, martech_bus.testing.plugin; "
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )

    loaded = set(json.loads(done.stdout))
    assert loaded.isdisjoint({"confluent_kafka", "boto3", "botocore", "fastavro", "moto", "httpx"})
