"""network.externalPeerings: every mesh VPC peers with each existing VPC, routes its CIDR from every route
table, accepts only what the same account and region allow, and tells the other side what to accept."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mesh.logic.config import ConfigError, parse_stack_config
from mesh.plan.cli import evaluate_config, summary
from mesh.plan.harness import ProgramRun, Registration
from mesh.plan.placeholders import ACCOUNT_ID
from mesh.plan.synthetic import synthetic_config
from network.components.external_peering import auto_accept_input
from network.logic.external_peering import can_auto_accept, peer_region_arg

PEERING = "aws:ec2/vpcPeeringConnection:VpcPeeringConnection"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
VPC = "aws:ec2/vpc:Vpc"
OTHER_ACCOUNT = "111122223333"
EXTERNAL = [
    # same account (omitted owner), same region: the stack accepts it itself
    {
        "name": "vpn",
        "vpcId": "vpc-0a1b2c3d4e5f67890",
        "cidr": "10.250.0.0/16",
        "routeTableIds": ["rtb-0a1b2c3d", "rtb-0a1b2c3e"],  # its route tables get the routes back
    },
    # another account: its owner accepts
    {"name": "runners", "vpcId": "vpc-1234abcd", "cidr": "172.31.0.0/16", "ownerAccountId": OTHER_ACCOUNT},
    # the stack's own account, named explicitly: still accepted here (decided at deploy time)
    {"name": "tools", "vpcId": "vpc-2234abcd", "cidr": "172.30.0.0/16", "ownerAccountId": ACCOUNT_ID},
    # same account, another region: accepted in that region, by its owner
    {"name": "west", "vpcId": "vpc-3234abcd", "cidr": "172.29.0.0/16", "region": "us-west-2"},
]
AUTO_ACCEPT = {"vpn": True, "runners": False, "tools": True, "west": False}
CLUSTERS = [
    {"name": "east", "id": 1, "vpcCidr": "10.3.0.0/16", "podCidr": "10.50.0.0/16"},
    {"name": "west", "id": 2, "vpcCidr": "10.1.0.0/16", "podCidr": "10.60.0.0/16"},
]


@pytest.mark.parametrize(
    ("region", "owner", "caller", "expected"),
    [
        (None, None, "999999999999", True),
        ("us-east-1", None, "999999999999", True),
        (None, "999999999999", "999999999999", True),
        (None, OTHER_ACCOUNT, "999999999999", False),
        ("us-west-2", None, "999999999999", False),
        ("us-west-2", "999999999999", "999999999999", False),
    ],
)
def test_auto_accept_only_in_the_same_account_and_region(
    region: str | None, owner: str | None, caller: str, expected: bool
) -> None:
    kwargs = {"stack_region": "us-east-1", "region": region, "owner_account_id": owner}
    assert can_auto_accept(**kwargs, caller_account_id=caller) is expected


def test_peer_region_is_sent_only_for_another_region() -> None:
    # The AWS provider refuses peer_region together with auto_accept, even for the same region.
    assert peer_region_arg("us-east-1", None) is None
    assert peer_region_arg("us-east-1", "us-east-1") is None
    assert peer_region_arg("us-east-1", "eu-west-1") == "eu-west-1"


def problems(peerings: list[dict[str, Any]], region: str = "us-east-1") -> list[str]:
    config = {
        "account": "a",
        "clusters": copy.deepcopy(CLUSTERS),
        "cilium": {"version": "1.16.3"},
        "network": {"externalPeerings": peerings},
    }
    with pytest.raises(ConfigError) as info:
        parse_stack_config(config, region=region)
    return info.value.problems


def test_valid_peerings_parse() -> None:
    config = {
        "account": "a",
        "clusters": copy.deepcopy(CLUSTERS),
        "cilium": {"version": "1.16.3"},
        "network": {"externalPeerings": EXTERNAL},
    }
    cfg = parse_stack_config(config, region="us-east-1")
    assert [(p.name, p.owner_account_id, p.region) for p in cfg.network.external_peerings] == [
        ("vpn", None, None),
        ("runners", OTHER_ACCOUNT, None),
        ("tools", ACCOUNT_ID, None),
        ("west", None, "us-west-2"),
    ]


VPN = {"name": "vpn", "vpcId": "vpc-0a1b2c3d", "cidr": "10.250.0.0/16"}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"vpcId": "vpc-xyz"}, "network.externalPeerings[1].vpcId: 'vpc-xyz' is not a VPC id"),
        ({"vpcId": "vpc-0a1b2c3"}, "network.externalPeerings[1].vpcId: 'vpc-0a1b2c3' is not a VPC id"),
        (
            {"ownerAccountId": 12345678901},
            "network.externalPeerings[1].ownerAccountId: 12345678901 must be a quoted",
        ),
        ({"ownerAccountId": "1234"}, "network.externalPeerings[1].ownerAccountId: '1234' is not a 12-digit"),
        ({"region": "us-east"}, "network.externalPeerings[1].region: 'us-east' is not an AWS region name"),
        (
            {"region": "cn-north-1"},
            "network.externalPeerings[1].region: cn-north-1 is in another AWS partition",
        ),
        ({"name": "VPN_2"}, "network.externalPeerings[1].name: 'VPN_2' must be 1-32 characters"),
        ({"name": "vpn"}, "network.externalPeerings[1].name: vpn duplicates network.externalPeerings[0]"),
        ({"vpcId": "vpc-0a1b2c3d"}, "network.externalPeerings[1].vpcId: vpc-0a1b2c3d duplicates"),
        (
            {"cidr": "10.3.128.0/20"},
            "network.externalPeerings[1].cidr: 10.3.128.0/20 overlaps clusters[0].vpcCidr",
        ),
        (
            {"cidr": "10.60.0.0/16"},
            "network.externalPeerings[1].cidr: 10.60.0.0/16 overlaps clusters[1].podCidr",
        ),
        (
            {"cidr": "172.20.0.0/20"},
            "network.externalPeerings[1].cidr: 172.20.0.0/20 overlaps eks.serviceCidr",
        ),
        (
            {"cidr": "10.250.4.0/24"},
            "network.externalPeerings[1].cidr: 10.250.4.0/24 overlaps network.externalPeerings[0].cidr",
        ),
        ({"cidr": "10.0.0.0/8"}, "network.externalPeerings[1].cidr: 10.0.0.0/8 must be between /16 and /28"),
        ({"peerRegion": "us-east-1"}, "network.externalPeerings[1].peerRegion: unknown key"),
        (
            {"routeTableIds": ["rtb-xyz"]},
            "network.externalPeerings[1].routeTableIds: 'rtb-xyz' is not a route",
        ),
        (
            {"routeTableIds": ["rtb-0a1b2c3d"], "ownerAccountId": OTHER_ACCOUNT},
            "network.externalPeerings[1]: routeTableIds works only for a VPC of this stack's account",
        ),
        (
            {"routeTableIds": ["rtb-0a1b2c3d"], "region": "us-west-2"},
            "network.externalPeerings[1]: routeTableIds works only",
        ),
    ],
)
def test_bad_peerings_name_their_key(change: dict[str, Any], expected: str) -> None:
    second = {"name": "ci", "vpcId": "vpc-0b1b2c3d", "cidr": "172.31.0.0/16", **change}
    found = problems([VPN, second])
    assert len(found) == 1 and found[0].startswith(expected), found


@pytest.fixture(scope="module")
def peered() -> ProgramRun:
    config = synthetic_config(3)
    config["cilium-mesh:network"] = {"externalPeerings": EXTERNAL}
    return evaluate_config("cilium-mesh", "peered", config)[1]


def _cluster_of(name: str) -> str:
    return name.split("--ext-", 1)[0]


def _connections(run: ProgramRun) -> dict[tuple[str, str], Registration]:
    return {
        (_cluster_of(r.name), r.name.split("--ext-", 1)[1]): r
        for r in run.by_type(PEERING)
        if "--ext-" in r.name
    }


def test_every_mesh_vpc_requests_every_external_peering(peered: ProgramRun) -> None:
    vpc_ids = {r.name.removesuffix("-vpc"): r.id for r in peered.by_type(VPC)}
    connections = _connections(peered)
    clusters = ("mesh-01", "mesh-02", "mesh-03")
    assert set(connections) == {(c, p["name"]) for c in clusters for p in EXTERNAL}
    for (cluster, name), conn in connections.items():
        spec = next(p for p in EXTERNAL if p["name"] == name)
        i = conn.inputs
        assert i["vpcId"] == vpc_ids[cluster] and i["peerVpcId"] == spec["vpcId"]
        assert i.get("peerOwnerId") == spec.get("ownerAccountId")
        assert i.get("peerRegion") == spec.get("region")
        assert i["autoAccept"] is AUTO_ACCEPT[name], (cluster, name)


def test_external_cidr_is_routed_from_every_route_table_of_each_mesh_vpc(peered: ProgramRun) -> None:
    connections = _connections(peered)
    tables = peered.by_type(ROUTE_TABLE)
    routes = [r for r in peered.by_type(ROUTE) if "--ext-" in r.name]
    vpc_cidrs = {c["name"]: c["vpcCidr"] for c in synthetic_config(3)["cilium-mesh:clusters"]}
    for (cluster, name), conn in connections.items():
        own_tables = {t.id for t in tables if t.name.startswith(f"{cluster}-rt-")}
        spec = next(p for p in EXTERNAL if p["name"] == name)
        mine = [r for r in routes if r.inputs["vpcPeeringConnectionId"] == conn.id]
        forward = [r for r in mine if r.inputs["routeTableId"] in own_tables]
        back = [r for r in mine if r.inputs["routeTableId"] not in own_tables]
        assert len(own_tables) == 3  # public + one private table per AZ (2 AZs)
        assert {r.inputs["routeTableId"] for r in forward} == own_tables and len(forward) == len(own_tables)
        assert {r.inputs["destinationCidrBlock"] for r in forward} == {spec["cidr"]}
        # Routes back only into the listed tables of a same-account, same-region VPC.
        assert sorted(r.inputs["routeTableId"] for r in back) == spec.get("routeTableIds", [])
        assert {r.inputs["destinationCidrBlock"] for r in back} <= {vpc_cidrs[cluster]}


def test_kubernetes_provider_waits_for_the_network_path_from_the_peered_vpcs(peered: ProgramRun) -> None:
    ext = [r for r in (*peered.by_type(PEERING), *peered.by_type(ROUTE)) if "--ext-" in r.name]
    for provider in peered.by_type("pulumi:providers:kubernetes"):
        cluster = provider.name.removesuffix("-k8s")
        own = {r.urn for r in ext if _cluster_of(r.name) == cluster}
        assert len(own) == 4 * (1 + 3) + 2  # 4 peerings, each a connection and 3 routes; 2 routes back
        assert own <= set(provider.dependencies)
        assert not ({r.urn for r in ext} - own) & set(provider.dependencies)


def test_output_tells_each_owner_what_to_accept(peered: ProgramRun) -> None:
    out = peered.outputs["externalPeerings"]
    connections = _connections(peered)
    vpc_cidrs = {c["name"]: c["vpcCidr"] for c in synthetic_config(3)["cilium-mesh:clusters"]}
    assert set(out) == {p["name"] for p in EXTERNAL}
    runners = out["runners"]
    assert (runners["vpcId"], runners["cidr"], runners["ownerAccountId"], runners["region"]) == (
        "vpc-1234abcd",
        "172.31.0.0/16",
        OTHER_ACCOUNT,
        "us-east-1",
    )
    assert out["west"]["region"] == "us-west-2"
    for name, entry in out.items():
        assert set(entry["requesters"]) == set(vpc_cidrs)
        for cluster, req in entry["requesters"].items():
            assert req["peeringConnectionId"] == connections[(cluster, name)].id
            assert req["vpcCidr"] == vpc_cidrs[cluster]
            assert req["autoAccepted"] is AUTO_ACCEPT[name]


def test_stacks_without_external_peerings_have_none(devstg: tuple[Any, ProgramRun]) -> None:
    _, run = devstg
    assert not [r for r in run.by_type(PEERING) if "--ext-" in r.name]
    assert run.outputs["externalPeerings"] == {}


def test_one_broken_peering_does_not_hide_the_others_overlaps() -> None:
    broken = {"name": "broken", "vpcId": "vpc-nope", "cidr": "172.31.0.0/16"}
    overlapping = {"name": "ci", "vpcId": "vpc-0b1b2c3d", "cidr": "10.1.0.0/16"}
    assert problems([broken, overlapping]) == [
        "network.externalPeerings[0].vpcId: 'vpc-nope' is not a VPC id (vpc- and 8 or 17 hex digits)",
        "network.externalPeerings[1].cidr: 10.1.0.0/16 overlaps clusters[1].vpcCidr 10.1.0.0/16",
    ]


def test_plan_summary_lists_external_peerings_apart_from_the_mesh_pairs() -> None:
    config = synthetic_config(2)
    config["cilium-mesh:network"] = {"externalPeerings": EXTERNAL}
    cfg, run = evaluate_config("cilium-mesh", "peered2", config)
    text = summary(cfg, run)
    mesh_section = text.split("VPC peerings", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    assert [line.split(":", 1)[0] for line in mesh_section] == ["  mesh-01 -> mesh-02"]
    assert (
        "  mesh-01--ext-runners: vpc-1234abcd 172.31.0.0/16 (account 111122223333, region us-east-1), "
        "3 routes there, 0 back, the owner accepts"
    ) in text
    assert (
        "  mesh-02--ext-vpn: vpc-0a1b2c3d4e5f67890 10.250.0.0/16 (account this, region us-east-1), "
        "3 routes there, 2 back, accepted by this stack"
    ) in text
    assert "  mesh-02--ext-west: vpc-3234abcd 172.29.0.0/16 (account this, region us-west-2)" in text


def test_auto_accept_is_static_unless_an_owner_is_named() -> None:
    assert auto_accept_input(
        stack_region="us-east-1", region=None, owner_account_id=None, caller_account_id=None
    )
    assert not auto_accept_input(
        stack_region="us-east-1", region="eu-west-1", owner_account_id=None, caller_account_id=None
    )
    with pytest.raises(ValueError, match="needs the caller's account id"):
        auto_accept_input(
            stack_region="us-east-1", region=None, owner_account_id=OTHER_ACCOUNT, caller_account_id=None
        )
