"""The Helm repository index parser, on small documents and on the official index beside the project."""

from __future__ import annotations

import pytest

from mesh.logic.chart_index import ChartIndexError, latest_patch, minor_of, parse_index, version_key
from tests.chart_archives import need_index

SMALL = """
apiVersion: v1
entries:
  cilium:
  - version: 1.16.19
    digest: aa
    urls: [cilium-1.16.19.tgz]
    kubeVersion: ">= 1.16.0-0"
  - version: 1.16.3
    digest: bb
    urls: [https://mirror.example/cilium-1.16.3.tgz]
  - version: 1.17.0-rc.1
    digest: cc
    urls: [cilium-1.17.0-rc.1.tgz]
"""


def test_parse_keeps_digest_urls_and_kube_version() -> None:
    index = parse_index(SMALL)
    entry = index.get("1.16.19")
    assert entry is not None
    assert (entry.digest, entry.urls, entry.kube_version) == ("aa", ("cilium-1.16.19.tgz",), ">= 1.16.0-0")
    assert index.get("1.16.3").urls == ("https://mirror.example/cilium-1.16.3.tgz",)  # type: ignore[union-attr]
    # Release candidates are published but never a target; releases sort numerically, not as text.
    assert index.releases() == ["1.16.3", "1.16.19"]


def test_latest_patch_is_numeric_and_per_minor() -> None:
    versions = ["1.16.3", "1.16.19", "1.16.9", "1.17.0-rc.1", "1.17.2"]
    assert latest_patch(versions, "1.16") == "1.16.19"
    assert latest_patch(versions, "1.17") == "1.17.2"
    assert latest_patch(versions, "1.18") is None
    assert minor_of("1.19.5") == "1.19"
    assert version_key("1.16.19") > version_key("1.16.9")
    with pytest.raises(ValueError):
        version_key("1.17.0-rc.1")


@pytest.mark.parametrize("document", ["apiVersion: v1\n", "entries: {other: []}\n", "[]\n", ""])
def test_documents_without_the_chart_are_refused(document: str) -> None:
    with pytest.raises(ChartIndexError):
        parse_index(document)


def test_official_index_publishes_the_upgrade_path() -> None:
    """On the official index (as the chart fetcher finds it). Its digests against the committed ones:
    tests/test_chart_lock.py."""
    index = parse_index(need_index().read_text())
    # The upgrade path the README walks: each step starts from the latest patch of its minor. The live
    # index only ever gains patches, so these are lower bounds (exact on the 2026-08 copy in ../shared).
    releases = index.releases()
    for minor, step in (("1.16", "1.16.19"), ("1.17", "1.17.18"), ("1.18", "1.18.12"), ("1.19", "1.19.5")):
        newest = latest_patch(releases, minor)
        assert newest is not None and version_key(newest) >= version_key(step), minor
        assert step in releases
