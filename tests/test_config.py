"""Stack config validation: every rule comes from a real constraint and names its key."""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.logic.config import ConfigError, parse_stack_config
from mesh.plan.cli import read_stack_files, validate
from mesh.plan.synthetic import raised_quotas

TRAINING = {
    "name": "bb-apps-devstg-eks-training",
    "id": 1,
    "vpcCidr": "10.3.0.0/16",
    "podCidr": "10.50.0.0/16",
}
DEMOAPPS = {
    "name": "bb-apps-devstg-eks-demoapps",
    "id": 2,
    "vpcCidr": "10.1.0.0/16",
    "podCidr": "10.60.0.0/16",
}


def raw(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "account": "apps-devstg",
        "clusters": [copy.deepcopy(TRAINING), copy.deepcopy(DEMOAPPS)],
        "cilium": {"version": "1.16.3"},
    }
    base.update(overrides)
    return base


def problems(config: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_stack_config(config, region="us-east-1")
    return info.value.problems


def test_devstg_stack_file_parses_to_the_runbook_clusters() -> None:
    project, config, _ = read_stack_files("devstg")
    cfg = validate(project, "devstg", config)
    assert cfg.region == "us-east-1" and cfg.account == "apps-devstg"
    assert [(c.name, c.id, c.vpc_cidr, c.pod_cidr) for c in cfg.clusters] == [
        ("bb-apps-devstg-eks-training", 1, "10.3.0.0/16", "10.50.0.0/16"),
        ("bb-apps-devstg-eks-demoapps", 2, "10.1.0.0/16", "10.60.0.0/16"),
    ]
    # Issue 17: a pair EKS supports and Cilium e2e-tests, both pinned in the file.
    assert (cfg.cilium.version, cfg.eks.kubernetes_version) == ("1.19.6", "1.35")
    assert "kubernetes_version" in cfg.eks.model_fields_set
    assert cfg.availability_zones == ("us-east-1a", "us-east-1b")
    assert cfg.network.nat_gateways == "single"


def test_defaults_are_documented_values() -> None:
    cfg = parse_stack_config(raw(), region="eu-west-1")
    assert cfg.cilium.pod_cidr_mask_size == 24
    assert cfg.cilium.clustermesh.max_connected_clusters == 255
    assert cfg.cilium.clustermesh.kvstoremesh is True
    assert cfg.eks.service_cidr == "172.20.0.0/16"
    assert cfg.eks.public_access_cidrs == ()
    assert cfg.coredns.replicas == 2
    assert cfg.availability_zones == ("eu-west-1a", "eu-west-1b")
    assert cfg.kubernetes_version(cfg.clusters[0]) == cfg.eks.kubernetes_version


def test_config_is_frozen() -> None:
    cfg = parse_stack_config(raw(), region="us-east-1")
    with pytest.raises(Exception, match="frozen"):
        cfg.clusters[0].id = 9  # type: ignore[misc]


def test_pod_cidr_overlap_names_both_keys() -> None:
    config = raw()
    config["clusters"][1]["podCidr"] = "10.50.0.0/16"
    assert problems(config) == ["clusters[1].podCidr: 10.50.0.0/16 overlaps clusters[0].podCidr 10.50.0.0/16"]


@pytest.mark.parametrize(
    ("cluster", "key", "value", "expected"),
    [
        (
            1,
            "vpcCidr",
            "10.3.128.0/17",
            "clusters[1].vpcCidr: 10.3.128.0/17 overlaps clusters[0].vpcCidr 10.3.0.0/16",
        ),
        (
            1,
            "podCidr",
            "10.3.0.0/16",
            "clusters[1].podCidr: 10.3.0.0/16 overlaps clusters[0].vpcCidr 10.3.0.0/16",
        ),
        (
            0,
            "podCidr",
            "172.20.0.0/16",
            "eks.serviceCidr: 172.20.0.0/16 overlaps clusters[0].podCidr 172.20.0.0/16",
        ),
    ],
)
def test_every_overlap_is_an_error(cluster: int, key: str, value: str, expected: str) -> None:
    config = raw()
    config["clusters"][cluster][key] = value
    assert expected in problems(config)


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("vpcCidr", "10.3.0.1/16", "host bits"),
        ("vpcCidr", "10.0.0.0/15", "between /16 and /28"),
        ("vpcCidr", "not-a-cidr", "clusters[0].vpcCidr"),
        ("name", "x" * 33, "1-32 characters"),
        ("name", "Training", "must match"),
        ("name", "training-", "must match"),
        ("name", "default", "reserved"),
        ("id", 0, "1-511"),
        ("id", 256, "exceeds cilium.clustermesh.maxConnectedClusters 255"),
        ("podCIDR", "10.50.0.0/16", "clusters[0].podCIDR: unknown key"),
    ],
)
def test_cluster_rules(key: str, value: Any, fragment: str) -> None:
    config = raw()
    config["clusters"][0][key] = value
    found = problems(config)
    assert any(p.startswith("clusters[0].") and fragment in p for p in found), found


def test_duplicate_names_and_ids_are_reported() -> None:
    config = raw()
    config["clusters"][1]["id"] = 1
    config["clusters"][1]["name"] = TRAINING["name"]
    found = problems(config)
    assert "clusters[1].id: 1 duplicates clusters[0].id" in found
    assert f"clusters[1].name: {TRAINING['name']} duplicates clusters[0].name" in found


def test_every_problem_is_reported_at_once() -> None:
    config = raw(network={"natGateway": "single"}, nodeGroup={"minSize": 3, "desiredSize": 2, "maxSize": 4})
    config["clusters"][0]["podCIDR"] = "10.9.0.0/16"
    config["clusters"][1]["vpcCidr"] = "10.3.0.0/16"
    config["clusters"][1]["id"] = 300
    found = problems(config)
    assert len(found) >= 5, found
    keys = {p.split(":")[0] for p in found}
    assert {
        "clusters[0].podCIDR",
        "clusters[1].vpcCidr",
        "clusters[1].id",
        "network.natGateway",
        "nodeGroup",
    } <= keys


def test_node_group_sizes_must_be_ordered() -> None:
    found = problems(raw(nodeGroup={"minSize": 1, "desiredSize": 5, "maxSize": 3}))
    assert found == ["nodeGroup: sizes must satisfy minSize <= desiredSize <= maxSize, got 1 <= 5 <= 3"]


def test_per_node_mask_must_fit_the_pod_cidr() -> None:
    config = raw(cilium={"version": "1.16.3", "podCidrMaskSize": 24})
    config["clusters"][0]["podCidr"] = "10.50.0.0/25"
    assert (
        "clusters[0].podCidr: 10.50.0.0/25 is smaller than the per-node mask /24 (cilium.podCidrMaskSize)"
        in (problems(config))
    )


def test_external_etcd_cannot_be_combined_with_the_clustermesh_apiserver() -> None:
    found = problems(raw(cilium={"version": "1.16.3", "etcdEndpoints": ["https://etcd.example:2379"]}))
    assert len(found) == 1 and found[0].startswith("cilium.etcdEndpoints: ")
    ok = raw(
        cilium={
            "version": "1.16.3",
            "etcdEndpoints": ["https://etcd.example:2379"],
            "clustermesh": {"enabled": False},
        }
    )
    assert parse_stack_config(ok, region="us-east-1").cilium.etcd_endpoints == ("https://etcd.example:2379",)


def test_max_connected_clusters_is_one_stack_wide_key() -> None:
    # Cilium requires the same value on every cluster of a mesh: a per-cluster value cannot be expressed.
    config = raw()
    config["clusters"][1]["maxConnectedClusters"] = 511
    assert "clusters[1].maxConnectedClusters: unknown key (check spelling; keys are camelCase)" in problems(
        config
    )
    assert "cilium.clustermesh.maxConnectedClusters" in " ".join(
        problems(raw(cilium={"version": "1.16.3", "clustermesh": {"maxConnectedClusters": 300}}))
    )


def test_public_endpoint_open_to_the_world_needs_an_explicit_opt_in() -> None:
    found = problems(raw(eks={"publicAccessCidrs": ["0.0.0.0/0"]}))
    assert found[0].startswith("eks: publicAccessCidrs contains 0.0.0.0/0")
    cfg = parse_stack_config(
        raw(eks={"publicAccessCidrs": ["0.0.0.0/0"], "allowPublicAccessFromAnywhere": True}),
        region="us-east-1",
    )
    assert cfg.eks.public_access_cidrs == ("0.0.0.0/0",)


def test_missing_and_unknown_top_level_keys() -> None:
    config = raw(clusterz=[])
    del config["cilium"]
    found = problems(config)
    assert any(p.startswith("clusterz: unknown key cilium-mesh:clusterz") for p in found)
    assert "cilium: required key cilium-mesh:cilium is missing" in found
    with pytest.raises(ConfigError, match="aws:region: required key is missing"):
        parse_stack_config(raw(), region=None)


def test_vpc_too_small_for_its_subnets_fails_at_config_time() -> None:
    config = raw()
    config["clusters"][0]["vpcCidr"] = "10.3.0.0/27"
    found = problems(config)
    assert any(p.startswith("clusters[0].vpcCidr: ") for p in found), found


# Property: clusters drawn from distinct /16 slots never collide; forcing one pod CIDR onto another
# cluster's VPC is always reported with both keys.
slots = st.lists(st.integers(min_value=0, max_value=250), min_size=2, max_size=12, unique=True)


@settings(max_examples=60, deadline=None)
@given(slots=slots, data=st.data())
def test_disjoint_slots_parse_and_forced_overlap_is_named(slots: list[int], data: st.DataObject) -> None:
    half = len(slots) // 2
    clusters = [
        {"name": f"c{i}", "id": i + 1, "vpcCidr": f"10.{a}.0.0/16", "podCidr": f"10.{b}.0.0/16"}
        for i, (a, b) in enumerate(zip(slots[:half], slots[half : 2 * half], strict=True))
    ]
    config = raw(clusters=clusters)
    config["network"] = {"quotas": raised_quotas(half)}  # an account that holds this many clusters
    cfg = parse_stack_config(config, region="us-east-1")
    assert len(cfg.clusters) == half
    if half < 2:
        return
    i, j = data.draw(st.lists(st.integers(0, half - 1), min_size=2, max_size=2, unique=True))
    clusters[j]["podCidr"] = clusters[i]["vpcCidr"]
    found = problems(raw(clusters=clusters))
    net = ipaddress.ip_network(clusters[i]["vpcCidr"])
    assert any(f"clusters[{j}].podCidr" in p and f"clusters[{i}].vpcCidr {net}" in p for p in found) or any(
        f"clusters[{i}].vpcCidr" in p and f"clusters[{j}].podCidr {net}" in p for p in found
    ), found


def test_a_stack_relying_on_the_code_default_version_is_warned() -> None:
    """Issue 17: a moving default would upgrade clusters by itself, so relying on it is a warning."""
    from mesh.logic.config import EksConfig, code_default_warnings

    project, config, _ = read_stack_files("devstg")
    assert code_default_warnings(validate(project, "devstg", config)) == []
    unpinned = {k: v for k, v in config.items() if k != "cilium-mesh:eks"}
    (warning,) = code_default_warnings(validate(project, "devstg", unpinned))
    default = EksConfig.model_fields["kubernetes_version"].default
    assert warning.startswith(
        f"eks.kubernetesVersion is not set: bb-apps-devstg-eks-training, bb-apps-devstg-eks-demoapps run the "
        f"code default {default}"
    )
    # Pinned per cluster is pinned too.
    clusters = [{**c, "kubernetesVersion": "1.35"} for c in unpinned["cilium-mesh:clusters"]]
    assert (
        code_default_warnings(validate(project, "devstg", {**unpinned, "cilium-mesh:clusters": clusters}))
        == []
    )
