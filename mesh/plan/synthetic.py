"""Synthetic stack configs of N clusters, for scale benchmarks and N-cluster tests (pure)."""

from __future__ import annotations

import math
from typing import Any

from network.logic.quotas import DEFAULT_QUOTAS, MeshShape, quota_uses


def raised_quotas(n: int) -> dict[str, int]:
    """``network.quotas`` an account running ``n`` synthetic clusters has raised: each quota the stack
    would exceed at AWS's default, rounded up to a multiple of 10 below 50, else of 50 (what one asks
    Service Quotas for)."""
    shape = MeshShape(
        clusters=n, external_peerings=0, az_count=2, mesh_rules_per_peer=3, mesh_endpoint=n > 1,
        private_access_cidrs=0,
    )  # fmt: skip
    raised = {}
    for use in quota_uses(shape):
        if use.needed > DEFAULT_QUOTAS[use.key]:
            step = 10 if use.needed < 50 else 50
            raised[use.key] = step * math.ceil(use.needed / step)
    return raised


def synthetic_config(n: int, *, region: str = "us-east-1", demo: bool = False) -> dict[str, Any]:
    """Config (full keys) for ``n`` clusters: VPC ``10.<i>.0.0/16``, pods ``10.<100+i>.0.0/16``, ids 1..n.

    Supports up to 99 clusters, which keeps every CIDR disjoint and inside 10.0.0.0/8. Past 12 clusters the
    account is assumed to have raised its VPC quotas (:func:`raised_quotas`, ``network.quotas``).
    """
    if not 1 <= n <= 99:
        raise ValueError("synthetic stacks hold 1-99 clusters")
    quotas = raised_quotas(n)
    network = {"cilium-mesh:network": {"quotas": quotas}} if quotas else {}
    return {
        **network,
        "aws:region": region,
        "cilium-mesh:account": "synthetic",
        "cilium-mesh:clusters": [
            {
                "name": f"mesh-{i:02d}",
                "id": i,
                "vpcCidr": f"10.{i}.0.0/16",
                "podCidr": f"10.{100 + i}.0.0/16",
            }
            for i in range(1, n + 1)
        ],
        "cilium-mesh:cilium": {"version": "1.16.3"},
        "cilium-mesh:demo": demo,
    }
