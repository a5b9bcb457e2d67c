"""``python -m mesh.verify STACK ...``: see :mod:`mesh.verify.cli`."""

import sys

from mesh.verify.cli import main

sys.exit(main())
