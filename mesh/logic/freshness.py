"""What ages while nobody changes the code: the rules of the weekly freshness check (pure).

A stack file pins versions and the knowledge tables carry the day they were read (``AS_OF``). Neither moves by
itself, but the world does: EKS moves a version to extended support (billed about six times the standard
price per cluster hour), Cilium publishes a patch of the line a stack runs, and a table read months ago no
longer lists what EKS offers. The test suite is pinned to a day (``tests/pinned-today``) and cannot see any
of this; ``python -m mesh.plan.freshness`` runs these rules with the real date from a scheduled workflow
(``.github/workflows/freshness.yml``), never on a pull request.

Each finding is *failing* (the workflow goes red) or a *notice* (said, not failed):

* a Kubernetes version that has left EKS standard support fails; one that leaves it within
  ``notice_days`` is a notice (:func:`kubernetes_findings`; dates from :mod:`mesh.logic.eks_versions`);
* a newer patch of the stack's Cilium line in the repository index fails: Cilium's upgrade guide asks for
  the latest patch of the current line first (:func:`cilium_patch_findings`); no readable index fails too,
  since the check cannot be made;
* a knowledge table older than ``max_age_days`` fails (:func:`table_age_findings`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date

from mesh.logic.chart_index import latest_patch, minor_of, version_key
from mesh.logic.eks_versions import EKS_VERSIONS, kubernetes_version_problem

DEFAULT_NOTICE_DAYS = 60
"""Days before the end of standard support that a notice starts: time to plan one minor upgrade per step."""

DEFAULT_MAX_TABLE_AGE_DAYS = 90
"""A table older than this fails: EKS releases a minor about every four months (the calendar's own rows)."""

_BY_MINOR = {v.minor: v for v in EKS_VERSIONS}


@dataclass(frozen=True)
class Finding:
    """One thing that aged: ``subject`` (a stack and key, or a table's file), what and since when."""

    subject: str
    message: str
    failing: bool

    def line(self) -> str:
        return f"{'FAIL' if self.failing else 'note'}  {self.subject}: {self.message}"


def kubernetes_findings(subject: str, version: str, day: date, notice_days: int) -> list[Finding]:
    """``version`` (``"1.34"``) on ``day``: failing once out of EKS standard support, a notice within
    ``notice_days`` of it. One EKS does not offer that day is failing with the plan's own message."""
    problem = kubernetes_version_problem(version, day)
    if problem is not None:  # unknown, not yet released, or past extended support: the plan refuses it too
        return [Finding(subject, problem, failing=True)]
    row = _BY_MINOR[version]
    if day >= row.end_of_standard:
        return [
            Finding(
                subject,
                f"{version} left EKS standard support on {row.end_of_standard} (extended support, extra "
                f"cost per cluster hour, until {row.end_of_extended}); upgrade one minor at a time",
                failing=True,
            )
        ]
    left = (row.end_of_standard - day).days
    if left <= notice_days:
        return [
            Finding(
                subject,
                f"{version} leaves EKS standard support in {left} day{'s' if left > 1 else ''}, on "
                f"{row.end_of_standard}",
                failing=False,
            )
        ]
    return []


def cilium_patch_findings(subject: str, version: str, published: Collection[str] | None) -> list[Finding]:
    """A newer published patch of ``version``'s line (``1.16.3`` -> ``1.16.19``) fails; so does no index
    (``published`` is None): the check cannot be made, and a freshness check that cannot look is not green."""
    if published is None:
        return [
            Finding(
                subject,
                "no chart repository index could be read, so newer patches were not checked "
                "(`python -m mesh.charts update` downloads it)",
                failing=True,
            )
        ]
    try:
        line = minor_of(version)
    except ValueError as err:
        return [Finding(subject, str(err), failing=True)]
    latest = latest_patch(published, line)
    if latest is None or version_key(latest) <= version_key(version):
        return []
    return [
        Finding(
            subject,
            f"{version} is not the latest patch of Cilium {line}: {latest} is published; upgrade to it "
            "first (Cilium upgrade guide: latest patch of the current line before the next minor)",
            failing=True,
        )
    ]


def table_age_findings(tables: Mapping[str, date], day: date, max_age_days: int) -> list[Finding]:
    """Each table (its file -> ``AS_OF``) read more than ``max_age_days`` before ``day`` fails."""
    found = []
    for where, as_of in tables.items():
        age = (day - as_of).days
        if age > max_age_days:
            found.append(
                Finding(
                    where,
                    f"read on {as_of}, {age} days ago (more than {max_age_days}): re-read its sources "
                    "and move AS_OF",
                    failing=True,
                )
            )
    return found
