"""The program's one clock (mesh/logic/clock.py) and the date-sensitive rules run at the boundaries of the EKS
calendar, through the pure rules, the plan and the program under the mock runtime. The suite itself runs
pinned to tests/pinned-today (conftest.py); nothing here depends on the day it runs."""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pulumi
import pytest

from mesh.logic import clock
from mesh.logic.config import ConfigError
from mesh.logic.eks_versions import (
    AS_OF,
    EKS_VERSIONS,
    EksVersion,
    extended_support_warning,
    kubernetes_version_problem,
    offered_versions,
)
from mesh.plan.cli import evaluate, read_stack_files
from mesh.plan.harness import ProgramRun, ResourceMocks, run_program
from tests.conftest import PINNED_TODAY

ROOT = Path(__file__).resolve().parent.parent
DAY = timedelta(days=1)


# --- the seam --------------------------------------------------------------------------------------


def test_the_suite_runs_pinned_to_its_own_day() -> None:
    today = clock.today()
    assert today == clock.Today(PINNED_TODAY, pinned=True)
    assert today.describe() == f"{PINNED_TODAY} (pinned by CILIUM_MESH_TODAY)"
    # The tables are true up to the day they were read: the suite never checks a day past it.
    assert PINNED_TODAY <= AS_OF


def test_unpinned_the_day_is_the_utc_date_of_the_clock() -> None:
    # 23:30 in New York on 2026-12-01 is 2026-12-02 in UTC, the zone of the EKS calendar.
    new_york = dt.timezone(timedelta(hours=-5))
    evening = dt.datetime(2026, 12, 1, 23, 30, tzinfo=new_york)
    assert clock.today({}, now=lambda: evening) == clock.Today(date(2026, 12, 2), pinned=False)
    assert clock.today({}, now=lambda: evening).describe() == "2026-12-02 (UTC)"
    # A naive reading is taken as UTC, not as the machine's zone.
    assert clock.today({}, now=lambda: dt.datetime(2026, 12, 1, 23, 30)).day == date(2026, 12, 1)
    # An empty value is "not set".
    assert clock.today({clock.ENV: "  "}, now=lambda: evening).day == date(2026, 12, 2)


def test_unpinned_without_a_fake_it_reads_the_system_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(clock.ENV)
    # The one test of the real reading, bracketed so that it holds on any day (even across midnight).
    before = dt.datetime.now(dt.UTC).date()  # reads-the-clock
    read = clock.today()
    after = dt.datetime.now(dt.UTC).date()  # reads-the-clock
    assert not read.pinned and before <= read.day <= after


@pytest.mark.parametrize("value", ["2026-11-26", " 2026-11-26\n"])
def test_a_pin_is_an_iso_date(value: str) -> None:
    assert clock.today({clock.ENV: value}, now=lambda: pytest.fail("the clock must not be read")) == (
        clock.Today(date(2026, 11, 26), pinned=True)
    )


@pytest.mark.parametrize("value", ["tomorrow", "2026-13-01", "26/11/2026", "2026-02-30"])
def test_a_pin_that_is_not_a_date_names_the_variable(value: str) -> None:
    with pytest.raises(clock.ClockError) as info:
        clock.today({clock.ENV: value})
    assert str(info.value).startswith(f"CILIUM_MESH_TODAY: {value!r} is not a date; use YYYY-MM-DD")


def test_no_module_and_no_test_reads_the_calendar_clock_but_the_seams() -> None:
    """``date.today()``, ``datetime.now()``/``utcnow()`` and ``time.time()`` appear only in the clock seam
    and in mesh.verify's wall clock (a deployed certificate expires in real time); this file's one test of
    the real reading marks its lines ``# reads-the-clock``."""
    allowed = {Path("mesh/logic/clock.py"), Path("mesh/verify/cli.py")}
    reads: list[str] = []
    files = [
        ROOT / "__main__.py",
        *(
            p
            for d in ("mesh", "network", "guardrails", "tests", "benchmarks")
            for p in (ROOT / d).rglob("*.py")
            if "venv" not in p.parts
        ),
    ]
    for path in files:
        rel = path.relative_to(ROOT)
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            attr, owner = node.func.attr, ast.unparse(node.func.value)
            is_read = (
                attr in ("today", "now", "utcnow") and owner.split(".")[-1] in ("date", "datetime")
            ) or (attr in ("time", "localtime", "gmtime") and owner == "time")
            if is_read and rel not in allowed and "# reads-the-clock" not in lines[node.lineno - 1]:
                reads.append(f"{rel}:{node.lineno}: {ast.unparse(node)}")
    assert reads == []


# --- the EKS calendar at each boundary ---------------------------------------------------------------


def boundaries(v: EksVersion) -> list[tuple[date, bool, bool]]:
    """(day, offered, in extended support) on each side of each date of ``v``'s row."""
    return [
        (v.released - DAY, False, False),
        (v.released, True, False),
        (v.end_of_standard - DAY, True, False),
        (v.end_of_standard, True, True),
        (v.end_of_extended - DAY, True, True),
        (v.end_of_extended, False, False),
    ]


@pytest.mark.parametrize("version", EKS_VERSIONS, ids=lambda v: v.minor)
def test_every_row_at_each_side_of_each_boundary(version: EksVersion) -> None:
    for day, offered, extended in boundaries(version):
        problem = kubernetes_version_problem(version.minor, day)
        warning = extended_support_warning(version.minor, day)
        assert (problem is None) is offered, (version.minor, day, problem)
        assert (warning is not None) is extended, (version.minor, day, warning)
        assert (version.minor in offered_versions(day)) is offered, (version.minor, day)
        if day < version.released:
            assert problem == (
                f"{version.minor} is not released on EKS before {version.released} "
                f"(offered on {day}: {', '.join(offered_versions(day))})"
            )
        elif not offered:
            assert problem is not None and problem.startswith(
                f"{version.minor} reached the end of EKS extended support on {version.end_of_extended}: "
                "EKS no longer creates clusters with it"
            )
        if extended:
            assert warning == (
                f"Kubernetes {version.minor} is in EKS extended support since {version.end_of_standard} "
                f"(extra cost per cluster hour) and EKS upgrades it automatically after "
                f"{version.end_of_extended}"
            )


def test_calendar_facts_users_plan_by() -> None:
    # EKS user guide release calendar: 1.34 left standard support on 2026-12-02 (main went red that day).
    (v134,) = [v for v in EKS_VERSIONS if v.minor == "1.34"]
    assert (v134.released, v134.end_of_standard, v134.end_of_extended) == (
        date(2025, 10, 2),
        date(2026, 12, 2),
        date(2027, 12, 2),
    )
    assert extended_support_warning("1.34", date(2026, 12, 1)) is None
    assert extended_support_warning("1.34", date(2026, 12, 2)) is not None


# --- the same boundaries through the plan and the program --------------------------------------------


def devstg_version() -> EksVersion:
    """The EKS row of the one Kubernetes version devstg runs (so the test follows the stack file)."""
    cfg, _ = evaluate("devstg")
    (minor,) = {cfg.kubernetes_version(c) for c in cfg.clusters}
    (row,) = [v for v in EKS_VERSIONS if v.minor == minor]
    return row


def extended_warnings(warnings: list[str]) -> list[str]:
    return [w for w in warnings if "EKS extended support" in w]


def test_the_plan_follows_the_pinned_day(monkeypatch: pytest.MonkeyPatch) -> None:
    row = devstg_version()
    names = [c.name for c in evaluate("devstg")[0].clusters]

    monkeypatch.setenv(clock.ENV, str(row.end_of_standard - DAY))
    assert extended_warnings(evaluate("devstg")[1].warnings) == []

    monkeypatch.setenv(clock.ENV, str(row.end_of_standard))
    assert extended_warnings(evaluate("devstg")[1].warnings) == [
        f"{n}: {extended_support_warning(row.minor, row.end_of_standard)}" for n in names
    ]

    monkeypatch.setenv(clock.ENV, str(row.end_of_extended))
    with pytest.raises(ConfigError) as info:
        evaluate("devstg")
    assert info.value.problems[0].startswith(
        f"eks.kubernetesVersion: {row.minor} reached the end of EKS extended support on {row.end_of_extended}"
    )


def run_devstg_under_pulumi() -> ProgramRun:
    """``__main__.py`` with devstg's config under the mock runtime, as ``pulumi up`` runs it: no plan-side
    validation first, so what it refuses is the program's own ``load_config``."""
    project, config, _ = read_stack_files("devstg")
    return run_program(
        ROOT / "__main__.py",
        project=project,
        stack="devstg",
        config={k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()},
        mocks=ResourceMocks(),
        project_dir=ROOT,
    )


def test_the_program_reads_the_clock_itself_under_pulumi(monkeypatch: pytest.MonkeyPatch) -> None:
    """``load_config`` (what ``pulumi up`` runs) takes its day from the clock seam: its warnings on the
    last day of standard support and after, its refusal at the end of extended support, its error for a
    pin that is not a date."""
    row = devstg_version()
    monkeypatch.setenv(clock.ENV, str(row.end_of_standard - DAY))
    assert extended_warnings(run_devstg_under_pulumi().warnings) == []
    monkeypatch.setenv(clock.ENV, str(row.end_of_standard))
    assert len(extended_warnings(run_devstg_under_pulumi().warnings)) == 2
    monkeypatch.setenv(clock.ENV, str(row.end_of_extended))
    with pytest.raises(pulumi.RunError, match=r"eks\.kubernetesVersion: .* end of EKS extended support"):
        run_devstg_under_pulumi()
    monkeypatch.setenv(clock.ENV, "not-a-day")
    with pytest.raises(pulumi.RunError, match="CILIUM_MESH_TODAY: 'not-a-day' is not a date"):
        run_devstg_under_pulumi()


def plan_cli(*args: str, today: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, clock.ENV: today}
    return subprocess.run(
        [sys.executable, "-m", "mesh.plan", "devstg", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_names_the_day_and_refuses_a_version_past_extended_support(tmp_path: Path) -> None:
    row = devstg_version()
    ok = plan_cli("--json", str(tmp_path / "plan.json"), today=str(row.end_of_standard))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[1] == (
        f"EKS versions checked as of {row.end_of_standard} (pinned by CILIUM_MESH_TODAY): "
        f"mesh/logic/eks_versions.py, as of {AS_OF}"
    )
    warnings = json.loads((tmp_path / "plan.json").read_text())["warnings"]
    assert len(extended_warnings(warnings)) == 2

    refused = plan_cli(today=str(row.end_of_extended))
    assert refused.returncode == 2 and refused.stdout == "" and "Traceback" not in refused.stderr
    assert (
        f"  - eks.kubernetesVersion: {row.minor} reached the end of EKS extended support on "
        f"{row.end_of_extended}" in refused.stderr
    )

    bad = plan_cli(today="next tuesday")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr == (
        "error: invalid stack config:\n  - CILIUM_MESH_TODAY: 'next tuesday' is not a date; use YYYY-MM-DD "
        "(e.g. CILIUM_MESH_TODAY=2026-11-26), or unset it to check against today's date\n"
    )
