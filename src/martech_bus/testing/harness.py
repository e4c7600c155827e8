"""Pipelines for users' own tests: the real pipeline over your adapters, into memory or a local stub.

``RecordingPipeline`` delivers into in-memory ``RecordingSink``s (no HTTP at all):
what each vendor would have been sent, after validation, consent and mapping.
``VendorStub`` copies your adapters with their endpoints pointed at a local HTTP
server (pytest-httpserver on 127.0.0.1) and builds the real HTTP pipeline — auth,
batching, envelopes, retries — with an injected clock, so retries never wait.
The pytest plugin serves both as fixtures (``recording_pipeline``, ``vendor_stub``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from martech_bus.testing.clock import FakeTime
from martech_bus.testing.sinks import RecordingSink

if TYPE_CHECKING:
    from martech_bus.integration import Runtime
    from martech_bus.pipeline import EventResult, Pipeline
    from martech_bus.sinks.dlq import DeadLetterStore


def _adapter_names(adapters_dir: Path, names: Sequence[str] | None) -> list[str]:
    if names is not None:
        return list(names)
    if not adapters_dir.is_dir():
        return []
    return sorted(p.name for p in adapters_dir.iterdir() if (p / "adapter.yaml").is_file())


def _runtime(schemas_dir: Path, adapters_dir: Path, fake: FakeTime, **kwargs: Any) -> Runtime:
    from martech_bus.integration import Runtime

    return Runtime(
        schemas_dir=schemas_dir,
        adapters_dir=adapters_dir,
        dlq="memory",
        idempotency_setting="memory",
        sleep=fake.sleep,
        clock=fake.clock,
        **kwargs,
    )


@dataclass
class RecordingPipeline:
    """The one pipeline (validate -> route -> map -> deliver) into an in-memory sink per adapter."""

    pipeline: Pipeline
    sinks: dict[str, RecordingSink]
    runtime: Runtime

    @classmethod
    def build(
        cls,
        schemas_dir: str | Path,
        adapters_dir: str | Path,
        adapters: Sequence[str] | None = None,
    ) -> RecordingPipeline:
        """A pipeline to ``adapters`` (folder names; default: every adapter in ``adapters_dir``)."""
        runtime = _runtime(Path(schemas_dir), Path(adapters_dir), FakeTime())
        sinks: dict[str, RecordingSink] = {}

        def sink_for(adapter: Any) -> RecordingSink:
            return sinks.setdefault(adapter.name, RecordingSink())

        names = _adapter_names(Path(adapters_dir), adapters)
        return cls(runtime.pipeline(names, sinks=sink_for), sinks, runtime)

    def process(self, events: Iterable[Any]) -> list[EventResult]:
        """One result per canonical event (JSON form or datum form), in order."""
        return self.pipeline.process(events)

    def payloads(self, adapter: str) -> list[Mapping[str, Any]]:
        """The mapped payloads ``adapter`` accepted, in delivery order."""
        return [delivery.payload for delivery in self.sinks[adapter].accepted]

    @property
    def dead_letters(self) -> DeadLetterStore:
        return self.runtime.dead_letters


@dataclass(frozen=True, slots=True)
class StubRequest:
    """One request the stub received: method, path, headers and the JSON body (None if not JSON)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    json: Any


@dataclass
class VendorStub:
    """Your adapters, pointed at a local HTTP server that answers ``200 {}`` unless told otherwise.

    ``server`` is pytest-httpserver's ``HTTPServer``: queue other answers with
    ``server.expect_oneshot_request(...)`` (they take precedence over the default).
    Secrets referenced as ``env:NAME`` resolve to ``stub-name`` unless ``environ``
    (or the process environment) sets them.
    """

    server: Any
    adapters_dir: Path
    schemas_dir: Path
    environ: dict[str, str] = field(default_factory=dict)
    time: FakeTime = field(default_factory=FakeTime)

    @classmethod
    def start(
        cls, server: Any, schemas_dir: str | Path, adapters_dir: str | Path, workdir: str | Path
    ) -> VendorStub:
        """Copy the adapters of ``adapters_dir`` into ``workdir`` with endpoints on ``server``."""
        from martech_bus.testing.vendor import stub_adapters

        copied = stub_adapters(
            adapters_dir, Path(workdir) / "adapters", server.url_for("/").rstrip("/")
        )
        server.expect_request(re.compile(".*")).respond_with_json({})
        return cls(server, copied, Path(schemas_dir))

    def pipeline(self, adapters: Sequence[str] | None = None) -> Pipeline:
        """The real HTTP pipeline to ``adapters`` (default: all), delivering to the stub."""
        from martech_bus.secrets import SecretResolver

        runtime = _runtime(self.schemas_dir, self.adapters_dir, self.time)
        names = _adapter_names(self.adapters_dir, adapters)
        runtime.secrets = SecretResolver(environ=self._environ(runtime, names))
        return runtime.pipeline(names)

    def _environ(self, runtime: Runtime, names: Sequence[str]) -> dict[str, str]:
        from martech_bus.secrets import SecretSource

        wanted = {
            ref.name
            for name in names
            for ref in runtime.adapter(name).manifest.endpoint.secret_references()
            if ref.source is SecretSource.ENV
        }
        defaults = {name: f"stub-{name.lower()}" for name in wanted}
        return {**defaults, **os.environ, **self.environ}

    @property
    def requests(self) -> list[StubRequest]:
        """Every request received so far, in order."""
        found = []
        for request, _ in self.server.log:
            body = request.get_data()
            try:
                parsed = json.loads(body) if body else None
            except ValueError:
                parsed = None
            found.append(
                StubRequest(request.method, request.path, dict(request.headers), body, parsed)
            )
        return found


__all__ = ["RecordingPipeline", "StubRequest", "VendorStub"]
