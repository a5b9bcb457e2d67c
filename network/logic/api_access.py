"""Who may reach a private EKS API endpoint: tcp/443 rules on the EKS cluster security group, as data.

The EKS-created cluster security group admits only itself, so with a private-only endpoint nothing outside
the cluster (a VPN, a CI runner in a peered VPC) can reach the API. ``eks.privateAccessCidrs`` adds one
rule per (cluster, CIDR), named like the mesh rules in :mod:`network.logic.rules`:
``<cluster>-eks-api-from-<a.b.c.d>-<prefix>``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from network.logic.cidr import parse_network

EKS_API_PORT = 443
# Broader than this is "the internet", not a VPN or runner network (same bound as the guardrails pack's
# EKS public endpoint check).
BROADEST_PRIVATE_ACCESS_PREFIX = 8


def cidr_key(cidr: str) -> str:
    """``10.8.0.0/16`` -> ``10.8.0.0-16`` (a resource-name-safe form of the CIDR)."""
    return str(parse_network(cidr)).replace("/", "-")


@dataclass(frozen=True)
class ApiAccessRuleSpec:
    """One tcp/443 ingress rule into ``cluster``'s EKS cluster security group from ``cidr_ipv4``."""

    key: str
    cluster: str
    cidr_ipv4: str
    ip_protocol: str = "tcp"
    from_port: int = EKS_API_PORT
    to_port: int = EKS_API_PORT

    @property
    def description(self) -> str:
        return f"EKS API (HTTPS) from {self.cidr_ipv4}"


def api_access_rules(cluster: str, cidrs: Sequence[str]) -> list[ApiAccessRuleSpec]:
    """One rule per CIDR, in the given order; ``ValueError`` for what :func:`private_access_problems`
    reports (config validation runs that first, with key paths)."""
    problems = private_access_problems(cidrs)
    if problems:
        raise ValueError("; ".join(problems))
    return [
        ApiAccessRuleSpec(
            key=f"{cluster}-eks-api-from-{cidr_key(c)}", cluster=cluster, cidr_ipv4=str(parse_network(c))
        )
        for c in cidrs
    ]


def private_access_problems(
    cidrs: Sequence[str | None], unreachable_sources: Mapping[str, str] | None = None
) -> list[str]:
    """Problems with a list of API source CIDRs, each prefixed by its index (``[1]: ...``).

    Refused: malformed CIDRs, ``0.0.0.0/0`` or anything broader than /8 (that is the internet: use
    ``eks.publicAccessCidrs`` for public sources), a CIDR listed twice or inside another one of the list
    (AWS refuses the duplicate rule; a nested one is dead weight), and a CIDR inside one of
    ``unreachable_sources`` (name -> CIDR; pod and service CIDRs: pods reach the VPC SNATed to their
    node's address, and service IPs are never a packet's source outside the node).
    ``None`` entries (invalid and reported elsewhere) are skipped but keep their index.
    """
    problems: list[str] = []
    parsed: list[tuple[int, ipaddress.IPv4Network]] = []
    for i, raw in enumerate(cidrs):
        if raw is None:
            continue
        try:
            network = parse_network(raw)
        except ValueError as err:
            problems.append(f"[{i}]: {err}")
            continue
        if network.prefixlen < BROADEST_PRIVATE_ACCESS_PREFIX:
            problems.append(
                f"[{i}]: {network} is broader than /{BROADEST_PRIVATE_ACCESS_PREFIX} (the internet, not a "
                "VPN or runner network); public sources belong in eks.publicAccessCidrs"
            )
            continue
        for j, earlier in parsed:
            if network == earlier:
                problems.append(f"[{i}]: {network} duplicates [{j}]")
            elif network.subnet_of(earlier) or earlier.subnet_of(network):
                problems.append(f"[{i}]: {network} overlaps [{j}] {earlier}; list each network once")
        for name, other in (unreachable_sources or {}).items():
            if network.subnet_of(parse_network(other)):
                problems.append(
                    f"[{i}]: {network} lies inside {name} {other}, whose addresses never reach the EKS "
                    "API as a source"
                )
        parsed.append((i, network))
    return problems
