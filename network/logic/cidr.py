"""Pure IPv4 address planning for the cluster VPCs (stdlib ``ipaddress`` only, no Pulumi).

Subnet layout used by :func:`plan_subnets`
-----------------------------------------
Given a VPC ``/p`` and ``n`` availability zones (in the order given):

* ``slots = 2 ** ceil(log2(n))`` - the AZ count rounded up to a power of two (1, 2, 4, 4, 8, 8 for
  n = 1..6). Sizing by slots rather than by ``n`` means that adding a third AZ to two, or a fourth to
  three, does not move any existing subnet when the slot count stays the same.
* **Private subnets** (EKS nodes, internal NLBs) fill the *lower half* of the VPC: the lower half is
  cut into ``slots`` equal blocks of prefix ``P = p + 1 + log2(slots)``; AZ ``i`` gets block ``i``.
* **Public subnets** (NAT gateways, internet-facing load balancers) are small: prefix
  ``Q = min(P + 2, 28)`` (a quarter of a private subnet, but never smaller than /28), allocated
  consecutively from the start of the *upper half*; AZ ``i`` gets block ``i``.
* The remainder of the upper half is deliberately left free for later subnets.

Example, 10.3.0.0/16 with 3 AZs: slots = 4, P = /19, Q = /21 → private 10.3.0.0/19, 10.3.32.0/19,
10.3.64.0/19; public 10.3.128.0/21, 10.3.136.0/21, 10.3.144.0/21.

Smallest subnet allowed is /28 (AWS minimum). The plan fails with ``ValueError`` when the private
prefix would exceed /28 (e.g. a /24 with 9+ AZs or a /26 with 2 AZs). VPC prefixes must be in the
AWS range /16../28; every prefix /16../24 works for 1..6 AZs.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

# AWS limits for VPC and subnet CIDR blocks.
MIN_VPC_PREFIX = 16
MAX_VPC_PREFIX = 28
MAX_SUBNET_PREFIX = 28

SubnetTier = Literal["private", "public"]


def parse_network(value: str) -> ipaddress.IPv4Network:
    """Parse an IPv4 CIDR strictly.

    The value must carry an explicit prefix length (``"10.0.0.0/16"``; a bare address is refused
    because it almost always means a forgotten ``/len``) and its host bits must be zero.
    Raises ``ValueError`` with a message naming the bad value (and the corrected network if only
    host bits were set).
    """
    if not isinstance(value, str):
        raise ValueError(f"expected an IPv4 CIDR string such as '10.0.0.0/16', got {value!r}")
    if "/" not in value:
        raise ValueError(f"{value!r} is not a CIDR: missing prefix length (e.g. '10.0.0.0/16')")
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as strict_error:
        try:
            loose = ipaddress.IPv4Network(value, strict=False)
        except ValueError:
            raise ValueError(f"{value!r} is not a valid IPv4 CIDR: {strict_error}") from None
        raise ValueError(
            f"{value!r} has host bits set; the network address is {loose.with_prefixlen}"
        ) from None


def _as_network(value: ipaddress.IPv4Network | str) -> ipaddress.IPv4Network:
    return value if isinstance(value, ipaddress.IPv4Network) else parse_network(value)


def overlaps(a: ipaddress.IPv4Network | str, b: ipaddress.IPv4Network | str) -> bool:
    """True when the two IPv4 networks share at least one address (strings are parsed strictly)."""
    return _as_network(a).overlaps(_as_network(b))


def find_overlaps(named: Mapping[str, ipaddress.IPv4Network]) -> list[tuple[str, str]]:
    """All pairs of names whose networks overlap.

    Each pair is ``(first, second)`` with ``first < second``; the list is sorted, so the result does
    not depend on the mapping's insertion order. An empty list means all networks are disjoint.
    """
    names = sorted(named)
    return [(a, b) for a, b in combinations(names, 2) if named[a].overlaps(named[b])]


def peer_pairs(names: Sequence[str]) -> list[tuple[str, str]]:
    """Every unordered pair of distinct names (a full mesh), as sorted ``(a, b)`` tuples, a < b.

    ``n`` names give ``n * (n - 1) / 2`` pairs in a stable sorted order. Duplicate names are a
    configuration error and raise ``ValueError``.
    """
    duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicates:
        raise ValueError(f"duplicate names cannot be paired: {', '.join(duplicates)}")
    return list(combinations(sorted(names), 2))


@dataclass(frozen=True)
class PlannedSubnet:
    """One subnet of a :class:`SubnetPlan`."""

    az: str
    tier: SubnetTier
    network: ipaddress.IPv4Network

    @property
    def cidr(self) -> str:
        return self.network.with_prefixlen


@dataclass(frozen=True)
class SubnetPlan:
    """Result of :func:`plan_subnets`; ``private`` and ``public`` are in the AZ order given."""

    vpc: ipaddress.IPv4Network
    private: tuple[PlannedSubnet, ...]
    public: tuple[PlannedSubnet, ...]

    @property
    def subnets(self) -> tuple[PlannedSubnet, ...]:
        """All subnets, private first."""
        return self.private + self.public

    def private_cidr(self, az: str) -> str:
        return _by_az(self.private, az).cidr

    def public_cidr(self, az: str) -> str:
        return _by_az(self.public, az).cidr


def _by_az(subnets: tuple[PlannedSubnet, ...], az: str) -> PlannedSubnet:
    for subnet in subnets:
        if subnet.az == az:
            return subnet
    raise KeyError(az)


def _slot_bits(count: int) -> int:
    """ceil(log2(count)) for count >= 1."""
    return (count - 1).bit_length()


def plan_subnets(vpc_cidr: str, azs: Sequence[str]) -> SubnetPlan:
    """Plan one private and one public subnet per AZ inside ``vpc_cidr`` (layout: module docstring).

    Raises ``ValueError`` for an invalid CIDR, a VPC prefix outside /16../28, an empty or duplicate
    AZ list, or when the subnets would be smaller than /28.
    """
    vpc = _as_network(vpc_cidr)
    if not MIN_VPC_PREFIX <= vpc.prefixlen <= MAX_VPC_PREFIX:
        raise ValueError(
            f"VPC CIDR {vpc} has prefix /{vpc.prefixlen}; AWS allows /{MIN_VPC_PREFIX} to /{MAX_VPC_PREFIX}"
        )
    az_list = list(azs)
    if not az_list:
        raise ValueError("at least one availability zone is required to plan subnets")
    if any(not isinstance(az, str) or not az for az in az_list):
        raise ValueError(f"availability zone names must be non-empty strings, got {az_list!r}")
    duplicates = sorted(az for az, count in Counter(az_list).items() if count > 1)
    if duplicates:
        raise ValueError(f"duplicate availability zones: {', '.join(duplicates)}")

    bits = _slot_bits(len(az_list))
    private_prefix = vpc.prefixlen + 1 + bits
    if private_prefix > MAX_SUBNET_PREFIX:
        raise ValueError(
            f"VPC {vpc} is too small for {len(az_list)} availability zones: private subnets would be "
            f"/{private_prefix}, smaller than the /{MAX_SUBNET_PREFIX} minimum; use a larger VPC CIDR "
            f"(at most /{MAX_SUBNET_PREFIX - 1 - bits}) or fewer AZs"
        )
    public_prefix = min(private_prefix + 2, MAX_SUBNET_PREFIX)

    lower_half, upper_half = vpc.subnets(prefixlen_diff=1)
    private_blocks = list(lower_half.subnets(new_prefix=private_prefix))
    # Public blocks are at least as small as private ones, so `slots` of them fit in the upper half.
    public_blocks = upper_half.subnets(new_prefix=public_prefix)
    private = tuple(PlannedSubnet(az, "private", private_blocks[i]) for i, az in enumerate(az_list))
    public = tuple(PlannedSubnet(az, "public", next(public_blocks)) for az in az_list)
    return SubnetPlan(vpc=vpc, private=private, public=public)
