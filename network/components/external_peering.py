"""A peering from one mesh VPC to an existing VPC outside the stack, with a route to that VPC's CIDR in
every route table of the mesh VPC.

Names come from :mod:`network.logic.external_peering`: the connection is ``<cluster>--ext-<name>``, its
routes ``<cluster>--ext-<name>-<rt-key>``. The routes back to the mesh VPC belong to the other VPC's
owner, except in route tables listed in ``routeTableIds`` (same account and region only):
``<cluster>--ext-<name>-back-<rtb-id>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from network.logic.external_peering import (
    can_auto_accept,
    peer_region_arg,
    peering_key,
    return_route_key,
    route_key,
)


def auto_accept_input(
    *,
    stack_region: str,
    region: str | None,
    owner_account_id: str | None,
    caller_account_id: pulumi.Input[str] | None,
) -> pulumi.Input[bool]:
    """``auto_accept`` for the connection: known from config alone for another region (never) or an omitted
    owner (this account: always); for an explicit owner it is decided at deploy time against the account
    the stack runs in (``caller_account_id``, from ``aws.get_caller_identity``)."""
    if peer_region_arg(stack_region, region) is not None:
        return False
    if owner_account_id is None:
        return True
    if caller_account_id is None:
        raise ValueError(
            f"ownerAccountId {owner_account_id} needs the caller's account id to decide auto_accept"
        )
    return pulumi.Output.from_input(caller_account_id).apply(
        lambda me: can_auto_accept(
            stack_region=stack_region, region=region, owner_account_id=owner_account_id, caller_account_id=me
        )
    )


@dataclass(frozen=True)
class ExternalPeeringArgs:
    """Inputs of :class:`ExternalPeering`.

    ``cluster_name``/``vpc_id``/``vpc_cidr``/``route_tables`` describe the mesh side (route tables: stable
    key -> ``aws.ec2.RouteTable``); ``name``, ``peer_vpc_id``, ``peer_cidr``, ``peer_owner_id`` (default
    ``None`` = this account) and ``peer_region`` (default ``None`` = the stack's region) the existing VPC.
    ``peer_route_table_ids`` (default none): route tables of the other VPC, in this account and region,
    that get a route back to ``vpc_cidr``. ``auto_accept`` is decided by the caller (same account and region
    only, see :func:`network.logic.external_peering.can_auto_accept`); it may be known only at deploy time.
    """

    cluster_name: str
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    route_tables: Mapping[str, aws.ec2.RouteTable]
    name: str
    peer_vpc_id: str
    peer_cidr: str
    stack_region: str
    auto_accept: pulumi.Input[bool]
    peer_owner_id: str | None = None
    peer_region: str | None = None
    peer_route_table_ids: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


class ExternalPeering(pulumi.ComponentResource):
    """Peering connection + routes (type ``cilium-mesh:network:ExternalPeering``).

    Attributes: ``key``, ``connection``, ``auto_accept`` and ``routes`` (route name -> ``aws.ec2.Route``).
    """

    def __init__(
        self, name: str, args: ExternalPeeringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("cilium-mesh:network:ExternalPeering", name, None, opts)
        self.key = peering_key(args.cluster_name, args.name)
        self.auto_accept: pulumi.Output[bool] = pulumi.Output.from_input(args.auto_accept)
        child = pulumi.ResourceOptions(parent=self)
        self.connection = aws.ec2.VpcPeeringConnection(
            self.key,
            vpc_id=args.vpc_id,
            peer_vpc_id=args.peer_vpc_id,
            peer_owner_id=args.peer_owner_id,
            peer_region=peer_region_arg(args.stack_region, args.peer_region),
            auto_accept=args.auto_accept,
            tags={**args.tags, "Name": self.key},
            opts=child,
        )
        self.routes: dict[str, aws.ec2.Route] = {}
        for rt_key in sorted(args.route_tables):
            route = route_key(self.key, rt_key)
            # A route to a peering still pending acceptance is accepted by AWS and stays "blackhole" until
            # the other side accepts (AWS VPC peering guide, "Update your route tables").
            self.routes[route] = aws.ec2.Route(
                route,
                route_table_id=args.route_tables[rt_key].id,
                destination_cidr_block=args.peer_cidr,
                vpc_peering_connection_id=self.connection.id,
                opts=child,
            )
        for rtb in args.peer_route_table_ids:
            route = return_route_key(self.key, rtb)
            self.routes[route] = aws.ec2.Route(
                route,
                route_table_id=rtb,
                destination_cidr_block=args.vpc_cidr,
                vpc_peering_connection_id=self.connection.id,
                opts=child,
            )
        self.register_outputs({"peeringConnectionId": self.connection.id, "routeNames": sorted(self.routes)})
