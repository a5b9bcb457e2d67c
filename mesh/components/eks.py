"""One EKS cluster ready for Cilium: control plane, KMS envelope encryption, explicit Kubernetes provider.

The node group is a separate component (:mod:`mesh.nodes`) because it must wait for the CNI takeover,
which needs this cluster's provider first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from mesh.logic.access_entries import AccessEntrySpec
from network.components.api_access import EksApiAccess, EksApiAccessArgs

PUBLIC_FROM_ANYWHERE_TAG = "cilium-mesh/public-endpoint-from-anywhere"


@dataclass(frozen=True)
class EksClusterArgs:
    """Inputs of :class:`EksCluster`.

    Defaults: private endpoint only (``public_access_cidrs`` empty), control plane in the private subnets
    only, ``API`` authentication mode, all five control-plane log types kept 30 days, service CIDR
    ``172.20.0.0/16``, no access entries besides the creator's.
    ``private_access_cidrs`` (default none) may reach the private endpoint on tcp/443;
    ``api_network`` (default none) are resources on the network path from those sources to the API (the
    routes of external peerings): the Kubernetes provider waits for both.
    """

    cluster_name: str
    kubernetes_version: str
    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    service_cidr: str = "172.20.0.0/16"
    public_access_cidrs: Sequence[str] = ()
    authentication_mode: str = "API"
    enabled_log_types: Sequence[str] = ("api", "audit", "authenticator", "controllerManager", "scheduler")
    log_retention_days: int = 30
    public_from_anywhere_opt_in: bool = False
    access_entries: Sequence[AccessEntrySpec] = ()
    private_access_cidrs: Sequence[str] = ()
    api_network: Sequence[pulumi.Resource] = ()
    protect: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)


class EksCluster(pulumi.ComponentResource):
    """An EKS control plane whose networking add-ons are left for Cilium to take over.

    Outputs: ``endpoint`` (``https://…``), ``cluster_security_group_id`` (the group EKS puts on managed
    nodes), ``kubeconfig`` (secret JSON), ``oidc_provider_arn``/``oidc_provider_url`` (IRSA),
    ``provider`` (the cluster's explicit Kubernetes provider), ``eks`` (the pulumi-eks component, for node
    groups).
    """

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("cilium-mesh:mesh:EksCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect)
        tags = {**args.tags, "Name": args.cluster_name}
        if args.public_from_anywhere_opt_in:
            # The guardrails policy pack accepts a world-open public endpoint only with this tag.
            tags[PUBLIC_FROM_ANYWHERE_TAG] = "true"

        self.secrets_key = aws.kms.Key(
            f"{name}-secrets",
            description=f"EKS secrets envelope encryption for {args.cluster_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=stateful,
        )
        aws.kms.Alias(
            f"{name}-secrets",
            name=f"alias/eks/{args.cluster_name}",
            target_key_id=self.secrets_key.key_id,
            opts=child,
        )

        # EKS creates /aws/eks/<name>/cluster itself when logging is on, without retention, and never deletes
        # it: `destroy` would leave it (and the next create of the same name would log into the old one).
        # Created first by the program, it has a retention and goes with the stack; the EKS cluster waits for
        # it (pulumi-eks 4.4.0 cluster.ts creates no log group).
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=f"/aws/eks/{args.cluster_name}/cluster",
            retention_in_days=args.log_retention_days,
            tags=tags,
            opts=child,
        )
        public = bool(args.public_access_cidrs)
        self.eks = eks.Cluster(
            name,
            name=args.cluster_name,
            version=args.kubernetes_version,
            vpc_id=args.vpc_id,
            # Private subnets only: pulumi-eks 4.4.0 cluster.ts puts public + private subnet ids into the
            # control plane's vpcConfig.subnetIds, and EKS would place its network interfaces in public
            # subnets too. Internet-facing load balancers find the public subnets by their role tags.
            private_subnet_ids=list(args.private_subnet_ids),
            node_associate_public_ip_address=False,
            endpoint_private_access=True,
            endpoint_public_access=public,
            # AWS reads an absent list as 0.0.0.0/0: only send it when public access is on.
            public_access_cidrs=list(args.public_access_cidrs) if public else None,
            authentication_mode=args.authentication_mode,
            create_oidc_provider=True,
            encryption_config_key_arn=self.secrets_key.arn,
            enabled_cluster_log_types=list(args.enabled_log_types),
            kubernetes_service_ip_address_range=args.service_cidr,
            # Managed node groups only: they carry the EKS-created cluster security group, so the
            # pulumi-eks node/cluster groups would be unused.
            skip_default_node_group=True,
            skip_default_security_groups=True,
            # aws-node, kube-proxy and CoreDNS stay self-managed (EKS bootstraps them) so nothing
            # reconciles our patches away:
            # - use_default_vpc_cni=True: no vpc-cni managed add-on and no pulumi-eks aws-node patch
            #   that would fight our nodeSelector patch;
            # - kube-proxy and CoreDNS managed add-ons disabled: a managed add-on reverts edits to its
            #   DaemonSet/Deployment, and Cilium replaces kube-proxy anyway.
            # bootstrap_self_managed_addons stays on (default): CoreDNS is needed, and the runbook's
            # takeover patches the two DaemonSets EKS installs.
            use_default_vpc_cni=True,
            kube_proxy_addon_options=eks.KubeProxyAddonOptionsArgs(enabled=False),
            coredns_addon_options=eks.CoreDnsAddonOptionsArgs(enabled=False),
            # Credentials come from the environment (AWS_PROFILE or the CI job's role), never from the
            # inputs: pulumi-eks 4.4.0 cluster.ts createCluster() copies AWS_PROFILE or `aws:profile` into
            # providerCredentialOpts when it is unset, so its own provider's kubeconfig would flip between a
            # laptop and CI. An explicit empty object pins it profile-free on every machine.
            provider_credential_opts=eks.KubeconfigOptionsArgs(),
            # pulumi-eks 4.4.0 creates one aws.eks.AccessEntry per principal plus a cluster-scoped
            # AccessPolicyAssociation per policy, after the control plane (cluster.ts createAccessEntries).
            # They are children of this remote component, whose construct finishes only once its children
            # exist (pulumi sdk runtime/rpc.py _add_dependency); our Kubernetes provider's kubeconfig is
            # one of its outputs, so every patch and release runs after the entries: an operator or CI role
            # added here can run the very `up` that adds it. The creator keeps its implicit admin entry
            # (bootstrapClusterCreatorAdminPermissions, hard-coded true in cluster.ts).
            access_entries=_access_entries(args.access_entries, tags) or None,
            tags=tags,
            # The remote component's children wait for it (their registration waits for the component's),
            # and on destroy the engine deletes them before it (pulumi/pulumi#7780 fixed the order for the
            # children of multi-language components).
            opts=pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(depends_on=[self.log_group])),
        )

        eks_cluster = self.eks.eks_cluster
        self.endpoint: pulumi.Output[str] = eks_cluster.endpoint
        self.cluster_security_group_id: pulumi.Output[str] = eks_cluster.vpc_config.apply(
            lambda vpc: vpc.cluster_security_group_id
        )
        self.kubeconfig: pulumi.Output[str] = pulumi.Output.secret(self.eks.kubeconfig_json)
        # The EKS-created cluster security group admits only itself: with a private endpoint the first
        # Kubernetes call (the aws-node patch) from a VPN or peered runner would time out without these.
        self.api_access: EksApiAccess | None = None
        if args.private_access_cidrs:
            self.api_access = EksApiAccess(
                name,
                EksApiAccessArgs(
                    security_group_id=self.cluster_security_group_id,
                    cluster_name=args.cluster_name,
                    cidrs=args.private_access_cidrs,
                    tags=args.tags,
                ),
                opts=child,
            )
        api_path = [*([self.api_access] if self.api_access else []), *args.api_network]
        # IRSA for other stacks: the OIDC provider pulumi-eks creates (create_oidc_provider=True).
        self.oidc_provider_arn: pulumi.Output[str] = self.eks.oidc_provider_arn
        self.oidc_provider_url: pulumi.Output[str] = self.eks.oidc_provider_url
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            # No deleteUnreachable: with it, a `refresh` or `destroy` run off the VPN drops live objects from
            # state (pulumi-kubernetes provider.go Read/Delete) and a forgotten LoadBalancer Service leaves
            # its NLB blocking subnet deletion. The key stays ABSENT, not false: a provider value overrides
            # PULUMI_K8S_DELETE_UNREACHABLE=true, the break-glass for a cluster that is really gone.
            # Every Kubernetes operation goes through this provider: none may start before the API is
            # reachable from the configured private networks.
            opts=pulumi.ResourceOptions(parent=self, depends_on=api_path),
        )
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "clusterSecurityGroupId": self.cluster_security_group_id,
                "kubeconfig": self.kubeconfig,
            }
        )


def _access_entries(
    specs: Sequence[AccessEntrySpec], tags: Mapping[str, str]
) -> dict[str, eks.AccessEntryArgs]:
    """pulumi-eks access entries keyed by the stable principal key, each policy scoped to the cluster."""
    return {
        spec.key: eks.AccessEntryArgs(
            principal_arn=spec.principal_arn,
            access_policies={
                name: eks.AccessPolicyAssociationArgs(
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    policy_arn=arn,
                )
                for name, arn in spec.policies
            },
            kubernetes_groups=list(spec.kubernetes_groups) or None,
            tags=dict(tags),
        )
        for spec in specs
    }
