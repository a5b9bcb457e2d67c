"""The mesh's own DNS names (pure): cluster ``x`` serves its clustermesh-apiserver at ``x.<domain>``.

The program keeps a Route53 private hosted zone for ``<domain>``, associated with every mesh VPC, with one
CNAME per cluster pointing at that cluster's own internal NLB. Peers dial the name, so no cluster's Cilium
values wait for another cluster's load balancer, and a replaced NLB changes one record instead of every
peer's values. Inside the VPCs the name resolves through CoreDNS -> the VPC resolver -> the private zone.

The default domain is the chart's own ``clustermesh.config.domain``, ``mesh.cilium.io``, whose wildcard
``*.mesh.cilium.io`` every chart version hard-codes into the server certificate; the values builder adds
each cluster's exact name to ``extraDnsNames`` as well, which is what makes any other domain verify.
"""

from __future__ import annotations

import re

DEFAULT_MESH_DOMAIN = "mesh.cilium.io"
"""The Cilium chart's default ``clustermesh.config.domain``."""

RECORD_TTL_SECONDS = 60
"""TTL of each cluster's CNAME: a replaced NLB is followed within a minute."""

_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_MAX_NAME = 253
_MAX_CLUSTER_NAME = 32  # Cilium's cluster.name limit


def domain_problem(domain: str) -> str | None:
    """Why ``domain`` cannot be the mesh domain, or ``None``.

    It must be a lower-case DNS name of at least two labels (a private hosted zone for a single label
    would shadow a top-level domain), without a trailing dot, short enough that a 32-character cluster
    name plus the domain stays within DNS's 253 characters.
    """
    if not isinstance(domain, str) or not domain:
        return "must be a DNS name such as mesh.cilium.io"
    labels = domain.split(".")
    if len(labels) < 2:
        return f"{domain!r} must have at least two labels (e.g. mesh.example.internal)"
    bad = [label for label in labels if not _LABEL_RE.match(label)]
    if bad:
        return (
            f"{domain!r}: label {bad[0]!r} is not a lower-case DNS label (a-z, 0-9, '-', 1-63 characters, "
            "no leading or trailing '-'; no trailing dot)"
        )
    if len(domain) + 1 + _MAX_CLUSTER_NAME > _MAX_NAME:
        return f"{domain!r} is too long: <cluster>.{domain} must fit in {_MAX_NAME} characters"
    for zone in COREDNS_ZONES:
        if domain == zone or domain.endswith(f".{zone}"):
            return (
                f"{domain!r} is inside {zone}, which CoreDNS answers itself (EKS Corefile: kubernetes "
                f"{' '.join(COREDNS_ZONES)}): pods would never reach the private zone"
            )
    return None


COREDNS_ZONES = ("cluster.local", "in-addr.arpa", "ip6.arpa")
"""Zones the EKS CoreDNS ``kubernetes`` plugin is authoritative for (the add-on's Corefile:
``kubernetes cluster.local in-addr.arpa ip6.arpa``); a name under them is never forwarded."""


def mesh_address(cluster_name: str, domain: str = DEFAULT_MESH_DOMAIN) -> str:
    """``<cluster_name>.<domain>``: the host every peer dials to reach ``cluster_name``'s mesh API.

    Raises ``ValueError`` for an invalid domain or a cluster name that is not one DNS label.
    """
    problem = domain_problem(domain)
    if problem:
        raise ValueError(f"mesh domain {problem}")
    if not _LABEL_RE.match(cluster_name) or len(cluster_name) > _MAX_CLUSTER_NAME:
        raise ValueError(f"cluster name {cluster_name!r} is not a single lower-case DNS label")
    return f"{cluster_name}.{domain}"
