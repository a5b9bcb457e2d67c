"""The mesh-wide component: what belongs to no single cluster (the shared CA, the VPC peerings).

It sits beside the per-cluster components (:mod:`mesh.components.cluster`) as one top-level
``cilium-mesh:index:Mesh``; :mod:`mesh.components.program` decides when each part is created.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi

from mesh.components.ca import MeshCa, MeshCaArgs
from network.components.peering import PeeringEndpoint, VpcPeering, VpcPeeringArgs
from network.components.vpc import ClusterVpc
from network.logic.cidr import peer_pairs

MESH_TYPE = "cilium-mesh:index:Mesh"


class ClusterMesh(pulumi.ComponentResource):
    """Mesh-wide resources. ``ca`` is the shared CA (``None`` when the mesh is off: one cluster, or
    ``clustermesh.enabled: false``); :meth:`peer` adds the full mesh of VPC peerings.

    Default: not protected; ``protect`` covers the CA key (rotating it re-issues every cluster's certs).
    """

    def __init__(
        self,
        name: str,
        *,
        mesh_enabled: bool,
        protect: bool = False,
        tags: Mapping[str, str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(MESH_TYPE, name, None, opts)
        self._tags = dict(tags or {})
        self.ca: MeshCa | None = (
            MeshCa("mesh-ca", MeshCaArgs(protect=protect), opts=pulumi.ResourceOptions(parent=self))
            if mesh_enabled
            else None
        )
        self.peerings: list[VpcPeering] = []

    def peer(self, vpcs: Mapping[str, ClusterVpc], cidrs: Mapping[str, str], order: Sequence[str]) -> None:
        """Peer every pair of VPCs (``order``: cluster names in config order), routes in every route table,
        then register the component's outputs."""
        for a, b in peer_pairs(list(order)):
            self.peerings.append(
                VpcPeering(
                    f"{a}--{b}",
                    VpcPeeringArgs(
                        a=PeeringEndpoint(a, vpcs[a].vpc_id, cidrs[a], vpcs[a].route_tables),
                        b=PeeringEndpoint(b, vpcs[b].vpc_id, cidrs[b], vpcs[b].route_tables),
                        tags=self._tags,
                    ),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        self.register_outputs({"peerings": len(self.peerings)})
