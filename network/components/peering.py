"""VPC peering between two cluster VPCs (same account and region) plus routes in every route table.

Child names come from stable keys only (:func:`pair_key` sorts the endpoint names):

* peering connection: ``<a>--<b>`` (a < b; ``a`` is the requester, ``b`` the accepter)
* routes: ``<a>--<b>-<owner>-<rt-key>`` - one per route table of each VPC, ``<owner>`` being the
  endpoint whose table it is (needed because both VPCs have e.g. a ``public`` table), destination
  the *other* endpoint's VPC CIDR.

Build the full mesh with ``network.cidr.peer_pairs(cluster_names)`` and one :class:`VpcPeering` per pair.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from network.logic.cidr import overlaps, parse_network

if TYPE_CHECKING:
    from network.components.vpc import ClusterVpc

PAIR_SEPARATOR = "--"


def pair_key(a: str, b: str) -> str:
    """``"<a>--<b>"`` with the names sorted, so both orders give the same key."""
    if a == b:
        raise ValueError(f"cannot peer {a!r} with itself")
    first, second = sorted((a, b))
    return f"{first}{PAIR_SEPARATOR}{second}"


def route_name(pair: str, owner: str, route_table_key: str) -> str:
    """Name of the peering route in ``owner``'s route table ``route_table_key``."""
    return f"{pair}-{owner}-{route_table_key}"


@dataclass(frozen=True)
class PeeringEndpoint:
    """One side of a peering: cluster ``name``, ``vpc_id``, VPC ``cidr`` and its route tables.

    ``route_tables`` maps a stable key (``public``, ``private-<az>``) to an ``aws.ec2.RouteTable``
    or a route table id. Use :meth:`from_cluster_vpc` for a :class:`network.vpc.ClusterVpc`.
    """

    name: str
    vpc_id: pulumi.Input[str]
    cidr: str
    route_tables: Mapping[str, aws.ec2.RouteTable | pulumi.Input[str]]

    def __post_init__(self) -> None:
        parse_network(self.cidr)  # fail fast with a clear message
        if not self.route_tables:
            raise ValueError(f"peering endpoint {self.name!r} has no route tables")

    @classmethod
    def from_cluster_vpc(cls, vpc: ClusterVpc) -> PeeringEndpoint:
        return cls(name=vpc.cluster_name, vpc_id=vpc.vpc_id, cidr=vpc.vpc_cidr, route_tables=vpc.route_tables)


@dataclass(frozen=True)
class VpcPeeringArgs:
    """Inputs of :class:`VpcPeering`.

    ``allow_remote_dns_resolution`` (default ``False``) sets the peering DNS option on both sides
    so public DNS names of the peer resolve to private IPs. ``tags`` are added to the connection.
    """

    a: PeeringEndpoint
    b: PeeringEndpoint
    tags: Mapping[str, str] = field(default_factory=dict)
    allow_remote_dns_resolution: bool = False

    def __post_init__(self) -> None:
        pair_key(self.a.name, self.b.name)  # refuses self-peering
        if overlaps(self.a.cidr, self.b.cidr):
            # AWS refuses to peer overlapping VPCs; say so before anything is created.
            raise ValueError(
                f"cannot peer {self.a.name!r} ({self.a.cidr}) with {self.b.name!r} ({self.b.cidr}): "
                "VPC CIDRs overlap"
            )

    def ordered(self) -> tuple[PeeringEndpoint, PeeringEndpoint]:
        """(requester, accepter) - the endpoints sorted by name."""
        return (self.a, self.b) if self.a.name < self.b.name else (self.b, self.a)


def _route_table_id(table: aws.ec2.RouteTable | pulumi.Input[str]) -> pulumi.Input[str]:
    return table.id if isinstance(table, aws.ec2.RouteTable) else table


class VpcPeering(pulumi.ComponentResource):
    """Peering connection plus a route to the peer CIDR in every route table of both VPCs
    (type ``cilium-mesh:network:VpcPeering``).

    Attributes: ``key`` (``"<a>--<b>"``), ``peering_connection_id`` (Output[str]) and ``routes``
    (dict route name -> ``aws.ec2.Route``).
    """

    def __init__(self, name: str, args: VpcPeeringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("cilium-mesh:network:VpcPeering", name, None, opts)
        requester, accepter = args.ordered()
        self.key = pair_key(requester.name, accepter.name)

        dns_options: dict[str, object] = {}
        if args.allow_remote_dns_resolution:
            # Same account + auto_accept lets one resource set both sides' options.
            dns_options = {
                "requester": aws.ec2.VpcPeeringConnectionRequesterArgs(allow_remote_vpc_dns_resolution=True),
                "accepter": aws.ec2.VpcPeeringConnectionAccepterArgs(allow_remote_vpc_dns_resolution=True),
            }
        connection = aws.ec2.VpcPeeringConnection(
            self.key,
            vpc_id=requester.vpc_id,
            peer_vpc_id=accepter.vpc_id,
            auto_accept=True,  # same account and region
            tags={**args.tags, "Name": self.key},
            opts=pulumi.ResourceOptions(parent=self),
            **dns_options,
        )
        self.peering_connection_id: pulumi.Output[str] = connection.id

        self.routes: dict[str, aws.ec2.Route] = {}
        for owner, other in ((requester, accepter), (accepter, requester)):
            for rt_key in sorted(owner.route_tables):
                route = route_name(self.key, owner.name, rt_key)
                self.routes[route] = aws.ec2.Route(
                    route,
                    route_table_id=_route_table_id(owner.route_tables[rt_key]),
                    destination_cidr_block=other.cidr,
                    vpc_peering_connection_id=connection.id,
                    opts=pulumi.ResourceOptions(parent=self),
                )

        self.register_outputs(
            {
                "key": self.key,
                "peeringConnectionId": self.peering_connection_id,
                "routeNames": sorted(self.routes),
            }
        )
