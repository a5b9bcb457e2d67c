"""The CrossGuard policies: thin adapters from pulumi-policy's callbacks to :mod:`.policies`.

Every policy is ``MANDATORY``: a violation fails ``pulumi preview`` and stops ``pulumi up`` before the
offending resource is created. Properties arrive wrapped in pulumi-policy's unknown-checking proxy, which
raises on the first *unknown* value read (the engine then skips the whole policy for that resource). The
adapters unwrap them to plain data first, so the pure checks see the unknowns and skip only what they cannot
judge - an unknown security group id never hides a rule open to 0.0.0.0/0.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import serialize_properties

from .policies import (
    cilium_cluster_identity_violations,
    eks_api_ingress_violations,
    eks_public_endpoint_violations,
    kube_proxy_replacement_violations,
    mesh_port_violations,
    node_port_owner_violations,
)

POLICY_PACK_NAME = "cilium-mesh-guardrails"

MESH_PORTS_POLICY = "mesh-ports-not-public"
CLUSTER_IDENTITY_POLICY = "cilium-cluster-identity"
NODE_PORT_OWNER_POLICY = "lb-node-port-single-owner"
KPR_POLICY = "cilium-kpr-sets-k8s-service-host"
EKS_ENDPOINT_POLICY = "eks-public-endpoint-restricted"
EKS_API_INGRESS_POLICY = "eks-api-ingress-not-public"

# Policy config keys (``pulumi preview --policy-pack-config FILE``: {"<policy>": {"<key>": value}}).
ALLOW_PUBLIC_ENDPOINT_KEY = "allowPublicEndpointFromAnywhere"
EXTRA_ALLOWED_CIDRS_KEY = "additionalAllowedCidrs"


def plain(props: Any) -> dict[str, Any]:
    """The resource's properties as plain dicts/lists, unknown values kept as Pulumi's sentinels."""
    return dict(serialize_properties(props)) if props is not None else {}


def _mesh_ports(args: ResourceValidationArgs, report: ReportViolation) -> None:
    extra = args.get_config().get(EXTRA_ALLOWED_CIDRS_KEY) or ()
    for message in mesh_port_violations(args.resource_type, plain(args.props), list(extra)):
        report(message, None)


def _kube_proxy_replacement(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for message in kube_proxy_replacement_violations(args.resource_type, plain(args.props)):
        report(message, None)


def _eks_endpoint(args: ResourceValidationArgs, report: ReportViolation) -> None:
    allow = args.get_config().get(ALLOW_PUBLIC_ENDPOINT_KEY) is True
    for message in eks_public_endpoint_violations(args.resource_type, plain(args.props), allow):
        report(message, None)


def _eks_api_ingress(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for message in eks_api_ingress_violations(args.resource_type, plain(args.props)):
        report(message, None)


def _cluster_identity(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = [(r.resource_type, plain(r.props)) for r in args.resources]
    for message in cilium_cluster_identity_violations(resources):
        report(message, None)


def _node_port_owner(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = [(r.urn, r.resource_type, plain(r.props)) for r in args.resources]
    for urn, message in node_port_owner_violations(resources):
        report(message, urn)


def build_policies() -> list[Policy]:
    """The pack's policies, each ``MANDATORY``; config keys default to the strict setting."""
    mandatory = EnforcementLevel.MANDATORY
    return [
        ResourceValidationPolicy(
            name=MESH_PORTS_POLICY,
            description=(
                "Cilium mesh ports (8472/udp VXLAN, 4240/tcp health, 51871/udp WireGuard, the clustermesh "
                "API 2379/32380 tcp) are never open to 0.0.0.0/0 or other public address space."
            ),
            enforcement_level=mandatory,
            validate=_mesh_ports,
            config_schema=PolicyConfigSchema(
                properties={
                    EXTRA_ALLOWED_CIDRS_KEY: {
                        "type": "array",
                        "items": {"type": "string"},
                        "default": [],
                        "description": "Public CIDRs that may still reach mesh ports (VPCs on public space).",
                    }
                }
            ),
            remediation_steps="Allow only the peer VPC CIDRs (network/logic/rules.py builds exactly those).",
        ),
        StackValidationPolicy(
            name=CLUSTER_IDENTITY_POLICY,
            description=(
                "Every Cilium release has a valid cluster.name and a cluster.id unique across the stack, "
                "with one clustermesh.maxConnectedClusters for all."
            ),
            enforcement_level=mandatory,
            validate=_cluster_identity,
            remediation_steps="Fix cilium-mesh:clusters[].name/id in the stack config.",
        ),
        StackValidationPolicy(
            name=NODE_PORT_OWNER_POLICY,
            description=(
                "No security group rule of the stack covers a LoadBalancer Service's node port: the "
                "Kubernetes service controller owns that ingress (from loadBalancerSourceRanges), and a "
                "second owner fails with InvalidPermission.Duplicate."
            ),
            enforcement_level=mandatory,
            validate=_node_port_owner,
            remediation_steps=(
                "Remove the rule; restrict the Service's loadBalancerSourceRanges to the peer VPC CIDRs "
                "instead."
            ),
        ),
        ResourceValidationPolicy(
            name=KPR_POLICY,
            description=(
                "Every Cilium release with kubeProxyReplacement also sets k8sServiceHost (bare host) and "
                "k8sServicePort, so nodes reach the API server without kube-proxy."
            ),
            enforcement_level=mandatory,
            validate=_kube_proxy_replacement,
        ),
        ResourceValidationPolicy(
            name=EKS_ENDPOINT_POLICY,
            description=(
                "An EKS public API endpoint is never open to the world (0.0.0.0/0, or an empty "
                "publicAccessCidrs) without an explicit opt-in."
            ),
            enforcement_level=mandatory,
            validate=_eks_endpoint,
            config_schema=PolicyConfigSchema(
                properties={
                    ALLOW_PUBLIC_ENDPOINT_KEY: {
                        "type": "boolean",
                        "default": False,
                        "description": "Allow a public EKS endpoint reachable from anywhere in this run.",
                    }
                }
            ),
            remediation_steps=(
                "Set cilium-mesh:eks.publicAccessCidrs to your egress ranges, or leave it empty for a "
                "private-only endpoint."
            ),
        ),
        ResourceValidationPolicy(
            name=EKS_API_INGRESS_POLICY,
            description=(
                "No security group rule opens tcp/443 (the EKS API on the cluster security group) to "
                "0.0.0.0/0, ::/0 or any range broader than /8."
            ),
            enforcement_level=mandatory,
            validate=_eks_api_ingress,
            remediation_steps="List the VPN and runner networks in cilium-mesh:eks.privateAccessCidrs.",
        ),
    ]
