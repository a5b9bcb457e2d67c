"""EKS access entries: who may use every cluster's Kubernetes API, and with which EKS access policies.

Pure: ARN parsing, the policy ARNs and the stable keys the entries are named by. The entries themselves are
created by pulumi-eks (``eks.Cluster(access_entries=...)``, see :mod:`mesh.components.eks`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# The EKS access policies a principal may get cluster-wide (EKS user guide, "Review access policy
# permissions"). AmazonEKSClusterAdminPolicy is cluster-admin; the others map to the admin/edit/view roles.
ACCESS_POLICIES: tuple[str, ...] = (
    "AmazonEKSClusterAdminPolicy",
    "AmazonEKSAdminPolicy",
    "AmazonEKSEditPolicy",
    "AmazonEKSViewPolicy",
    "AmazonEKSAdminViewPolicy",
)
# Kubernetes group names EKS refuses in an access entry (EKS user guide, creating access entries).
RESERVED_GROUP_PREFIXES = ("system:", "eks:", "aws:", "amazon:", "iam:")
# An IAM role or user ARN (IAM names: 1-64 of [A-Za-z0-9+=,.@_-], optional path). STS session ARNs
# (assumed-role/...) are rejected by EKS: access entries need the permanent identity (CreateAccessEntry).
PRINCIPAL_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov):iam::(?P<account>\d{12}):(?P<kind>role|user)/"
    r"(?P<path>(?:[A-Za-z0-9+=,.@_-]+/)*)(?P<name>[A-Za-z0-9+=,.@_-]{1,64})$"
)
_STS_SESSION_RE = re.compile(r"^arn:[a-z-]+:sts::\d{12}:assumed-role/(?P<role>[^/]+)/")


def partition_for_region(region: str) -> str:
    """The AWS partition of ``region``: ``aws-cn`` (``cn-*``), ``aws-us-gov`` (``us-gov-*``), else ``aws``."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def policy_arn(policy: str, partition: str = "aws") -> str:
    """``arn:<partition>:eks::aws:cluster-access-policy/<policy>`` for one of :data:`ACCESS_POLICIES`."""
    if policy not in ACCESS_POLICIES:
        raise ValueError(f"unknown EKS access policy {policy!r} (known: {', '.join(ACCESS_POLICIES)})")
    return f"arn:{partition}:eks::aws:cluster-access-policy/{policy}"


def principal_problem(arn: str, partition: str | None = None) -> str | None:
    """Why ``arn`` cannot be an access entry's principal; ``None`` when it can.

    ``partition`` (default: not checked) is the stack's partition; EKS clusters only admit principals of
    their own partition.
    """
    sts = _STS_SESSION_RE.match(arn)
    if sts:
        return (
            f"{arn} is an STS session; EKS access entries need the role itself, "
            f"e.g. arn:<partition>:iam::<account>:role/{sts.group('role')}"
        )
    match = PRINCIPAL_ARN_RE.match(arn)
    if match is None:
        return (
            f"{arn!r} is not an IAM role or user ARN "
            "(arn:aws|aws-cn|aws-us-gov:iam::<12-digit account>:role|user/[path/]name)"
        )
    if partition is not None and match.group("partition") != partition:
        return f"{arn} is in partition {match.group('partition')}, the stack's region is in {partition}"
    return None


def entry_key(principal_arn: str) -> str:
    """Stable name of a principal's entry: ``<role|user>-<name>-<account>`` (IAM names are unique per
    account and kind, whatever the path), so reordering the config list changes nothing."""
    match = PRINCIPAL_ARN_RE.match(principal_arn)
    if match is None:
        raise ValueError(f"{principal_arn!r} is not an IAM role or user ARN")
    return f"{match.group('kind')}-{match.group('name')}-{match.group('account')}"


@dataclass(frozen=True)
class AccessEntrySpec:
    """One principal's access entry: ``policies`` maps policy name -> policy ARN (cluster scope)."""

    key: str
    principal_arn: str
    policies: tuple[tuple[str, str], ...]
    kubernetes_groups: tuple[str, ...] = ()


def access_entry_specs(
    entries: Iterable[tuple[str, Sequence[str], Sequence[str]]], partition: str = "aws"
) -> tuple[AccessEntrySpec, ...]:
    """Specs from ``(principalArn, accessPolicies, kubernetesGroups)`` triples, in the given order.

    Raises ``ValueError`` on a bad ARN, an unknown policy or a principal listed twice (config validation
    reports these first, with key paths).
    """
    specs: list[AccessEntrySpec] = []
    seen: set[str] = set()
    for arn, policies, groups in entries:
        problem = principal_problem(arn, partition)
        if problem:
            raise ValueError(problem)
        key = entry_key(arn)
        if key in seen:
            raise ValueError(f"{arn} is listed twice")
        seen.add(key)
        specs.append(
            AccessEntrySpec(
                key=key,
                principal_arn=arn,
                policies=tuple((p, policy_arn(p, partition)) for p in policies),
                kubernetes_groups=tuple(groups),
            )
        )
    return tuple(specs)
