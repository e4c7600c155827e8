"""docs/gateway.md is real: its source.yaml loads, and its curl commands get 202 from a live gateway."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from martech_bus.buffer.memory import MemoryBufferStore
from martech_bus.gateway.auth import BearerAuth
from martech_bus.gateway.ingest import Gateway
from martech_bus.gateway.sources import find_sources, load_source
from martech_bus.secrets import SecretResolver
from tests.gateway.helpers import ENVIRON, ROOT, SOURCES, TOKEN, live

DOC = (ROOT / "docs" / "gateway.md").read_text()
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", DOC, re.S)
CURLS = [code for lang, code in BLOCKS if lang == "bash" and "curl" in code]
[WEBSHOP] = [
    code for lang, code in BLOCKS if lang == "yaml" and code.startswith("# sources/webshop/")
]
WEBSHOP_SECRET = "webshop-secret"


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    root = tmp_path / "sources"
    shutil.copytree(SOURCES, root)
    webshop = root / "webshop"
    (webshop / "mappings").mkdir(parents=True)
    (webshop / "source.yaml").write_text(WEBSHOP)
    shutil.copy(SOURCES / "shopify" / "mappings" / "order_completed.yaml", webshop / "mappings")
    return root


def test_the_documented_signed_json_source_loads(sources: Path) -> None:
    source = load_source(sources / "webshop")

    assert (source.kind, source.signature.scheme, source.signature.tolerance) == (
        "signed_json",
        "timestamped",
        300,
    )


@pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("openssl")), reason="needs curl and openssl"
)
@pytest.mark.parametrize("script", CURLS, ids=[f"curl-{n}" for n in range(len(CURLS))])
def test_a_documented_curl_command_is_accepted(script: str, sources: Path) -> None:
    buffer = MemoryBufferStore()
    environ = {**ENVIRON, "WEBSHOP_SECRET": WEBSHOP_SECRET}
    gateway = Gateway(
        buffer,
        find_sources(sources),
        auth=BearerAuth([TOKEN]),
        secrets=SecretResolver(environ=environ),
    )
    with live(gateway) as url:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=ROOT,
            env={**os.environ, **environ, "GATEWAY": url, "TOKEN": TOKEN},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert "record_id" in answer, answer
    assert buffer.depth() == 1


PYTHON = [code for lang, code in BLOCKS if lang == "python" and "import" in code]


@pytest.mark.parametrize("code", PYTHON, ids=[f"python-{n}" for n in range(len(PYTHON))])
def test_a_documented_python_example_runs(
    code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("MARTECH_BUS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MARTECH_BUS_GATEWAY_TOKENS", TOKEN)
    monkeypatch.setenv("AMPLITUDE_API_KEY", "key")  # the drainer example delivers to amplitude
    # one pass instead of forever
    runnable = code.replace("drainer.run(threading.Event())", "drainer.run_once()")

    namespace: dict[str, object] = {}
    exec(compile(runnable, "docs/gateway.md", "exec"), namespace)

    assert {"app", "drainer", "handler"} & set(namespace)
