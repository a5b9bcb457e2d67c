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

PUBLIC_FROM_ANYWHERE_TAG = "cilium-mesh/public-endpoint-from-anywhere"


@dataclass(frozen=True)
class EksClusterArgs:
    """Inputs of :class:`EksCluster`.

    Defaults: private endpoint only (``public_access_cidrs`` empty), ``API`` authentication mode, all five
    control-plane log types, service CIDR ``172.20.0.0/16``.
    """

    cluster_name: str
    kubernetes_version: str
    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    public_subnet_ids: Sequence[pulumi.Input[str]]
    service_cidr: str = "172.20.0.0/16"
    public_access_cidrs: Sequence[str] = ()
    authentication_mode: str = "API"
    enabled_log_types: Sequence[str] = ("api", "audit", "authenticator", "controllerManager", "scheduler")
    public_from_anywhere_opt_in: bool = False
    protect: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)


class EksCluster(pulumi.ComponentResource):
    """An EKS control plane whose networking add-ons are left for Cilium to take over.

    Outputs: ``endpoint`` (``https://…``), ``cluster_security_group_id`` (the group EKS puts on managed
    nodes), ``kubeconfig`` (secret JSON), ``provider`` (the cluster's explicit Kubernetes provider),
    ``eks`` (the pulumi-eks component, for node groups).
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

        public = bool(args.public_access_cidrs)
        self.eks = eks.Cluster(
            name,
            name=args.cluster_name,
            version=args.kubernetes_version,
            vpc_id=args.vpc_id,
            private_subnet_ids=list(args.private_subnet_ids),
            public_subnet_ids=list(args.public_subnet_ids),
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
            tags=tags,
            opts=stateful,
        )

        eks_cluster = self.eks.eks_cluster
        self.endpoint: pulumi.Output[str] = eks_cluster.endpoint
        self.cluster_security_group_id: pulumi.Output[str] = eks_cluster.vpc_config.apply(
            lambda vpc: vpc.cluster_security_group_id
        )
        self.kubeconfig: pulumi.Output[str] = pulumi.Output.secret(self.eks.kubeconfig_json)
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            # No deleteUnreachable: with it, a `refresh` or `destroy` run off the VPN drops live objects from
            # state (pulumi-kubernetes provider.go Read/Delete) and a forgotten LoadBalancer Service leaves
            # its NLB blocking subnet deletion. The key stays ABSENT, not false: a provider value overrides
            # PULUMI_K8S_DELETE_UNREACHABLE=true, the break-glass for a cluster that is really gone.
            opts=child,
        )
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "clusterSecurityGroupId": self.cluster_security_group_id,
                "kubeconfig": self.kubeconfig,
            }
        )
