"""The examples in docs/mappings.md are real: each one is loaded, compiled and applied.

YAML blocks are complete files (``mapping_version: ...``), output fragments
(``# in output:``, wrapped in a header), or refused files (``# error: <message>``).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from martech_bus.errors import MappingError
from martech_bus.mapping.compiler import compile_mapping
from martech_bus.mapping.parser import parse_mapping
from martech_bus.mapping.transforms import REGISTRY
from tests.mapping.helpers import HEADER, order_event

DOC = Path(__file__).resolve().parents[2] / "docs" / "mappings.md"
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
YAML = [body for lang, body in BLOCKS if lang == "yaml"]
LOOKUPS = "lookups:\n  methods: {card: CREDIT_CARD}\n"


def as_file(block: str) -> str:
    if block.startswith("# in output:"):
        return HEADER + LOOKUPS + "output:\n" + textwrap.indent(block, "  ")
    return block


def test_the_docs_have_examples_of_each_kind() -> None:
    assert sum(b.startswith("mapping_version:") for b in YAML) >= 1
    assert sum(b.startswith("# in output:") for b in YAML) >= 15
    assert sum(b.startswith("# error:") for b in YAML) >= 3


@pytest.mark.parametrize(
    "block", [b for b in YAML if not b.startswith("# error:")], ids=lambda b: b.splitlines()[1][:40]
)
def test_a_documented_mapping_compiles_and_maps_an_order(block: str) -> None:
    mapping = compile_mapping(parse_mapping(as_file(block), file="docs.yaml"))
    assert isinstance(mapping(order_event()), dict)


@pytest.mark.parametrize(
    "block", [b for b in YAML if b.startswith("# error:")], ids=lambda b: b.splitlines()[0][9:50]
)
def test_a_documented_error_is_the_error_raised(block: str) -> None:
    expected = block.splitlines()[0].removeprefix("# error: ")
    with pytest.raises(MappingError) as caught:
        parse_mapping(HEADER + block, file="docs.yaml")
    assert expected in str(caught.value)


def test_the_documented_custom_transform_works() -> None:
    source = next(body for lang, body in BLOCKS if lang == "python" and "@transform" in body)
    exec(compile(source, "docs", "exec"), {})
    try:
        slug = next(b for b in YAML if "slugify" in b).split("output:\n", 1)[1]
        text = HEADER + "output:\n" + slug
        mapping = compile_mapping(parse_mapping(text))
        assert mapping({"properties": {"name": "Big Red Mug"}}) == {"slug": "big_red_mug"}
    finally:
        REGISTRY.unregister("slugify")
