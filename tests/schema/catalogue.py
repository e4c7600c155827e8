"""Helpers to build throwaway catalogues in a temporary directory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml


def copy_catalogue(source: Path, target: Path) -> Path:
    """A writable copy of ``source`` at ``target``."""
    shutil.copytree(source, target)
    return target


def write_catalogue(root: Path, subjects: dict[str, list[Any]], **modes: str) -> Path:
    """A catalogue with the given versions per subject (and optional modes)."""
    root.mkdir(parents=True, exist_ok=True)
    index = {
        "subjects": {
            name: ({"compatibility": modes[name]} if name in modes else {}) for name in subjects
        }
    }
    (root / "registry.yaml").write_text(yaml.safe_dump(index), encoding="utf-8")
    for name, versions in subjects.items():
        (root / name).mkdir()
        for number, schema in enumerate(versions, start=1):
            (root / name / f"v{number}.avsc").write_text(json.dumps(schema), encoding="utf-8")
    return root


def simple_record(*fields: dict[str, Any], name: str = "Thing") -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": "test", "fields": list(fields)}
