"""The mesh-wide component: what belongs to no single cluster (the shared CA, the VPC peerings, the
private hosted zone of the mesh addresses).

It sits beside the per-cluster components (:mod:`mesh.components.cluster`) as one top-level
``cilium-mesh:index:Mesh``; :mod:`mesh.components.program` decides when each part is created.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws

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
        self.zone: aws.route53.Zone | None = None

    def add_zone(self, domain: str, vpcs: Mapping[str, ClusterVpc], order: Sequence[str]) -> aws.route53.Zone:
        """The private hosted zone ``domain`` where each cluster publishes ``<cluster>.<domain>``,
        associated with every mesh VPC (``order``: cluster names in config order).

        Every association is inline (``vpcs``) and there is no ``aws.route53.ZoneAssociation``: the
        provider treats the two styles on one zone as conflicting (perpetual diff, route53 Zone docs), and
        a private zone needs a VPC at creation anyway. Adding or removing a cluster updates the zone in
        place. Resolution needs DNS support and hostnames on the VPCs (:mod:`network.components.vpc`).
        """
        self.zone = aws.route53.Zone(
            "mesh-zone",
            name=domain,
            comment="Cilium Cluster Mesh addresses (<cluster>.<domain> -> internal NLB), private to the mesh",
            vpcs=[aws.route53.ZoneVpcArgs(vpc_id=vpcs[name].vpc_id) for name in order],
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return self.zone

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
