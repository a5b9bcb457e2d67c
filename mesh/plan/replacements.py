"""Which input changes make Pulumi *replace* a resource instead of updating it, per resource type.

A replacement deletes and recreates the cloud object (a new VPC, a new EKS cluster, a reinstalled Helm
release), so a reviewer must see it apart from an in-place update. The tables below name the inputs
(dotted paths as in the plan JSON) whose change forces a replacement, with the provider code that decides:

* AWS resources: pulumi-aws bridges terraform-provider-aws; an attribute marked ``ForceNew`` (SDKv2) or
  ``RequiresReplace`` (plugin framework) in the resource's schema replaces (internal/service/<svc>/<res>.go).
* EKS components (pulumi-eks 4.x ``Cluster``/``ManagedNodeGroup``): the inputs they pass to the
  ``aws_eks_cluster`` / ``aws_eks_node_group`` attributes that are ForceNew (internal/service/eks/).
* TLS resources: every configurable attribute of ``tls_private_key`` and ``tls_self_signed_cert`` has a
  ``RequiresReplace`` plan modifier (terraform-provider-tls internal/provider/resource_*.go).
* Kubernetes resources: pulumi-kubernetes provider/pkg/provider/diff.go ``forceNewProperties``:
  ``.metadata.name``/``.metadata.namespace`` for every kind, plus per kind (ConfigMap ``.data``, Service
  ``.spec.clusterIP``, Deployment ``.spec.selector``...). Its table spells DaemonSet ``Daemonset``, so a
  DaemonSet selector change is an update there (that the API server then rejects) - mirrored here.
* Helm releases: pulumi-kubernetes provider/pkg/provider/helm_release.go ``Diff``: ``.name``, ``.namespace``.

Component resources (``cilium-mesh:*``) have no inputs of their own; their children carry the changes.

Replacements cascade (:func:`replaced_by_dependency`): a replaced resource gets a new id and new outputs,
unknown during a preview, so an input fed from it changes too; when that input replaces, so does the
consumer (a new VPC replaces its subnets: ``vpcId``). A Kubernetes provider whose ``kubeconfig`` is unknown
is always replaced (pulumi-kubernetes provider.go ``DiffConfig``: "we make the conservative choice and force
a replacement", pulumi-kubernetes#577), and every resource of a replaced provider is replaced with it
(pulumi-kubernetes#4019, pulumi-azure#467): a new EKS cluster recreates every Kubernetes object on it.
"""

from __future__ import annotations

REPLACE_ON_CHANGE: dict[str, tuple[str, ...]] = {
    # terraform-provider-aws internal/service/ec2/vpc_.go, vpc_subnet.go, vpc_route_table.go,
    # vpc_route.go, vpc_nat_gateway.go, ec2_eip.go, vpc_peering_connection.go.
    "aws:ec2/vpc:Vpc": ("cidrBlock", "ipv4IpamPoolId"),
    "aws:ec2/subnet:Subnet": ("vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId"),
    "aws:ec2/routeTable:RouteTable": ("vpcId",),
    "aws:ec2/route:Route": ("routeTableId", "destinationCidrBlock", "destinationIpv6CidrBlock"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("subnetId", "gatewayId"),
    "aws:ec2/natGateway:NatGateway": ("subnetId", "allocationId", "connectivityType", "privateIp"),
    "aws:ec2/eip:Eip": ("domain", "publicIpv4Pool", "networkBorderGroup"),
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": ("vpcId", "peerVpcId", "peerOwnerId", "peerRegion"),
    # internal/service/vpc/security_group_ingress_rule.go: security_group_id RequiresReplace.
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("securityGroupId",),
    # internal/service/iam/role.go, role_policy_attachment.go.
    "aws:iam/role:Role": ("name", "namePrefix", "path"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("role", "policyArn"),
    # internal/service/kms/key.go, alias.go.
    "aws:kms/key:Key": ("customerMasterKeySpec", "keyUsage", "multiRegion"),
    "aws:kms/alias:Alias": ("name", "namePrefix"),
    # pulumi-eks cluster.ts -> aws_eks_cluster name, kubernetes_network_config.service_ipv4_cidr ForceNew.
    # vpc_config.subnet_ids is updated in place since provider 5.25.0 (terraform-provider-aws#34090), but
    # only within the AZs the cluster was created in: mesh/logic/transitions.py refuses an AZ change.
    "eks:index:Cluster": ("name", "kubernetesServiceIpAddressRange"),
    # pulumi-eks nodegroup.ts -> aws_eks_node_group node_group_name, subnet_ids, instance_types,
    # node_role_arn, ami_type, capacity_type, disk_size ForceNew.
    "eks:index:ManagedNodeGroup": (
        "nodeGroupName",
        "subnetIds",
        "instanceTypes",
        "nodeRole",
        "nodeRoleArn",
        "amiType",
        "capacityType",
        "diskSize",
    ),
    "tls:index/privateKey:PrivateKey": ("algorithm", "rsaBits", "ecdsaCurve"),
    "tls:index/selfSignedCert:SelfSignedCert": (
        "privateKeyPem",
        "subject",
        "validityPeriodHours",
        "allowedUses",
        "dnsNames",
        "ipAddresses",
        "uris",
        "isCaCertificate",
        "setSubjectKeyId",
        "setAuthorityKeyId",
    ),
    "kubernetes:helm.sh/v3:Release": ("name", "namespace"),
}

# pulumi-kubernetes diff.go: per kind, on top of metadata.name/namespace.
_KUBERNETES_KIND_REPLACE: dict[str, tuple[str, ...]] = {
    "ConfigMap": ("data", "binaryData"),
    "Secret": ("type", "data", "stringData"),
    "Service": ("spec.clusterIP",),
    "Deployment": ("spec.selector",),
    "StatefulSet": (
        "spec.podManagementPolicy",
        "spec.revisionHistoryLimit",
        "spec.selector",
        "spec.serviceName",
        "spec.volumeClaimTemplates",
    ),
    "Job": ("spec.completions", "spec.parallelism", "spec.selector", "spec.template"),
    "RoleBinding": ("roleRef",),
    "ClusterRoleBinding": ("roleRef",),
    "StorageClass": ("parameters", "provisioner"),
}


def replace_on_change(resource_type: str) -> tuple[str, ...]:
    """The dotted input paths of ``resource_type`` whose change replaces the resource."""
    if resource_type in REPLACE_ON_CHANGE:
        return REPLACE_ON_CHANGE[resource_type]
    package, _, rest = resource_type.partition(":")
    if package != "kubernetes" or rest.startswith("providers"):
        return ()
    kind = rest.rsplit(":", 1)[-1]
    # Patch resources (DaemonSetPatch...) diff like the kind they patch.
    kind = kind.removesuffix("Patch")
    return ("metadata.name", "metadata.namespace", *_KUBERNETES_KIND_REPLACE.get(kind, ()))


KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"


def replaced_by_dependency(resource_type: str, input_name: str) -> bool:
    """Whether ``input_name`` of a ``resource_type`` fed from a *replaced* resource replaces it too."""
    if resource_type == KUBERNETES_PROVIDER:
        return input_name == "kubeconfig"
    return forces_replacement(resource_type, input_name)


def forces_replacement(resource_type: str, changed_path: str) -> bool:
    """Whether a change at ``changed_path`` (dotted, ``[i]`` for list items) replaces the resource."""
    for prop in replace_on_change(resource_type):
        if changed_path == prop or changed_path.startswith((f"{prop}.", f"{prop}[")):
            return True
        # A whole parent object changed (e.g. ``metadata`` added or removed) covers the property.
        if prop.startswith((f"{changed_path}.", f"{changed_path}[")):
            return True
    return False
