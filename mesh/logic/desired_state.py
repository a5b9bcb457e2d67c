"""The config side of a transition: what each cluster's Cilium release should become. Pure.

:func:`desired_state` turns the validated :class:`~mesh.logic.config.StackConfig` into the
:class:`~mesh.logic.transitions.Desired` that :func:`~mesh.logic.transitions.plan_transition` compares with
what is deployed. Each cluster carries a digest of the config that feeds its Cilium values (ids, CIDRs,
node count, mesh settings, peer identities): when every deployed cluster's digest changes at once (a cluster
joins or leaves, a mesh-wide setting changes) the change rolls canary-first like an upgrade.
"""

from __future__ import annotations

from typing import Any

from mesh.logic.config import ClusterConfig, StackConfig
from mesh.logic.deployed_state import values_digest
from mesh.logic.transitions import Desired, DesiredCluster

CHART_DEFAULT_MAX_CONNECTED_CLUSTERS = 255
"""`clustermesh.maxConnectedClusters` in values.yaml of every chart 1.16-1.19: what a cluster outside a
mesh gets, since the values builder sends the key only with the mesh on."""


def effective_max_connected_clusters(cfg: StackConfig) -> int:
    """The value the chart ends up with: the configured one in a mesh, else the chart default."""
    if cfg.mesh_enabled:
        return cfg.cilium.clustermesh.max_connected_clusters
    return CHART_DEFAULT_MAX_CONNECTED_CLUSTERS


def mesh_peers(cfg: StackConfig, cluster: ClusterConfig) -> tuple[str, ...]:
    """The other clusters this cluster's values list as mesh peers (none without a mesh)."""
    if not cfg.mesh_enabled:
        return ()
    return tuple(sorted(p.name for p in cfg.clusters if p.name != cluster.name))


def config_fingerprint(cfg: StackConfig, cluster: ClusterConfig) -> dict[str, Any]:
    """Every config input of ``cluster``'s Cilium values (what AWS computes, such as endpoints, excluded)."""
    cilium = cfg.cilium
    mesh = cilium.clustermesh
    return {
        "version": cilium.version,
        "cluster": [cluster.name, cluster.id],
        "podCidr": cluster.pod_cidr,
        "podCidrMaskSize": cilium.pod_cidr_mask_size,
        "nodes": cfg.node_group_for(cluster).desired_size,
        "wireguard": cilium.wireguard,
        "etcdEndpoints": list(cilium.etcd_endpoints),
        "mesh": (
            {
                "maxConnectedClusters": mesh.max_connected_clusters,
                "kvstoremesh": mesh.kvstoremesh,
                "apiserverReplicas": mesh.apiserver_replicas,
                "port": mesh.port,
                "domain": mesh.domain,
                "peers": sorted([p.name, p.id] for p in cfg.clusters if p.name != cluster.name),
            }
            if cfg.mesh_enabled
            else None
        ),
    }


def desired_state(cfg: StackConfig) -> Desired:
    """The :class:`Desired` side of :func:`mesh.logic.transitions.plan_transition` for ``cfg``."""
    return Desired(
        clusters=tuple(
            DesiredCluster(
                name=c.name,
                id=c.id,
                pod_cidr=c.pod_cidr,
                vpc_cidr=c.vpc_cidr,
                chart_version=cfg.cilium.version,
                values_digest=values_digest(config_fingerprint(cfg, c)),
                availability_zones=cfg.availability_zones,
                kubernetes_version=cfg.kubernetes_version(c),
                service_cidr=cfg.eks.service_cidr,
                pod_cidr_mask_size=cfg.cilium.pod_cidr_mask_size,
                mesh_domain=cfg.cilium.clustermesh.domain if cfg.mesh_enabled else None,
            )
            for c in cfg.clusters
        ),
        max_connected_clusters=effective_max_connected_clusters(cfg),
        mesh=cfg.mesh_enabled,
        canary=cfg.cilium.rollout.canary,
        max_parallel=cfg.cilium.rollout.max_parallel,
    )
