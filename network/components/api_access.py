"""Opens one cluster's private EKS API endpoint to the networks in ``eks.privateAccessCidrs``.

One ``aws.vpc.SecurityGroupIngressRule`` tcp/443 per CIDR on the EKS cluster security group (the group on
the API endpoint's ENIs), named by the spec key ``<cluster>-eks-api-from-<cidr>`` from
:mod:`network.logic.api_access`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from network.components.security import ingress_rules
from network.logic.api_access import ApiAccessRuleSpec, api_access_rules


@dataclass(frozen=True)
class EksApiAccessArgs:
    """Inputs of :class:`EksApiAccess`: the cluster security group id, the cluster name, the source CIDRs
    (default none) and tags (plus ``Name`` = the rule key)."""

    security_group_id: pulumi.Input[str]
    cluster_name: str
    cidrs: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


class EksApiAccess(pulumi.ComponentResource):
    """tcp/443 from each configured CIDR into the EKS cluster security group
    (type ``cilium-mesh:network:EksApiAccess``). Attributes: ``specs`` and ``rules`` (key -> rule)."""

    def __init__(self, name: str, args: EksApiAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("cilium-mesh:network:EksApiAccess", name, None, opts)
        self.specs: list[ApiAccessRuleSpec] = api_access_rules(args.cluster_name, args.cidrs)
        self.rules = ingress_rules(self, args.security_group_id, self.specs, args.tags)
        self.register_outputs({"ruleIds": {key: rule.id for key, rule in self.rules.items()}})
