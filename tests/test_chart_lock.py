"""The chart lock file: its parser, its writer, and the committed digests against the official ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mesh.charts.lock import LockError, parse_lock, read_lock, with_digest
from mesh.logic.chart_index import parse_index
from tests.chart_archives import need_index

A = "a" * 64
B = "b" * 64


def test_parse_keeps_versions_and_ignores_comments_and_blank_lines() -> None:
    text = f"# header\n\n1.16.3 {A}  # runbook\n1.16.19 {B}\n"
    assert parse_lock(text) == {"1.16.3": A, "1.16.19": B}


def test_parse_lists_every_bad_line_with_its_number() -> None:
    text = f"1.16 {A}\n1.16.3 {A.upper()}\n1.16.3\n1.17.0 {A}\n1.17.0 {B}\n1.20.0-rc.1 {A}\n"
    with pytest.raises(LockError) as err:
        parse_lock(text, name="x.lock")
    assert err.value.problems == [
        "x.lock:1: '1.16' is not a release version like 1.16.3",
        f"x.lock:2: '{A.upper()}' is not a sha256 (64 lowercase hex digits)",
        "x.lock:3: expected 'VERSION SHA256', got '1.16.3'",
        "x.lock:5: version 1.17.0 is listed twice",
        "x.lock:6: '1.20.0-rc.1' is not a release version like 1.16.3",
    ]


def test_with_digest_keeps_the_header_and_sorts_numerically() -> None:
    text = f"# header line\n# second\n1.16.19 {A}\n"
    out = with_digest(text, "1.16.3", B)
    assert out == f"# header line\n# second\n1.16.3 {B}\n1.16.19 {A}\n"
    # Replacing an entry keeps one line for it.
    assert with_digest(out, "1.16.3", A).count("1.16.3 ") == 1


def test_with_digest_rejects_a_malformed_entry() -> None:
    with pytest.raises(LockError):
        with_digest("", "1.16.3", "sha256:" + A)


def test_committed_lock_file_parses_and_locks_the_runbook_version() -> None:
    locked = read_lock()
    # Cilium 1.16.3 is the runbook's version (devstg); its official digest, as published.
    assert locked["1.16.3"] == "e1be328218c74bd2bed91f996d8c1b10e785715ce53299a392f79b0cef796805"


def test_locked_digests_are_those_of_the_official_index_and_sums() -> None:
    """Every locked version is published in the official index (as the chart fetcher finds it) with exactly
    the locked digest; and every locked archive the shared SHA256SUMS (beside ``$CILIUM_CHARTS_DIR``'s
    archives) lists has the same digest there. Extra, unlocked archives are fine."""
    index = parse_index(need_index().read_text())
    locked = read_lock()
    assert {v: getattr(index.get(v), "digest", None) for v in locked} == locked
    charts_dir = os.environ.get("CILIUM_CHARTS_DIR")
    sums_file = Path(charts_dir) / "SHA256SUMS" if charts_dir else None
    if sums_file is None or not sums_file.is_file():
        return  # no SHA256SUMS here (e.g. archives from the cache): it lists nothing to compare
    sums = {name: digest for digest, name in (line.split() for line in sums_file.read_text().splitlines())}
    listed = {v: d for v, d in locked.items() if f"cilium-{v}.tgz" in sums}
    assert listed, f"{sums_file} lists none of the locked versions"
    assert {v: sums[f"cilium-{v}.tgz"] for v in listed} == listed
