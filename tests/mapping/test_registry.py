"""Custom transforms: the decorator, argument binding, and the entry-point group."""

from __future__ import annotations

import importlib.metadata
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from martech_bus.errors import ConfigError, MappingError
from martech_bus.mapping import UNDEFINED, transform
from martech_bus.mapping.registry import ENTRY_POINT_GROUP, TransformRegistry
from martech_bus.mapping.transforms import REGISTRY, new_registry
from tests.mapping.helpers import build


@pytest.fixture
def registry() -> TransformRegistry:
    return new_registry(entry_points=False)


def test_a_decorated_function_is_usable_in_a_mapping(registry: TransformRegistry) -> None:
    @transform("slugify", registry=registry)
    def slugify(value: Any, sep: str = "-") -> str:
        return sep.join(str(value).lower().split())

    mapping = build(
        "a: {path: properties.t, transform: [slugify]}\nb: {path: properties.t, transform: [{slugify: _}]}",
        registry=registry,
    )
    assert mapping({"properties": {"t": "Hello Big World"}}) == {
        "a": "hello-big-world", "b": "hello_big_world",
    }  # fmt: skip


def test_the_decorator_returns_the_function_unchanged(registry: TransformRegistry) -> None:
    def shout(value: Any) -> str:
        return f"{value}!"

    assert transform("shout", registry=registry)(shout) is shout
    assert shout("a") == "a!"


def test_the_default_registry_takes_custom_transforms() -> None:
    @transform("test_registry_exclaim")
    def exclaim(value: Any) -> str:
        return f"{value}!"

    try:
        assert build("a: {path: x, transform: [test_registry_exclaim]}")({"x": "hi"}) == {
            "a": "hi!"
        }
    finally:
        REGISTRY.unregister("test_registry_exclaim")


def test_arguments_may_be_paths(registry: TransformRegistry) -> None:
    @transform("between", registry=registry)
    def between(value: Any, left: Any, right: Any = "]") -> str:
        return f"{left}{value}{right}"

    mapping = build("a: {path: x, transform: [{between: {left: {path: y}}}]}", registry=registry)
    assert mapping({"x": 1, "y": "<"}) == {"a": "<1]"}


def test_constant_arguments_are_prepared_once(registry: TransformRegistry) -> None:
    calls: list[dict[str, Any]] = []

    def prepare(args: dict[str, Any], lookups: Any) -> dict[str, Any]:
        calls.append(dict(args))
        return {"factor": int(args["factor"]) * 10}

    @transform("scale", registry=registry, constant=["factor"], prepare=prepare)
    def scale(value: Any, factor: int) -> Any:
        return value * factor

    mapping = build("a: {path: x, transform: [{scale: '2'}]}", registry=registry)
    calls.clear()  # the parser checks the call once, the compiler binds it once
    assert [mapping({"x": n}) for n in (1, 2, 3)] == [{"a": 20}, {"a": 40}, {"a": 60}]
    assert calls == []


def test_a_refusing_prepare_is_a_load_error(registry: TransformRegistry) -> None:
    def prepare(args: dict[str, Any], lookups: Any) -> dict[str, Any]:
        raise ValueError("factor must be small")

    registry.register("scale", lambda value, factor: value, prepare=prepare)
    with pytest.raises(MappingError, match="scale: factor must be small"):
        build("a: {path: x, transform: [{scale: 99}]}", registry=registry)


def test_a_transform_may_drop_the_field(registry: TransformRegistry) -> None:
    registry.register("nothing", lambda value: UNDEFINED)
    assert build("a: {path: x, transform: [nothing, upper]}", registry=registry)({"x": "v"}) == {}


def test_any_exception_in_a_transform_becomes_a_mapping_error(registry: TransformRegistry) -> None:
    def explode(value: Any) -> Any:
        raise KeyError("boom")

    registry.register("explode", explode)
    with pytest.raises(MappingError) as caught:
        build("a: {path: x, transform: [explode]}", registry=registry)({"x": [1]})
    assert (
        caught.value.message
        == "transform 'explode' failed on a value of type list: KeyError: 'boom'"
    )
    assert isinstance(caught.value.__cause__, KeyError)


def test_a_name_can_only_be_registered_once(registry: TransformRegistry) -> None:
    with pytest.raises(ValueError, match="'lower' is already registered"):
        registry.register("lower", lambda value: value)
    registry.register("lower", lambda value: value, replace=True)


def test_registering_the_same_function_again_is_harmless(registry: TransformRegistry) -> None:
    def same(value: Any) -> Any:
        return value

    registry.register("same", same)
    registry.register("same", same)
    assert "same" in registry


@pytest.mark.parametrize("name", ["Lower", "with space", "2fast", ""])
def test_a_transform_name_is_a_lower_case_identifier(
    registry: TransformRegistry, name: str
) -> None:
    with pytest.raises(ValueError, match="lower-case identifiers"):
        registry.register(name, lambda value: value)


def test_keyword_only_parameters_are_refused(registry: TransformRegistry) -> None:
    def kw(value: Any, *, n: int) -> Any:
        return value

    with pytest.raises(TypeError, match="no keyword-only"):
        registry.register("kw", kw)


def test_a_non_python_callable_is_refused(registry: TransformRegistry) -> None:
    with pytest.raises(TypeError, match="must be a Python function"):
        registry.register("length", len)


def test_constant_must_name_real_parameters(registry: TransformRegistry) -> None:
    with pytest.raises(ValueError, match=r"no parameter\(s\) \['n'\]"):
        registry.register("f", lambda value: value, constant=["n"])


def test_a_trailing_underscore_parameter_is_written_without_it(registry: TransformRegistry) -> None:
    registry.register("tag", lambda value, with_: f"{value}{with_}")
    assert build("a: {path: x, transform: [{tag: {with: '!'}}]}", registry=registry)({"x": 1}) == {
        "a": "1!"
    }


def test_describe_shows_the_yaml_signature() -> None:
    lookup = REGISTRY.get("lookup")
    concat = REGISTRY.get("concat")
    assert lookup is not None and lookup.describe() == "lookup(table, default=...)"
    assert concat is not None and concat.describe() == "concat(...)"


# -- entry points ------------------------------------------------------------------------------


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A distribution on sys.path declaring two transforms; yields a log of entry_points() calls."""
    (tmp_path / "mbt_plugin.py").write_text(
        textwrap.dedent(
            """
            def shout(value):
                return value.upper() + "!"

            def suffix(value, text="?"):
                return value + text
            """
        )
    )
    info = tmp_path / "mbt_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mbt-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nshout = mbt_plugin:shout\nsuffix = mbt_plugin:suffix\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    calls: list[str] = []
    real = importlib.metadata.entry_points

    def counting(**kwargs: Any) -> Any:
        calls.append(kwargs.get("group", ""))
        return real(**kwargs)

    monkeypatch.setattr(importlib.metadata, "entry_points", counting)
    sys.modules.pop("mbt_plugin", None)
    yield calls
    sys.modules.pop("mbt_plugin", None)


def test_entry_point_transforms_are_found_by_name(plugin: list[str]) -> None:
    registry = new_registry()
    mapping = build("a: {path: x, transform: [shout, {suffix: '?!'}]}", registry=registry)
    assert mapping({"x": "hey"}) == {"a": "HEY!?!"}


def test_entry_points_load_lazily_and_once(plugin: list[str]) -> None:
    registry = new_registry()
    build("a: {path: x, transform: [lower, trim]}", registry=registry)
    assert plugin == []  # built-ins never trigger discovery
    assert registry.get("shout") is not None
    assert registry.get("nope") is None
    assert registry.names().count("shout") == 1
    assert plugin == [ENTRY_POINT_GROUP]


def test_an_unknown_name_suggests_plugin_transforms(plugin: list[str]) -> None:
    with pytest.raises(MappingError, match="did you mean 'shout'"):
        build("a: {path: x, transform: [shoutt]}", registry=new_registry())


def test_an_entry_point_that_is_not_a_function_is_refused(
    plugin: list[str], tmp_path: Path
) -> None:
    (tmp_path / "mbt_plugin.py").write_text("shout = 42\nsuffix = 43\n")
    with pytest.raises(ConfigError, match=r"'shout' = 'mbt_plugin:shout'.*it is not a function"):
        new_registry().get("shout")
