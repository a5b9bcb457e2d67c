"""AWS quotas a full mesh uses up, per VPC and per region (network/logic/quotas.py), and the config check
that stops a stack the account cannot hold before anything is created."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesh.logic.config import ConfigError, StackConfig, parse_stack_config
from mesh.plan.harness import ProgramRun
from mesh.plan.synthetic import raised_quotas
from network.logic.quotas import MeshShape, external_vpc_problems, quota_problems, quota_uses

INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
PER_VPC = ("peeringsPerVpc", "routesPerRouteTable", "inboundRulesPerSecurityGroup")
REGIONAL = ("vpcsPerRegion", "elasticIpsPerRegion", "natGatewaysPerAz", "networkLoadBalancersPerRegion")
# An account whose regional quotas are out of the way, to look at the per-VPC ones alone.
REGION_RAISED = {"vpcsPerRegion": 1000, "elasticIpsPerRegion": 1000, "natGatewaysPerAz": 1000}


def shape(n: int, **kw: Any) -> MeshShape:
    base: dict[str, Any] = dict(
        clusters=n, external_peerings=0, az_count=2, mesh_rules_per_peer=3, mesh_endpoint=n > 1,
        private_access_cidrs=0,
    )  # fmt: skip
    return MeshShape(**{**base, **kw})


def needed(s: MeshShape, keys: tuple[str, ...] = PER_VPC) -> dict[str, int]:
    return {use.key: use.needed for use in quota_uses(s) if use.key in keys}


def test_what_each_vpc_needs() -> None:
    assert needed(shape(2)) == {
        "peeringsPerVpc": 1,
        "routesPerRouteTable": 3,
        "inboundRulesPerSecurityGroup": 8,
    }
    # 16 clusters over 3 AZs with WireGuard, 2 private access CIDRs and 2 external peerings:
    # rules = 1 EKS + 4 x 15 mesh + (2 x 15 + 3) NLB + 2 API = 96
    big = shape(16, az_count=3, mesh_rules_per_peer=4, private_access_cidrs=2, external_peerings=2)
    assert needed(big) == {
        "peeringsPerVpc": 17,
        "routesPerRouteTable": 19,
        "inboundRulesPerSecurityGroup": 96,
    }
    # Without the mesh (Cilium per cluster, VPCs still peered) the service controller adds no NLB rules.
    assert needed(shape(3, mesh_endpoint=False))["inboundRulesPerSecurityGroup"] == 1 + 3 * 2
    assert needed(shape(1)) == {
        "peeringsPerVpc": 0,
        "routesPerRouteTable": 2,
        "inboundRulesPerSecurityGroup": 1,
    }


def test_what_the_stack_takes_of_the_region() -> None:
    assert needed(shape(2), REGIONAL) == dict.fromkeys(REGIONAL, 2)
    # prd: 2 clusters with a NAT gateway in each of 3 AZs: 6 addresses, 2 gateways per AZ.
    prd = needed(shape(2, az_count=3, nat_gateways_per_vpc=3), REGIONAL)
    assert (prd["elasticIpsPerRegion"], prd["natGatewaysPerAz"]) == (6, 2)
    assert needed(shape(3, mesh_endpoint=False), REGIONAL)["networkLoadBalancersPerRegion"] == 0


def test_twelve_clusters_fit_the_default_per_vpc_quotas_and_thirteen_do_not() -> None:
    assert quota_problems(shape(12), REGION_RAISED) == []
    (problem,) = quota_problems(shape(13), REGION_RAISED)
    assert problem.startswith("network.quotas.inboundRulesPerSecurityGroup: 13 clusters need 63 (")
    assert (
        "but the quota is 60" in problem and 'raise the quota "Inbound rules per security group"' in problem
    )
    assert "counts too" not in problem  # a per-VPC quota is this stack's alone
    assert quota_problems(shape(13), {**REGION_RAISED, "inboundRulesPerSecurityGroup": 100}) == []


def test_five_clusters_fit_the_default_regional_quotas_and_six_do_not() -> None:
    assert quota_problems(shape(5), {}) == []
    problems = quota_problems(shape(6), {})
    assert [p.split(":")[0] for p in problems] == [f"network.quotas.{k}" for k in REGIONAL[:3]]
    assert [p.split("what the account already has in the ")[1][:6] for p in problems] == [
        "region", "region", "AZ cou",
    ]  # fmt: skip
    (eips,) = quota_problems(shape(2, az_count=3, nat_gateways_per_vpc=3), {})
    assert eips.startswith("network.quotas.elasticIpsPerRegion: 2 clusters need 6 (3 NAT gateway")


def test_beyond_what_aws_allows_says_so() -> None:
    quotas = {**REGION_RAISED, "peeringsPerVpc": 125, "inboundRulesPerSecurityGroup": 1000}
    problems = quota_problems(shape(130), quotas)
    assert any(p.startswith("network.quotas.peeringsPerVpc: 130 clusters need 129") for p in problems)
    assert any("AWS allows at most 125" in p for p in problems)
    assert not any("routesPerRouteTable" in p for p in problems)  # 131 of AWS's 500 since June 2025
    # An account still on the old default of 50 routes:
    (routes,) = [
        p for p in quota_problems(shape(130), {**quotas, "routesPerRouteTable": 50}) if "routes" in p
    ]
    assert routes.startswith("network.quotas.routesPerRouteTable: 130 clusters need 131")


@given(n=st.integers(1, 99), azs=st.integers(1, 6), wireguard=st.booleans(), api=st.integers(0, 5))
def test_quota_use_grows_with_every_input(n: int, azs: int, wireguard: bool, api: int) -> None:
    rows = 4 if wireguard else 3
    s = shape(n, az_count=azs, mesh_rules_per_peer=rows, private_access_cidrs=api)
    one_more_cluster = shape(n + 1, az_count=azs, mesh_rules_per_peer=rows, private_access_cidrs=api)
    more = [
        one_more_cluster,
        shape(n, az_count=azs, mesh_rules_per_peer=rows, private_access_cidrs=api + 1),
        shape(n, az_count=azs, mesh_rules_per_peer=rows, private_access_cidrs=api, external_peerings=1),
    ]
    for bigger in more:
        assert all(needed(bigger)[k] >= needed(s)[k] for k in PER_VPC)
        assert needed(bigger) != needed(s)
    assert all(needed(one_more_cluster, REGIONAL)[k] >= needed(s, REGIONAL)[k] for k in REGIONAL)
    # What the synthetic stacks declare is always enough.
    assert quota_problems(shape(n), raised_quotas(n)) == []


def test_a_rules_quota_above_200_also_needs_fewer_groups_per_interface() -> None:
    (problem,) = quota_problems(shape(45), {**REGION_RAISED, "inboundRulesPerSecurityGroup": 200})
    assert "need 223" in problem and "Security groups per network interface" in problem
    (problem,) = quota_problems(shape(30), REGION_RAISED)
    assert "need 148" in problem and "Security groups per network interface" not in problem


def test_an_external_vpc_can_peer_with_at_most_125_clusters() -> None:
    assert external_vpc_problems(125, "vpn", 3) == []
    peerings, routes = external_vpc_problems(1001, "vpn", 1)
    assert peerings.startswith("network.externalPeerings vpn: 1001 clusters") and "at most 125" in peerings
    assert "at most 1000" in routes
    assert len(external_vpc_problems(1001, "vpn", 0)) == 1  # no routes back asked for


def _config(n: int, **network: Any) -> dict[str, Any]:
    return {
        "clusters": [
            {"name": f"c{i}", "id": i, "vpcCidr": f"10.{i}.0.0/16", "podCidr": f"10.{100 + i}.0.0/16"}
            for i in range(1, n + 1)
        ],
        "account": "apps-devstg",
        "cilium": {"version": "1.16.3"},
        **({"network": network} if network else {}),
    }


def test_the_config_check_stops_a_stack_the_account_cannot_hold() -> None:
    with pytest.raises(ConfigError) as err:
        parse_stack_config(_config(13, quotas=REGION_RAISED), region="us-east-1")
    assert [p.split(":")[0] for p in err.value.problems] == ["network.quotas.inboundRulesPerSecurityGroup"]
    quotas = {**REGION_RAISED, "inboundRulesPerSecurityGroup": 100}
    cfg = parse_stack_config(_config(13, quotas=quotas), region="us-east-1")
    assert cfg.network.quotas.inbound_rules_per_security_group == 100
    assert cfg.network.quotas.peerings_per_vpc == 50  # the default stays AWS's


def test_per_az_nat_gateways_count_an_address_per_az() -> None:
    with pytest.raises(ConfigError) as err:
        parse_stack_config(_config(2, azCount=3, natGateways="perAz"), region="us-east-1")
    (problem,) = err.value.problems
    assert problem.startswith("network.quotas.elasticIpsPerRegion: 2 clusters need 6")
    parse_stack_config(
        _config(2, azCount=3, natGateways="perAz", quotas={"elasticIpsPerRegion": 10}), region="us-east-1"
    )


def test_the_quota_problem_is_listed_with_every_other_problem() -> None:
    config = _config(13, quotas=REGION_RAISED)
    del config["account"]
    config["clusters"][0]["podCidr"] = "10.1.0.0/16"  # overlaps its own VPC
    with pytest.raises(ConfigError) as err:
        parse_stack_config(config, region="us-east-1")
    keys = {p.split(":")[0] for p in err.value.problems}
    assert {"account", "network.quotas.inboundRulesPerSecurityGroup"} <= keys and len(keys) >= 3


def test_quotas_above_what_aws_allows_are_refused() -> None:
    with pytest.raises(ConfigError) as err:
        parse_stack_config(
            _config(2, quotas={"peeringsPerVpc": 200, "routesPerRouteTable": 0}), region="us-east-1"
        )
    text = str(err.value)
    assert "network.quotas.peeringsPerVpc" in text and "125" in text
    assert "network.quotas.routesPerRouteTable" in text


def test_an_invalid_cilium_section_reports_no_quota_guess() -> None:
    config = _config(2, quotas={"inboundRulesPerSecurityGroup": 5})
    config["cilium"] = {"version": "1.16.3", "clustermesh": {"enabled": False}, "wireguard": "maybe"}
    with pytest.raises(ConfigError) as err:
        parse_stack_config(config, region="us-east-1")
    assert all(not p.startswith("network.quotas") for p in err.value.problems)
    config["cilium"]["wireguard"] = False
    parse_stack_config(config, region="us-east-1")  # 1 + 3 rules, no NLB: fits 5


def test_the_mesh_rule_count_is_what_the_program_creates(three: tuple[StackConfig, ProgramRun]) -> None:
    """The program's own rules on one cluster security group: the mesh rows per peer and the API rules;
    the rest of the formula (EKS's rule, the service controller's) is added by AWS and Kubernetes."""
    cfg, run = three
    first = cfg.clusters[0].name
    own = [r for r in run.by_type(INGRESS_RULE) if r.name.startswith(f"{first}-")]
    peers = len(cfg.clusters) - 1
    s = shape(len(cfg.clusters), private_access_cidrs=len(cfg.eks.private_access_cidrs))
    use = needed(s)["inboundRulesPerSecurityGroup"]
    nlb = 2 * peers + cfg.network.az_count if cfg.mesh_enabled else 0
    assert len(own) == use - 1 - nlb == 3 * peers + len(cfg.eks.private_access_cidrs)


def test_the_plan_shows_each_quota_with_its_headroom(devstg: tuple[StackConfig, ProgramRun]) -> None:
    from mesh.plan.cli import summary

    cfg, run = devstg
    text = summary(cfg, run)
    lines = [line.split() for line in text.splitlines()]
    rows = {
        " ".join(w[: w.index("/") - 1]): (w[w.index("/") - 1], w[w.index("/") + 1])
        for w in lines
        if "/" in w[:12] and w
    }
    assert rows["Inbound rules per security group"] == ("8", "60")  # 1 + 3 + 2 + 2 AZs
    assert rows["Elastic IP addresses per Region"] == ("2", "5")  # one NAT gateway per VPC
    assert rows["NAT gateways per Availability Zone"] == ("2", "5")
