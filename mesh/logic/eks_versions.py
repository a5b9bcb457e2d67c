"""The Kubernetes versions Amazon EKS offers: one table, its source and date, in one place to update.

Rules (Amazon EKS user guide, "Understand the Kubernetes version lifecycle on EKS"): a minor is in
*standard support* for 14 months after its EKS release, then in *extended support* (extra cost per
cluster hour) for 12 more months. "On the end of extended support date, you can no longer create new
Amazon EKS clusters with the unsupported version." So a version is offered from its EKS release until the
day before its end of extended support.

Sources, read 2026-11-26 (``AS_OF``):

* 1.29-1.34: the release calendar of the EKS user guide,
  https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html#kubernetes-release-calendar
  (awsdocs/amazon-eks-user-guide, latest/ug/versioning/kubernetes-versions.adoc).
* 1.35: https://endoflife.date/amazon-eks (EKS release 2026-01-27, standard support to 2027-03-27).
* 1.36: "Kubernetes 1.36 is now available in Amazon EKS" (EKS user guide, kubernetes-versions-standard);
  release 2026-06-02 and standard support to 2027-08-02 from devopsdreams.blogspot.com (2026-08-16).

To update: add the new minor's row when EKS announces it (``aws eks describe-cluster-versions`` prints the
same dates), move ``AS_OF``, and keep the rows newest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

AS_OF = date(2026, 11, 26)
SOURCE = (
    "https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html#kubernetes-release-calendar"
)


@dataclass(frozen=True)
class EksVersion:
    """One Kubernetes minor on EKS: its EKS release and the ends of standard and extended support."""

    minor: str
    released: date
    end_of_standard: date
    end_of_extended: date

    def offered_on(self, day: date) -> bool:
        """EKS creates clusters of this version on ``day`` (released, extended support not yet over)."""
        return self.released <= day < self.end_of_extended

    def extended_on(self, day: date) -> bool:
        """``day`` falls in extended support (offered, at extra cost)."""
        return self.end_of_standard <= day < self.end_of_extended


EKS_VERSIONS: tuple[EksVersion, ...] = (
    EksVersion("1.36", date(2026, 6, 2), date(2027, 8, 2), date(2028, 8, 2)),
    EksVersion("1.35", date(2026, 1, 27), date(2027, 3, 27), date(2028, 3, 27)),
    EksVersion("1.34", date(2025, 10, 2), date(2026, 12, 2), date(2027, 12, 2)),
    EksVersion("1.33", date(2025, 5, 29), date(2026, 7, 29), date(2027, 7, 29)),
    EksVersion("1.32", date(2025, 1, 23), date(2026, 3, 23), date(2027, 3, 23)),
    EksVersion("1.31", date(2024, 9, 26), date(2025, 11, 26), date(2026, 11, 26)),
    EksVersion("1.30", date(2024, 5, 23), date(2025, 7, 23), date(2026, 7, 23)),
    EksVersion("1.29", date(2024, 1, 23), date(2025, 3, 23), date(2026, 3, 23)),
)
"""Newest first. Dates are UTC, as in the EKS calendar."""

_BY_MINOR = {v.minor: v for v in EKS_VERSIONS}


def offered_versions(day: date) -> tuple[str, ...]:
    """The minors EKS creates clusters with on ``day``, newest first."""
    return tuple(v.minor for v in EKS_VERSIONS if v.offered_on(day))


def kubernetes_version_problem(version: str, day: date) -> str | None:
    """Why EKS would refuse ``version`` (a ``"1.34"`` string) on ``day``; ``None`` when it is offered."""
    offered = ", ".join(offered_versions(day))
    known = _BY_MINOR.get(version)
    if known is None:
        return (
            f"{version} is not a Kubernetes version EKS offers (offered on {day}: {offered}; "
            f"list as of {AS_OF} in mesh/logic/eks_versions.py, from {SOURCE})"
        )
    if day < known.released:
        return f"{version} is not released on EKS before {known.released} (offered on {day}: {offered})"
    if day >= known.end_of_extended:
        return (
            f"{version} reached the end of EKS extended support on {known.end_of_extended}: EKS no longer "
            f"creates clusters with it (offered on {day}: {offered})"
        )
    return None


def extended_support_warning(version: str, day: date) -> str | None:
    """A warning when ``version`` is in EKS extended support on ``day`` (billed extra per cluster hour)."""
    known = _BY_MINOR.get(version)
    if known is None or not known.extended_on(day):
        return None
    return (
        f"Kubernetes {version} is in EKS extended support since {known.end_of_standard} (extra cost per "
        f"cluster hour) and EKS upgrades it automatically after {known.end_of_extended}"
    )


def number_hint(value: float | int) -> str:
    """What an unquoted YAML version such as ``1.30`` (read as the number 1.3) most likely meant."""
    meant = [v.minor for v in EKS_VERSIONS if float(v.minor) == float(value)]
    example = meant[0] if meant else str(value)
    return (
        f"YAML read an unquoted version as the number {value!r} (1.30 becomes 1.3); "
        f'quote it: kubernetesVersion: "{example}"'
    )
