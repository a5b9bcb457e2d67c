"""The Helm chart repository index (``index.yaml``), parsed: published versions, digests, URLs.

Pure: takes the document's text or its parsed mapping; fetching and caching the index is
:mod:`mesh.charts`' job. Helm's index format (helm.sh/docs/topics/chart_repository, "The index file"):
``entries.<chart>`` is a list of chart versions, each with ``version``, ``digest`` (sha256 of the
archive), ``urls`` (absolute, or relative to the repository URL) and an optional ``kubeVersion``
constraint.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

CHART_NAME = "cilium"
# A release version (no pre-release or build suffix): the only kind the stacks may pin.
RELEASE_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


class ChartIndexError(ValueError):
    """The document is not a Helm repository index holding the chart."""


@dataclass(frozen=True)
class ChartVersion:
    """One published chart version. ``kube_version`` is the chart's constraint (``""`` when none)."""

    version: str
    digest: str
    urls: tuple[str, ...]
    kube_version: str = ""


@dataclass(frozen=True)
class ChartIndex:
    """The versions of one chart in a repository index, keyed by version string."""

    chart: str
    versions: Mapping[str, ChartVersion]

    def get(self, version: str) -> ChartVersion | None:
        return self.versions.get(version)

    def releases(self) -> list[str]:
        """Published release versions (pre-releases and release candidates left out), oldest first."""
        return sorted((v for v in self.versions if RELEASE_RE.match(v)), key=version_key)


def version_key(version: str) -> tuple[int, int, int]:
    """Sort key of a release version ``X.Y.Z``; raises ValueError for anything else."""
    match = RELEASE_RE.match(version)
    if not match:
        raise ValueError(f"{version!r} is not a release version X.Y.Z")
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


def minor_of(version: str) -> str:
    """``1.16`` for ``1.16.3``."""
    major, minor, _ = version_key(version)
    return f"{major}.{minor}"


def latest_patch(versions: Iterable[str], minor: str) -> str | None:
    """The newest release of ``minor`` (``1.16``) among ``versions``, or None when none is published."""
    candidates = [v for v in versions if RELEASE_RE.match(v) and minor_of(v) == minor]
    return max(candidates, key=version_key) if candidates else None


def parse_index(document: str | Mapping[str, Any], chart: str = CHART_NAME) -> ChartIndex:
    """Parse an ``index.yaml`` (text, or already-loaded mapping) for ``chart``.

    Raises :class:`ChartIndexError` when the document has no ``entries.<chart>`` list.
    """
    data = yaml.load(document, Loader=_LOADER) if isinstance(document, str) else document
    entries = (data or {}).get("entries") if isinstance(data, Mapping) else None
    items = entries.get(chart) if isinstance(entries, Mapping) else None
    if not isinstance(items, Sequence) or isinstance(items, str):
        raise ChartIndexError(f"not a Helm repository index with chart {chart!r} (no entries.{chart} list)")
    versions: dict[str, ChartVersion] = {}
    for item in items:
        if not isinstance(item, Mapping) or not item.get("version"):
            continue
        version = str(item["version"])
        versions[version] = ChartVersion(
            version=version,
            digest=str(item.get("digest") or ""),
            urls=tuple(str(u) for u in item.get("urls") or ()),
            kube_version=str(item.get("kubeVersion") or ""),
        )
    return ChartIndex(chart=chart, versions=versions)


# The official index is ~1.7 MB: libyaml parses it in well under a second, pure Python in several.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
