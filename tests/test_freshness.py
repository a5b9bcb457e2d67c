"""The weekly freshness check: what ages while the code does not (mesh/logic/freshness.py), at each side of
each limit, and `python -m mesh.plan.freshness` on the real stacks with the clock pinned to chosen days and a
repository index written for the test."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from mesh.logic import clock
from mesh.logic.eks_versions import AS_OF, EKS_VERSIONS, EksVersion, kubernetes_version_problem
from mesh.logic.freshness import (
    DEFAULT_MAX_TABLE_AGE_DAYS,
    DEFAULT_NOTICE_DAYS,
    Finding,
    cilium_patch_findings,
    kubernetes_findings,
    table_age_findings,
)
from mesh.plan import freshness
from mesh.plan.cli import read_stack_files, validate

DAY = timedelta(days=1)
ROW = next(v for v in EKS_VERSIONS if v.minor == "1.34")  # standard support ended 2026-12-02


# --- Kubernetes: standard support ----------------------------------------------------------------------


def test_quiet_until_the_notice_window() -> None:
    day = ROW.end_of_standard - timedelta(days=61)
    assert kubernetes_findings("s: k", "1.34", day, notice_days=60) == []


@pytest.mark.parametrize(("days_left", "unit"), [(60, "days"), (2, "days"), (1, "day")])
def test_a_notice_inside_the_window(days_left: int, unit: str) -> None:
    day = ROW.end_of_standard - timedelta(days=days_left)
    assert kubernetes_findings("s: k", "1.34", day, notice_days=60) == [
        Finding(
            "s: k", f"1.34 leaves EKS standard support in {days_left} {unit}, on 2026-12-02", failing=False
        )
    ]


def test_failing_from_the_day_standard_support_ends() -> None:
    (finding,) = kubernetes_findings("devstg: eks.kubernetesVersion", "1.34", ROW.end_of_standard, 60)
    assert finding == Finding(
        "devstg: eks.kubernetesVersion",
        "1.34 left EKS standard support on 2026-12-02 (extended support, extra cost per cluster hour, until "
        "2027-12-02); upgrade one minor at a time",
        failing=True,
    )
    (last,) = kubernetes_findings("s", "1.34", ROW.end_of_extended - DAY, 60)
    assert last.failing and "left EKS standard support" in last.message


@pytest.mark.parametrize(
    ("version", "day"),
    [("1.34", ROW.end_of_extended), ("1.99", ROW.released), ("1.36", date(2026, 6, 1))],
    ids=["past-extended", "unknown", "not-yet-released"],
)
def test_a_version_eks_does_not_offer_fails_with_the_plans_message(version: str, day: date) -> None:
    (finding,) = kubernetes_findings("s", version, day, 60)
    assert finding == Finding("s", str(kubernetes_version_problem(version, day)), failing=True)


def test_a_zero_day_window_gives_no_notice() -> None:
    assert kubernetes_findings("s", "1.34", ROW.end_of_standard - DAY, notice_days=0) == []


# --- Cilium: the latest patch of the line --------------------------------------------------------------


def test_the_latest_patch_of_the_line_is_fresh() -> None:
    # Newer lines and pre-releases are not "a newer patch" of 1.16.
    published = ["1.16.3", "1.16.19", "1.16.20-rc.1", "1.17.18", "1.20.0"]
    assert cilium_patch_findings("s", "1.16.19", published) == []


def test_an_older_patch_fails_naming_the_latest() -> None:
    published = ["1.16.3", "1.16.10", "1.16.19", "1.17.18"]
    (finding,) = cilium_patch_findings("devstg: cilium.version", "1.16.3", published)
    assert finding.failing
    assert finding.message.startswith("1.16.3 is not the latest patch of Cilium 1.16: 1.16.19 is published")
    # Numeric order, not text order: 1.16.9 < 1.16.10.
    (older,) = cilium_patch_findings("s", "1.16.9", ["1.16.9", "1.16.10"])
    assert "1.16.10 is published" in older.message


def test_no_index_fails_closed() -> None:
    (finding,) = cilium_patch_findings("s", "1.16.3", None)
    assert finding.failing and "no chart repository index could be read" in finding.message
    assert "python -m mesh.charts update" in finding.message


def test_a_line_with_no_published_release_and_a_bad_version() -> None:
    assert cilium_patch_findings("s", "1.16.3", ["1.17.18"]) == []
    (bad,) = cilium_patch_findings("s", "1.16", ["1.16.3"])
    assert bad.failing and "'1.16' is not a release version X.Y.Z" in bad.message


# --- tables ----------------------------------------------------------------------------------------------


def test_a_table_fails_one_day_past_its_maximum_age() -> None:
    tables = {"mesh/logic/eks_versions.py": date(2026, 11, 26)}
    limit = date(2026, 11, 26) + timedelta(days=90)
    assert table_age_findings(tables, limit, 90) == []
    (finding,) = table_age_findings(tables, limit + DAY, 90)
    assert finding == Finding(
        "mesh/logic/eks_versions.py",
        "read on 2026-11-26, 91 days ago (more than 90): re-read its sources and move AS_OF",
        failing=True,
    )


def test_every_dated_table_is_checked() -> None:
    """Each pure module that records the day its sources were read (``AS_OF``) is one of the tables."""
    import importlib

    root = Path(__file__).resolve().parent.parent
    dated = {}
    for package in ("mesh/logic", "network/logic"):
        for path in sorted((root / package).glob("*.py")):
            module = importlib.import_module(str(path.relative_to(root).with_suffix("")).replace("/", "."))
            if isinstance(getattr(module, "AS_OF", None), date):
                dated[str(path.relative_to(root))] = module.AS_OF
    assert dated == freshness.TABLES
    assert set(dated) >= {"mesh/logic/eks_versions.py", "mesh/logic/k8s_compat.py"}
    assert (DEFAULT_NOTICE_DAYS, DEFAULT_MAX_TABLE_AGE_DAYS) == (60, 90)


# --- python -m mesh.plan.freshness on the real stacks ------------------------------------------------------


def stack_versions() -> dict[str, tuple[str, EksVersion]]:
    """Each stack's Cilium version and the EKS row of its (one) Kubernetes version."""
    found = {}
    for stack in freshness.stack_names():
        project, config, _ = read_stack_files(stack)
        cfg = validate(project, stack, config)
        (minor,) = {cfg.kubernetes_version(c) for c in cfg.clusters}
        found[stack] = (cfg.cilium.version, next(v for v in EKS_VERSIONS if v.minor == minor))
    return found


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An index publishing exactly the stacks' Cilium versions (the freshness check reads it first)."""
    charts = tmp_path / "charts"
    charts.mkdir()
    monkeypatch.setenv("CILIUM_CHARTS_DIR", str(charts))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    publish(charts, sorted({v for v, _ in stack_versions().values()}))
    return charts


def publish(charts: Path, versions: list[str]) -> None:
    entries = [{"version": v, "digest": "0" * 64, "urls": [f"cilium-{v}.tgz"]} for v in versions]
    (charts / "index.yaml").write_text(json.dumps({"apiVersion": "v1", "entries": {"cilium": entries}}))


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], day: date, *args: str
) -> tuple[int, list[str]]:
    monkeypatch.setenv(clock.ENV, str(day))
    code = freshness.main(list(args))
    out = capsys.readouterr().out.splitlines()
    return code, [line.strip() for line in out if line.startswith("  ")]


def quiet_day() -> date:
    """The last day before every stack's notice window (tables are young then: it precedes AS_OF)."""
    rows = [row for _, row in stack_versions().values()]
    day = min(row.end_of_standard for row in rows) - timedelta(days=DEFAULT_NOTICE_DAYS + 1)
    assert all(row.released <= day for row in rows) and day <= AS_OF
    return day


def test_fresh_stacks_exit_0(
    index: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    day = quiet_day()
    code, lines = run(monkeypatch, capsys, day)
    assert [line for line in lines if line.startswith("FAIL")] == []
    assert code == 0


def test_a_new_patch_and_the_end_of_standard_support_fail(
    index: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    versions = stack_versions()
    stack, (cilium, row) = next(iter(versions.items()))
    major, minor, patch = (int(p) for p in cilium.split("."))
    newer = f"{major}.{minor}.{patch + 1}"
    publish(index, sorted({v for v, _ in versions.values()} | {newer}))
    code, lines = run(monkeypatch, capsys, row.end_of_standard)
    assert code == 1
    assert f"FAIL  {stack}: cilium.version: {cilium} is not the latest patch of Cilium {major}.{minor}: " in (
        "\n".join(lines)
    )
    assert f"FAIL  {stack}: eks.kubernetesVersion: {row.minor} left EKS standard support on " in "\n".join(
        lines
    )
    # Only the stack asked for.
    code, lines = run(monkeypatch, capsys, row.end_of_standard, stack)
    assert code == 1 and all(line.split()[1].rstrip(":") in (stack, *freshness.TABLES) for line in lines)


def test_a_stack_that_no_longer_plans_fails_with_the_plans_problem(
    index: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    stack, (_, row) = next(iter(stack_versions().items()))
    code, lines = run(monkeypatch, capsys, row.end_of_extended, stack)
    assert code == 1
    assert (
        f"FAIL  {stack}: does not plan on {row.end_of_extended}: eks.kubernetesVersion: {row.minor} "
        f"reached the end of EKS extended support on {row.end_of_extended}"
    ) in "\n".join(lines)


def test_old_tables_fail(index: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    stack = next(iter(stack_versions()))
    # A day before AS_OF: no table is old, whatever the limit.
    code, lines = run(monkeypatch, capsys, quiet_day(), stack, "--max-table-age", "0")
    assert code == 0 and [line for line in lines if line.startswith("FAIL")] == []
    code, lines = run(monkeypatch, capsys, AS_OF + timedelta(days=91), stack)
    assert code == 1
    assert f"FAIL  mesh/logic/eks_versions.py: read on {AS_OF}, 91 days ago (more than 90)" in "\n".join(
        lines
    )


def test_annotations_for_github(
    index: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    stack, (_, row) = next(iter(stack_versions().items()))
    monkeypatch.setenv(clock.ENV, str(row.end_of_standard))
    assert freshness.main([stack, "--annotations"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert f"::error title={stack}%3A eks.kubernetesVersion::{row.minor} left EKS standard support on" in (
        "\n".join(out)
    )


def test_cannot_run_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    assert freshness.main(["nosuch"]) == 2
    assert "Pulumi.nosuch.yaml: no such stack file" in capsys.readouterr().err
    monkeypatch.setenv(clock.ENV, "someday")
    assert freshness.main([]) == 2
    assert "CILIUM_MESH_TODAY: 'someday' is not a date" in capsys.readouterr().err
