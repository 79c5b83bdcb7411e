"""``python -m exporter.cli``: the ``exporter`` command (the tests start servers this way)."""

import sys

from exporter.cli import main

sys.exit(main())
