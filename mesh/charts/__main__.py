"""``python -m mesh.charts``: see :mod:`mesh.charts.cli`."""

import sys

from mesh.charts.cli import main

sys.exit(main())
