"""cilium-mesh: VPCs, peering, EKS, the CNI takeover, Cilium and the Cluster Mesh, in one `pulumi up`.

Reads and validates the stack config once, wires the components in dependency order, exports outputs.
"""

from __future__ import annotations

import pulumi

from mesh.ca import MeshCa, MeshCaArgs
from mesh.cilium_release import CiliumRelease, CiliumReleaseArgs, MeshInputs, values_output
from mesh.cilium_values import CiliumClusterSpec, ClusterMeshSpec
from mesh.cluster import EksCluster, EksClusterArgs
from mesh.config import ClusterConfig, ConfigError, StackConfig, load_stack_config
from mesh.demo import MeshDemo, MeshDemoArgs
from mesh.k8s_compat import compat_warning
from mesh.mesh_endpoint import MeshEndpoint, MeshEndpointArgs
from mesh.nodes import ClusterNodes, NodeGroupArgs
from mesh.takeover import CniTakeover, CniTakeoverArgs, CorednsRollout, CorednsRolloutArgs
from mesh.verify_commands import verify_commands
from network.cidr import peer_pairs
from network.peering import PeeringEndpoint, VpcPeering, VpcPeeringArgs
from network.rules import mesh_rule_table
from network.security import MeshSecurityRules, MeshSecurityRulesArgs
from network.vpc import ClusterVpc, ClusterVpcArgs


def cilium_spec(cfg: StackConfig, cluster: ClusterConfig) -> CiliumClusterSpec:
    """Everything the values builder needs that config alone decides (endpoints come later)."""
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
                own_address="",
                peers=(),
                max_connected_clusters=mesh.max_connected_clusters,
                kvstoremesh=mesh.kvstoremesh,
                apiserver_replicas=mesh.apiserver_replicas,
            )
            if cfg.mesh_enabled
            else None
        ),
        wireguard=cfg.cilium.wireguard,
        external_etcd_endpoints=cfg.cilium.etcd_endpoints,
    )


def main() -> None:
    try:
        cfg = load_stack_config()
    except ConfigError as err:
        # A clean error under `pulumi up/preview`, every problem listed, before any resource exists.
        raise pulumi.RunError(str(err)) from None

    tags = cfg.common_tags()
    stateful = pulumi.ResourceOptions(protect=cfg.protect)
    names = [c.name for c in cfg.clusters]
    vpc_cidrs = {c.name: c.vpc_cidr for c in cfg.clusters}
    mesh = cfg.cilium.clustermesh

    vpcs: dict[str, ClusterVpc] = {}
    for c in cfg.clusters:
        vpcs[c.name] = ClusterVpc(
            c.name,
            ClusterVpcArgs(
                cluster_name=c.name,
                vpc_cidr=c.vpc_cidr,
                availability_zones=cfg.availability_zones,
                nat_gateways="per_az" if cfg.network.nat_gateways == "perAz" else "single",
                tags=tags,
            ),
            opts=stateful,
        )

    for a, b in peer_pairs(names):
        VpcPeering(
            f"{a}--{b}",
            VpcPeeringArgs(
                a=PeeringEndpoint(a, vpcs[a].vpc_id, vpc_cidrs[a], vpcs[a].route_tables),
                b=PeeringEndpoint(b, vpcs[b].vpc_id, vpc_cidrs[b], vpcs[b].route_tables),
                tags=tags,
            ),
        )

    rule_table = mesh_rule_table(
        clustermesh_node_port=mesh.node_port if cfg.mesh_enabled else None,
        wireguard=cfg.cilium.wireguard,
    )
    clusters: dict[str, EksCluster] = {}
    takeovers: dict[str, CniTakeover] = {}
    nodes: dict[str, ClusterNodes] = {}
    endpoints: dict[str, MeshEndpoint] = {}
    for c in cfg.clusters:
        version = cfg.kubernetes_version(c)
        warning = compat_warning(cfg.cilium.version, version)
        if warning:
            pulumi.log.warn(f"{c.name}: {warning}")
        vpc = vpcs[c.name]
        peers = {p: vpc_cidrs[p] for p in names if p != c.name}
        cluster = EksCluster(
            c.name,
            EksClusterArgs(
                cluster_name=c.name,
                kubernetes_version=version,
                vpc_id=vpc.vpc_id,
                private_subnet_ids=vpc.private_subnet_ids,
                public_subnet_ids=vpc.public_subnet_ids,
                service_cidr=cfg.eks.service_cidr,
                public_access_cidrs=cfg.eks.public_access_cidrs,
                authentication_mode=cfg.eks.authentication_mode,
                enabled_log_types=cfg.eks.enabled_log_types,
                public_from_anywhere_opt_in=cfg.eks.allow_public_access_from_anywhere,
                aws_profile=cfg.aws_profile,
                protect=cfg.protect,
                tags=tags,
            ),
            # Nodes need the NAT routes to join; the whole VPC component comes first.
            opts=pulumi.ResourceOptions(depends_on=[vpc]),
        )
        clusters[c.name] = cluster
        if peers:
            MeshSecurityRules(
                c.name,
                MeshSecurityRulesArgs(
                    security_group_id=cluster.cluster_security_group_id,
                    cluster_name=c.name,
                    peer_cidrs=peers,
                    table=rule_table,
                    tags=tags,
                ),
            )
        takeover = CniTakeover(c.name, CniTakeoverArgs(provider=cluster.provider))
        takeovers[c.name] = takeover
        group = cfg.node_group_for(c)
        nodes[c.name] = ClusterNodes(
            c.name,
            NodeGroupArgs(
                cluster_name=c.name,
                cluster=cluster.eks,
                subnet_ids=vpc.private_subnet_ids,
                instance_types=group.instance_types,
                min_size=group.min_size,
                desired_size=group.desired_size,
                max_size=group.max_size,
                depends_on=tuple(takeover.patches),
                tags=tags,
            ),
        )
        if cfg.mesh_enabled:
            endpoints[c.name] = MeshEndpoint(
                c.name,
                MeshEndpointArgs(
                    provider=cluster.provider,
                    peer_cidrs=sorted(peers.values()),
                    port=mesh.port,
                    node_port=mesh.node_port,
                ),
            )

    ca = MeshCa("mesh-ca", MeshCaArgs(protect=cfg.protect)) if cfg.mesh_enabled else None
    releases: dict[str, CiliumRelease] = {}
    previous: CiliumRelease | None = None
    for c in cfg.clusters:
        cluster = clusters[c.name]
        mesh_inputs = None
        if ca is not None:
            mesh_inputs = MeshInputs(
                own_address=endpoints[c.name].hostname,
                peers={p.name: (p.id, endpoints[p.name].hostname) for p in cfg.clusters if p.name != c.name},
                ca_cert_pem=ca.cert_pem,
                ca_key_pem=ca.key_pem,
                port=mesh.port,
            )
        release = CiliumRelease(
            c.name,
            CiliumReleaseArgs(
                provider=cluster.provider,
                chart_version=cfg.cilium.version,
                values=values_output(cilium_spec(cfg, c), cluster.endpoint, mesh_inputs),
                # Upgrades roll one cluster at a time, in config order: a broken chart stops at the first.
                depends_on=(*takeovers[c.name].patches, nodes[c.name], *([previous] if previous else [])),
                repository=cfg.cilium.repository,
                timeout_seconds=cfg.cilium.timeout_seconds,
            ),
        )
        releases[c.name] = release
        previous = release
        coredns = CorednsRollout(
            c.name,
            CorednsRolloutArgs(
                provider=cluster.provider,
                restart_key=c.pod_cidr,
                depends_on=(release,),
                replicas=cfg.coredns.replicas,
            ),
        )
        if cfg.demo and cfg.mesh_enabled:
            MeshDemo(
                c.name,
                MeshDemoArgs(
                    cluster_name=c.name,
                    peer_cluster_names=tuple(n for n in names if n != c.name),
                    provider=cluster.provider,
                    # x-wing's requests to rebel-base need DNS with Cilium IPs.
                    depends_on=(release, coredns.patch),
                ),
            )

    pulumi.export(
        "clusters",
        {
            c.name: {
                "name": c.name,
                "id": c.id,
                "endpoint": clusters[c.name].endpoint,
                "kubeconfig": clusters[c.name].kubeconfig,
                "meshEndpoint": (
                    endpoints[c.name].hostname.apply(lambda h: f"{h}:{mesh.port}")
                    if c.name in endpoints
                    else None
                ),
                "podCidr": c.pod_cidr,
                "vpcCidr": c.vpc_cidr,
                "ciliumVersion": cfg.cilium.version,
            }
            for c in cfg.clusters
        },
    )
    pulumi.export("demo", cfg.demo and cfg.mesh_enabled)
    pulumi.export(
        "verifyCommands",
        verify_commands(cfg.stack, names, demo=cfg.demo and cfg.mesh_enabled, region=cfg.region),
    )


main()
