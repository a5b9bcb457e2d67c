"""``python -m mesh.plan.freshness [STACK ...]``: what aged since the stacks and tables were last touched.

Plans every stack (default: each ``Pulumi.*.yaml``) with the program's clock (:mod:`mesh.logic.clock`: the
real date in UTC unless ``CILIUM_MESH_TODAY`` pins it), then applies :mod:`mesh.logic.freshness`: Kubernetes
versions out of (or soon out of) EKS standard support, a newer patch of each stack's Cilium line in the chart
repository index, knowledge tables older than ``--max-table-age`` days. The weekly workflow
``.github/workflows/freshness.yml`` runs it after ``python -m mesh.charts update``; pull requests never do
(their checks are pinned to ``tests/pinned-today``).

Exit codes: 0 nothing aged (notices may be printed), 1 something aged (each ``FAIL`` line names the stack and
key or the table, and what to do), 2 it cannot run (an unknown stack, ``CILIUM_MESH_TODAY`` not a date).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Collection, Sequence
from datetime import date
from pathlib import Path

from mesh.charts.versions import published_versions
from mesh.logic import eks_versions, k8s_compat
from mesh.logic.clock import Today
from mesh.logic.config import ConfigError
from mesh.logic.eks_versions import extended_support_warning
from mesh.logic.freshness import (
    DEFAULT_MAX_TABLE_AGE_DAYS,
    DEFAULT_NOTICE_DAYS,
    Finding,
    cilium_patch_findings,
    kubernetes_findings,
    table_age_findings,
)
from mesh.plan.cli import ROOT, checked_on, evaluate

TABLES: dict[str, date] = {
    "mesh/logic/eks_versions.py": eks_versions.AS_OF,
    "mesh/logic/k8s_compat.py": k8s_compat.AS_OF,
}
"""Every knowledge table that carries the day it was read."""


def stack_names(project_dir: Path = ROOT) -> list[str]:
    """Every stack of the project, in file-name order."""
    return [
        p.name.removeprefix("Pulumi.").removesuffix(".yaml")
        for p in sorted(project_dir.glob("Pulumi.*.yaml"))
    ]


def check_stack(
    stack: str,
    today: Today,
    published: Collection[str] | None,
    *,
    project_dir: Path = ROOT,
    notice_days: int = DEFAULT_NOTICE_DAYS,
) -> list[Finding]:
    """Plan ``stack`` (the plan asks the same clock ``today`` was read from); its Kubernetes versions (each
    key once) and its Cilium line. A stack that no longer plans fails with every problem the plan names, and
    nothing else is checked."""
    try:
        cfg, run = evaluate(stack, project_dir)
    except ConfigError as err:
        return [Finding(stack, f"does not plan on {today.day}: {p}", failing=True) for p in err.problems]
    findings: list[Finding] = []
    seen: set[str] = set()
    for i, cluster in enumerate(cfg.clusters):
        key = f"clusters[{i}].kubernetesVersion" if cluster.kubernetes_version else "eks.kubernetesVersion"
        if key not in seen:
            seen.add(key)
            version = cfg.kubernetes_version(cluster)
            findings.extend(kubernetes_findings(f"{stack}: {key}", version, today.day, notice_days))
    findings.extend(cilium_patch_findings(f"{stack}: cilium.version", cfg.cilium.version, published))
    # The plan's other warnings are notices; its extended-support ones repeat a failing finding above.
    repeated = {
        f"{c.name}: {extended_support_warning(cfg.kubernetes_version(c), today.day)}" for c in cfg.clusters
    }
    findings.extend(
        Finding(stack, f"plan warning: {w}", failing=False) for w in run.warnings if w not in repeated
    )
    return findings


def annotation(finding: Finding) -> str:
    """A GitHub Actions workflow command: an error or notice on the run's page."""
    level = "error" if finding.failing else "notice"
    text = finding.message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    title = finding.subject.replace("%", "%25").replace(":", "%3A").replace(",", "%2C")
    return f"::{level} title={title}::{text}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mesh.plan.freshness",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("stacks", nargs="*", metavar="STACK", help="stacks to check (default: every stack)")
    parser.add_argument(
        "--notice-days",
        type=int,
        default=DEFAULT_NOTICE_DAYS,
        metavar="DAYS",
        help=f"say when a version leaves standard support within DAYS (default {DEFAULT_NOTICE_DAYS})",
    )
    parser.add_argument(
        "--max-table-age",
        type=int,
        default=DEFAULT_MAX_TABLE_AGE_DAYS,
        metavar="DAYS",
        help=f"fail when a table's AS_OF is older than DAYS (default {DEFAULT_MAX_TABLE_AGE_DAYS})",
    )
    parser.add_argument(
        "--annotations", action="store_true", help="also print GitHub Actions ::error / ::notice lines"
    )
    return parser


def main(argv: Sequence[str] | None = None, *, project_dir: Path = ROOT) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.notice_days < 0 or args.max_table_age < 0:
        parser.error("--notice-days and --max-table-age must be >= 0")
    known = stack_names(project_dir)
    unknown = [s for s in args.stacks if s not in known]
    try:
        if unknown:
            raise ConfigError([f"Pulumi.{s}.yaml: no such stack file in {project_dir}" for s in unknown])
        today = checked_on()
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    published = published_versions()
    findings: list[Finding] = []
    for stack in args.stacks or known:
        findings.extend(
            check_stack(stack, today, published, project_dir=project_dir, notice_days=args.notice_days)
        )
    findings.extend(table_age_findings(TABLES, today.day, args.max_table_age))
    failing = [f for f in findings if f.failing]
    print(f"Freshness as of {today.describe()}: {len(args.stacks or known)} stacks, {len(TABLES)} tables")
    for finding in findings:
        print(f"  {finding.line()}")
        if args.annotations:
            print(annotation(finding))
    print(f"{len(failing)} aged, {len(findings) - len(failing)} notices")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
