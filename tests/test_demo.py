"""`make demo` runs the whole story, and docs/tutorial.md shows the very commands it runs."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"
#: A run takes about 30 s; the margin is for a machine busy with the rest of the suite.
TIMEOUT = 240


@functools.cache
def load_demo() -> ModuleType:
    """examples/demo.py as a module (it only defines things at import)."""
    spec = importlib.util.spec_from_file_location("martech_bus_demo", ROOT / "examples" / "demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses resolve their annotations through it
    spec.loader.exec_module(module)
    return module


def tutorial_lines() -> list[str]:
    """Every line of the tutorial's bash blocks, continuation lines joined."""
    text = TUTORIAL.read_text(encoding="utf-8")
    blocks = re.findall(r"^```bash\n(.*?)^```", text, re.M | re.S)
    return [line.strip() for block in blocks for line in block.replace("\\\n", " ").splitlines()]


def tutorial_commands() -> list[list[str]]:
    """The commands the demo could run: martech-bus, python examples/..., curl."""
    commands = []
    for line in tutorial_lines():
        words = shlex.split(line, comments=True)
        if words and (
            words[0] in ("martech-bus", "curl")
            or (words[0] == "python" and words[1].startswith("examples/"))
        ):
            commands.append(words)
    return commands


def pattern(template: str) -> re.Pattern[str]:
    """A template word as a regex: literal text, each {placeholder} any non-empty text."""
    parts = re.split(r"\{\w+\}", template)
    return re.compile(".+".join(re.escape(part) for part in parts))


def matches(template: str, words: list[str]) -> bool:
    expected = shlex.split(template)
    return len(expected) == len(words) and all(
        pattern(word).fullmatch(typed) for word, typed in zip(expected, words, strict=True)
    )


def test_the_tutorial_shows_every_command_the_demo_runs_and_no_other() -> None:
    commands = load_demo().COMMANDS
    shown = tutorial_commands()
    assert shown, "no commands found in docs/tutorial.md"
    not_in_demo = [
        shlex.join(words)
        for words in shown
        if not any(matches(template, words) for template in commands.values())
    ]
    assert not_in_demo == [], "commands in docs/tutorial.md that examples/demo.py does not run"
    not_in_tutorial = [
        key
        for key, template in commands.items()
        if not any(matches(template, words) for words in shown)
    ]
    assert not_in_tutorial == [], "commands examples/demo.py runs that docs/tutorial.md lacks"


def test_the_tutorial_exports_the_settings_the_demo_uses() -> None:
    exported = {}
    for line in tutorial_lines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["export"]:
            name, _, value = words[1].partition("=")
            exported[name] = value
    for name, value in load_demo().SETTINGS.items():
        assert name in exported, f"docs/tutorial.md does not export {name}"
        assert pattern(value).fullmatch(exported[name]), (name, value, exported[name])


@pytest.mark.integration
def test_make_demo_tells_the_whole_story_loses_nothing_and_cleans_up() -> None:
    # Its own process group: whatever happens, nothing it started outlives the test.
    demo = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = demo.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        demo.terminate()  # the demo stops its processes on SIGTERM
        try:
            out, _ = demo.communicate(timeout=30)
        finally:
            _kill_group(demo.pid)
        pytest.fail(f"the demo did not finish within {TIMEOUT}s:\n{out[-6000:]}")
    assert demo.returncode == 0, out[-8000:]
    assert re.search(
        r"^events in (\d+), delivered exactly once \1, duplicates removed \d+, lost 0$", out, re.M
    ), out[-3000:]
    assert "demo ok" in out
    workdir = re.search(r"everything lives in (\S+?);", out)
    assert workdir is not None and not Path(workdir[1]).exists(), "the temp dir was left behind"
    assert _group_gone(demo.pid), "a process the demo started is still running"


def _group_gone(group: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    _kill_group(group)
    return False


def _kill_group(group: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
