"""Which Cilium chart versions the repository publishes: the one reader behind the "latest patch first"
upgrade rule (:mod:`mesh.logic.transitions`) and the "is ``cilium.version`` published" config check.

:func:`published_versions` never touches the network; :func:`live_published_versions` (real runs only)
downloads the index when no local copy is fresh. It reads the first index found in
``$CILIUM_CHARTS_DIR/index.yaml``, the
chart cache that :mod:`mesh.charts` fills on every fetch (``$XDG_CACHE_HOME/cilium-mesh/charts/index.yaml``;
``python -m mesh.charts update`` refreshes it), else ``../shared/charts/index.yaml`` next to the repository
(:meth:`mesh.charts.fetch.ChartSources.local_index_file` plus that fallback). When none can be read (e.g.
under a real ``pulumi up`` on a machine without the chart cache) it returns None and both checks are
reported as not done, never silently passed. The versions parsed from each index file are kept in the chart
cache (:func:`versions_cache_file`), so a plan parses the index only when the file changed.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path

from mesh.charts.fetch import INDEX_NAME, ChartError, ChartSources, user_cache_dir, write_atomically
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
        versions = _parse(str(path), stat.st_mtime_ns, stat.st_size)
        if versions is not None:
            return versions
    return None


def live_published_versions(
    repository: str | None = None, *, today: date | None = None
) -> tuple[tuple[str, ...] | None, str | None]:
    """For a real run: the published versions, reading the index from the repository (and caching it, as
    ``python -m mesh.charts update`` does) unless a local copy was written `today` (UTC; default
    :func:`mesh.logic.clock.today`). Returns ``(versions or None, why not fresh or None)``; a download
    failure falls back to a stale copy, saying so.
    """
    from mesh.logic.clock import today as clock_today

    day = today if today is not None else clock_today().day
    try:
        sources = ChartSources.from_env(repository)
    except ChartError as err:
        return published_versions(), f"the chart sources cannot be read: {err}"
    local = sources.local_index_file()
    if local is not None and datetime.fromtimestamp(local.stat().st_mtime, UTC).date() >= day:
        return published_versions(), None
    from mesh.charts.fetch import update_index

    try:
        update_index(sources)
    except ChartError as err:
        return published_versions(), f"the index of {sources.repository} could not be read: {err}"
    return published_versions(), None


def versions_cache_file(env: Mapping[str, str] | None = None) -> Path:
    """The versions parsed from the index file last read, with its path, modification time and size (a JSON
    file in the chart cache): parsing the official index (~1.7 MB) is a tenth of a plan's own time."""
    return user_cache_dir(env) / "published-versions.json"


# Part of the cache file: a change to how versions are read from an index invalidates what was kept.
VERSIONS_FORMAT = 1


@functools.cache
def _parse(path: str, mtime_ns: int, size: int) -> tuple[str, ...] | None:
    cache_file = versions_cache_file()
    key = {"format": VERSIONS_FORMAT, "path": path, "mtimeNs": mtime_ns, "size": size}
    try:
        cached = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cached = None
    if (
        isinstance(cached, dict)
        and {k: cached.get(k) for k in key} == key
        and isinstance(cached.get("versions"), list)
    ):
        return tuple(str(v) for v in cached["versions"])
    try:
        versions = tuple(parse_index(Path(path).read_text()).releases())
    except (OSError, ChartIndexError):
        return None
    # One entry, the index last parsed: the file never grows. A cache that cannot be written only costs the
    # parse next time.
    with contextlib.suppress(ChartError):
        write_atomically(
            cache_file.parent, cache_file.name, json.dumps({**key, "versions": list(versions)}).encode()
        )
    return versions
