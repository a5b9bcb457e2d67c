"""Applies the mesh rule table (:mod:`network.rules`) to one cluster's node security group.

One ``aws.vpc.SecurityGroupIngressRule`` per (peer, rule), named by the spec key
``<cluster>-from-<peer>-<rule.key>`` (unique per stack because it starts with the cluster name).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from network.logic.rules import IngressRuleSpec, MeshRule, expand_rules


@dataclass(frozen=True)
class MeshSecurityRulesArgs:
    """Inputs of :class:`MeshSecurityRules`.

    ``security_group_id`` - the group to open (the EKS cluster security group, see conventions).
    ``peer_cidrs`` - peer cluster name -> peer VPC CIDR (must not contain ``cluster_name``).
    ``table`` - rows from :func:`network.rules.mesh_rule_table`.
    ``tags`` - added to every rule (default: none), plus a ``Name`` tag = the rule key.
    """

    security_group_id: pulumi.Input[str]
    cluster_name: str
    peer_cidrs: Mapping[str, str]
    table: Sequence[MeshRule]
    tags: Mapping[str, str] = field(default_factory=dict)

    def specs(self) -> list[IngressRuleSpec]:
        """The validated expanded rules (raises ``ValueError`` naming the offending rule)."""
        return expand_rules(self.cluster_name, self.peer_cidrs, self.table)


class MeshSecurityRules(pulumi.ComponentResource):
    """Ingress rules for Cilium's inter-cluster traffic (type ``cilium-mesh:network:MeshSecurityRules``).

    Attributes: ``specs`` (list of :class:`IngressRuleSpec`) and ``rules`` (dict spec key ->
    ``aws.vpc.SecurityGroupIngressRule``).
    """

    def __init__(
        self, name: str, args: MeshSecurityRulesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("cilium-mesh:network:MeshSecurityRules", name, None, opts)
        self.specs: list[IngressRuleSpec] = args.specs()
        self.rules: dict[str, aws.vpc.SecurityGroupIngressRule] = {}
        for spec in self.specs:
            self.rules[spec.key] = aws.vpc.SecurityGroupIngressRule(
                spec.key,
                security_group_id=args.security_group_id,
                ip_protocol=spec.ip_protocol,
                from_port=spec.from_port,
                to_port=spec.to_port,
                cidr_ipv4=spec.cidr_ipv4,
                description=spec.description,
                tags={**args.tags, "Name": spec.key},
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"ruleIds": {key: rule.id for key, rule in self.rules.items()}})
