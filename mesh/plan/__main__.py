"""``python -m mesh.plan STACK ...``: see :mod:`mesh.plan.cli`."""

import sys

from mesh.plan.cli import main

sys.exit(main())
