"""eks.privateAccessCidrs: tcp/443 into every cluster's EKS cluster security group from the VPN and runner
networks, before any Kubernetes call; never from the internet (config and guardrails)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from guardrails.cilium_mesh_guardrails.pack import EKS_API_INGRESS_POLICY
from guardrails.cilium_mesh_guardrails.policies import SG_INGRESS_RULE, eks_api_ingress_violations
from guardrails.plan_check import check_plan
from mesh.logic.config import ConfigError, parse_stack_config
from mesh.plan.cli import evaluate_config, plan_document
from mesh.plan.harness import ProgramRun
from mesh.plan.synthetic import synthetic_config
from network.logic.api_access import api_access_rules, private_access_problems

RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SOURCES = ["10.200.0.0/16", "192.168.10.0/24"]
CLUSTERS = [
    {"name": "east", "id": 1, "vpcCidr": "10.3.0.0/16", "podCidr": "10.50.0.0/16"},
    {"name": "west", "id": 2, "vpcCidr": "10.1.0.0/16", "podCidr": "10.60.0.0/16"},
]


def problems(cidrs: list[str]) -> list[str]:
    config = {
        "account": "a",
        "clusters": copy.deepcopy(CLUSTERS),
        "cilium": {"version": "1.16.3"},
        "eks": {"privateAccessCidrs": cidrs},
    }
    with pytest.raises(ConfigError) as info:
        parse_stack_config(config, region="us-east-1")
    return info.value.problems


def test_rule_specs_are_tcp_443_named_by_cluster_and_cidr() -> None:
    specs = api_access_rules("east", SOURCES)
    assert [(s.key, s.ip_protocol, s.from_port, s.to_port, s.cidr_ipv4) for s in specs] == [
        ("east-eks-api-from-10.200.0.0-16", "tcp", 443, 443, "10.200.0.0/16"),
        ("east-eks-api-from-192.168.10.0-24", "tcp", 443, 443, "192.168.10.0/24"),
    ]
    assert specs[0].description == "EKS API (HTTPS) from 10.200.0.0/16"


def test_a_corporate_supernet_is_fine() -> None:
    assert private_access_problems(["10.0.0.0/8"], {"clusters[0].podCidr": "10.50.0.0/16"}) == []


@pytest.mark.parametrize(
    ("cidrs", "expected"),
    [
        (["10.8.0.0/16", "0.0.0.0/0"], "eks.privateAccessCidrs[1]: 0.0.0.0/0 is broader than /8"),
        (["8.0.0.0/7"], "eks.privateAccessCidrs[0]: 8.0.0.0/7 is broader than /8"),
        (["10.8.0.0/16", "10.8.0.0/16"], "eks.privateAccessCidrs[1]: 10.8.0.0/16 duplicates [0]"),
        (["10.8.0.0/16", "10.8.4.0/24"], "eks.privateAccessCidrs[1]: 10.8.4.0/24 overlaps [0] 10.8.0.0/16"),
        (
            ["10.50.3.0/24"],
            "eks.privateAccessCidrs[0]: 10.50.3.0/24 lies inside clusters[0].podCidr 10.50.0.0/16",
        ),
        (
            ["172.20.0.0/16"],
            "eks.privateAccessCidrs[0]: 172.20.0.0/16 lies inside eks.serviceCidr 172.20.0.0/16",
        ),
        (["10.8.0.1/16"], "eks.privateAccessCidrs[0]: '10.8.0.1/16' has host bits set"),
    ],
)
def test_sources_that_make_no_sense_are_refused_by_key(cidrs: list[str], expected: str) -> None:
    (problem,) = problems(cidrs)
    assert problem.startswith(expected), problem


@pytest.fixture(scope="module")
def private() -> ProgramRun:
    config = synthetic_config(3)
    config["cilium-mesh:eks"] = {"privateAccessCidrs": SOURCES}
    return evaluate_config("cilium-mesh", "private", config)[1]


def test_every_cluster_security_group_admits_the_api_sources(private: ProgramRun) -> None:
    rules = private.by_type(RULE)
    for cluster in ("mesh-01", "mesh-02", "mesh-03"):
        api = sorted((r for r in rules if r.name.startswith(f"{cluster}-eks-api-")), key=lambda r: r.name)
        assert [
            (r.inputs["ipProtocol"], r.inputs["fromPort"], r.inputs["toPort"], r.inputs["cidrIpv4"])
            for r in api
        ] == [
            ("tcp", 443, 443, "10.200.0.0/16"),
            ("tcp", 443, 443, "192.168.10.0/24"),
        ]
        # The same group as the cluster's datapath rules: the EKS cluster security group, on the API ENIs.
        datapath = {r.inputs["securityGroupId"] for r in rules if r.name.startswith(f"{cluster}-from-")}
        assert len(datapath) == 1 and {r.inputs["securityGroupId"] for r in api} == datapath


def test_kubernetes_provider_waits_for_its_clusters_api_rules(private: ProgramRun) -> None:
    rules = private.by_type(RULE)
    for provider in private.by_type("pulumi:providers:kubernetes"):
        cluster = provider.name.removesuffix("-k8s")
        own = {r.urn for r in rules if r.name.startswith(f"{cluster}-eks-api-")}
        others = {r.urn for r in rules if "-eks-api-" in r.name} - own
        assert len(own) == 2 and own <= set(provider.dependencies)
        assert not others & set(provider.dependencies)


def test_guardrails_accept_the_private_sources_and_stop_the_internet(private: ProgramRun) -> None:
    doc = plan_document(private)
    assert check_plan(doc) == []
    target = next(r for r in doc["resources"] if r["name"] == "mesh-02-eks-api-from-192.168.10.0-24")
    target["inputs"]["cidrIpv4"] = "0.0.0.0/0"
    found = check_plan(doc)
    assert [(v.policy, v.urn) for v in found] == [(EKS_API_INGRESS_POLICY, target["urn"])]


@pytest.mark.parametrize(
    ("props", "fires"),
    [
        ({"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "10.0.0.0/8"}, False),
        ({"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "203.0.113.0/24"}, False),
        ({"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/1"}, True),
        ({"ipProtocol": "tcp", "fromPort": 0, "toPort": 65535, "cidrIpv4": "0.0.0.0/0"}, True),
        ({"ipProtocol": "-1", "cidrIpv6": "::/0"}, True),
        ({"ipProtocol": "tcp", "fromPort": 80, "toPort": 80, "cidrIpv4": "0.0.0.0/0"}, False),
        ({"ipProtocol": "udp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"}, False),
    ],
)
def test_api_port_policy(props: dict[str, Any], fires: bool) -> None:
    assert bool(eks_api_ingress_violations(SG_INGRESS_RULE, props)) is fires


def test_component_specs_refuse_the_internet_even_without_config_validation() -> None:
    with pytest.raises(ValueError, match=r"0\.0\.0\.0/0 is broader than /8"):
        api_access_rules("east", ["10.8.0.0/16", "0.0.0.0/0"])
