"""httpx, imported without its command-line client: ``from martech_bus.sinks._httpx import httpx``.

``httpx/__init__.py`` ends with ``try: from ._main import main except ImportError``.
``httpx._main`` is the ``httpx`` CLI: it imports click, pygments and rich, which
are installed next to martech-bus (its own CLI uses them), and that costs ~80 ms
of every Lambda cold start that delivers over HTTP. While httpx is imported for
the first time, ``httpx._main`` is marked missing in ``sys.modules`` (``None``
makes ``import`` raise ``ImportError``), so httpx takes its own fallback:
``httpx.main`` becomes a stub that asks for ``httpx[cli]``. The mark is removed
right after, so a later ``import httpx._main`` works as usual; nothing changes
when httpx was imported before. Every martech-bus module imports httpx through here.
"""

from __future__ import annotations

import sys

_CLI = "httpx._main"
_block_cli = "httpx" not in sys.modules and _CLI not in sys.modules
if _block_cli:
    sys.modules[_CLI] = None  # type: ignore[assignment]
try:
    import httpx as httpx
finally:
    if _block_cli and _CLI in sys.modules and sys.modules[_CLI] is None:
        del sys.modules[_CLI]

__all__ = ["httpx"]
