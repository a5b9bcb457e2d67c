"""Tests that don't hide: a chart test without its archive skips locally with ONE summary line (why, how
to fix), and fails under CI=true. Run for real: pytest in a subprocess, on a scratch test module that
uses the project's hooks (tests/conftest.py) and ``need_chart``, with no chart source reachable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.chart_archives import HOW_TO_FIX, SKIP_PREFIX, closed_port_url, in_ci

ROOT = Path(__file__).resolve().parent.parent

SCRATCH_TESTS = """
from tests.chart_archives import need_chart


def test_one() -> None:
    need_chart("1.16.3")


def test_two() -> None:
    need_chart("1.18.12")


def test_without_charts() -> None:
    assert True
"""


def run_scratch_suite(tmp_path: Path, *, ci: bool) -> subprocess.CompletedProcess[str]:
    suite = tmp_path / "suite"
    suite.mkdir()
    hooks = "from tests.conftest import pytest_configure, pytest_terminal_summary\n"
    (suite / "conftest.py").write_text(hooks)
    (suite / "test_scratch.py").write_text(SCRATCH_TESTS)
    (tmp_path / "empty").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"CI", "PYTEST_ADDOPTS"}}
    env |= {
        "PYTHONPATH": str(ROOT),
        "CILIUM_CHARTS_DIR": str(tmp_path / "empty"),
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
        "CILIUM_CHART_REPO": closed_port_url(),
    }
    if ci:
        env["CI"] = "true"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--rootdir", str(suite), "."]
    return subprocess.run(command, cwd=suite, env=env, capture_output=True, text=True, timeout=300)


def test_locally_chart_skips_print_one_summary_line(tmp_path: Path) -> None:
    done = run_scratch_suite(tmp_path, ci=False)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if "chart tests skipped" in line]
    assert len(lines) == 1, done.stdout
    assert lines[0].startswith("2 chart tests skipped: cannot reach the chart repository http://127.0.0.1:")
    assert lines[0].endswith(f"To run them, {HOW_TO_FIX}.")
    assert "1 passed, 2 skipped" in done.stdout


def test_under_ci_a_chart_test_that_would_skip_fails(tmp_path: Path) -> None:
    done = run_scratch_suite(tmp_path, ci=True)
    assert done.returncode == 1
    assert "2 failed, 1 passed" in done.stdout and "skipped" not in done.stdout
    assert f"{SKIP_PREFIX}: cannot reach the chart repository" in done.stdout
    assert "(CI=true: chart tests must not skip)" in done.stdout


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("1", True), ("", False), ("false", False)])
def test_what_counts_as_ci(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("CI", value)
    assert in_ci() is expected
