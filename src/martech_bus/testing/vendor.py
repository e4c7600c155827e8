"""Point real adapter folders at a local vendor stub (e.g. pytest-httpserver on 127.0.0.1).

The adapters stay exactly as shipped — mappings, envelopes, auth, batching,
retry settings — except for the scheme and host of their endpoint URL, so a
test exercises the real integration against a real local HTTP server.
Placeholders in the original host (``https://{instance}.braze.com/users/track``)
move to the front of the path (``/{instance}/users/track``), so every declared
param is still used and a stub can see its value.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

# ``url: https://{instance}.braze.com/users/track`` -> keep the path, replace scheme and host.
_URL_LINE = re.compile(
    r"^(?P<indent>\s*)url:\s*(?P<quote>['\"]?)(?P<url>https?://[^/'\"\s]+)(?P<path>[^'\"\s]*)(?P=quote)\s*(?:#.*)?$",
    re.M,
)


def stub_adapters(
    source: str | Path, target: str | Path, base_url: str, *, names: list[str] | None = None
) -> Path:
    """Copy the adapters in ``source`` (or only ``names``) to ``target`` with endpoints on ``base_url``.

    ``base_url`` is scheme and host, e.g. ``http://127.0.0.1:8123``; each endpoint
    keeps its path, so a stub can tell vendors apart by path.
    """
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ValueError(f"base_url must be scheme://host[:port], got {base_url!r}")
    origin = f"{parts.scheme}://{parts.netloc}"
    src, dst = Path(source), Path(target)
    dst.mkdir(parents=True, exist_ok=True)
    for folder in sorted(p for p in src.iterdir() if (p / "adapter.yaml").is_file()):
        if names is not None and folder.name not in names:
            continue
        copy = dst / folder.name
        shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("__pycache__"))
        manifest = copy / "adapter.yaml"
        text = manifest.read_text(encoding="utf-8")
        rewritten, count = _URL_LINE.subn(lambda m: _stubbed(m, origin), text, count=1)
        if count != 1:
            raise ValueError(f"{manifest}: no endpoint url line to point at the stub")
        manifest.write_text(rewritten, encoding="utf-8")
    return dst


def _stubbed(match: re.Match[str], origin: str) -> str:
    host_placeholders = "".join(
        f"/{name}" for name in re.findall(r"\{[A-Za-z_][A-Za-z0-9_]*\}", match["url"])
    )
    return f"{match['indent']}url: {origin}{host_placeholders}{match['path']}"
