"""Network layer of the Cilium Cluster Mesh: VPCs, peering and the inter-cluster security rules.

Pure modules (:mod:`network.cidr`, :mod:`network.rules`) are imported eagerly; the Pulumi components
are loaded lazily on first access so that e.g. the config validator can use the CIDR helpers
without importing ``pulumi_aws`` (which is slow to import).
"""

from __future__ import annotations

import importlib
from typing import Any

from network.cidr import (
    PlannedSubnet,
    SubnetPlan,
    find_overlaps,
    overlaps,
    parse_network,
    peer_pairs,
    plan_subnets,
)
from network.rules import (
    CLUSTERMESH_NODE_PORT,
    IngressRuleSpec,
    MeshRule,
    expand_rules,
    mesh_rule_table,
    validate_rule_sources,
)

_LAZY = {
    "ClusterVpc": "network.vpc",
    "ClusterVpcArgs": "network.vpc",
    "VpcPeering": "network.peering",
    "VpcPeeringArgs": "network.peering",
    "PeeringEndpoint": "network.peering",
    "MeshSecurityRules": "network.security",
    "MeshSecurityRulesArgs": "network.security",
}

__all__ = [
    "CLUSTERMESH_NODE_PORT",
    "ClusterVpc",
    "ClusterVpcArgs",
    "IngressRuleSpec",
    "MeshRule",
    "MeshSecurityRules",
    "MeshSecurityRulesArgs",
    "PeeringEndpoint",
    "PlannedSubnet",
    "SubnetPlan",
    "VpcPeering",
    "VpcPeeringArgs",
    "expand_rules",
    "find_overlaps",
    "mesh_rule_table",
    "overlaps",
    "parse_network",
    "peer_pairs",
    "plan_subnets",
    "validate_rule_sources",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'network' has no attribute {name!r}")
