"""Shared fixtures (offline evaluations of the real program, computed once per session), the suite's pinned
day (``tests/pinned-today``) and the chart hooks: the shared chart directory as default source, one summary
line for chart skips."""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import pytest

from mesh.logic.clock import ENV as CLOCK_ENV
from mesh.logic.config import StackConfig
from mesh.plan import cli
from mesh.plan.cli import ROOT, evaluate, evaluate_config
from mesh.plan.harness import ProgramRun
from mesh.plan.synthetic import synthetic_config
from tests.chart_archives import HOW_TO_FIX, SKIP_PREFIX

SHARED_CHARTS = Path(__file__).resolve().parents[2] / "shared" / "charts"
PINNED_TODAY_FILE = Path(__file__).with_name("pinned-today")


def pinned_today() -> date:
    """The suite's day (``tests/pinned-today``: its one line that is not a comment)."""
    (line,) = [
        line.strip()
        for line in PINNED_TODAY_FILE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return date.fromisoformat(line)


PINNED_TODAY = pinned_today()


def pytest_configure(config: pytest.Config) -> None:
    # Every reader of "today" (the plan, load_config under the mock runtime, subprocesses of the CLI) asks
    # mesh.logic.clock, which honours CILIUM_MESH_TODAY: pinned for the whole session, whatever the caller's
    # environment says, so no test depends on the day it runs. Tests of the clock itself unset it.
    os.environ[CLOCK_ENV] = PINNED_TODAY.isoformat()
    # The official archives beside the project (../shared/charts) are the source when nothing else is set,
    # exactly as .ci/run and the Makefile export it; the resolver itself knows only CILIUM_CHARTS_DIR.
    if not os.environ.get("CILIUM_CHARTS_DIR") and SHARED_CHARTS.is_dir():
        os.environ["CILIUM_CHARTS_DIR"] = str(SHARED_CHARTS)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Chart tests that skipped (repository unreachable, nothing cached): ONE line, why and how to fix."""
    reasons = [
        str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        for report in terminalreporter.stats.get("skipped", [])
    ]
    charts = [r for r in reasons if SKIP_PREFIX in r]
    if charts:
        why = charts[0].split(f"{SKIP_PREFIX}: ", 1)[-1]
        terminalreporter.write_line(
            f"{len(charts)} chart tests skipped: {why}. To run them, {HOW_TO_FIX}.", yellow=True, bold=True
        )


@pytest.fixture(scope="session")
def devstg() -> tuple[StackConfig, ProgramRun]:
    return evaluate("devstg")


@pytest.fixture(scope="session")
def three() -> tuple[StackConfig, ProgramRun]:
    """A synthetic stack of three clusters with the demo on."""
    return evaluate_config("cilium-mesh", "three", synthetic_config(3, demo=True))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory holding Pulumi.yaml; `python -m mesh.plan` (in-process) reads stacks from it
    (tests that write stack files of their own: test_config_errors.py, test_aws_rules.py)."""
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    monkeypatch.setattr(cli, "ROOT", tmp_path)
    return tmp_path
