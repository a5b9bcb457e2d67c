"""Which Cilium chart versions the repository publishes, for the "latest patch first" upgrade rule.

ONE function, :func:`published_versions`. It never touches the network: it reads the first index found in
``$CILIUM_CHARTS_DIR/index.yaml``, the chart cache that :mod:`mesh.charts` fills on every fetch
(``$XDG_CACHE_HOME/cilium-mesh/charts/index.yaml``; ``python -m mesh.charts`` refreshes it), else
``../shared/charts/index.yaml`` next to the repository. When none can be read (e.g. under a real ``pulumi
up`` on a machine without the chart cache) it returns None and the rule is reported as not checked, never
silently passed (:func:`mesh.logic.transitions.plan_transition`).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from mesh.charts.fetch import CHARTS_DIR_ENV, INDEX_NAME, user_cache_dir
from mesh.logic.chart_index import ChartIndexError, parse_index

_REPO_ROOT = Path(__file__).resolve().parent.parent


def index_paths() -> list[Path]:
    """Where the repository index is looked for, in order (see the module docstring)."""
    configured = os.environ.get(CHARTS_DIR_ENV)
    directories = [Path(configured)] if configured else []
    directories += [user_cache_dir(), _REPO_ROOT.parent / "shared" / "charts"]
    return [d / INDEX_NAME for d in directories]


def published_versions() -> tuple[str, ...] | None:
    """Published release versions of the ``cilium`` chart, oldest first; None when no index is readable."""
    for path in index_paths():
        try:
            stat = path.stat()
        except OSError:
            continue
        versions = _parse(str(path), stat.st_mtime_ns)
        if versions is not None:
            return versions
    return None


@functools.cache
def _parse(path: str, _mtime: int) -> tuple[str, ...] | None:
    # Parsing the official index (~1.7 MB) takes a noticeable fraction of a second: once per file version.
    try:
        return tuple(parse_index(Path(path).read_text()).releases())
    except (OSError, ChartIndexError):
        return None
