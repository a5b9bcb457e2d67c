"""Self-contained mock tests of the network components (ClusterVpc, VpcPeering, MeshSecurityRules).

Each test installs its own recording mocks (and restores whatever mock monitor was there before), so
this file does not depend on, or disturb, other mock-based tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pulumi
import pytest
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import SETTINGS

from network.components.peering import PeeringEndpoint, VpcPeering, VpcPeeringArgs
from network.components.security import MeshSecurityRules, MeshSecurityRulesArgs
from network.components.vpc import ClusterVpc, ClusterVpcArgs
from network.logic.rules import mesh_rule_table

AZS = ["us-east-1a", "us-east-1b", "us-east-1c"]


class RecordingMocks(pulumi.runtime.Mocks):
    """Echoes inputs as outputs, ids are ``<name>-id``; remembers every registration."""

    def __init__(self) -> None:
        self.resources: dict[str, tuple[str, dict[str, Any]]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources[args.name] = (args.typ, dict(args.inputs))
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}

    def of_type(self, typ: str) -> dict[str, dict[str, Any]]:
        return {name: inputs for name, (t, inputs) in self.resources.items() if t == typ}


@pytest.fixture
def mocks() -> Iterator[RecordingMocks]:
    previous = SETTINGS.monitor
    saved = (SETTINGS.project, SETTINGS.stack, SETTINGS.dry_run, SETTINGS.organization)
    recording = RecordingMocks()
    pulumi.runtime.set_mocks(recording, project="network-test", stack="test", preview=False)
    yield recording
    if isinstance(previous, MockMonitor):
        project, stack, dry_run, organization = saved
        pulumi.runtime.set_mocks(
            previous.mocks,
            project=project,
            stack=stack,
            preview=dry_run,
            organization=organization,
            monitor=previous,
        )


def run(build: Callable[[], object]) -> None:
    """Run ``build`` as a Pulumi program and wait for every registration."""

    def program() -> None:
        build()

    pulumi.runtime.test(program)()


def test_cluster_vpc_per_az_nat_routes_and_tags(mocks: RecordingMocks) -> None:
    built: dict[str, ClusterVpc] = {}
    args = ClusterVpcArgs("east", "10.1.0.0/16", AZS, nat_gateways="per_az", tags={"team": "net"})
    run(lambda: built.setdefault("vpc", ClusterVpc("east", args)))
    vpc = built["vpc"]

    assert vpc.vpc_cidr == "10.1.0.0/16"
    assert vpc.nat_gateway_count == 3
    assert list(vpc.route_tables) == ["public", *(f"private-{az}" for az in AZS)]

    vpc_inputs = mocks.of_type("aws:ec2/vpc:Vpc")["east-vpc"]
    assert (vpc_inputs["enableDnsSupport"], vpc_inputs["enableDnsHostnames"]) == (True, True)
    assert vpc_inputs["tags"] == {"team": "net", "Name": "east-vpc", "kubernetes.io/cluster/east": "shared"}

    subnets = mocks.of_type("aws:ec2/subnet:Subnet")
    # 3 AZs -> private /19s in the lower half, public /21s from 10.1.128.0 (see network.cidr docstring).
    assert subnets["east-private-us-east-1b"]["cidrBlock"] == "10.1.32.0/19"
    assert subnets["east-public-us-east-1c"]["cidrBlock"] == "10.1.144.0/21"
    assert subnets["east-public-us-east-1a"]["tags"] == {
        "team": "net",
        "Name": "east-public-us-east-1a",
        "kubernetes.io/cluster/east": "shared",
        "kubernetes.io/role/elb": "1",
    }
    assert subnets["east-private-us-east-1a"]["tags"]["kubernetes.io/role/internal-elb"] == "1"
    assert "kubernetes.io/role/elb" not in subnets["east-private-us-east-1a"]["tags"]

    eips = mocks.of_type("aws:ec2/eip:Eip")
    assert sorted(eips) == [f"east-nat-eip-{az}" for az in AZS]
    assert {e["domain"] for e in eips.values()} == {"vpc"}
    nats = mocks.of_type("aws:ec2/natGateway:NatGateway")
    assert nats["east-nat-us-east-1b"]["subnetId"] == "east-public-us-east-1b-id"
    assert nats["east-nat-us-east-1b"]["allocationId"] == "east-nat-eip-us-east-1b-id"

    routes = mocks.of_type("aws:ec2/route:Route")
    assert routes["east-rt-public-internet"]["gatewayId"] == "east-igw-id"
    assert routes["east-rt-public-internet"]["destinationCidrBlock"] == "0.0.0.0/0"
    for az in AZS:  # per_az: each private table egresses through its own AZ's NAT
        route = routes[f"east-rt-private-{az}-internet"]
        assert route["natGatewayId"] == f"east-nat-{az}-id"
        assert route["routeTableId"] == f"east-rt-private-{az}-id"

    associations = mocks.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    assert associations["east-rta-public-us-east-1c"]["routeTableId"] == "east-rt-public-id"
    assert associations["east-rta-private-us-east-1c"] == {
        "subnetId": "east-private-us-east-1c-id",
        "routeTableId": "east-rt-private-us-east-1c-id",
    }
    assert mocks.of_type("aws:ec2/routeTable:RouteTable")["east-rt-public"]["tags"]["team"] == "net"


def test_cluster_vpc_single_nat_is_shared_from_first_az(mocks: RecordingMocks) -> None:
    built: dict[str, ClusterVpc] = {}
    run(lambda: built.setdefault("vpc", ClusterVpc("west", ClusterVpcArgs("west", "10.2.0.0/16", AZS))))

    assert built["vpc"].nat_gateway_count == 1
    assert list(mocks.of_type("aws:ec2/natGateway:NatGateway")) == ["west-nat-us-east-1a"]
    routes = mocks.of_type("aws:ec2/route:Route")
    nat_targets = {routes[f"west-rt-private-{az}-internet"]["natGatewayId"] for az in AZS}
    assert nat_targets == {"west-nat-us-east-1a-id"}


def test_cluster_vpc_refuses_unplannable_cidr_before_creating_children(mocks: RecordingMocks) -> None:
    with pytest.raises(ValueError, match="too small for 3 availability zones"):
        ClusterVpc("tiny", ClusterVpcArgs("tiny", "10.9.0.0/27", AZS))
    with pytest.raises(ValueError, match="nat_gateways must be one of single, per_az"):
        ClusterVpcArgs("tiny", "10.9.0.0/16", AZS, nat_gateways="both")  # type: ignore[arg-type]


def test_peering_routes_in_every_route_table_of_both_vpcs(mocks: RecordingMocks) -> None:
    built: dict[str, VpcPeering] = {}

    def program() -> VpcPeering:
        west = ClusterVpc("west", ClusterVpcArgs("west", "10.2.0.0/16", AZS[:2]))
        east = ClusterVpc("east", ClusterVpcArgs("east", "10.1.0.0/16", AZS[:2], nat_gateways="per_az"))
        # Endpoint order must not matter: the pair key is sorted.
        args = VpcPeeringArgs(
            PeeringEndpoint.from_cluster_vpc(west),
            PeeringEndpoint.from_cluster_vpc(east),
            tags={"team": "net"},
        )
        return built.setdefault("peering", VpcPeering("east--west", args))

    run(program)

    connection = mocks.of_type("aws:ec2/vpcPeeringConnection:VpcPeeringConnection")["east--west"]
    assert connection["vpcId"] == "east-vpc-id"  # requester = first name in sort order
    assert connection["peerVpcId"] == "west-vpc-id"
    assert connection["autoAccept"] is True
    assert connection["tags"] == {"team": "net", "Name": "east--west"}

    peering_routes = {
        name: r for name, r in mocks.of_type("aws:ec2/route:Route").items() if name.startswith("east--west-")
    }
    expected = {
        f"east--west-{owner}-{key}": (f"{owner}-rt-{key}-id", other_cidr)
        for owner, other_cidr in (("east", "10.2.0.0/16"), ("west", "10.1.0.0/16"))
        for key in ("public", "private-us-east-1a", "private-us-east-1b")
    }
    assert {
        name: (r["routeTableId"], r["destinationCidrBlock"]) for name, r in peering_routes.items()
    } == expected
    assert {r["vpcPeeringConnectionId"] for r in peering_routes.values()} == {"east--west-id"}
    assert sorted(built["peering"].routes) == sorted(expected)


def test_peering_refuses_overlapping_vpcs() -> None:
    a = PeeringEndpoint("a", "vpc-a", "10.0.0.0/16", {"public": "rtb-a"})
    b = PeeringEndpoint("b", "vpc-b", "10.0.128.0/17", {"public": "rtb-b"})
    with pytest.raises(ValueError, match=r"cannot peer 'a' \(10\.0\.0\.0/16\) with 'b' .* VPC CIDRs overlap"):
        VpcPeeringArgs(a, b)


def test_mesh_security_rules_only_from_peer_vpcs(mocks: RecordingMocks) -> None:
    table = mesh_rule_table(wireguard=True)
    args = MeshSecurityRulesArgs(
        security_group_id="sg-east",
        cluster_name="east",
        peer_cidrs={"west": "10.2.0.0/16", "central": "10.3.0.0/16"},
        table=table,
        tags={"team": "net"},
    )
    run(lambda: MeshSecurityRules("east-mesh-rules", args))

    rules = mocks.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert len(rules) == 2 * len(table)
    assert {r["cidrIpv4"] for r in rules.values()} == {"10.2.0.0/16", "10.3.0.0/16"}
    assert {r["securityGroupId"] for r in rules.values()} == {"sg-east"}
    icmp = rules["east-from-west-icmp-echo"]
    icmp_fields = (icmp["ipProtocol"], icmp["fromPort"], icmp["toPort"], icmp["cidrIpv4"])
    assert icmp_fields == ("icmp", 8, 0, "10.2.0.0/16")
    assert rules["east-from-central-wireguard"]["description"] == "Cilium WireGuard from central"
    assert rules["east-from-west-vxlan"]["tags"] == {"team": "net", "Name": "east-from-west-vxlan"}
