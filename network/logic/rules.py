"""The inter-cluster security rules the Cilium datapath needs, as data (pure, no Pulumi).

Every rule is an ingress rule on a cluster's node security group whose only allowed source is a
*peer cluster's VPC CIDR*. The base table (always present):

* ``vxlan``      udp 8472            Cilium VXLAN overlay (tunnel mode) between nodes
* ``health``     tcp 4240            cilium-health endpoint/node reachability probes
* ``icmp-echo``  icmp type 8 code 0  cilium-health node ICMP ping (echo request)

Optional row (through :func:`mesh_rule_table`):

* ``wireguard`` udp 51871 (Cilium WireGuard transparent encryption tunnel).

Deliberately NOT in the table: the node port of the ``clustermesh-apiserver-lb`` NLB (32380). Its one
owner is the Kubernetes service controller: for an NLB Service the in-tree AWS cloud provider
(cloud-provider-aws ``aws_loadbalancer.go`` ``updateInstanceSecurityGroupsForNLB``) authorizes, on the
nodes' cluster-tagged security group (the EKS cluster security group), tcp on the node port from every
``loadBalancerSourceRanges`` CIDR (the peer VPCs, set by ``mesh/components/endpoint.py``), the health
check from the NLB subnets and ICMP for path MTU, and revokes them when the Service goes. It cannot be
switched off per Service on EKS, and a second, Pulumi-owned rule for the same port and CIDR races it:
whichever comes second gets ``InvalidPermission.Duplicate`` from EC2. :func:`expand_rules` therefore
refuses any row that covers a Kubernetes node port.

For ICMP, ``aws.vpc.SecurityGroupIngressRule`` takes the ICMP *type* as ``from_port`` and the
*code* as ``to_port``; :class:`MeshRule` stores them that way.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from network.logic.cidr import MIN_VPC_PREFIX, parse_network

Protocol = Literal["tcp", "udp", "icmp"]

VXLAN_PORT = 8472
HEALTH_PORT = 4240
ICMP_ECHO_REQUEST_TYPE = 8
ICMP_ECHO_REQUEST_CODE = 0
WIREGUARD_PORT = 51871
# Kubernetes' default --service-node-port-range, which EKS does not let you change.
NODE_PORT_RANGE = range(30000, 32768)

_KEY_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
# Characters AWS accepts in a security group rule description.
_DESCRIPTION_RE = re.compile(r"^[a-zA-Z0-9. _\-:/()#,@\[\]+=&;{}!$*]{0,255}$")


@dataclass(frozen=True)
class MeshRule:
    """One row of the rule table.

    ``from_port``/``to_port`` are the port range for tcp/udp, or ICMP type/code for icmp.
    ``key`` is a stable slug used in resource names; ``description`` becomes the AWS description.
    """

    key: str
    protocol: Protocol
    from_port: int
    to_port: int
    description: str

    def __post_init__(self) -> None:
        if not _KEY_RE.match(self.key):
            raise ValueError(f"rule key {self.key!r} must be a lowercase slug (a-z, 0-9, '-')")
        if self.protocol not in ("tcp", "udp", "icmp"):
            # Deliberately no "-1"/all: the mesh never needs all traffic from a peer.
            raise ValueError(f"rule {self.key!r}: protocol must be tcp, udp or icmp, got {self.protocol!r}")
        if self.protocol == "icmp":
            if not (0 <= self.from_port <= 255 and 0 <= self.to_port <= 255):
                raise ValueError(f"rule {self.key!r}: ICMP type/code must be 0..255")
        elif not 1 <= self.from_port <= self.to_port <= 65535:
            raise ValueError(f"rule {self.key!r}: port range {self.from_port}-{self.to_port} is invalid")
        if not _DESCRIPTION_RE.match(self.description):
            raise ValueError(f"rule {self.key!r}: description has characters AWS rejects or is too long")


@dataclass(frozen=True)
class IngressRuleSpec:
    """One concrete ingress rule: ``rule`` from ``peer`` (source ``cidr_ipv4``) into ``cluster``.

    ``key`` = ``"<cluster>-from-<peer>-<rule.key>"`` - unique per stack and used as resource name.
    """

    key: str
    cluster: str
    peer: str
    rule: MeshRule
    cidr_ipv4: str

    @property
    def ip_protocol(self) -> str:
        return self.rule.protocol

    @property
    def from_port(self) -> int:
        return self.rule.from_port

    @property
    def to_port(self) -> int:
        return self.rule.to_port

    @property
    def description(self) -> str:
        return f"{self.rule.description} from {self.peer}"


BASE_RULES: tuple[MeshRule, ...] = (
    MeshRule("vxlan", "udp", VXLAN_PORT, VXLAN_PORT, "Cilium VXLAN overlay"),
    MeshRule("health", "tcp", HEALTH_PORT, HEALTH_PORT, "Cilium health checks"),
    MeshRule("icmp-echo", "icmp", ICMP_ECHO_REQUEST_TYPE, ICMP_ECHO_REQUEST_CODE, "Cilium health ICMP echo"),
)


def mesh_rule_table(*, wireguard: bool = False) -> tuple[MeshRule, ...]:
    """The rule table: :data:`BASE_RULES` plus, with ``wireguard`` (default ``False``), udp 51871.

    The clustermesh NLB's node port is not a row: the Kubernetes service controller owns that ingress
    (module docstring).
    """
    rows = list(BASE_RULES)
    if wireguard:
        rows.append(MeshRule("wireguard", "udp", WIREGUARD_PORT, WIREGUARD_PORT, "Cilium WireGuard"))
    return tuple(rows)


def expand_rules(
    cluster: str, peer_cidrs: Mapping[str, str], table: Sequence[MeshRule]
) -> list[IngressRuleSpec]:
    """One :class:`IngressRuleSpec` per (peer, rule): peers in sorted order, rules in table order.

    ``peer_cidrs`` maps peer cluster name -> peer VPC CIDR and must not contain ``cluster`` itself.
    The result is checked by :func:`validate_rule_sources` (``ValueError`` naming the rule). A tcp row
    covering a Kubernetes node port (30000-32767) is refused: the service controller owns those.
    """
    if cluster in peer_cidrs:
        raise ValueError(f"cluster {cluster!r} cannot be its own peer")
    duplicates = sorted(key for key, count in Counter(rule.key for rule in table).items() if count > 1)
    if duplicates:
        raise ValueError(f"rule table has duplicate keys: {', '.join(duplicates)}")
    for rule in table:
        if (
            rule.protocol == "tcp"
            and rule.from_port < NODE_PORT_RANGE.stop
            and rule.to_port >= NODE_PORT_RANGE.start
        ):
            raise ValueError(
                f"rule {rule.key!r} covers Kubernetes node ports ({NODE_PORT_RANGE.start}-"
                f"{NODE_PORT_RANGE.stop - 1}): the service controller opens a LoadBalancer's node port from "
                "its loadBalancerSourceRanges, and a second owner fails with InvalidPermission.Duplicate"
            )
    specs = [
        IngressRuleSpec(
            key=f"{cluster}-from-{peer}-{rule.key}",
            cluster=cluster,
            peer=peer,
            rule=rule,
            cidr_ipv4=peer_cidrs[peer],
        )
        for peer in sorted(peer_cidrs)
        for rule in table
    ]
    for spec in specs:
        # Peer names end up in the AWS description; fail here rather than at apply time.
        if not _DESCRIPTION_RE.match(spec.description):
            raise ValueError(f"rule {spec.key!r}: description {spec.description!r} is not accepted by AWS")
    validate_rule_sources(specs, peer_cidrs)
    return specs


def validate_rule_sources(specs: Iterable[IngressRuleSpec], peer_cidrs: Mapping[str, str]) -> None:
    """Refuse any rule whose source is not exactly its peer's VPC CIDR.

    Rejected (``ValueError`` naming the rule key): ``0.0.0.0/0`` and ``::/0`` (and any IPv6
    source), malformed CIDRs, anything broader than an AWS VPC can be (/16), a source broader than
    the peer VPC, and any other source that is not that peer's VPC CIDR - even when the bad CIDR
    came in through ``peer_cidrs`` itself.
    """
    for spec in specs:
        source = spec.cidr_ipv4
        if source in ("0.0.0.0/0", "::/0"):
            raise ValueError(
                f"rule {spec.key!r}: source {source} opens the port to the whole internet; "
                "mesh rules may only allow peer VPC CIDRs"
            )
        try:
            network = parse_network(source)
        except ValueError as error:
            if isinstance(source, str) and ":" in source:
                raise ValueError(
                    f"rule {spec.key!r}: IPv6 source {source} is not allowed; mesh rules use peer VPC "
                    "IPv4 CIDRs"
                ) from None
            raise ValueError(f"rule {spec.key!r}: invalid source: {error}") from None
        if network.prefixlen < MIN_VPC_PREFIX:
            raise ValueError(
                f"rule {spec.key!r}: source {network} is broader than any VPC (/{MIN_VPC_PREFIX}); "
                "only exact peer VPC CIDRs are allowed"
            )
        if spec.peer not in peer_cidrs:
            raise ValueError(f"rule {spec.key!r}: {spec.peer!r} is not a known peer cluster")
        peer_vpc = ipaddress.IPv4Network(peer_cidrs[spec.peer], strict=False)
        if network != peer_vpc:
            relation = "broader than" if network.supernet_of(peer_vpc) else "not equal to"
            raise ValueError(
                f"rule {spec.key!r}: source {network} is {relation} peer VPC {peer_vpc} of "
                f"{spec.peer!r}; only exact peer VPC CIDRs are allowed"
            )
