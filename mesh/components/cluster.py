"""One cluster of the mesh as one top-level component: everything that belongs to cluster ``x`` descends
from ``cilium-mesh:index:Cluster x``, so ``pulumi preview`` reads cluster by cluster and
``pulumi up --target`` can address one cluster.

The cluster is built in stages because two parts need mesh-wide resources: :class:`MeshCluster` builds the
network, the control plane, the takeover, the nodes and the mesh endpoint;
:meth:`MeshCluster.publish_mesh_address` adds the record ``<cluster>.<domain>`` in the mesh zone (which needs
every VPC); :meth:`MeshCluster.install_cilium` adds the release (with the shared CA), the CoreDNS rollout and
the demo. :mod:`mesh.components.program` calls them in order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from mesh.components.cilium_release import CiliumRelease, CiliumReleaseArgs, MeshCaInputs, values_output
from mesh.components.demo import MeshDemo, MeshDemoArgs
from mesh.components.eks import EksCluster, EksClusterArgs
from mesh.components.endpoint import MeshEndpoint, MeshEndpointArgs
from mesh.components.nodes import ClusterNodes, NodeGroupArgs
from mesh.components.takeover import CniTakeover, CniTakeoverArgs, CorednsRollout, CorednsRolloutArgs
from mesh.logic.access_entries import access_entry_specs, partition_for_region
from mesh.logic.cilium_values import CiliumClusterSpec, ClusterMeshSpec, MeshPeer, preflight_values
from mesh.logic.config import ClusterConfig, StackConfig
from mesh.logic.mesh_dns import mesh_address
from mesh.logic.transitions import ClusterRollout
from network.components.external_peering import ExternalPeering, ExternalPeeringArgs, auto_accept_input
from network.components.security import MeshSecurityRules, MeshSecurityRulesArgs
from network.components.vpc import ClusterVpc, ClusterVpcArgs
from network.logic.rules import MeshRule

CLUSTER_TYPE = "cilium-mesh:index:Cluster"


def cilium_spec(
    cfg: StackConfig, cluster: ClusterConfig, upgrade_compatibility: str | None = None
) -> CiliumClusterSpec:
    """Everything the values builder needs that config alone decides (the API endpoint and the CA come
    later); ``upgrade_compatibility`` comes from the rollout plan (:mod:`mesh.logic.transitions`). Peers are
    addressed by their mesh DNS names, so nothing here waits for another cluster."""
    mesh = cfg.cilium.clustermesh
    return CiliumClusterSpec(
        name=cluster.name,
        cluster_id=cluster.id,
        pod_cidr=cluster.pod_cidr,
        pod_mask_size=cfg.cilium.pod_cidr_mask_size,
        node_count=cfg.node_group_for(cluster).desired_size,
        api_endpoint="",
        chart_version=cfg.cilium.version,
        mesh=(
            ClusterMeshSpec(
                own_address=mesh_address(cluster.name, mesh.domain),
                peers=tuple(
                    MeshPeer(p.name, p.id, mesh_address(p.name, mesh.domain), mesh.port)
                    for p in cfg.clusters
                    if p.name != cluster.name
                ),
                max_connected_clusters=mesh.max_connected_clusters,
                kvstoremesh=mesh.kvstoremesh,
                apiserver_replicas=mesh.apiserver_replicas,
                domain=mesh.domain,
            )
            if cfg.mesh_enabled
            else None
        ),
        wireguard=cfg.cilium.wireguard,
        external_etcd_endpoints=cfg.cilium.etcd_endpoints,
        upgrade_compatibility=upgrade_compatibility,
    )


@dataclass(frozen=True)
class MeshClusterArgs:
    """Inputs of :class:`MeshCluster`.

    ``cfg`` and ``cluster`` are the validated stack config and this cluster's entry; ``peer_cidrs`` maps
    every other cluster's name to its VPC CIDR (the only sources the mesh security rules admit);
    ``rule_table`` is the mesh datapath table (:func:`network.logic.rules.mesh_rule_table`);
    ``caller_account_id`` (default ``None``) is the account the stack runs in, needed only by external
    peerings with an explicit ``ownerAccountId``.
    """

    cfg: StackConfig
    cluster: ClusterConfig
    peer_cidrs: Mapping[str, str]
    rule_table: Sequence[MeshRule]
    tags: Mapping[str, str] = field(default_factory=dict)
    caller_account_id: pulumi.Input[str] | None = None


class MeshCluster(pulumi.ComponentResource):
    """A cluster of the mesh: VPC, EKS, mesh security rules, CNI takeover, nodes, mesh endpoint, and (after
    :meth:`install_cilium`) its Cilium release, CoreDNS rollout and demo.

    Attributes for the mesh-wide wiring: ``vpc``, ``eks``, ``endpoint`` (``None`` without a mesh),
    ``release`` (after :meth:`install_cilium`).
    """

    def __init__(self, name: str, args: MeshClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(CLUSTER_TYPE, name, None, opts)
        cfg, c = args.cfg, args.cluster
        self._args = args
        self._key = name
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        mesh = cfg.cilium.clustermesh

        self.vpc = ClusterVpc(
            name,
            ClusterVpcArgs(
                cluster_name=c.name,
                vpc_cidr=c.vpc_cidr,
                availability_zones=cfg.availability_zones,
                nat_gateways="per_az" if cfg.network.nat_gateways == "perAz" else "single",
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=cfg.protect),
        )
        # Peerings to existing VPCs (VPN, CI runners): before the control plane's Kubernetes provider, whose
        # first call may come from across one of them.
        self.external_peerings: dict[str, ExternalPeering] = {}
        for ext in cfg.network.external_peerings:
            self.external_peerings[ext.name] = ExternalPeering(
                f"{name}--ext-{ext.name}",
                ExternalPeeringArgs(
                    cluster_name=c.name,
                    vpc_id=self.vpc.vpc_id,
                    vpc_cidr=c.vpc_cidr,
                    route_tables=self.vpc.route_tables,
                    name=ext.name,
                    peer_vpc_id=ext.vpc_id,
                    peer_cidr=ext.cidr,
                    stack_region=cfg.region,
                    auto_accept=auto_accept_input(
                        stack_region=cfg.region,
                        region=ext.region,
                        owner_account_id=ext.owner_account_id,
                        caller_account_id=args.caller_account_id,
                    ),
                    peer_owner_id=ext.owner_account_id,
                    peer_region=ext.region,
                    peer_route_table_ids=ext.route_table_ids,
                    tags=tags,
                ),
                opts=child,
            )
        self.eks = EksCluster(
            name,
            EksClusterArgs(
                cluster_name=c.name,
                kubernetes_version=cfg.kubernetes_version(c),
                vpc_id=self.vpc.vpc_id,
                private_subnet_ids=self.vpc.private_subnet_ids,
                service_cidr=cfg.eks.service_cidr,
                public_access_cidrs=cfg.eks.public_access_cidrs,
                authentication_mode=cfg.eks.authentication_mode,
                enabled_log_types=cfg.eks.enabled_log_types,
                log_retention_days=cfg.eks.log_retention_days,
                public_from_anywhere_opt_in=cfg.eks.allow_public_access_from_anywhere,
                private_access_cidrs=cfg.eks.private_access_cidrs,
                api_network=tuple(self.external_peerings.values()),
                access_entries=access_entry_specs(
                    (
                        (e.principal_arn, e.access_policies, e.kubernetes_groups)
                        for e in cfg.eks.access_entries
                    ),
                    partition_for_region(cfg.region),
                ),
                protect=cfg.protect,
                tags=tags,
            ),
            # The control plane needs only the VPC and its subnets (its inputs): it starts while the NAT
            # gateway is still coming up (~2 min). Only the nodes need the NAT routes (below).
            opts=child,
        )
        if args.peer_cidrs:
            MeshSecurityRules(
                name,
                MeshSecurityRulesArgs(
                    security_group_id=self.eks.cluster_security_group_id,
                    cluster_name=c.name,
                    peer_cidrs=args.peer_cidrs,
                    table=args.rule_table,
                    tags=tags,
                ),
                opts=child,
            )
        # Runbook steps 1-2: aws-node and kube-proxy schedule nowhere.
        self.takeover = CniTakeover(name, CniTakeoverArgs(provider=self.eks.provider), opts=child)
        group = cfg.node_group_for(c)
        self.nodes = ClusterNodes(
            name,
            NodeGroupArgs(
                cluster_name=c.name,
                cluster=self.eks.eks,
                subnet_ids=self.vpc.private_subnet_ids,
                instance_types=group.instance_types,
                min_size=group.min_size,
                desired_size=group.desired_size,
                max_size=group.max_size,
                max_pods=group.max_pods,
                # The whole VPC too: nodes in private subnets pull images and register through the NAT
                # route and their subnets' route-table associations; without them they never join and
                # the group fails NodeCreationFailure (awsdocs/amazon-eks-user-guide #275, a subnet
                # missing its route-table association; awslabs/eks-perf-tests #181, no NAT gateway).
                depends_on=(*self.takeover.patches, self.vpc),
                tags=tags,
            ),
            opts=child,
        )
        self.endpoint: MeshEndpoint | None = None
        if cfg.mesh_enabled:
            self.endpoint = MeshEndpoint(
                name,
                MeshEndpointArgs(
                    provider=self.eks.provider,
                    peer_cidrs=sorted(args.peer_cidrs.values()),
                    port=mesh.port,
                    node_port=mesh.node_port,
                    network=(self.vpc,),
                ),
                opts=child,
            )
        self.release: CiliumRelease | None = None

    def publish_mesh_address(self, zone_id: pulumi.Input[str]) -> None:
        """The record ``<cluster>.<domain>`` in the mesh zone, following this cluster's own NLB."""
        assert self.endpoint is not None, "only clusters of a mesh have a mesh address"
        cfg, c = self._args.cfg, self._args.cluster
        self.endpoint.publish(zone_id, mesh_address(c.name, cfg.cilium.clustermesh.domain))

    def install_cilium(
        self,
        ca: MeshCaInputs | None,
        after: Sequence[pulumi.Resource] = (),
        rollout: ClusterRollout | None = None,
    ) -> CiliumRelease:
        """Runbook steps 3-4 and the mesh: the Cilium release, then CoreDNS onto Cilium IPs, then the demo.

        ``ca``: the shared mesh CA (``None`` without a mesh). ``after``: other clusters' releases this
        release waits for (the rollout plan's canary or previous batch; none on a first install: peers are
        dialled by DNS name). ``rollout``: this cluster's line of the plan (pre-flight,
        upgradeCompatibility); None = a first install.
        """
        cfg, c = self._args.cfg, self._args.cluster
        name = self._key
        child = pulumi.ResourceOptions(parent=self)
        compat = rollout.upgrade_compatibility if rollout is not None else None
        preflight = None
        if rollout is not None and rollout.preflight:
            preflight = pulumi.Output.from_input(self.eks.endpoint).apply(preflight_values)
        release_values = values_output(cilium_spec(cfg, c, compat), self.eks.endpoint, ca)
        self.release = CiliumRelease(
            name,
            CiliumReleaseArgs(
                provider=self.eks.provider,
                chart_version=cfg.cilium.version,
                values=release_values.values,
                value_files=release_values.files,
                # After both patches only, in parallel with the node group, never after it: nodes stay
                # NotReady until their Cilium agent runs, and a managed node group whose nodes never get
                # Ready fails with NodeCreationFailure after 20-35 min (terraform-aws-eks #1972, #3139,
                # #3594); the Cilium EKS guide installs Cilium before creating node groups. Helm's wait
                # (cilium.timeoutSeconds, 900 s) ends once the nodes launched meanwhile run the agent.
                depends_on=tuple(self.takeover.patches),
                repository=cfg.cilium.repository,
                timeout_seconds=cfg.cilium.timeout_seconds,
                preflight_values=preflight,
                after=tuple(after),
            ),
            opts=child,
        )
        coredns = CorednsRollout(
            name,
            CorednsRolloutArgs(
                provider=self.eks.provider,
                restart_key=c.pod_cidr,
                depends_on=(self.release,),
                replicas=cfg.coredns.replicas,
            ),
            opts=child,
        )
        if cfg.demo and cfg.mesh_enabled:
            MeshDemo(
                name,
                MeshDemoArgs(
                    cluster_name=c.name,
                    peer_cluster_names=tuple(p.name for p in cfg.clusters if p.name != c.name),
                    provider=self.eks.provider,
                    # x-wing's requests to rebel-base need DNS with Cilium IPs.
                    depends_on=(self.release, coredns.patch),
                ),
                opts=child,
            )
        self.register_outputs(
            {
                "endpoint": self.eks.endpoint,
                "vpcId": self.vpc.vpc_id,
                "releaseStatus": self.release.status,
            }
        )
        return self.release
