"""``python -m mesh.plan STACK ...``: see :mod:`mesh.plan.cli`.

A short-lived process that allocates a few hundred thousand long-lived objects (the SDK's classes, the
resource graph) and little cyclic garbage: the cyclic collector is off for its life (its full passes rescan
every SDK class, 0.3-0.4 s per plan), and it ends with ``os._exit`` once its output is flushed, skipping
the teardown of every module the OS reclaims anyway (as mypy's default ``--fast-exit`` does).
"""

import gc

gc.disable()

import os  # noqa: E402
import sys  # noqa: E402

from mesh.plan.cli import main  # noqa: E402

try:
    code = main()
finally:
    sys.stdout.flush()
    sys.stderr.flush()
os._exit(code or 0)
