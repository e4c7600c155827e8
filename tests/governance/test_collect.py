"""Collecting the debt report: each kind of debt is found, scored and reflected in the checklist."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import pytest

from martech_bus.adapter import load_adapter
from martech_bus.governance import DebtReport
from martech_bus.governance.model import Backlog, Finding, IntegrationDebt
from martech_bus.routing import parse_setting
from tests.adapters.helpers import scratch_adapter
from tests.governance.helpers import (
    NOW,
    ROOT,
    TODAY,
    check,
    dead_letters,
    flags,
    integration,
    messages,
    quarantined,
    repo_adapters,
    report,
)


def test_every_adapter_and_gateway_source_is_reported() -> None:
    kinds = {item.name: item.kind for item in report().integrations}
    assert kinds == {
        "amplitude": "adapter",
        "braze": "adapter",
        "ga4": "adapter",
        "klaviyo": "adapter",
        "meta_capi": "adapter",
        "webhook": "adapter",
        "segment": "source",
        "shopify": "source",
    }


def test_integrations_are_listed_worst_first() -> None:
    scores = [item.score for item in report().integrations]
    assert scores == sorted(scores, reverse=True)


def test_an_adapter_without_a_flag_is_a_direct_route_off_the_bus() -> None:
    braze = integration(report(), "braze")
    assert braze.stage == "direct"
    assert messages(braze, "route") == ["routed direct: not on the bus yet"]
    assert braze.points_by_category()["route"] == 15


def test_a_marathon_adapter_still_routed_direct_says_so() -> None:
    (message,) = messages(integration(report(), "webhook"), "route")
    assert message.endswith("although declared marathon")


def test_an_adapter_on_the_bus_has_no_route_debt_and_needs_no_migration_plan() -> None:
    braze = integration(report(flags=flags(("braze", "bus"))), "braze")
    assert braze.stage == "bus"
    assert messages(braze, "route") == []
    assert check(braze, "migration_plan") == "n/a"


def test_a_rollout_is_reported_as_its_share_of_the_way() -> None:
    store = flags(("braze", "dual:bus:50"), expires_on=date(2027, 1, 1))
    store.set("braze", parse_setting("dual:bus:50"), reason="halfway")  # flipped just now
    braze = integration(report(flags=store), "braze")
    assert braze.stage == "dual -> bus at 50%"
    assert messages(braze, "route") == ["routed dual -> bus at 50%: 67% of the way onto the bus"]


@pytest.mark.parametrize(
    ("days_ago", "stuck"), [(20, True), (3, False)], ids=["long-ago", "recently"]
)
def test_a_rollout_is_stuck_only_when_flipped_long_ago(days_ago: int, stuck: bool) -> None:
    flipped_at = (NOW - timedelta(days=days_ago)).timestamp()
    store = flags(("braze", "direct:dual:10"), expires_on=date(2027, 1, 1))
    store.clock = lambda: flipped_at
    store.set("braze", parse_setting("direct:dual:25"), reason="a quarter")
    braze = integration(report(flags=store), "braze")
    assert messages(braze, "rollout") == (
        [
            f"flag braze is mid-rollout (direct -> dual at 25%) since its last flip {days_ago} days ago"
        ]
        if stuck
        else []
    )
    assert check(braze, "flags") == ("fail" if stuck else "pass")


def test_a_rollout_without_any_recorded_flip_counts_as_stuck() -> None:
    store = flags(("braze", "dual:shadow:25"), expires_on=date(2027, 1, 1))
    (message,) = messages(integration(report(flags=store), "braze"), "rollout")
    assert message.endswith("with no recorded flip")


def test_an_expired_adapter_is_debt_and_fails_the_checklist() -> None:
    braze = integration(report(today=date(2027, 2, 10)), "braze")
    assert messages(braze, "expiry") == [
        "the adapter expired on 2027-01-31 (10 days ago): migrate it or extend expires_on"
    ]
    assert braze.points_by_category()["expiry"] == 25
    assert check(braze, "expiry") == "fail"
    assert braze.days_left == -10


def test_an_adapter_expiring_within_the_warning_window_is_flagged_but_passes() -> None:
    braze = integration(report(today=date(2027, 1, 15)), "braze")
    assert messages(braze, "expiry") == ["the adapter expires on 2027-01-31 (in 16 days)"]
    assert braze.points_by_category()["expiry"] == 10
    assert check(braze, "expiry") == "pass"


def test_an_expired_gateway_source_is_debt() -> None:
    shopify = integration(report(today=date(2027, 4, 1)), "shopify")
    assert messages(shopify, "expiry") == [
        "the gateway source expired on 2027-03-31 (1 day ago): migrate it or extend expires_on"
    ]


def test_an_expired_flag_is_debt_on_its_adapter() -> None:
    store = flags(("braze", "dual"), expires_on=TODAY - timedelta(days=40))
    (message,) = messages(integration(report(flags=store), "braze"), "expiry")
    assert message == "flag braze (dual) expired on 2026-10-11"
    assert integration(report(flags=store), "braze").points_by_category()["expiry"] == 30


def test_a_transitional_flag_without_an_end_date_is_debt() -> None:
    braze = integration(report(flags=flags(("braze", "shadow"))), "braze")
    assert messages(braze, "expiry") == ["flag braze is transitional (shadow) without expires_on"]
    assert check(braze, "flags") == "fail"


def test_a_per_source_flag_counts_for_its_adapter() -> None:
    store = flags(("shopify:braze", "bus"), owner=None)
    braze = integration(report(flags=store), "braze")
    assert messages(braze, "ownership") == ["flag shopify:braze has no owner"]
    assert braze.stage == "direct"  # the vendor-wide route is what the stage shows


def test_a_flag_without_an_owner_fails_the_owner_check() -> None:
    braze = integration(report(flags=flags(("braze", "direct"), owner=None)), "braze")
    assert messages(braze, "ownership") == ["flag braze has no owner"]
    assert check(braze, "owner") == "fail"


def test_a_flag_for_no_known_adapter_is_a_note() -> None:
    assert report(flags=flags(("hubspot", "direct"))).notes == (
        "flag hubspot routes to 'hubspot', which is no adapter",
    )


def test_dead_letters_are_the_adapters_backlog_with_the_oldest_age() -> None:
    braze = integration(report(dead_letters=dead_letters("braze", [0.5, 3, 8])), "braze")
    assert braze.backlog == Backlog(3, 8.0)
    assert messages(braze, "backlog") == ["3 dead letters waiting, the oldest 8.0 days"]
    assert braze.points_by_category()["backlog"] == 15
    assert check(braze, "backlog") == "fail"


def test_dead_letters_for_an_unknown_vendor_are_a_note() -> None:
    found = report(dead_letters=dead_letters("hubspot", [1]))
    assert found.notes == ("1 dead letter for 'hubspot', which is no adapter",)


def test_quarantine_is_a_sources_backlog_aged_by_when_the_payload_arrived() -> None:
    segment = integration(report(quarantine=quarantined("segment", [2, 10])), "segment")
    assert segment.backlog == Backlog(2, 10.0)
    assert messages(segment, "backlog") == ["2 quarantined items waiting, the oldest 10.0 days"]
    assert check(segment, "backlog") == "fail"


def test_quarantined_items_of_an_undeclared_source_are_a_note() -> None:
    found = report(quarantine=quarantined("webshop", [1, 1]))
    assert found.notes == ("2 quarantined items from 'webshop', which is no declared source",)


def test_a_mapping_without_a_fixture_is_coverage_debt(tmp_path: Path) -> None:
    acme = load_adapter(scratch_adapter(tmp_path))
    item = integration(report(adapters=[acme], sources=[]), "acme")
    assert "mapping order_completed has no contract fixture" in messages(item, "coverage")
    assert check(item, "fixtures") == "fail"


def test_a_mapping_without_a_comment_is_two_points_of_debt(tmp_path: Path) -> None:
    acme = load_adapter(scratch_adapter(tmp_path / "adapters"))
    mapping = acme.directory / "mappings" / "order_completed.yaml"
    lines = mapping.read_text(encoding="utf-8").splitlines(keepends=True)
    mapping.write_text(
        "".join(line for line in lines if not line.startswith("#")), encoding="utf-8"
    )
    item = integration(report(adapters=[load_adapter(acme.directory)], sources=[]), "acme")
    assert "mapping order_completed does not say why (no comment at the top of its file)" in (
        messages(item, "coverage")
    )
    (finding,) = [f for f in item.findings if "does not say why" in f.message]
    assert finding.points == 2


def test_an_integration_missing_from_its_docs_page_fails_the_docs_check(tmp_path: Path) -> None:
    acme = load_adapter(scratch_adapter(tmp_path / "adapters"))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "adapters.md").write_text("# Adapters\n\n`braze` only.\n", encoding="utf-8")
    (docs / "gateway.md").write_text("# Gateway\n", encoding="utf-8")
    item = integration(report(adapters=[acme], sources=[], docs_dir=docs), "acme")
    assert "not mentioned on docs/adapters.md" in messages(item, "coverage")
    assert check(item, "docs") == "fail"


def test_without_a_docs_page_documentation_is_not_checked(tmp_path: Path) -> None:
    found = report(docs_dir=tmp_path)
    assert check(integration(found, "braze"), "docs") == "n/a"
    assert f"{tmp_path / 'adapters.md'} not found: adapter documentation not checked" in found.notes


def test_an_adapter_without_governance_or_runbook_is_debt(tmp_path: Path) -> None:
    acme = load_adapter(scratch_adapter(tmp_path))
    item = integration(report(adapters=[acme], sources=[]), "acme")
    assert item.points_by_category()["governance"] == 10
    assert check(item, "governance") == "fail"
    assert messages(item, "ownership") == ["no runbook: whoever is paged has no guide"]
    assert check(item, "runbook") == "fail"


def test_a_shipped_source_carries_no_governance_scores() -> None:
    segment = integration(report(), "segment")
    assert segment.scores is None and segment.cadence == "hybrid"
    assert check(segment, "governance") == "n/a"


def test_every_shipped_integration_is_ready_to_migrate() -> None:
    not_ready = sorted(item.name for item in report().integrations if not item.ready)
    assert not_ready == []


def test_an_integrations_score_is_capped_at_100() -> None:
    item = integration(report(), "braze")
    heavy = dataclasses.replace(
        item, findings=(Finding("backlog", 70, "a"), Finding("route", 60, "b"))
    )
    assert heavy.score == 100


def test_the_overall_score_is_the_mean_rounded_half_up() -> None:
    base = integration(report(), "braze")

    def scored(points: int) -> IntegrationDebt:
        return dataclasses.replace(base, findings=(Finding("route", points, "x"),))

    assert DebtReport(TODAY, (scored(16), scored(17))).score == 17
    assert DebtReport(TODAY, ()).score == 0


def test_the_report_is_the_same_for_the_same_inputs() -> None:
    assert report().to_dict() == report().to_dict()


def test_the_documented_formula_example_adds_up() -> None:
    # docs/governance.md walks through braze with this debt.
    store = flags(("braze", "dual:bus:50"), expires_on=date(2027, 1, 1))
    found = report(
        today=date(2027, 2, 10),
        flags=store,
        dead_letters=dead_letters("braze", [0.5, 3, 8]),
        adapters=[a for a in repo_adapters() if a.name == "braze"],
        sources=[],
        docs_dir=ROOT / "docs",
    )
    braze = integration(found, "braze")
    assert braze.points_by_category() == {
        "route": 5,
        "expiry": 55,
        "coverage": 0,
        "backlog": 15,
        "rollout": 15,
        "ownership": 0,
        "governance": 0,
    }
    assert braze.score == 90
