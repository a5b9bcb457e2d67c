"""Pulumi components, and the program's wiring in :mod:`mesh.components.program`.

One top-level component per cluster (:mod:`mesh.components.cluster`) owns that cluster's VPC, EKS cluster,
node group, takeover patches, mesh endpoint, Cilium release, CoreDNS rollout and demo; one mesh-wide
component (:mod:`mesh.components.mesh`) owns the shared CA and the peerings.

May import: Pulumi SDKs, :mod:`mesh.logic`, :mod:`network`. Components never read ``pulumi.Config``: they get
validated, typed config objects; the config is read once, by :func:`mesh.components.program.load_config`.
"""
