"""Per-cluster VPC: subnets in several AZs, internet + NAT egress, route tables, EKS discovery tags.

Pure helpers (no resources) come first; :class:`ClusterVpc` only wires resources from them.
Subnet CIDRs come from :func:`network.cidr.plan_subnets` (layout documented there).

Child resource names are ``<name>-<stable key>``, e.g. ``east-vpc``, ``east-private-us-east-1a``,
``east-nat-us-east-1a``, ``east-rt-public``, ``east-rt-private-us-east-1a``; ``<name>`` is the
component name (normally the cluster name), which keeps names unique across clusters.

Routes are separate ``aws.ec2.Route`` resources, never inline ``routes`` on the route table, because
:mod:`network.peering` adds its own ``aws.ec2.Route`` to the same tables and the two styles conflict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from network.logic.cidr import SubnetPlan, SubnetTier, plan_subnets

NatGatewayMode = Literal["single", "per_az"]
NAT_GATEWAY_MODES: tuple[NatGatewayMode, ...] = ("single", "per_az")
PUBLIC_ROUTE_TABLE_KEY = "public"
INTERNET_CIDR = "0.0.0.0/0"

# EKS / AWS Load Balancer Controller subnet discovery.
ELB_ROLE_TAG = "kubernetes.io/role/elb"
INTERNAL_ELB_ROLE_TAG = "kubernetes.io/role/internal-elb"


def cluster_tag_key(cluster_name: str) -> str:
    """``kubernetes.io/cluster/<cluster_name>`` (value ``shared`` on the VPC and its subnets)."""
    return f"kubernetes.io/cluster/{cluster_name}"


def private_route_table_key(az: str) -> str:
    """Stable key of an AZ's private route table: ``private-<az>``."""
    return f"private-{az}"


def route_table_keys(azs: Sequence[str]) -> list[str]:
    """Keys of :attr:`ClusterVpc.route_tables`, in creation order: ``public`` then ``private-<az>``."""
    return [PUBLIC_ROUTE_TABLE_KEY, *(private_route_table_key(az) for az in azs)]


def nat_gateway_azs(azs: Sequence[str], mode: NatGatewayMode) -> tuple[str, ...]:
    """AZs that get a NAT gateway: only the first AZ for ``single``, every AZ for ``per_az``."""
    if mode not in NAT_GATEWAY_MODES:
        raise ValueError(f"nat_gateways must be one of {', '.join(NAT_GATEWAY_MODES)}, got {mode!r}")
    if not azs:
        raise ValueError("at least one availability zone is required")
    return (azs[0],) if mode == "single" else tuple(azs)


def nat_az_for(az: str, azs: Sequence[str], mode: NatGatewayMode) -> str:
    """AZ of the NAT gateway that the private route table of ``az`` sends internet traffic to."""
    return az if mode == "per_az" else nat_gateway_azs(azs, mode)[0]


def resource_tags(base: Mapping[str, str], name: str, **extra: str) -> dict[str, str]:
    """``base`` tags + ``Name`` + ``extra``; later keys win so EKS discovery tags cannot be overridden."""
    return {**base, "Name": name, **extra}


def subnet_tags(base: Mapping[str, str], name: str, cluster_name: str, tier: SubnetTier) -> dict[str, str]:
    """Tags of a subnet: ``base``, ``Name``, the cluster tag (``shared``) and the ELB role tag (``1``)."""
    role_tag = ELB_ROLE_TAG if tier == "public" else INTERNAL_ELB_ROLE_TAG
    return {**base, "Name": name, cluster_tag_key(cluster_name): "shared", role_tag: "1"}


@dataclass(frozen=True)
class ClusterVpcArgs:
    """Inputs of :class:`ClusterVpc`.

    ``availability_zones`` - AZ names, order matters (first AZ hosts the ``single`` NAT gateway).
    ``nat_gateways`` - ``"single"`` (default; one shared NAT, cheaper) or ``"per_az"`` (HA egress).
    ``tags`` - merged onto every taggable resource (default: none).
    """

    cluster_name: str
    vpc_cidr: str
    availability_zones: Sequence[str]
    nat_gateways: NatGatewayMode = "single"
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Freeze the AZ list so a caller mutating its list cannot change a planned VPC.
        object.__setattr__(self, "availability_zones", tuple(self.availability_zones))
        object.__setattr__(self, "tags", dict(self.tags))
        if not self.cluster_name:
            raise ValueError("cluster_name must not be empty")
        nat_gateway_azs(self.availability_zones, self.nat_gateways)  # validates the mode

    def subnet_plan(self) -> SubnetPlan:
        """The subnet plan for this VPC (raises ``ValueError`` when it does not fit)."""
        return plan_subnets(self.vpc_cidr, self.availability_zones)


class ClusterVpc(pulumi.ComponentResource):
    """VPC of one EKS cluster (type ``cilium-mesh:network:ClusterVpc``).

    Attributes: ``vpc_id`` (Output[str]), ``vpc_cidr`` (str), ``private_subnet_ids`` and
    ``public_subnet_ids`` (lists of Output[str], AZ order), ``route_tables`` (dict keyed ``public``
    and ``private-<az>``), ``nat_gateway_count`` (int), plus ``cluster_name``, ``availability_zones``
    and ``subnet_plan``.
    """

    def __init__(self, name: str, args: ClusterVpcArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("cilium-mesh:network:ClusterVpc", name, None, opts)
        plan = args.subnet_plan()  # before any child so a bad plan creates nothing
        azs = list(args.availability_zones)
        cluster = args.cluster_name
        child = pulumi.ResourceOptions(parent=self)

        self.cluster_name = cluster
        self.availability_zones = tuple(azs)
        self.subnet_plan = plan
        self.vpc_cidr: str = plan.vpc.with_prefixlen

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=self.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,  # EKS private endpoint and nodes need DNS hostnames
            tags=resource_tags(args.tags, f"{cluster}-vpc", **{cluster_tag_key(cluster): "shared"}),
            opts=child,
        )
        self.vpc_id: pulumi.Output[str] = vpc.id

        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags=resource_tags(args.tags, f"{cluster}-igw"), opts=child
        )

        public_subnets: dict[str, aws.ec2.Subnet] = {}
        private_subnets: dict[str, aws.ec2.Subnet] = {}
        for planned in plan.subnets:
            subnet_name = f"{cluster}-{planned.tier}-{planned.az}"
            subnet = aws.ec2.Subnet(
                f"{name}-{planned.tier}-{planned.az}",
                vpc_id=vpc.id,
                cidr_block=planned.cidr,
                availability_zone=planned.az,
                # Nothing launched into public subnets needs an automatic public IP (NAT and
                # load balancers bring their own), so keep it off.
                map_public_ip_on_launch=False,
                tags=subnet_tags(args.tags, subnet_name, cluster, planned.tier),
                opts=child,
            )
            (public_subnets if planned.tier == "public" else private_subnets)[planned.az] = subnet
        self.public_subnet_ids: list[pulumi.Output[str]] = [public_subnets[az].id for az in azs]
        self.private_subnet_ids: list[pulumi.Output[str]] = [private_subnets[az].id for az in azs]

        nat_gateways: dict[str, aws.ec2.NatGateway] = {}
        for az in nat_gateway_azs(azs, args.nat_gateways):
            eip = aws.ec2.Eip(
                f"{name}-nat-eip-{az}",
                domain="vpc",
                tags=resource_tags(args.tags, f"{cluster}-nat-eip-{az}"),
                opts=child,
            )
            nat_gateways[az] = aws.ec2.NatGateway(
                f"{name}-nat-{az}",
                allocation_id=eip.id,
                subnet_id=public_subnets[az].id,
                connectivity_type="public",
                tags=resource_tags(args.tags, f"{cluster}-nat-{az}"),
                # A NAT gateway is only usable once the VPC has its internet gateway.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
            )
        self.nat_gateway_count: int = len(nat_gateways)

        self.route_tables: dict[str, aws.ec2.RouteTable] = {}
        public_rt = aws.ec2.RouteTable(
            f"{name}-rt-{PUBLIC_ROUTE_TABLE_KEY}",
            vpc_id=vpc.id,
            tags=resource_tags(args.tags, f"{cluster}-rt-{PUBLIC_ROUTE_TABLE_KEY}"),
            opts=child,
        )
        self.route_tables[PUBLIC_ROUTE_TABLE_KEY] = public_rt
        aws.ec2.Route(
            f"{name}-rt-{PUBLIC_ROUTE_TABLE_KEY}-internet",
            route_table_id=public_rt.id,
            destination_cidr_block=INTERNET_CIDR,
            gateway_id=igw.id,
            opts=child,
        )
        for az in azs:
            aws.ec2.RouteTableAssociation(
                f"{name}-rta-public-{az}",
                subnet_id=public_subnets[az].id,
                route_table_id=public_rt.id,
                opts=child,
            )

        for az in azs:
            key = private_route_table_key(az)
            private_rt = aws.ec2.RouteTable(
                f"{name}-rt-{key}",
                vpc_id=vpc.id,
                tags=resource_tags(args.tags, f"{cluster}-rt-{key}"),
                opts=child,
            )
            self.route_tables[key] = private_rt
            aws.ec2.Route(
                f"{name}-rt-{key}-internet",
                route_table_id=private_rt.id,
                destination_cidr_block=INTERNET_CIDR,
                nat_gateway_id=nat_gateways[nat_az_for(az, azs, args.nat_gateways)].id,
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-rta-private-{az}",
                subnet_id=private_subnets[az].id,
                route_table_id=private_rt.id,
                opts=child,
            )

        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "vpcCidr": self.vpc_cidr,
                "privateSubnetIds": self.private_subnet_ids,
                "publicSubnetIds": self.public_subnet_ids,
                "routeTableIds": {key: rt.id for key, rt in self.route_tables.items()},
                "natGatewayCount": self.nat_gateway_count,
            }
        )
