"""Published chart versions (mesh/charts/versions.py): read from the first readable index, parsed once per
index file version and kept in the chart cache."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesh.charts import versions

INDEX = """apiVersion: v1
entries:
  cilium:
  - version: 1.16.3
    digest: aaa
    urls: [https://helm.cilium.io/cilium-1.16.3.tgz]
  - version: 1.17.0-rc.1
    digest: bbb
    urls: [https://helm.cilium.io/cilium-1.17.0-rc.1.tgz]
  - version: 1.16.19
    digest: ccc
    urls: [https://helm.cilium.io/cilium-1.16.19.tgz]
"""


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private index as the only one, and a private cache."""
    path = tmp_path / "charts" / "index.yaml"
    path.parent.mkdir()
    path.write_text(INDEX)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(versions, "index_paths", lambda: [tmp_path / "missing.yaml", path])
    versions._parse.cache_clear()
    yield path
    versions._parse.cache_clear()


def test_releases_come_from_the_first_readable_index_oldest_first(index: Path) -> None:
    assert versions.published_versions() == ("1.16.3", "1.16.19")


def test_parsed_versions_are_cached_per_index_file_version(index: Path) -> None:
    versions.published_versions()
    cache_file = versions.versions_cache_file()
    entry = json.loads(cache_file.read_text())
    stat = index.stat()
    assert entry == {
        "format": versions.VERSIONS_FORMAT,
        "path": str(index),
        "mtimeNs": stat.st_mtime_ns,
        "size": stat.st_size,
        "versions": ["1.16.3", "1.16.19"],
    }

    # A fresh process (nothing in memory) takes the versions from the cache file while the index is unchanged.
    cache_file.write_text(json.dumps({**entry, "versions": ["9.9.9"]}))
    versions._parse.cache_clear()
    assert versions.published_versions() == ("9.9.9",)

    # Another format of the cache is not trusted.
    cache_file.write_text(json.dumps({**entry, "format": 0, "versions": ["9.9.9"]}))
    versions._parse.cache_clear()
    assert versions.published_versions() == ("1.16.3", "1.16.19")

    # The index changed: parsed again, and the cache holds that one entry only.
    index.write_text(INDEX.replace("1.16.19", "1.16.20"))
    os.utime(index, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    versions._parse.cache_clear()
    assert versions.published_versions() == ("1.16.3", "1.16.20")
    assert json.loads(cache_file.read_text())["versions"] == ["1.16.3", "1.16.20"]


@pytest.mark.parametrize("damage", ["not json", "[1, 2]", '{"path": "INDEX", "mtimeNs": "x"}'])
def test_a_damaged_cache_file_is_ignored_and_rewritten(index: Path, damage: str) -> None:
    cache_file = versions.versions_cache_file()
    cache_file.parent.mkdir(parents=True)
    cache_file.write_text(damage.replace("INDEX", str(index)))
    assert versions.published_versions() == ("1.16.3", "1.16.19")
    assert json.loads(cache_file.read_text())["versions"] == ["1.16.3", "1.16.19"]


def test_an_unwritable_cache_still_answers(
    index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert versions.published_versions() == ("1.16.3", "1.16.19")


def test_no_readable_index_means_not_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(versions, "index_paths", lambda: [tmp_path / "missing.yaml"])
    assert versions.published_versions() is None
