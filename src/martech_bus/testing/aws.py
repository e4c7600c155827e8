"""A local AWS endpoint: moto's threaded server on 127.0.0.1, reached by boto3 over real HTTP."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

REGION = "us-east-1"
# moto accepts any credentials; fixed fake ones keep boto3 from looking for real ones.
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass(frozen=True, slots=True)
class AwsEndpoint:
    """Where the local AWS endpoint listens, and how to make clients for it."""

    url: str
    region: str = REGION

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client for ``service`` pointed at this endpoint."""
        import boto3

        return boto3.client(
            service, endpoint_url=self.url, region_name=self.region, **FAKE_CREDENTIALS, **kwargs
        )

    def reset(self) -> None:
        """Forget every resource (moto's reset API), between tests that share the server."""
        import urllib.request

        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def moto_endpoint() -> Iterator[AwsEndpoint]:
    """Run moto's server on 127.0.0.1 for the duration of the block."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("the local AWS endpoint needs: pip install 'moto[server]'") from exc

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield AwsEndpoint(url=f"http://127.0.0.1:{port}")
    finally:
        server.stop()
