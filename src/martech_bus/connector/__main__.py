"""``python -m martech_bus.connector run --adapter NAME ...``: the connector command on its own."""

import sys

from martech_bus.cli.connector import main

sys.exit(main(sys.argv[1:]))
