"""httpx is imported without its command-line client (rich, click, pygments): see sinks/_httpx.py."""

from __future__ import annotations

import json
import subprocess
import sys

CLI_STACK = {"rich", "click", "pygments"}

# A request through the default client to a local server, then what the process holds.
PROBE = """
import http.server, json, sys, threading

class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass

server = http.server.HTTPServer(("127.0.0.1", 0), Ok)
threading.Thread(target=server.serve_forever, daemon=True).start()
{setup}
client = default_http_client()
response = client.get(f"http://127.0.0.1:{{server.server_port}}/")
loaded = sorted(sys.modules)
print(json.dumps({{"status": response.status_code, "body": response.text, "loaded": loaded}}))
"""


def _probe(setup: str) -> dict[str, object]:
    code = PROBE.format(setup=setup)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def _roots(loaded: object) -> set[str]:
    assert isinstance(loaded, list)
    return {str(name).split(".")[0] for name in loaded}


def test_the_default_client_works_without_loading_the_httpx_cli() -> None:
    result = _probe("from martech_bus.integration import default_http_client")

    assert (result["status"], result["body"]) == (200, "ok")
    assert "httpx" in _roots(result["loaded"])
    assert not _roots(result["loaded"]) & CLI_STACK
    assert "httpx._main" not in result["loaded"]  # not left marked missing either


def test_the_http_sink_module_does_not_load_the_httpx_cli() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, json, martech_bus.sinks.http; print(json.dumps(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert not _roots(json.loads(loaded)) & CLI_STACK


def test_the_httpx_cli_can_still_be_imported_afterwards() -> None:
    result = _probe("from martech_bus.integration import default_http_client\nimport httpx._main")

    assert result["status"] == 200
    assert "httpx._main" in result["loaded"]


def test_an_httpx_imported_before_martech_bus_is_left_as_it_is() -> None:
    result = _probe("import httpx\nfrom martech_bus.integration import default_http_client")

    assert result["status"] == 200
    assert "httpx._main" in result["loaded"]  # httpx's own import, untouched
