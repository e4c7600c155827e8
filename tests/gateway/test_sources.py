"""``sources/<name>/source.yaml``: the shipped sources load; mistakes name file, line and key."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from martech_bus.errors import ConfigError
from martech_bus.gateway.sources import InboundSource, find_sources, load_source
from martech_bus.secrets import SecretRef
from tests.gateway.helpers import SOURCES

MINIMAL = """\
name: webshop
kind: signed_json
owner: {team: web, contact: web@example.com}
expires_on: "2027-01-31"
migration_plan: https://wiki.example.com/webshop/migration
signature:
  secrets: [env:WEBSHOP_SECRET]
routes:
  order: order
"""
ORDER_MAPPING = (SOURCES / "shopify" / "mappings" / "order_completed.yaml").read_text()


def _source(tmp_path: Path, text: str = MINIMAL, name: str = "webshop") -> Path:
    folder = tmp_path / name
    (folder / "mappings").mkdir(parents=True)
    (folder / "source.yaml").write_text(text)
    (folder / "mappings" / "order.yaml").write_text(ORDER_MAPPING)
    return folder


def _problems(folder: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_source(folder)
    return [str(problem) for problem in caught.value.problems] or [str(caught.value)]


def test_the_shipped_sources_load(sources: dict[str, InboundSource]) -> None:
    assert sorted(sources) == ["segment", "shopify"]
    assert sources["shopify"].signature.scheme == "shopify"
    assert sources["segment"].mapping_name("track", "Order Completed") == "order_completed"


def test_every_shipped_source_declares_owner_expiry_and_plan(
    sources: dict[str, InboundSource],
) -> None:
    for source in sources.values():
        assert source.owner.team and source.owner.contact
        assert source.expires_on > date(2026, 1, 1)
        assert source.migration_plan.startswith("https://")


def test_a_minimal_signed_json_source_gets_the_timestamped_scheme(tmp_path: Path) -> None:
    source = load_source(_source(tmp_path))

    assert source.signature.scheme == "timestamped"
    assert source.signature.header == "X-Martech-Signature"
    assert source.signature.tolerance == 300
    assert source.signature.secrets == (SecretRef.parse("env:WEBSHOP_SECRET"),)


def test_a_missing_expiry_is_reported_with_the_file(tmp_path: Path) -> None:
    folder = _source(tmp_path, MINIMAL.replace('expires_on: "2027-01-31"\n', ""))

    [problem] = _problems(folder)

    assert "source.yaml" in problem and "missing required key 'expires_on'" in problem


def test_an_unquoted_date_is_refused_by_the_strict_yaml_loader(tmp_path: Path) -> None:
    folder = _source(tmp_path, MINIMAL.replace('"2027-01-31"', "2027-01-31"))

    [problem] = _problems(folder)

    assert "source.yaml:4" in problem and "quote" in problem


def test_a_secret_written_inline_is_refused_with_line_and_key(tmp_path: Path) -> None:
    folder = _source(tmp_path, MINIMAL.replace("[env:WEBSHOP_SECRET]", "[hunter2]"))

    [problem] = _problems(folder)

    assert "source.yaml:7" in problem
    assert "signature.secrets[0]" in problem
    assert "never live in source.yaml" in problem


def test_a_route_to_a_missing_mapping_file_is_reported(tmp_path: Path) -> None:
    folder = _source(tmp_path, MINIMAL.replace("order: order", "order: invoice"))

    [problem] = _problems(folder)

    assert "routes.order" in problem and "mappings/invoice.yaml" in problem


def test_a_broken_inbound_mapping_reports_its_own_file_and_line(tmp_path: Path) -> None:
    folder = _source(tmp_path)
    (folder / "mappings" / "order.yaml").write_text(
        ORDER_MAPPING.replace("stable_uuid", "stable_uid", 1)
    )

    problems = _problems(folder)

    assert any(
        "mappings/order.yaml:11:" in p and "did you mean 'stable_uuid'" in p for p in problems
    )


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = MINIMAL.replace("kind: signed_json", "kind: mailchimp").replace(
        "https://wiki.example.com/webshop/migration", "the wiki"
    )

    problems = _problems(_source(tmp_path, text))

    assert len(problems) == 2
    assert any("kind" in p and "mailchimp" in p for p in problems)
    assert any("migration_plan" in p and "http(s) link" in p for p in problems)


def test_the_name_must_match_the_folder(tmp_path: Path) -> None:
    [problem] = _problems(_source(tmp_path, MINIMAL, name="other"))

    assert "name must equal the folder name" in problem


def test_canonical_is_a_reserved_name(tmp_path: Path) -> None:
    [problem] = _problems(
        _source(tmp_path, MINIMAL.replace("name: webshop", "name: canonical"), name="canonical")
    )

    assert "reserved" in problem


def test_segment_routes_must_be_segment_message_types(tmp_path: Path) -> None:
    text = (
        MINIMAL.replace("kind: signed_json", "kind: segment")
        .replace("  secrets:", "  header: X-Signature\n  secrets:")
        .replace("order: order", "trakc: order")
    )

    [problem] = _problems(_source(tmp_path, text))

    assert "routes.trakc" in problem and "did you mean 'track'" in problem


def test_only_segment_may_route_by_event_name(tmp_path: Path) -> None:
    text = MINIMAL.replace("order: order", "order:\n    Order Completed: order")

    [problem] = _problems(_source(tmp_path, text))

    assert "only Segment track" in problem


def test_the_hmac_scheme_needs_a_header(tmp_path: Path) -> None:
    text = MINIMAL.replace("  secrets:", "  scheme: hmac_sha256\n  secrets:")

    [problem] = _problems(_source(tmp_path, text))

    assert "signature.header" in problem


def test_tolerance_only_applies_to_timestamped_signatures(tmp_path: Path) -> None:
    text = MINIMAL.replace("  secrets:", "  scheme: shopify\n  tolerance: 60\n  secrets:")

    [problem] = _problems(_source(tmp_path, text))

    assert "'tolerance' only applies" in problem


def test_find_sources_lists_the_problems_of_every_source(tmp_path: Path) -> None:
    _source(tmp_path, MINIMAL.replace("kind: signed_json", "kind: x"))
    shutil.copytree(SOURCES / "shopify", tmp_path / "shopify")

    with pytest.raises(ConfigError, match="1 problems in the sources"):
        find_sources(tmp_path)


def test_an_expired_source_still_loads(tmp_path: Path) -> None:
    source = load_source(_source(tmp_path, MINIMAL.replace("2027-01-31", "2020-01-31")))

    assert source.expired(date(2026, 1, 1))
    assert source.days_left(date(2020, 2, 1)) == -1
