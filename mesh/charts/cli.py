"""``python -m mesh.charts``: get, verify and cache the Cilium chart archives; lock new versions.

Commands (exit 0 done, 2 a problem explained on stderr, never a traceback):

- ``fetch [VERSION ...]``: resolve each version (see :mod:`mesh.charts.fetch`) and print its path. With no
  version: every version the stacks use (``cilium.version`` of each ``Pulumi.*.yaml``, fetched from that
  stack's ``cilium.repository``); ``--locked``: every version in ``cilium-charts.lock`` (what the tests
  render). ``make charts`` runs ``fetch``.
- ``add VERSION``: lock VERSION to the digest the official repository index publishes for it.
- ``update``: download the repository index again into the cache (like ``helm repo update``).

Environment: ``CILIUM_CHARTS_DIR`` (read-only archive directory, searched first), ``XDG_CACHE_HOME`` (cache
under ``cilium-mesh/charts``, default ``~/.cache``), ``CILIUM_CHART_REPO`` (repository URL, overrides the
stacks' ``cilium.repository``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from mesh.charts.fetch import ChartError, ChartSources, load_index, resolve_chart, update_index
from mesh.charts.lock import LOCK_FILE, LockError, with_digest

ROOT = Path(__file__).resolve().parents[2]


def stack_charts(project_dir: Path = ROOT) -> list[tuple[str, str, str]]:
    """(stack, chart version, repository) of every ``Pulumi.*.yaml``, read through the config edge.
    Raises ``ConfigError`` for an invalid stack."""
    from mesh.plan.cli import read_stack_files, validate

    found = []
    for path in sorted(project_dir.glob("Pulumi.*.yaml")):
        stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        project, config, _ = read_stack_files(stack, project_dir)
        cilium = validate(project, stack, config).cilium
        found.append((stack, cilium.version, cilium.repository))
    return found


def fetch(versions: Sequence[str], *, locked: bool) -> int:
    wanted: dict[str, str | None] = dict.fromkeys(versions)
    if locked:
        wanted |= dict.fromkeys(ChartSources.from_env().lock)
    if not versions and not locked:
        for stack, version, repository in stack_charts():
            print(f"{stack}: cilium {version} from {repository}", file=sys.stderr)
            wanted[version] = repository
    for version, repository in wanted.items():
        print(resolve_chart(version, repository))
    return 0


def add(version: str, lock_file: Path = LOCK_FILE) -> int:
    sources = ChartSources.from_env(lock_file=lock_file)
    index = load_index(sources=sources)
    entry = index.get(version)
    if entry is None:
        # The cached index may predate the release: ask the repository once more.
        entry = update_index(sources).get(version)
    if entry is None:
        raise ChartError(f"the chart repository {sources.repository} does not publish cilium {version}")
    if not entry.digest:
        raise ChartError(f"the index of {sources.repository} lists no digest for cilium {version}")
    locked = sources.lock.get(version)
    if locked == entry.digest:
        print(f"{lock_file.name}: {version} is already locked to {locked}")
        return 0
    if locked is not None:
        # The point of the lock: a published archive that changes is refused, never silently re-locked.
        raise ChartError(
            f"{version} is locked to sha256 {locked} but the index of {sources.repository} now lists "
            f"{entry.digest}: the published archive changed. Edit {lock_file.name} by hand if intended."
        )
    try:
        lock_file.write_text(with_digest(lock_file.read_text(), version, entry.digest))
    except LockError as err:
        raise ChartError(f"{lock_file.name}: " + "; ".join(err.problems)) from None
    print(f"{lock_file.name}: {version} {entry.digest} (from {sources.repository})")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m mesh.charts",
        description="Get, verify (cilium-charts.lock) and cache Cilium chart archives; lock new versions.",
        epilog=(
            "Environment: CILIUM_CHARTS_DIR (read-only archive directory, searched first), XDG_CACHE_HOME "
            "(cache in cilium-mesh/charts, default ~/.cache), CILIUM_CHART_REPO (repository URL, overrides "
            "cilium.repository). Exit codes: 0 done, 2 a problem (explained on stderr)."
        ),
    )
    commands = top.add_subparsers(dest="command", required=True)
    fetch_cmd = commands.add_parser("fetch", help="get, verify and cache archives; print their paths")
    fetch_cmd.add_argument("versions", nargs="*", metavar="VERSION", help="default: the stacks' versions")
    fetch_cmd.add_argument("--locked", action="store_true", help="every version in cilium-charts.lock")
    add_cmd = commands.add_parser("add", help="lock VERSION to the official index's digest")
    add_cmd.add_argument("version", metavar="VERSION")
    commands.add_parser("update", help="download the repository index into the cache again")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    from mesh.logic.config import ConfigError

    args = parser().parse_args(argv)
    try:
        if args.command == "fetch":
            return fetch(args.versions, locked=args.locked)
        if args.command == "add":
            return add(args.version)
        sources = ChartSources.from_env()
        update_index(sources)
        print(f"{sources.cache_dir / 'index.yaml'}: updated from {sources.repository}")
        return 0
    except (ChartError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
