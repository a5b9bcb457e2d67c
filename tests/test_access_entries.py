"""eks.accessEntries: one EKS access entry per principal on every cluster, cluster-scoped policies, and
config errors that name the key."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mesh.logic.access_entries import entry_key, partition_for_region, policy_arn, principal_problem
from mesh.logic.config import ConfigError, parse_stack_config
from mesh.plan.cli import evaluate_config, summary
from mesh.plan.harness import ProgramRun
from mesh.plan.synthetic import synthetic_config

ROOT = Path(__file__).resolve().parent.parent
EKS = "eks:index:Cluster"
PREVIEW = "arn:aws:iam::111122223333:role/ci/cilium-mesh-preview"
ALICE = "arn:aws:iam::111122223333:user/alice"
ENTRIES = [
    {"principalArn": PREVIEW, "accessPolicies": ["AmazonEKSAdminViewPolicy"]},
    {
        "principalArn": ALICE,
        "accessPolicies": ["AmazonEKSClusterAdminPolicy", "AmazonEKSViewPolicy"],
        "kubernetesGroups": ["platform-oncall"],
    },
]
CLUSTERS = [
    {"name": "east", "id": 1, "vpcCidr": "10.3.0.0/16", "podCidr": "10.50.0.0/16"},
    {"name": "west", "id": 2, "vpcCidr": "10.1.0.0/16", "podCidr": "10.60.0.0/16"},
]


def raw(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "account": "a",
        "clusters": copy.deepcopy(CLUSTERS),
        "cilium": {"version": "1.16.3"},
        "eks": {"accessEntries": entries},
    }


def problems(config: dict[str, Any], region: str = "us-east-1") -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_stack_config(config, region=region)
    return info.value.problems


@pytest.mark.parametrize(
    ("policy", "region", "arn"),
    [
        (
            "AmazonEKSClusterAdminPolicy",
            "us-east-1",
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
        ),
        ("AmazonEKSAdminPolicy", "eu-west-1", "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy"),
        (
            "AmazonEKSEditPolicy",
            "cn-north-1",
            "arn:aws-cn:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
        ),
        (
            "AmazonEKSViewPolicy",
            "us-gov-west-1",
            "arn:aws-us-gov:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
        ),
        (
            "AmazonEKSAdminViewPolicy",
            "us-east-2",
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy",
        ),
    ],
)
def test_policy_arns_per_partition(policy: str, region: str, arn: str) -> None:
    assert policy_arn(policy, partition_for_region(region)) == arn


def test_entry_key_is_kind_name_account_whatever_the_path() -> None:
    assert entry_key(PREVIEW) == "role-cilium-mesh-preview-111122223333"
    assert entry_key("arn:aws:iam::111122223333:role/cilium-mesh-preview") == entry_key(PREVIEW)
    assert entry_key(ALICE) == "user-alice-111122223333"


def test_identity_center_role_keeps_its_path() -> None:
    sso = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789ab"
    assert principal_problem(sso, "aws") is None
    assert entry_key(sso) == "role-AWSReservedSSO_Admin_0123456789ab-111122223333"


def test_sts_session_arn_is_refused_with_the_role_to_use() -> None:
    problem = principal_problem("arn:aws:sts::111122223333:assumed-role/deploy/session-1")
    assert problem is not None and "role/deploy" in problem


def test_valid_entries_parse_in_order() -> None:
    cfg = parse_stack_config(raw(ENTRIES), region="us-east-1")
    assert [e.principal_arn for e in cfg.eks.access_entries] == [PREVIEW, ALICE]
    assert cfg.eks.access_entries[1].access_policies == ("AmazonEKSClusterAdminPolicy", "AmazonEKSViewPolicy")
    assert cfg.eks.access_entries[1].kubernetes_groups == ("platform-oncall",)


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        (
            {"principalArn": PREVIEW, "accessPolicies": ["AmazonEKSClusterAdmin"]},
            "eks.accessEntries[1].accessPolicies[0]",
        ),
        (
            {"principalArn": "arn:aws:iam::1111:role/x", "accessPolicies": ["AmazonEKSViewPolicy"]},
            "eks.accessEntries[1].principalArn",
        ),
        (
            {
                "principalArn": "arn:aws:iam::111122223333:group/ops",
                "accessPolicies": ["AmazonEKSViewPolicy"],
            },
            "eks.accessEntries[1].principalArn",
        ),
        (
            {
                "principalArn": "arn:aws:sts::111122223333:assumed-role/ci/s",
                "accessPolicies": ["AmazonEKSViewPolicy"],
            },
            "eks.accessEntries[1].principalArn",
        ),
        (
            {"principalArn": "arn:aws:iam::111122223333:role/x", "kubernetesGroups": ["system:masters"]},
            "eks.accessEntries[1].kubernetesGroups",
        ),
        (
            {"principalArn": "arn:aws:iam::111122223333:role/x", "kubernetesGroups": ["eks:admins"]},
            "eks.accessEntries[1].kubernetesGroups",
        ),
        (
            {
                "principalArn": "arn:aws:iam::111122223333:role/x",
                "accessPolicies": ["AmazonEKSViewPolicy", "AmazonEKSViewPolicy"],
            },
            "eks.accessEntries[1].accessPolicies",
        ),
        ({"principalArn": "arn:aws:iam::111122223333:role/x"}, "eks.accessEntries[1]"),
        (
            {
                "principalArn": "arn:aws:iam::111122223333:role/x",
                "accessPolicies": ["AmazonEKSViewPolicy"],
                "username": "x",
            },
            "eks.accessEntries[1].username",
        ),
    ],
)
def test_bad_entries_name_their_key(entry: dict[str, Any], key: str) -> None:
    found = problems(raw([ENTRIES[0], entry]))
    assert len(found) == 1 and found[0].startswith(f"{key}: "), found


def test_a_principal_may_have_one_entry_only() -> None:
    again = {
        "principalArn": "arn:aws:iam::111122223333:role/cilium-mesh-preview",
        "accessPolicies": ["AmazonEKSViewPolicy"],
    }
    assert problems(raw([*ENTRIES, again])) == [
        "eks.accessEntries[2].principalArn: arn:aws:iam::111122223333:role/cilium-mesh-preview duplicates "
        "eks.accessEntries[0]"
    ]


def test_principal_must_be_in_the_stack_partition() -> None:
    found = problems(raw(ENTRIES), region="cn-north-1")
    assert [p.split(": ", 1)[0] for p in found] == [
        "eks.accessEntries[0].principalArn",
        "eks.accessEntries[1].principalArn",
    ]
    assert all("the stack's region is in aws-cn" in p for p in found)


@pytest.fixture(scope="module")
def with_entries() -> ProgramRun:
    config = synthetic_config(3)
    config["cilium-mesh:eks"] = {"accessEntries": ENTRIES}
    return evaluate_config("cilium-mesh", "entries", config)[1]


def test_every_cluster_gets_every_entry_with_cluster_scoped_policies(with_entries: ProgramRun) -> None:
    clusters = with_entries.by_type(EKS)
    assert sorted(c.name for c in clusters) == ["mesh-01", "mesh-02", "mesh-03"]
    scope = {"type": "cluster"}
    for cluster in clusters:
        entries = cluster.inputs["accessEntries"]
        assert set(entries) == {"role-cilium-mesh-preview-111122223333", "user-alice-111122223333"}
        preview, alice = entries["role-cilium-mesh-preview-111122223333"], entries["user-alice-111122223333"]
        assert preview["principalArn"] == PREVIEW and "kubernetesGroups" not in preview
        assert preview["accessPolicies"] == {
            "AmazonEKSAdminViewPolicy": {
                "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy",
                "accessScope": scope,
            }
        }
        assert alice["principalArn"] == ALICE and alice["kubernetesGroups"] == ["platform-oncall"]
        assert alice["accessPolicies"] == {
            "AmazonEKSClusterAdminPolicy": {
                "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                "accessScope": scope,
            },
            "AmazonEKSViewPolicy": {
                "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
                "accessScope": scope,
            },
        }


def test_kubernetes_operations_wait_for_the_entries(with_entries: ProgramRun) -> None:
    # The entries are children of the remote eks component; its kubeconfig output resolves only after its
    # construct (children included) finished, so the provider - and every patch and release using it -
    # waits for them.
    clusters = {c.name: c for c in with_entries.by_type(EKS)}
    providers = with_entries.by_type("pulumi:providers:kubernetes")
    assert len(providers) == len(clusters)
    for provider in providers:
        cluster = clusters[provider.name.removesuffix("-k8s")]
        assert provider.property_dependencies["kubeconfig"] == [cluster.urn]


def test_stack_without_entries_sends_none(devstg: tuple[Any, ProgramRun]) -> None:
    _, run = devstg
    assert all("accessEntries" not in c.inputs for c in run.by_type(EKS))


def test_cli_exits_2_naming_every_bad_access_key(tmp_path: Path) -> None:
    """`python -m mesh.plan` on a stack file with bad access, peering and node keys: exit 2, every key path
    listed, no traceback."""
    project = tmp_path / "project"
    shutil.copytree(
        ROOT, project, ignore=shutil.ignore_patterns("venv", ".git", "out", "__pycache__", "tests")
    )
    stack = yaml.safe_load((project / "Pulumi.devstg.yaml").read_text())
    stack["config"]["cilium-mesh:eks"] = {
        "privateAccessCidrs": ["0.0.0.0/0"],
        "accessEntries": [
            {
                "principalArn": "arn:aws:sts::111122223333:assumed-role/ci/run-1",
                "accessPolicies": ["AmazonEKSViewPolicy"],
            },
            {"principalArn": PREVIEW, "accessPolicies": ["ClusterAdmin"]},
        ],
    }
    stack["config"]["cilium-mesh:network"] = {
        "externalPeerings": [
            {"name": "vpn", "vpcId": "vpc-123", "cidr": "10.3.0.0/16", "ownerAccountId": 12345}
        ]
    }
    stack["config"]["cilium-mesh:nodeGroup"]["maxPods"] = 300
    (project / "Pulumi.bad.yaml").write_text(yaml.safe_dump(stack))
    proc = subprocess.run(
        [sys.executable, "-m", "mesh.plan", "bad"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    for key in (
        "eks.privateAccessCidrs[0]: 0.0.0.0/0 is broader than /8",
        "eks.accessEntries[0].principalArn: arn:aws:sts::111122223333:assumed-role/ci/run-1 is an STS",
        "eks.accessEntries[1].accessPolicies[0]: ",
        "network.externalPeerings[0].vpcId: 'vpc-123' is not a VPC id",
        "network.externalPeerings[0].ownerAccountId: 12345 must be a quoted 12-digit string",
        "nodeGroup.maxPods: 300 exceeds the 252 pod addresses",
    ):
        assert key in proc.stderr, (key, proc.stderr)


def test_plan_summary_lists_the_entries() -> None:
    config = synthetic_config(2)
    config["cilium-mesh:eks"] = {"accessEntries": ENTRIES}
    cfg, run = evaluate_config("cilium-mesh", "entries2", config)
    text = summary(cfg, run)
    assert f"  {PREVIEW}: policies AmazonEKSAdminViewPolicy; groups -" in text
    alice = f"  {ALICE}: policies AmazonEKSClusterAdminPolicy, AmazonEKSViewPolicy; groups platform-oncall"
    assert alice in text
