"""The strict YAML loader: what it keeps, what it refuses, and where it says the problem is."""

from __future__ import annotations

from pathlib import Path

import pytest

from martech_bus.errors import ConfigError
from martech_bus.yamlfile import loader
from martech_bus.yamlfile.loader import (
    DEFAULT_MAX_BYTES,
    max_bytes_setting,
    parse_yaml,
    read_yaml_file,
)
from martech_bus.yamlfile.nodes import YMap, YScalar, YSeq, to_python
from tests.conftest import REPO_ROOT


def refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_yaml(text, file="f.yaml")
    return caught.value


def test_a_mapping_keeps_keys_in_order_with_lines_and_columns() -> None:
    tree = parse_yaml("b: 1\na:\n  - x\n", file="f.yaml")
    assert isinstance(tree, YMap)
    assert tree.key_names() == ["b", "a"]
    (_, one), (_, seq) = tree.items
    assert one == YScalar(1, line=1, column=4, plain=True)
    assert isinstance(seq, YSeq) and (seq.line, seq.column) == (3, 3)


def test_canonical_plain_scalars_keep_their_types() -> None:
    tree = parse_yaml(
        "a: true\nb: false\nc: null\nd: ~\ne:\nf: 12\ng: -3\nh: 1.5\ni: 0\nj: -0.25e+3\n"
    )
    assert to_python(tree) == {
        "a": True, "b": False, "c": None, "d": None, "e": None,
        "f": 12, "g": -3, "h": 1.5, "i": 0, "j": -250.0,
    }  # fmt: skip


def test_quoted_scalars_are_always_strings() -> None:
    tree = parse_yaml("a: 'NO'\nb: \"012345\"\nc: '2024-01-01'\nd: |\n  text\n")
    assert to_python(tree) == {"a": "NO", "b": "012345", "c": "2024-01-01", "d": "text\n"}


def test_plain_strings_are_plain_strings() -> None:
    tree = parse_yaml("a: Purchase\nb: properties.order_id\n")
    assert to_python(tree) == {"a": "Purchase", "b": "properties.order_id"}
    assert isinstance(tree, YMap) and tree.items[0][1] == YScalar("Purchase", 1, 4, plain=True)


@pytest.mark.parametrize(
    ("text", "reading"),
    [
        ("NO", "a boolean (False)"),
        ("yes", "a boolean (True)"),
        ("off", "a boolean (False)"),
        ("True", "a boolean (True)"),
        ("012345", "an integer (5349)"),
        ("0x1F", "an integer (31)"),
        ("12:30:00", "an integer (45000)"),
        ("1_000", "an integer (1000)"),
        ("+1", "an integer (1)"),
        ("2024-01-01", "a date/time"),
        ("1e3", "text in YAML 1.1 but not in YAML 1.2"),
        ("0o17", "text in YAML 1.1 but not in YAML 1.2"),
        (".5", "a number (0.5)"),
        (".inf", "a number (inf)"),
        ("NULL", "null"),
        ("=", "a YAML special value"),
    ],
)
def test_an_ambiguous_plain_scalar_is_refused_with_a_quote_hint(text: str, reading: str) -> None:
    error = refused(f"source:\n  event: {text}\n")
    assert (error.location.file, error.location.line, error.location.column) == ("f.yaml", 2, 10)
    assert error.location.path == "source.event"
    assert reading in error.message
    assert f'quote it ("{text}")' in error.message


def test_an_ambiguous_scalar_in_a_list_is_refused_where_it_is() -> None:
    error = refused("versions: [1, 2]\ncountries: [DE, NO]\n")
    assert (error.location.line, error.location.column) == (2, 17)
    assert error.location.path == "countries[1]"


def test_duplicate_keys_are_refused_at_the_second_one() -> None:
    error = refused("output:\n  a: 1\n  b: 2\n  a: 3\n")
    assert (error.location.line, error.location.column) == (4, 3)
    assert error.location.path == "output.a"
    assert "duplicate key 'a' (first defined on line 2)" in error.message


def test_an_anchor_is_refused() -> None:
    error = refused("a: &base {x: 1}\n")
    assert (error.location.line, error.location.column) == (1, 4)
    assert "anchors (&base) are not allowed" in error.message


def test_an_alias_is_refused() -> None:
    # a bare alias with no anchor is still reported as an alias, where it is
    error = refused("a: 1\nb: *missing\n")
    assert error.location.line == 2
    assert "alias" in error.message


def test_an_expansion_bomb_is_refused_before_it_expands() -> None:
    bomb = 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: &c [*b,*b]\n'
    error = refused(bomb)
    assert (error.location.line, error.location.column) == (1, 4)


def test_a_merge_key_is_refused() -> None:
    error = refused("a: 1\n<<: {b: 2}\n")
    assert (error.location.line, error.location.column) == (2, 1)
    assert "merge keys" in error.message


def test_an_explicit_tag_is_refused() -> None:
    error = refused("a: !!python/object:os.system x\n")
    assert (error.location.line, error.location.column) == (1, 4)
    assert "tags" in error.message


def test_a_str_tag_is_refused_in_favour_of_quotes() -> None:
    error = refused("a: !!str 012\n")
    assert "quote a value" in error.message


def test_a_non_string_key_is_refused() -> None:
    error = refused("output:\n  200: ok\n")
    assert (error.location.line, error.location.column) == (2, 3)
    assert "keys must be strings" in error.message


def test_a_complex_key_is_refused() -> None:
    error = refused("? [a, b]\n: 1\n")
    assert (error.location.line, error.location.column) == (1, 3)


def test_deep_nesting_is_refused() -> None:
    error = refused("a: " + "[" * 100 + "]" * 100 + "\n")
    assert error.location.line == 1
    assert "nested more than 64 levels" in error.message


def test_invalid_yaml_is_reported_with_its_position() -> None:
    error = refused("a: [1, 2\nb: 3\n")
    assert error.location.file == "f.yaml"
    assert error.location.line == 2
    assert error.message.startswith("invalid YAML")


def test_several_documents_are_refused() -> None:
    error = refused("a: 1\n---\nb: 2\n")
    assert error.location.line == 2
    assert "single document" in error.message


def test_an_empty_file_is_refused() -> None:
    error = refused("# only a comment\n")
    assert error.message == "the file is empty"


def test_text_over_the_size_limit_is_refused() -> None:
    with pytest.raises(ConfigError, match="larger than 16 bytes"):
        parse_yaml("a: 12345678901234567890\n", file="f.yaml", max_bytes=16)


def test_a_file_over_the_size_limit_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 5000 + "\n")
    with pytest.raises(ConfigError, match="larger than 1024 bytes") as caught:
        read_yaml_file(path, max_bytes=1024)
    assert caught.value.location.file == str(path)


def test_the_size_limit_defaults_to_256_kib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MARTECH_BUS_YAML_MAX_BYTES", raising=False)
    assert max_bytes_setting() == DEFAULT_MAX_BYTES == 256 * 1024


def test_the_size_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARTECH_BUS_YAML_MAX_BYTES", "10")
    assert max_bytes_setting() == 10
    assert max_bytes_setting(99) == 99
    with pytest.raises(ConfigError, match="larger than 10 bytes"):
        parse_yaml("a: 1234567890\n")


def test_a_bad_size_limit_in_the_environment_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MARTECH_BUS_YAML_MAX_BYTES", "lots")
    with pytest.raises(ConfigError, match="MARTECH_BUS_YAML_MAX_BYTES"):
        max_bytes_setting()


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("a: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_yaml_file(path)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read file") as caught:
        read_yaml_file(tmp_path / "nope.yaml")
    assert caught.value.location.file == str(tmp_path / "nope.yaml")


def test_callers_choose_the_error_type_raised() -> None:
    from martech_bus.errors import MappingError

    with pytest.raises(MappingError, match="duplicate"):
        parse_yaml("a: 1\na: 2\n", file="m.yaml", error=MappingError)


# -- the libyaml reading: the same trees and the same errors as the pure-Python one ------------


def _outcome(text: str) -> object:
    try:
        return parse_yaml(text, file="f.yaml")
    except ConfigError as exc:
        return ("refused", str(exc))


def _pure_python_outcome(text: str, monkeypatch: pytest.MonkeyPatch) -> object:
    with monkeypatch.context() as patch:
        patch.setattr(loader, "_LIBYAML", None)
        return _outcome(text)


_REPOSITORY_YAML = sorted(
    path.relative_to(REPO_ROOT)
    for folder in ("adapters", "schemas", "examples", "docs")
    for path in (REPO_ROOT / folder).rglob("*.y*ml")
)


@pytest.mark.parametrize("path", _REPOSITORY_YAML, ids=str)
def test_every_yaml_file_of_the_repository_reads_the_same_with_libyaml(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (REPO_ROOT / path).read_text(encoding="utf-8")
    assert _outcome(text) == _pure_python_outcome(text, monkeypatch)


@pytest.mark.skipif(loader._LIBYAML is None, reason="PyYAML without libyaml")
def test_a_plain_file_is_read_by_libyaml() -> None:
    text = "name: x\nlist: [1, 'two', {three: 3.5}]\nblock:\n  - a: null\n    b: |\n      text\n"
    tree = loader._parse_with_libyaml(text)
    assert tree is not None
    assert to_python(tree) == {
        "name": "x",
        "list": [1, "two", {"three": 3.5}],
        "block": [{"a": None, "b": "text\n"}],
    }


@pytest.mark.parametrize(
    "text",
    [
        # libyaml places these empty values elsewhere than PyYAML
        "a: {round: }\n",
        "a: {path: ,b}\n",
        "a: [b: ]\n",
        "---",
        "---\n",
        # libyaml accepts these, PyYAML refuses them
        "a: |-#\n  text\n",
        "a:\tb\n",
        "a: {b: c ?d}\n",
        # left to PyYAML whatever libyaml makes of them
        "? a\n: b\n",
        "\ufeffa: b\n",
        "a: b\u2028c: d\n",
        "%YAML 1.1\n---\na: 1\n",
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "a: [*]\n",
        # the strict checks, then plain YAML errors
        "a: 1\na: 2\n",
        "a: yes\n",
        "<<: {a: 1}\n",
        "a: " + "[" * 70 + "]" * 70 + "\n",
        "a: [1, 2\nb: 3\n",
        "a: b: c\n",
        "# only a comment\n",
        "a: 1\n---\nb: 2\n",
        # where both agree
        "a:\nb:\n  -\n  - c\n",
        "a: 'x[*].y'\nb: x[*].y\nc: \"&a *b !c\"\n",
    ],
)
def test_libyaml_and_pure_python_readings_agree(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _outcome(text) == _pure_python_outcome(text, monkeypatch)
