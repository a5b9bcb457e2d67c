"""The AWS quotas a full-mesh stack uses up, per VPC and per region, counted from the config before anything
exists.

Full-mesh peering grows with the number of clusters N: every VPC holds N-1 peerings, every route table a
route per peer, and every EKS cluster security group the mesh rules per peer plus the rules the Kubernetes
service controller adds for the clustermesh NLB. Past an account's quota the first ``pulumi up`` fails half
way (``VpcPeeringConnectionLimitExceeded``, ``RouteLimitExceeded``, ``RulesPerSecurityGroupLimitExceeded``),
so the config check fails first and names the quota to raise. Pure: no Pulumi.

Defaults are AWS's. From the Amazon VPC quotas page (docs.aws.amazon.com/vpc/latest/userguide/
amazon-vpc-limits.html): active VPC peering connections per VPC 50 (adjustable up to 125); routes per
route table 500 since June 2025, 50 before (adjustable up to 1,000); inbound rules per security group 60
(adjustable; rules times security groups per network interface may not exceed 1,000); VPCs per region 5,
Elastic IP addresses per region 5, NAT gateways per Availability Zone 5 (all adjustable). From the Network
Load Balancer quotas page (docs.aws.amazon.com/elasticloadbalancing/latest/network/
load-balancer-limits.html): 50 Network Load Balancers per region.

Regional quotas are shared with everything else in the account's region (the default VPC counts too): the
check counts this stack's own use, which alone must fit. A stack whose account has raised quotas says so
in ``network.quotas``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_PEERINGS_PER_VPC = 50
MAX_PEERINGS_PER_VPC = 125
# 50 until June 2025, when AWS raised the default to 500 (AWS What's New, "Amazon VPC raises default Route
# Table capacity"); accounts that had raised it keep their value.
DEFAULT_ROUTES_PER_ROUTE_TABLE = 500
MAX_ROUTES_PER_ROUTE_TABLE = 1000
DEFAULT_INBOUND_RULES_PER_SECURITY_GROUP = 60
MAX_INBOUND_RULES_PER_SECURITY_GROUP = 1000

DEFAULT_VPCS_PER_REGION = 5
DEFAULT_ELASTIC_IPS_PER_REGION = 5
DEFAULT_NAT_GATEWAYS_PER_AZ = 5
DEFAULT_NETWORK_LOAD_BALANCERS_PER_REGION = 50

# Rules per group times groups per network interface may not exceed 1,000; with the default 5 groups per
# interface a rules quota above 200 needs that one lowered first.
RULES_AT_DEFAULT_GROUPS_PER_INTERFACE = 200

# By config key (network.quotas.<key>).
DEFAULT_QUOTAS = {
    "peeringsPerVpc": DEFAULT_PEERINGS_PER_VPC,
    "routesPerRouteTable": DEFAULT_ROUTES_PER_ROUTE_TABLE,
    "inboundRulesPerSecurityGroup": DEFAULT_INBOUND_RULES_PER_SECURITY_GROUP,
    "vpcsPerRegion": DEFAULT_VPCS_PER_REGION,
    "elasticIpsPerRegion": DEFAULT_ELASTIC_IPS_PER_REGION,
    "natGatewaysPerAz": DEFAULT_NAT_GATEWAYS_PER_AZ,
    "networkLoadBalancersPerRegion": DEFAULT_NETWORK_LOAD_BALANCERS_PER_REGION,
}
# The per-VPC quotas' hard maximums (the regional ones have none documented).
MAX_QUOTAS = {
    "peeringsPerVpc": MAX_PEERINGS_PER_VPC,
    "routesPerRouteTable": MAX_ROUTES_PER_ROUTE_TABLE,
    "inboundRulesPerSecurityGroup": MAX_INBOUND_RULES_PER_SECURITY_GROUP,
}

# Rules EKS puts on the cluster security group it creates: inbound all traffic from the group itself
# (EKS user guide, "View Amazon EKS security group requirements for clusters").
EKS_OWN_INBOUND_RULES = 1
# The local route and the default route (internet gateway or NAT gateway) of every route table.
BASE_ROUTES = 2


@dataclass(frozen=True)
class MeshShape:
    """What the quotas depend on. ``mesh_rules_per_peer``: rows of the mesh rule table
    (network/logic/rules.py, 3, or 4 with WireGuard); ``mesh_endpoint``: the clustermesh NLB exists (a mesh
    of two or more clusters); ``private_access_cidrs``: ``eks.privateAccessCidrs`` (one tcp/443 rule each);
    ``nat_gateways_per_vpc``: 1 (``natGateways: single``, default) or the AZ count (``perAz``)."""

    clusters: int
    external_peerings: int
    az_count: int
    mesh_rules_per_peer: int
    mesh_endpoint: bool
    private_access_cidrs: int
    nat_gateways_per_vpc: int = 1


@dataclass(frozen=True)
class QuotaUse:
    """One quota: what the stack needs ``per`` VPC, route table, security group, region or AZ, and how that
    adds up."""

    quota: str
    key: str
    needed: int
    breakdown: str
    per: str

    @property
    def shared(self) -> bool:
        """A quota of the region or an AZ: what the account already has there counts too."""
        return self.per in ("region", "AZ")


def quota_uses(shape: MeshShape) -> tuple[QuotaUse, ...]:
    """The quotas the stack uses, each with the config key that states the account's value."""
    peers = max(shape.clusters - 1, 0)
    nlb_rules = 2 * peers + shape.az_count if shape.mesh_endpoint else 0
    rules = EKS_OWN_INBOUND_RULES + shape.mesh_rules_per_peer * peers + nlb_rules + shape.private_access_cidrs
    rule_parts = [
        f"{EKS_OWN_INBOUND_RULES} EKS self rule",
        f"{shape.mesh_rules_per_peer} mesh rules x {peers} peers",
    ]
    if nlb_rules:
        # cloud-provider-aws updateInstanceSecurityGroupsForNLB: a client rule and an ICMP 3-4 (MTU) rule
        # per loadBalancerSourceRanges CIDR, a health-check rule per NLB subnet CIDR.
        rule_parts.append(
            f"{nlb_rules} for the clustermesh NLB (2 x {peers} peers + {shape.az_count} subnets)"
        )
    if shape.private_access_cidrs:
        rule_parts.append(f"{shape.private_access_cidrs} eks.privateAccessCidrs")
    return (
        QuotaUse(
            "Active VPC peering connections per VPC",
            "peeringsPerVpc",
            peers + shape.external_peerings,
            f"{peers} mesh peers + {shape.external_peerings} external peerings",
            "VPC",
        ),
        QuotaUse(
            "Routes per route table",
            "routesPerRouteTable",
            BASE_ROUTES + peers + shape.external_peerings,
            f"local + default route + {peers} mesh peers + {shape.external_peerings} external peerings",
            "route table",
        ),
        QuotaUse(
            "Inbound rules per security group",
            "inboundRulesPerSecurityGroup",
            rules,
            " + ".join(rule_parts),
            "security group",
        ),
        QuotaUse("VPCs per Region", "vpcsPerRegion", shape.clusters, "one VPC per cluster", "region"),
        QuotaUse(
            "Elastic IP addresses per Region",
            "elasticIpsPerRegion",
            shape.clusters * shape.nat_gateways_per_vpc,
            f"{shape.nat_gateways_per_vpc} NAT gateway address(es) per VPC",
            "region",
        ),
        # natGateways single puts each VPC's one gateway in its first AZ; perAz one in every AZ: N per AZ.
        QuotaUse(
            "NAT gateways per Availability Zone",
            "natGatewaysPerAz",
            shape.clusters,
            "one NAT gateway per VPC in the same AZ",
            "AZ",
        ),
        QuotaUse(
            "Network Load Balancers per Region",
            "networkLoadBalancersPerRegion",
            shape.clusters if shape.mesh_endpoint else 0,
            "one clustermesh NLB per cluster",
            "region",
        ),
    )


def external_vpc_problems(clusters: int, name: str, route_tables: int) -> list[str]:
    """An external VPC (``network.externalPeerings``) gets a peering from each of the ``clusters`` mesh VPCs,
    and each of its ``route_tables`` listed in ``routeTableIds`` a route back to each: past AWS's maximums
    no quota increase helps. Its owner's own quotas (and what it holds already) are theirs to check."""
    problems = []
    if clusters > MAX_PEERINGS_PER_VPC:
        problems.append(
            f"network.externalPeerings {name}: {clusters} clusters would each peer with it, but a VPC "
            f"holds at most {MAX_PEERINGS_PER_VPC} active peerings"
        )
    if route_tables and clusters > MAX_ROUTES_PER_ROUTE_TABLE:
        problems.append(
            f"network.externalPeerings {name}: its routeTableIds would get {clusters} routes each, but a "
            f"route table holds at most {MAX_ROUTES_PER_ROUTE_TABLE}"
        )
    return problems


def quota_problems(shape: MeshShape, quotas: Mapping[str, int]) -> list[str]:
    """One line per quota the stack exceeds, keyed ``network.quotas.<key>``; ``quotas`` maps each key to the
    account's value (absent: AWS's default)."""
    problems = []
    for use in quota_uses(shape):
        quota = quotas.get(use.key, DEFAULT_QUOTAS[use.key])
        if use.needed <= quota:
            continue
        if use.key in MAX_QUOTAS and use.needed > MAX_QUOTAS[use.key]:
            fix = f"AWS allows at most {MAX_QUOTAS[use.key]}: fewer clusters per stack, or a Transit Gateway"
        else:
            fix = f'raise the quota "{use.quota}" in Service Quotas, then set network.quotas.{use.key}'
            if use.shared:
                fix += f" (what the account already has in the {use.per} counts too)"
            if (
                use.key == "inboundRulesPerSecurityGroup"
                and use.needed > RULES_AT_DEFAULT_GROUPS_PER_INTERFACE
            ):
                fix += (
                    f' (above {RULES_AT_DEFAULT_GROUPS_PER_INTERFACE}, AWS first lowers "Security groups per'
                    ' network interface" from 5: rules x groups per interface may not exceed 1,000)'
                )
        problems.append(
            f"network.quotas.{use.key}: {shape.clusters} clusters need {use.needed} ({use.breakdown}) "
            f"but the quota is {quota}; {fix}"
        )
    return problems
