"""Catalogue evolution checks: what CI runs on a pull request.

``check_catalogue`` verifies that every subject's versions obey its compatibility
mode; ``check_against_base`` compares the working catalogue with an earlier one
(usually a git revision, see ``registry_at_revision``): published versions must
not change or disappear, and new versions must obey the mode.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from martech_bus.errors import Location, Problem, SchemaError
from martech_bus.schema.compat import check_mode
from martech_bus.schema.registry import SchemaRegistry


def check_catalogue(registry: SchemaRegistry) -> list[Problem]:
    """Problems where a subject's version chain breaks its compatibility mode."""
    problems: list[Problem] = []
    for subject in registry.subjects():
        versions = registry.versions(subject)
        mode = registry.info(subject).compatibility
        for i in range(1, len(versions)):
            result = check_mode(versions[i].schema, [v.schema for v in versions[:i]], mode)
            problems.extend(
                Problem(f"{mode}: {message}", Location(schema=subject, version=i + 1))
                for message in result.messages
            )
    return problems


def check_against_base(current: SchemaRegistry, base: SchemaRegistry) -> list[Problem]:
    """Problems in ``current`` compared with ``base`` (changed, removed or incompatible versions)."""
    problems: list[Problem] = []
    for subject in base.subjects():
        if subject not in current.subjects_info:
            problems.append(
                Problem(
                    "subject was removed; published events would become unreadable",
                    Location(schema=subject),
                )
            )
            continue
        before, after = base.versions(subject), current.versions(subject)
        for old in before:
            if old.version > len(after):
                problems.append(
                    Problem(
                        "published version was removed",
                        Location(schema=subject, version=old.version),
                    )
                )
            elif after[old.version - 1].fingerprints.content != old.fingerprints.content:
                problems.append(
                    Problem(
                        "published version was modified; add a new version instead",
                        Location(schema=subject, version=old.version),
                    )
                )
        base_mode = base.info(subject).compatibility
        mode = current.info(subject).compatibility
        if mode != base_mode:
            problems.append(
                Problem(
                    f"compatibility mode changed from {base_mode} to {mode}",
                    Location(schema=subject),
                )
            )
        for i in range(len(before), len(after)):
            result = check_mode(after[i].schema, [v.schema for v in after[:i]], mode)
            problems.extend(
                Problem(f"{mode}: {message}", Location(schema=subject, version=i + 1))
                for message in result.messages
            )
    return problems


@contextmanager
def registry_at_revision(ref: str, schemas_dir: str | Path) -> Iterator[SchemaRegistry]:
    """The catalogue as it was at git revision ``ref`` (read with ``git show``, no checkout)."""
    directory = Path(schemas_dir).resolve()
    top = _git(
        directory if directory.is_dir() else Path.cwd(), "rev-parse", "--show-toplevel"
    ).strip()
    relative = PurePosixPath(directory.relative_to(Path(top)).as_posix())
    listing = _git(Path(top), "ls-tree", "-r", "--name-only", ref, "--", str(relative))
    if not listing.strip():
        raise SchemaError(f"no schema catalogue at {relative} in git revision {ref!r}")
    with tempfile.TemporaryDirectory(prefix="martech-bus-base-") as tmp:
        for name in listing.splitlines():
            target = Path(tmp) / PurePosixPath(name).relative_to(relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_git(Path(top), "show", f"{ref}:{name}"), encoding="utf-8")
        yield SchemaRegistry.load(tmp)


def _git(cwd: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise SchemaError("git is not installed; --base needs it") from None
    if done.returncode != 0:
        raise SchemaError(f"git {' '.join(args[:2])} failed: {done.stderr.strip()}")
    return done.stdout
