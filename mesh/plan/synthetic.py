"""Synthetic stack configs of N clusters, for scale benchmarks and N-cluster tests (pure)."""

from __future__ import annotations

from typing import Any


def synthetic_config(n: int, *, region: str = "us-east-1", demo: bool = False) -> dict[str, Any]:
    """Config (full keys) for ``n`` clusters: VPC ``10.<i>.0.0/16``, pods ``10.<100+i>.0.0/16``, ids 1..n.

    Supports up to 99 clusters, which keeps every CIDR disjoint and inside 10.0.0.0/8.
    """
    if not 1 <= n <= 99:
        raise ValueError("synthetic stacks hold 1-99 clusters")
    return {
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
