"""nodeGroup.maxPods: bounded by what a node's Cilium pod CIDR holds, and carried into the AL2023 nodeadm
config of every managed node group."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from mesh.logic.config import ConfigError, parse_stack_config
from mesh.logic.max_pods import nodeadm_max_pods_config, usable_pod_ips
from mesh.plan.cli import evaluate_config
from mesh.plan.synthetic import synthetic_config

NODE_GROUP = "eks:index:ManagedNodeGroup"
CLUSTERS = [
    {"name": "east", "id": 1, "vpcCidr": "10.3.0.0/16", "podCidr": "10.50.0.0/16"},
    {"name": "west", "id": 2, "vpcCidr": "10.1.0.0/16", "podCidr": "10.60.0.0/16"},
]


def raw(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "account": "a",
        "clusters": copy.deepcopy(CLUSTERS),
        "cilium": {"version": "1.16.3"},
    }
    base.update(overrides)
    return base


def problems(config: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_stack_config(config, region="us-east-1")
    return info.value.problems


@pytest.mark.parametrize(
    ("mask", "usable"),
    # 2^(32-mask) minus network, broadcast, cilium_host router IP and cilium-health IP.
    [(24, 252), (25, 124), (26, 60), (28, 12), (16, 65532)],
)
def test_usable_pod_addresses_per_node(mask: int, usable: int) -> None:
    assert usable_pod_ips(mask) == usable


def test_default_is_110_pods_per_node() -> None:
    cfg = parse_stack_config(raw(), region="us-east-1")
    assert cfg.node_group.max_pods == 110


def test_max_pods_may_use_every_usable_address_but_not_one_more() -> None:
    cfg = parse_stack_config(raw(nodeGroup={"maxPods": 252}), region="us-east-1")
    assert cfg.node_group.max_pods == 252
    (problem,) = problems(raw(nodeGroup={"maxPods": 253}))
    assert problem.startswith("nodeGroup.maxPods: 253 exceeds the 252 pod addresses")


def test_smaller_per_node_cidr_refuses_the_default_and_names_the_key() -> None:
    (problem,) = problems(raw(cilium={"version": "1.16.3", "podCidrMaskSize": 26}))
    assert problem.startswith("nodeGroup.maxPods: 110 exceeds the 60 pod addresses of a node's /26")


def test_cluster_override_is_checked_under_its_own_key() -> None:
    config = raw(cilium={"version": "1.16.3", "podCidrMaskSize": 26})
    for c in config["clusters"]:
        c["nodeGroup"] = {"maxPods": 60}
    config["clusters"][1]["nodeGroup"]["maxPods"] = 61
    # The stack-wide default (110) is used by no cluster, so only the override is reported.
    assert problems(config) == [
        "clusters[1].nodeGroup.maxPods: 61 exceeds the 60 pod addresses of a node's /26 pod CIDR "
        "(cilium.podCidrMaskSize: 2^6 minus network, broadcast, Cilium router and health IPs); "
        "lower maxPods or the mask size"
    ]


def test_zero_max_pods_is_refused() -> None:
    (problem,) = problems(raw(nodeGroup={"maxPods": 0}))
    assert problem.startswith("nodeGroup.maxPods:")


def _kubelet_config(content: str) -> dict[str, Any]:
    doc = yaml.safe_load(content)
    assert doc["apiVersion"] == "node.eks.aws/v1alpha1" and doc["kind"] == "NodeConfig"
    return doc["spec"]["kubelet"]["config"]


def test_nodeadm_document_sets_only_max_pods() -> None:
    assert _kubelet_config(nodeadm_max_pods_config(42)) == {"maxPods": 42}
    assert set(yaml.safe_load(nodeadm_max_pods_config(42))["spec"]) == {"kubelet"}
    with pytest.raises(ValueError):
        nodeadm_max_pods_config(0)


def test_every_node_group_carries_its_max_pods_in_nodeadm_user_data() -> None:
    config = synthetic_config(3)
    config["cilium-mesh:nodeGroup"] = {"maxPods": 200}
    config["cilium-mesh:clusters"][2]["nodeGroup"] = {"maxPods": 64}
    _, run = evaluate_config("cilium-mesh", "maxpods", config)
    by_group = {r.inputs["nodeGroupName"]: r.inputs for r in run.by_type(NODE_GROUP)}
    expected = {"mesh-01-default": 200, "mesh-02-default": 200, "mesh-03-default": 64}
    assert set(by_group) == set(expected)
    for group, max_pods in expected.items():
        (part,) = by_group[group]["nodeadmExtraOptions"]
        assert part["contentType"] == "application/node.eks.aws"
        assert _kubelet_config(part["content"]) == {"maxPods": max_pods}
