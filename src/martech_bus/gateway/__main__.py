"""``python -m martech_bus.gateway serve ...``: the gateway commands without the whole CLI."""

from __future__ import annotations

import sys

from martech_bus.cli.gateway import main

sys.exit(main())
