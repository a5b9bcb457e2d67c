"""Facts only AWS and the deploy host know, asked in a real `pulumi preview/up` before any resource.

The config edge (mesh/logic/config.py) checks every input against the models and tables it has offline.
What they cannot know is asked here, once per run, and every problem is raised together as a
``pulumi.RunError``, within seconds instead of minutes into a deploy:

* the deploy host: the ``aws`` CLI pulumi-eks runs at every construct (mesh/logic/host_rules.py);
* the credentials' account, against ``aws:allowedAccountIds`` (``aws.get_caller_identity``);
* the account's availability zones and their zone ids (``aws.get_availability_zones``): configured or
  default names must exist and must not be a zone id EKS refuses;
* the instance type offerings of those zones (``aws.ec2.get_instance_type_offerings``);
* the Kubernetes versions EKS offers there now (``aws.eks.get_cluster_versions``), where the offline plan
  has only the calendar in mesh/logic/eks_versions.py.

The offline plan (the mock harness, mesh/plan/harness.py) runs the program with
:func:`mesh.components.run_mode.offline` on and
says so once; tests turn it off and answer the invokes with AWS-shaped results. An invoke that fails
(no credentials, no network) fails the run: a safety check that cannot be made is not skipped.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws

from mesh.components.run_mode import is_offline
from mesh.logic import aws_rules, host_rules
from mesh.logic.config import StackConfig


def aws_cli_version() -> str | None:
    """``aws --version`` stdout, or None when the CLI is not on PATH (pulumi-eks runs ``which aws`` too)."""
    if shutil.which("aws") is None:
        return None
    try:
        result = subprocess.run(["aws", "--version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"`aws --version` failed: {err}"  # reported as an unreadable version
    return result.stdout or result.stderr


def node_group_types(cfg: StackConfig) -> dict[str, tuple[str, ...]]:
    """Config key -> the instance types of each node group in use."""
    groups: dict[str, tuple[str, ...]] = {}
    for i, c in enumerate(cfg.clusters):
        key = (
            f"clusters[{i}].nodeGroup.instanceTypes"
            if c.node_group is not None
            else "nodeGroup.instanceTypes"
        )
        groups[key] = cfg.node_group_for(c).instance_types
    return groups


def check_live(cfg: StackConfig, *, cli_version: Callable[[], str | None] | None = None) -> None:
    """Raise ``pulumi.RunError`` listing what AWS or the host would refuse; nothing offline.

    ``cli_version`` (default :func:`aws_cli_version`) reads ``aws --version``."""
    if is_offline():
        return
    problems: list[str] = []
    version = (cli_version or aws_cli_version)()
    if (problem := host_rules.aws_cli_problem(version)) is not None:
        problems.append(f"deploy host: {problem}")
    allowed = [str(a) for a in pulumi.Config("aws").get_object("allowedAccountIds") or []]
    account = _ask(lambda: aws.get_caller_identity().account_id, "aws.get_caller_identity", problems)
    if account is not None and (problem := host_rules.account_problem(account, allowed)) is not None:
        problems.append(f"aws:allowedAccountIds: {problem}")
    zones = _ask(
        lambda: aws.get_availability_zones(state="available"), "aws.get_availability_zones", problems
    )
    if zones is not None:
        problems += aws_rules.zone_problems(
            cfg.availability_zones, list(zip(zones.names, zones.zone_ids, strict=True)), cfg.region
        )
    wanted = {
        (
            f"clusters[{i}].kubernetesVersion" if c.kubernetes_version else "eks.kubernetesVersion"
        ): cfg.kubernetes_version(c)
        for i, c in enumerate(cfg.clusters)
    }
    versions = _ask(
        lambda: aws.eks.get_cluster_versions(cluster_versions_onlies=sorted(set(wanted.values()))),
        "aws.eks.get_cluster_versions",
        problems,
    )
    if versions is not None:
        offered = {v.cluster_version: v.version_status for v in versions.cluster_versions}
        problems += aws_rules.eks_version_problems(wanted, offered)
    groups = node_group_types(cfg)
    types = sorted({t for group in groups.values() for t in group})
    offers = _ask(
        lambda: aws.ec2.get_instance_type_offerings(
            location_type="availability-zone",
            filters=[
                {"name": "instance-type", "values": types},
                {"name": "location", "values": list(cfg.availability_zones)},
            ],
        ),
        "aws.ec2.get_instance_type_offerings",
        problems,
    )
    if offers is not None:
        offered = set(zip(offers.instance_types, offers.locations, strict=True))
        problems += aws_rules.offering_problems(groups, offered, cfg.availability_zones)
    if problems:
        raise pulumi.RunError(
            "AWS or the deploy host would refuse this deploy (asked before any resource):\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


def _ask(invoke: Callable[[], Any], name: str, problems: list[str]) -> Any:
    try:
        return invoke()
    except Exception as err:  # an invoke's errors are the provider's own (gRPC, credentials, network)
        problems.append(f"{name} failed, so the checks it feeds cannot be made: {err}")
        return None
