"""The martech-bus pytest plugin (registered through the ``pytest11`` entry point).

**Contract tests.** In a repository with ``schemas/`` (and ``adapters/``,
``sources/``), plain ``pytest`` collects one test item per contract check
(``martech_bus.contract``): ``adapters/acme::fixture/order_completed_full`` and so
on, marked ``contract``. Given paths (``pytest tests/unit``), pytest collects only
the checks inside them (``pytest adapters/acme``), so targeted runs stay fast.

- ``--no-contract-tests``, or ``martech_bus_contract = false`` in the ini file: none;
- ``--contract-tests``: all of them, whatever the ini file or the paths say;
- ``--contract-base GIT_REF``: also the breaking-change checks of ``schema check --base``;
- ``martech_bus_schemas`` / ``_adapters`` / ``_sources`` (ini, relative to the rootdir):
  where they live (else ``MARTECH_BUS_*_DIR``, else ``schemas``, ``adapters``, ``sources``);
- ``-p no:martech_bus`` drops the plugin altogether, fixtures included.

**Fixtures** for your own tests: ``recording_pipeline`` (the pipeline over your
adapters into in-memory sinks), ``vendor_stub`` (your adapters against a local HTTP
server), ``kafka_broker`` / ``kafka_bootstrap`` (a real Kafka: external,
testcontainers or embedded), ``aws_endpoint`` (moto's server on 127.0.0.1) and
``contract_roots``.

pytest imports this module at every start: everything heavy is imported lazily.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from martech_bus.contract.model import Check
from martech_bus.contract.runner import Contract, ContractRoots
from martech_bus.testing.aws import AwsEndpoint, moto_endpoint
from martech_bus.testing.kafka import kafka_bootstrap, kafka_broker

if TYPE_CHECKING:
    from martech_bus.testing.harness import RecordingPipeline, VendorStub

MARKER = "contract"
_OPTION = "martech_bus_contract"
_BASE_OPTION = "martech_bus_contract_base"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("martech-bus", "martech-bus contract tests")
    group.addoption(
        "--contract-tests",
        action="store_true",
        dest=_OPTION,
        default=None,
        help="collect every contract check, whatever the ini file or the given paths say",
    )
    group.addoption(
        "--no-contract-tests",
        action="store_false",
        dest=_OPTION,
        help="do not collect the contract checks",
    )
    group.addoption(
        "--contract-base",
        dest=_BASE_OPTION,
        metavar="GIT_REF",
        default=None,
        help="also check the schema catalogue for breaking changes against this git revision",
    )
    parser.addini(
        "martech_bus_contract",
        type="bool",
        default=True,
        help="collect the martech-bus contract checks (default: true)",
    )
    for name in ("schemas", "adapters", "sources"):
        parser.addini(
            f"martech_bus_{name}",
            default="",
            help=f"the {name} directory, relative to the rootdir "
            f"(default: $MARTECH_BUS_{name.upper()}_DIR, else {name})",
        )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: a martech-bus contract check (one per item)")


def roots_for(config: pytest.Config) -> ContractRoots:
    """The schemas, adapters and sources directories this pytest run uses."""

    def ini(name: str) -> str | None:
        value = str(config.getini(f"martech_bus_{name}") or "").strip()
        return value or None

    return ContractRoots.resolve(
        ini("schemas"), ini("adapters"), ini("sources"), base_dir=config.rootpath
    )


# -- collection --------------------------------------------------------------------------------


class ContractCheckError(Exception):
    """A contract check failed; the message is the whole explanation (a diff, a list)."""


class ContractGroup(pytest.Collector):
    """The checks of one folder (``schemas``, ``adapters/acme``), one item each."""

    def __init__(self, *, checks: list[Check], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checks = checks

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        return [ContractItem.from_parent(self, name=c.name, check=c) for c in self.checks]


class ContractItem(pytest.Item):
    """One contract check as a test item; a failure reads as the check's message, no traceback."""

    def __init__(self, *, check: Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.add_marker(MARKER)

    def runtest(self) -> None:
        result = self.check.run(catch_all=False)  # a bug in a check keeps its traceback
        if not result.passed:
            raise ContractCheckError(result.message)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> Any:
        if isinstance(excinfo.value, ContractCheckError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.check.path, None, f"contract check {self.check.id}"


def _wanted(config: pytest.Config) -> Callable[[Check], bool] | None:
    """Which checks to collect: None for none, else a filter."""
    forced = config.getoption(_OPTION)
    if forced is False or (forced is None and not config.getini("martech_bus_contract")):
        return None
    if forced or config.args_source is not pytest.Config.ArgsSource.ARGS:
        return lambda check: True
    # pytest was given paths: only the checks about files inside them
    here = config.invocation_params.dir
    given = [(here / arg.split("::")[0]).resolve() for arg in config.args]

    def inside(check: Check) -> bool:
        path = check.path.resolve()
        return any(path == p or p in path.parents for p in given)

    return inside


@pytest.hookimpl(tryfirst=True)  # before -k, -m and --lf filter the items
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    wanted = _wanted(config)
    if wanted is None:
        return
    roots = roots_for(config)
    if not roots.schemas.is_dir():
        return  # not a martech-bus repository (or the catalogue lives elsewhere: see the ini)
    contract = Contract(roots, base=config.getoption(_BASE_OPTION))
    groups: dict[Path, list[Check]] = {}
    for check in contract.checks():
        if wanted(check):
            groups.setdefault(check.folder, []).append(check)
    for folder, checks in groups.items():
        group = ContractGroup.from_parent(
            session,
            name=checks[0].group,
            path=folder,
            nodeid=_nodeid(config, folder),
            checks=checks,
        )
        # genitems reports the collection like any other (counts, --collect-only, --lf)
        items.extend(session.genitems(group))


def _nodeid(config: pytest.Config, folder: Path) -> str:
    try:
        return folder.resolve().relative_to(config.rootpath.resolve()).as_posix()
    except ValueError:
        return folder.as_posix()


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def contract_roots(pytestconfig: pytest.Config) -> ContractRoots:
    """Where this run's schemas, adapters and sources live (see the ini options)."""
    return roots_for(pytestconfig)


@pytest.fixture
def recording_pipeline(contract_roots: ContractRoots) -> RecordingPipeline:
    """The pipeline over every adapter, delivering into in-memory sinks that record deliveries.

    ``recording_pipeline.process([event])`` returns one result per event;
    ``recording_pipeline.payloads("acme")`` is what the vendor would have been sent.
    """
    from martech_bus.testing.harness import RecordingPipeline

    assert contract_roots.adapters is not None  # resolve() always sets it
    return RecordingPipeline.build(contract_roots.schemas, contract_roots.adapters)


@pytest.fixture
def vendor_stub(
    request: pytest.FixtureRequest, contract_roots: ContractRoots, tmp_path: Path
) -> VendorStub:
    """Your adapters pointed at a local HTTP server (pytest-httpserver) answering ``200 {}``.

    ``vendor_stub.pipeline()`` is the real HTTP pipeline to it; ``vendor_stub.requests``
    what it received. Needs ``pip install pytest-httpserver``.
    """
    import importlib.util

    from martech_bus.testing.harness import VendorStub

    if importlib.util.find_spec("pytest_httpserver") is None:
        pytest.fail(
            "the vendor_stub fixture needs pytest-httpserver: pip install pytest-httpserver"
        )
    assert contract_roots.adapters is not None  # resolve() always sets it
    server = request.getfixturevalue("httpserver")
    return VendorStub.start(server, contract_roots.schemas, contract_roots.adapters, tmp_path)


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[AwsEndpoint]:
    """moto's server on 127.0.0.1 (SQS, DynamoDB, SSM, S3, Secrets Manager), shared by the session.

    ``aws_endpoint.client("sqs")`` is a boto3 client for it; ``aws_endpoint.reset()`` forgets
    every resource. Needs ``pip install 'moto[server]'``.
    """
    with moto_endpoint() as endpoint:
        yield endpoint


__all__ = [
    "ContractCheckError",
    "ContractGroup",
    "ContractItem",
    "aws_endpoint",
    "contract_roots",
    "kafka_bootstrap",
    "kafka_broker",
    "recording_pipeline",
    "roots_for",
    "vendor_stub",
]
