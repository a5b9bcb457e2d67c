"""Applies the mesh rule table (:mod:`network.rules`) to one cluster's node security group.

One ``aws.vpc.SecurityGroupIngressRule`` per (peer, rule), named by the spec key
``<cluster>-from-<peer>-<rule.key>`` (unique per stack because it starts with the cluster name).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pulumi
import pulumi_aws as aws

from network.logic.rules import IngressRuleSpec, MeshRule, expand_rules


class RuleSpec(Protocol):
    """What an ingress rule needs: a stable ``key`` (the resource name), protocol, ports, source, text."""

    @property
    def key(self) -> str: ...
    @property
    def ip_protocol(self) -> str: ...
    @property
    def from_port(self) -> int: ...
    @property
    def to_port(self) -> int: ...
    @property
    def cidr_ipv4(self) -> str: ...
    @property
    def description(self) -> str: ...


def ingress_rules(
    parent: pulumi.Resource,
    security_group_id: pulumi.Input[str],
    specs: Iterable[RuleSpec],
    tags: Mapping[str, str],
) -> dict[str, aws.vpc.SecurityGroupIngressRule]:
    """One ``aws.vpc.SecurityGroupIngressRule`` per spec, named by its key, tagged ``Name`` = the key.

    Separate rule resources, never inline ``ingress`` on the group: EKS owns the cluster security group, and
    each rule keeps its own identity (adding a peer adds rules, it never rewrites the others).
    """
    return {
        spec.key: aws.vpc.SecurityGroupIngressRule(
            spec.key,
            security_group_id=security_group_id,
            ip_protocol=spec.ip_protocol,
            from_port=spec.from_port,
            to_port=spec.to_port,
            cidr_ipv4=spec.cidr_ipv4,
            description=spec.description,
            tags={**tags, "Name": spec.key},
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for spec in specs
    }


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
        self.rules = ingress_rules(self, args.security_group_id, self.specs, args.tags)
        self.register_outputs({"ruleIds": {key: rule.id for key, rule in self.rules.items()}})
