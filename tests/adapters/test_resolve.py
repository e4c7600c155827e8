"""Finding adapters: by folder name under the adapters root, or by path."""

from __future__ import annotations

from pathlib import Path

import pytest

from martech_bus.adapter import find_adapters, resolve_adapter
from martech_bus.errors import ConfigError
from tests.adapters.helpers import ADAPTERS_DIR, MANIFEST, scratch_adapter


def test_an_adapter_resolves_by_its_folder_name() -> None:
    assert resolve_adapter("ga4", ADAPTERS_DIR).directory == ADAPTERS_DIR / "ga4"


def test_an_adapter_resolves_by_path() -> None:
    assert resolve_adapter(ADAPTERS_DIR / "braze").name == "braze"
    assert resolve_adapter(str(ADAPTERS_DIR / "klaviyo" / "adapter.yaml")).name == "klaviyo"


def test_the_adapters_root_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARTECH_BUS_ADAPTERS_DIR", str(ADAPTERS_DIR))
    assert resolve_adapter("webhook").name == "webhook"


def test_an_unknown_name_lists_the_known_ones_with_a_did_you_mean() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_adapter("meta_capl", ADAPTERS_DIR)
    message = str(caught.value)
    assert "no adapter 'meta_capl'" in message
    assert "known: amplitude, braze, ga4, klaviyo, meta_capi, webhook" in message
    assert message.endswith("did you mean 'meta_capi'?")


def test_find_adapters_skips_folders_without_a_manifest(tmp_path: Path) -> None:
    scratch_adapter(tmp_path)
    (tmp_path / "notes").mkdir()
    assert [a.name for a in find_adapters(tmp_path)] == ["acme"]


def test_find_adapters_reports_the_problems_of_every_adapter_together(tmp_path: Path) -> None:
    scratch_adapter(tmp_path, MANIFEST.replace("cadence: sprint", "cadence: soon"))
    scratch_adapter(
        tmp_path, MANIFEST.replace("name: acme", "name: beta").replace("growth@", "x"), name="beta"
    )
    broken = MANIFEST.replace("name: acme", "name: gamma").replace(
        "max_events: 10", "max_events: -1"
    )
    scratch_adapter(tmp_path, broken, name="gamma")
    with pytest.raises(ConfigError) as caught:
        find_adapters(tmp_path)
    files = {Path(p.location.file or "").parent.name for p in caught.value.problems}
    assert files == {"acme", "gamma"}
