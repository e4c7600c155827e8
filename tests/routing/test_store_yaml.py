"""The YAML flag file: strict reading with file:line, a stable canonical rewrite, the shipped file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from martech_bus.errors import ConfigError
from martech_bus.routing.audit import MemoryAuditLog
from martech_bus.routing.flags import Flag, Setting
from martech_bus.routing.modes import RouteMode
from martech_bus.routing.store_yaml import HEADER, YamlFlagStore, render

ROOT = Path(__file__).resolve().parents[2]


def store_for(tmp_path: Path, text: str) -> YamlFlagStore:
    path = tmp_path / "flags.yaml"
    path.write_text(text, encoding="utf-8")
    return YamlFlagStore(path, ttl=0, audit=MemoryAuditLog())


def load_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        store_for(tmp_path, text).list()
    return str(caught.value)


def test_a_hand_written_file_reads_with_defaults(tmp_path: Path) -> None:
    store = store_for(
        tmp_path,
        "flags:\n"
        "  braze:\n    mode: dual\n    to: bus\n    percent: 12.5\n"
        '    expires_on: "2027-01-31"\n'
        '  "web:ga4":\n    mode: bus\n',
    )
    braze, ga4 = store.list()
    assert braze == Flag(
        "braze",
        Setting(RouteMode.DUAL, RouteMode.BUS, 12.5),
        expires_on=date(2027, 1, 31),
        version=1,
    )
    assert ga4.integration == "web:ga4"
    assert ga4.setting == Setting(RouteMode.BUS)


def test_a_duplicate_integration_is_refused_with_its_line(tmp_path: Path) -> None:
    message = load_error(tmp_path, "flags:\n  braze:\n    mode: direct\n  braze:\n    mode: bus\n")
    assert "flags.yaml:4:3" in message
    assert "duplicate key 'braze' (first defined on line 2)" in message


def test_an_unknown_mode_is_refused_with_a_did_you_mean(tmp_path: Path) -> None:
    message = load_error(tmp_path, "flags:\n  braze:\n    mode: buss\n")
    assert "flags.yaml:3:11" in message
    assert "unknown mode 'buss'; did you mean 'bus'?" in message


def test_an_unknown_rollout_target_is_refused_with_its_line(tmp_path: Path) -> None:
    message = load_error(
        tmp_path, "flags:\n  braze:\n    mode: dual\n    to: shaddow\n    percent: 5\n"
    )
    assert "flags.yaml:4:9" in message
    assert "did you mean 'shadow'?" in message


@pytest.mark.parametrize("percent", ["150", "-1", '"25"', "true", "[25]"])
def test_a_bad_percent_is_refused_with_its_line(tmp_path: Path, percent: str) -> None:
    message = load_error(
        tmp_path, f"flags:\n  braze:\n    mode: dual\n    to: bus\n    percent: {percent}\n"
    )
    assert "flags.yaml:5:14" in message
    assert "percent must be" in message


def test_a_percent_without_a_target_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, "flags:\n  braze:\n    mode: dual\n    percent: 25\n")
    assert "flags.yaml:4:14" in message
    assert "add 'to: <mode>'" in message


def test_a_target_without_a_percent_is_refused(tmp_path: Path) -> None:
    assert "needs 'percent" in load_error(
        tmp_path, "flags:\n  braze:\n    mode: dual\n    to: bus\n"
    )


def test_an_unknown_field_is_refused_with_a_did_you_mean(tmp_path: Path) -> None:
    message = load_error(tmp_path, "flags:\n  braze:\n    mode: bus\n    expires: x\n")
    assert "flags.yaml:4:5" in message
    assert "unknown field 'expires'; did you mean 'expires_on'?" in message


def test_an_unquoted_date_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, "flags:\n  braze:\n    mode: bus\n    expires_on: 2027-01-31\n")
    assert "flags.yaml:4:17" in message
    assert "quote it" in message


def test_an_invalid_integration_name_is_refused_with_its_line(tmp_path: Path) -> None:
    message = load_error(tmp_path, "flags:\n  Meta-CAPI:\n    mode: bus\n")
    assert "flags.yaml:2:3" in message
    assert "not an integration name" in message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    message = load_error(tmp_path, "flags:\n  braze:\n    mode: buss\n  ga4:\n    mode: dirct\n")
    assert "2 problems" in message
    assert "flags.yaml:3:11" in message
    assert "flags.yaml:5:11" in message


def test_a_named_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read file"):
        YamlFlagStore(tmp_path / "nope.yaml", ttl=0).get("braze")


def test_a_default_file_that_does_not_exist_holds_no_flags(tmp_path: Path) -> None:
    assert YamlFlagStore(tmp_path / "nope.yaml", missing_ok=True, ttl=0).list() == []


def test_a_flip_rewrites_the_file_sorted_with_the_header(tmp_path: Path) -> None:
    store = store_for(
        tmp_path,
        "# a hand comment\nflags:\n  klaviyo:\n    mode: direct\n  braze:\n    mode: direct\n",
    )
    store.set("ga4", Setting(RouteMode.BUS), reason="go", owner="web")
    text = store.path.read_text(encoding="utf-8")
    assert text.startswith(HEADER)
    assert text.index("  braze:") < text.index("  ga4:") < text.index("  klaviyo:")
    assert '    owner: "web"\n    reason: "go"\n    version: 1\n' in text


def test_a_flip_changes_only_the_flipped_entry(tmp_path: Path) -> None:
    store = store_for(tmp_path, render([]))
    for name in ("braze", "ga4", "klaviyo"):
        store.set(name, Setting(RouteMode.DIRECT), reason="adopt")
    before = store.path.read_text(encoding="utf-8").splitlines()
    store.set("ga4", Setting(RouteMode.DUAL, RouteMode.SHADOW, 10), reason="step")
    after = store.path.read_text(encoding="utf-8").splitlines()
    changed = [line for line in after if line not in before]
    assert changed == [
        "    mode: dual",
        "    to: shadow",
        "    percent: 10",
        '    reason: "step"',
        "    version: 2",
    ]


@settings(max_examples=60, deadline=None)
@given(
    reason=st.text(min_size=1).filter(lambda text: text.strip() != ""),
    percent=st.floats(min_value=0, max_value=100),
)
def test_what_is_written_reads_back_the_same(reason: str, percent: float) -> None:
    from martech_bus.routing.flags import flags_from_tree
    from martech_bus.yamlfile.loader import parse_yaml

    flag = Flag(
        "web:braze",
        Setting(RouteMode.DUAL, RouteMode.BUS, percent, salt=reason),
        expires_on=date(2027, 1, 31),
        owner=reason,
        reason=reason,
        version=3,
    )
    assert flags_from_tree(parse_yaml(render([flag]))) == {"web:braze": flag}


def test_the_shipped_flag_file_routes_every_adapter_direct() -> None:
    store = YamlFlagStore(ROOT / "flags.yaml", ttl=0)
    adapters = sorted(path.name for path in (ROOT / "adapters").iterdir() if path.is_dir())
    flags = store.list()
    assert [flag.integration for flag in flags] == adapters
    assert all(flag.setting == Setting(RouteMode.DIRECT) and flag.owner for flag in flags)


def test_the_shipped_flag_file_is_in_the_canonical_form() -> None:
    text = (ROOT / "flags.yaml").read_text(encoding="utf-8")
    assert render(YamlFlagStore(ROOT / "flags.yaml", ttl=0).list()) == text


def test_a_flag_outside_the_flags_key_is_pointed_there(tmp_path: Path) -> None:
    message = load_error(tmp_path, "braze:\n  mode: bus\n")
    assert "flags.yaml:1:1" in message
    assert "integrations go under 'flags:'" in message
