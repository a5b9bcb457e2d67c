"""Which Cilium chart versions the repository publishes: the one reader behind the "latest patch first"
upgrade rule (:mod:`mesh.logic.transitions`) and the "is ``cilium.version`` published" config check.

It never touches the network. It reads the first index found in ``$CILIUM_CHARTS_DIR/index.yaml``, the
chart cache that :mod:`mesh.charts` fills on every fetch (``$XDG_CACHE_HOME/cilium-mesh/charts/index.yaml``;
``python -m mesh.charts update`` refreshes it), else ``../shared/charts/index.yaml`` next to the repository
(:meth:`mesh.charts.fetch.ChartSources.local_index_file` plus that fallback). When none can be read (e.g.
under a real ``pulumi up`` on a machine without the chart cache) it returns None and both checks are
reported as not done, never silently passed.
"""

from __future__ import annotations

import functools
from pathlib import Path

from mesh.charts.fetch import INDEX_NAME, ChartError, ChartSources
from mesh.logic.chart_index import ChartIndexError, parse_index

_REPO_ROOT = Path(__file__).resolve().parents[2]


def index_paths() -> list[Path]:
    """Where the repository index is looked for, in order (see the module docstring)."""
    paths: list[Path] = []
    try:
        local = ChartSources.from_env().local_index_file()
    except ChartError:  # a malformed lock file is reported where archives are fetched
        local = None
    if local is not None:
        paths.append(local)
    paths.append(_REPO_ROOT.parent / "shared" / "charts" / INDEX_NAME)
    return paths


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
