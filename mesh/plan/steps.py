"""A plan's resources read as steps of a cluster (or of the mesh), for the text a reviewer reads.

The program builds one top-level component per cluster (``cilium-mesh:index:Cluster``, named after the
cluster) and one for the mesh (``cilium-mesh:index:Mesh``); under them, one component per step (VPC, EKS
cluster, takeover, ...). A resource's *owner* is its top-level component, its *step* the component just
below. So a release's dependencies read "EKS cluster, node group, ..." instead of raw resource names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mesh.plan.harness import Registration

CLUSTER_COMPONENT = "cilium-mesh:index:Cluster"
MESH_COMPONENT = "cilium-mesh:index:Mesh"

STEPS: tuple[tuple[str, str], ...] = (
    ("cilium-mesh:network:ClusterVpc", "VPC"),
    ("cilium-mesh:mesh:EksCluster", "EKS cluster"),
    ("cilium-mesh:network:MeshSecurityRules", "mesh security rules"),
    ("cilium-mesh:mesh:CniTakeover", "aws-node/kube-proxy takeover"),
    ("cilium-mesh:mesh:ClusterNodes", "node group"),
    ("cilium-mesh:mesh:MeshEndpoint", "mesh endpoint"),
    ("cilium-mesh:mesh:CiliumRelease", "Cilium release"),
    ("cilium-mesh:mesh:CorednsRollout", "CoreDNS rollout"),
    ("cilium-mesh:mesh:MeshDemo", "demo"),
    ("cilium-mesh:mesh:MeshCa", "CA"),
    ("cilium-mesh:network:VpcPeering", "peering"),
)
"""Step component type -> label, in the order the program creates a cluster's steps."""

_LABELS = dict(STEPS)
_ORDER = {t: i for i, (t, _) in enumerate(STEPS)}
MESH_OWNER = "mesh"


def _registration(urn: str, by_urn: Mapping[str, Registration]) -> Registration | None:
    """The registration of ``urn``; for a child a remote component created (not registered by the program,
    e.g. pulumi-eks' ``aws:eks/cluster:Cluster``), that component's registration."""
    if urn in by_urn:
        return by_urn[urn]
    qualified, _, name = urn.rpartition("::")
    parent_type = qualified.rpartition("::")[2].split("$")[-2] if "$" in qualified else None
    candidates = [r for r in by_urn.values() if r.type == parent_type and name.startswith(r.name)]
    return max(candidates, key=lambda r: len(r.name)) if candidates else None


def owner_and_step(urn: str, by_urn: Mapping[str, Registration]) -> tuple[str, str, str] | None:
    """``(owner, step type, step label)`` of a resource: owner is a cluster name or ``"mesh"``."""
    reg = _registration(urn, by_urn)
    if reg is None:
        return None
    chain = [reg]
    while chain[-1].parent in by_urn:
        chain.append(by_urn[chain[-1].parent])
    for depth, node in enumerate(chain):
        if node.type in (CLUSTER_COMPONENT, MESH_COMPONENT):
            step = chain[depth - 1] if depth > 0 else node
            owner = node.name if node.type == CLUSTER_COMPONENT else MESH_OWNER
            return owner, step.type, _LABELS.get(step.type, step.type.rsplit(":", 1)[-1])
    return None


def after_text(release: Registration, by_urn: Mapping[str, Registration], clusters: Sequence[str]) -> str:
    """What a release waits for, as steps: its own cluster's in creation order, then the mesh's, then
    other clusters' (config order ``clusters``)."""
    own = owner_and_step(release.urn, by_urn)
    own_cluster = own[0] if own else None
    grouped: dict[str, dict[str, str]] = {}
    for urn in release.dependencies:
        found = owner_and_step(urn, by_urn)
        if found is not None:
            owner, step_type, label = found
            grouped.setdefault(owner, {})[step_type] = label
    order = [own_cluster, MESH_OWNER, *(c for c in clusters if c != own_cluster)]
    parts = []
    for owner in [o for o in order if o in grouped] + [o for o in grouped if o not in order]:
        labels = [grouped[owner][t] for t in sorted(grouped[owner], key=lambda t: _ORDER.get(t, len(_ORDER)))]
        prefix = "" if owner == own_cluster else f"{owner}: "
        parts.append(prefix + ", ".join(labels))
    return "; ".join(parts) if parts else "nothing"


def cluster_rank(reg: Registration, by_urn: Mapping[str, Registration], clusters: Sequence[str]) -> int:
    """Position of a resource's cluster in config order (mesh-wide and unknown resources last)."""
    found = owner_and_step(reg.urn, by_urn)
    return clusters.index(found[0]) if found and found[0] in clusters else len(clusters)
