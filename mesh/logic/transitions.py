"""Which changes to a deployed mesh are safe, and how an upgrade rolls out. Pure: no Pulumi, no I/O.

Input: what is deployed (parsed from the stack's last outputs, :mod:`mesh.logic.deployed_state`), what the
config wants (:class:`Desired`) and the chart versions the repository publishes (``None`` when the index is
not available). Output: a :class:`TransitionPlan` with

* ``refusals``: changes that must not be applied, each naming the cluster and both values;
* ``notes``: what a reviewer must know (new, removed or renamed clusters, rollbacks, pre-flight lifecycle);
* ``warnings``: checks that could not be made (no chart index, unknown deployed version);
* ``rollout``: per cluster, how its Cilium release changes and which other releases it waits for.

Rules (Cilium Documentation/operations/upgrade.rst, "Upgrade Guide"; cilium-cli ``clustermesh connect``):

* ``cluster.id``, ``cluster.name`` and ``clustermesh.maxConnectedClusters`` cannot change on an installed
  cluster (identities embed the cluster id; the id range is sized by maxConnectedClusters). The pod CIDR
  cannot change either: running pods and the operator's per-node allocations keep the old pool.
* "The only tested rollback and upgrade path is between consecutive minor releases": one minor up, or
  back to the previous minor ("going from 1.1 to 1.2 and back is supported").
* "Always update to the latest patch release of your current version before attempting an upgrade."
* Clusters of one mesh stay within one minor of each other (cilium-cli checks versions on connect).
* Pre-flight check "(Required)" before an upgrade; ``upgradeCompatibility`` "should be set to the initial
  Cilium version which was installed in this cluster": we keep the first minor this program installed
  (recorded in the outputs), which is the deployed minor on a cluster's first upgrade.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from mesh.logic.chart_compat import policy_default_local_cluster_note
from mesh.logic.chart_index import latest_patch

_RELEASE_RE = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")

RolloutKind = Literal["new", "upgrade", "change", "steady"]


def parse_release(version: str) -> tuple[int, int, int] | None:
    """``"1.16.19"`` -> ``(1, 16, 19)``; None for pre-releases (``1.19.0-rc.1``) and anything else."""
    match = _RELEASE_RE.match(version.strip())
    return None if match is None else (int(match[1]), int(match[2]), int(match[3]))


def minor_of(version: str) -> str | None:
    """``"1.16.19"`` -> ``"1.16"``."""
    parsed = parse_release(version)
    return None if parsed is None else f"{parsed[0]}.{parsed[1]}"


@dataclass(frozen=True)
class DeployedCluster:
    """One cluster as the last successful ``pulumi up`` left it; ``None`` where the outputs do not say."""

    name: str
    id: int | None = None
    pod_cidr: str | None = None
    vpc_cidr: str | None = None
    chart_version: str | None = None
    max_connected_clusters: int | None = None
    installed_minor: str | None = None
    values_digest: str | None = None
    mesh_peers: tuple[str, ...] | None = None
    availability_zones: tuple[str, ...] | None = None
    kubernetes_version: str | None = None
    service_cidr: str | None = None
    pod_cidr_mask_size: int | None = None
    mesh_domain: str | None = None


@dataclass(frozen=True)
class DesiredCluster:
    """One cluster as the config wants it. ``values_digest`` fingerprints its config-derived Cilium values."""

    name: str
    id: int
    pod_cidr: str
    vpc_cidr: str
    chart_version: str
    values_digest: str | None = None
    availability_zones: tuple[str, ...] | None = None
    kubernetes_version: str | None = None
    service_cidr: str | None = None
    pod_cidr_mask_size: int | None = None
    mesh_domain: str | None = None


@dataclass(frozen=True)
class Desired:
    """The config side. ``canary`` defaults to the first cluster; ``max_parallel`` None = no limit."""

    clusters: tuple[DesiredCluster, ...]
    max_connected_clusters: int = 255
    mesh: bool = True
    canary: str | None = None
    max_parallel: int | None = None


@dataclass(frozen=True)
class ClusterRollout:
    """How one cluster's Cilium release changes in this ``pulumi up``.

    ``kind``: ``new`` (first install), ``upgrade`` (chart version changes), ``change`` (same chart, values
    change as part of a mesh-wide change), ``steady``. ``preflight``: a pre-flight release of
    ``desired_version`` runs before the main release. ``upgrade_compatibility``: the chart's
    ``upgradeCompatibility`` value (None = not set). ``wait_for``: clusters whose main release this one waits
    for. ``wave``: 0 for the canary, 1.. for the following batches, None outside a coordinated rollout.
    """

    name: str
    kind: RolloutKind
    desired_version: str
    deployed_version: str | None = None
    installed_minor: str | None = None
    preflight: bool = False
    upgrade_compatibility: str | None = None
    wait_for: tuple[str, ...] = ()
    wave: int | None = None


@dataclass(frozen=True)
class TransitionPlan:
    """Result of :func:`plan_transition`. ``ok`` is False when anything is refused."""

    refusals: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    rollout: Mapping[str, ClusterRollout] = field(default_factory=dict)
    canary: str | None = None

    @property
    def ok(self) -> bool:
        return not self.refusals


def refusal_message(refusals: Sequence[str]) -> str:
    """The one text users see for refused changes, in the plan (exit 2) and under Pulumi (RunError)."""
    return "refused, nothing was changed:\n" + "\n".join(f"  - {r}" for r in refusals)


def _version_rules(
    name: str, deployed: str, desired: str, published: Sequence[str] | None
) -> tuple[list[str], list[str], list[str]]:
    """Refusals, notes and warnings for one cluster's chart change ``deployed`` -> ``desired``."""
    refusals: list[str] = []
    notes: list[str] = []
    warnings: list[str] = []
    old, new = parse_release(deployed), parse_release(desired)
    if old is None or new is None:
        warnings.append(
            f"{name}: deployed Cilium {deployed!r} or desired {desired!r} is not a release version; "
            "version rules not checked"
        )
        return refusals, notes, warnings
    if old[0] != new[0]:
        refusals.append(f"{name}: Cilium {deployed} -> {desired} changes the major version; not supported")
        return refusals, notes, warnings
    step = new[1] - old[1]
    line = f"{old[0]}.{old[1]}"
    if step >= 2:
        skipped = ", ".join(f"{old[0]}.{m}" for m in range(old[1] + 1, new[1]))
        refusals.append(
            f"{name}: Cilium {deployed} -> {desired} skips {skipped}: upgrade one minor at a time "
            f"(next: {old[0]}.{old[1] + 1})"
        )
    elif step == 1:
        if published is None:
            warnings.append(
                f"{name}: Cilium {deployed} -> {desired}: the chart index is not available, so the rule "
                f"'upgrade from the latest patch of {line}' was NOT checked"
            )
        else:
            latest = latest_patch(published, line)
            if latest is not None and old < parse_release(latest):  # type: ignore[operator]
                refusals.append(
                    f"{name}: Cilium {deployed} -> {desired} is a minor upgrade from {deployed}, which is "
                    f"not the latest patch of {line}: upgrade to {latest} first"
                )
    elif step == -1:
        notes.append(
            f"{name}: Cilium {deployed} -> {desired} is a rollback to the previous minor (supported by the "
            f"upgrade guide); check the {old[0]}.{old[1]} upgrade notes for features already in use"
        )
    elif step <= -2:
        refusals.append(
            f"{name}: Cilium {deployed} -> {desired} goes back {-step} minors: roll back one minor at a time "
            f"(previous: {old[0]}.{old[1] - 1})"
        )
    if published is not None and desired not in published:
        warnings.append(f"{name}: Cilium {desired} is not in the chart index (stale cache or a typo?)")
    return refusals, notes, warnings


def _identity_rules(
    current: DeployedCluster, want: DesiredCluster, max_connected: int, mesh: bool
) -> tuple[list[str], list[str]]:
    refusals: list[str] = []
    notes: list[str] = []
    name = want.name
    if current.id is not None and current.id != want.id:
        refusals.append(
            f"{name}: cluster id {current.id} -> {want.id}: cluster.id cannot change on an installed cluster "
            "(security identities embed it); keep the id, or add the cluster under a new name"
        )
    if current.pod_cidr is not None and current.pod_cidr != want.pod_cidr:
        refusals.append(
            f"{name}: podCidr {current.pod_cidr} -> {want.pod_cidr}: the pod CIDR cannot change on an "
            "installed cluster (running pods and per-node allocations keep the old pool)"
        )
    if (
        mesh
        and current.max_connected_clusters is not None
        and current.max_connected_clusters != max_connected
    ):
        refusals.append(
            f"{name}: clustermesh.maxConnectedClusters {current.max_connected_clusters} -> {max_connected}: "
            "cannot change on an installed cluster (it sizes the cluster-id bits of every identity)"
        )
    same_vpc = current.vpc_cidr is None or current.vpc_cidr == want.vpc_cidr
    if (
        same_vpc
        and current.availability_zones is not None
        and want.availability_zones is not None
        and current.availability_zones != want.availability_zones
    ):
        # EKS moves a control plane to other subnets only within the AZs it was created in
        # (aws/containers-roadmap#2330), and the subnet layout (network/logic/cidr.py) is sized by the AZ
        # count: the update would fail half-way, after new subnets that overlap the old ones.
        change = f"{name}: availability zones {', '.join(current.availability_zones)} -> "
        change += ", ".join(want.availability_zones)
        if sorted(current.availability_zones) == sorted(want.availability_zones):
            refusals.append(
                f"{change}: only the order changed, and the order lays out the subnets (each AZ's CIDRs by "
                "its position): keep the deployed order"
            )
        else:
            refusals.append(
                f"{change}: a deployed cluster keeps its AZs (the EKS control plane cannot move to AZs it "
                "was not created in, and the subnets are laid out per AZ); add a cluster under a new name in "
                "the new AZs, move the workloads, then remove this one"
            )
    if not same_vpc:
        notes.append(
            f"{name}: vpcCidr {current.vpc_cidr} -> {want.vpc_cidr} replaces the VPC and with it the EKS "
            "cluster, its nodes and its Cilium install: effectively a new cluster under the same name"
        )
    return refusals, notes


def _minor_number(version: str | None) -> tuple[int, int] | None:
    parts = (version or "").split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        return None
    return int(parts[0]), int(parts[1])


IMMUTABLE_SETTINGS: tuple[tuple[str, str, str], ...] = (
    (
        "service_cidr",
        "eks.serviceCidr",
        "EKS cannot change a cluster's service CIDR; the change would replace every cluster with everything "
        "on it. Keep it",
    ),
    (
        "pod_cidr_mask_size",
        "cilium.podCidrMaskSize",
        "cluster-pool IPAM cannot resize the per-node blocks of an installed cluster; keep it, or add a "
        "cluster under a new name",
    ),
    (
        "mesh_domain",
        "cilium.clustermesh.domain",
        "peers' addresses, the server certificates and the private zone would move at once and cut the mesh; "
        "keep the deployed domain",
    ),
)
"""(field, config key, why) of each setting a deployed cluster keeps (see :func:`platform_refusals`)."""


def platform_refusals(current: DeployedCluster, want: DesiredCluster) -> list[str]:
    """Changes EKS or Cilium cannot make in place, each naming the cluster and both values. A value the
    outputs do not record yet (written before the key existed) is not checked; the next `up` records it.

    * Kubernetes: EKS upgrades a control plane one minor at a time and never downgrades it (EKS user guide,
      "Update existing cluster to new Kubernetes version").
    * The service CIDR: ``kubernetesNetworkConfig.serviceIpv4Cidr`` cannot change after creation; a new one
      replaces the cluster (EKS API ``CreateCluster``; Pulumi plans a replacement).
    * ``cilium.podCidrMaskSize``: cluster-pool IPAM hands out per-node blocks of that size; nodes keep
      theirs and the operator refuses a changed mask for a pool in use (Cilium docs, "Cluster Scope IPAM":
      the pool's mask size cannot be changed).
    * The mesh domain: every peer's address, the server certificate's SANs and the private zone move
      together; changing it in place cuts the mesh until every cluster has re-rendered.
    """
    name = want.name
    refusals: list[str] = []
    have, wanted = _minor_number(current.kubernetes_version), _minor_number(want.kubernetes_version)
    change = f"{name}: Kubernetes {current.kubernetes_version} -> {want.kubernetes_version}"
    if have is not None and wanted is not None and have != wanted:
        if wanted < have:
            refusals.append(
                f"{change} is a downgrade; EKS cannot downgrade a control plane: keep the deployed version"
            )
        elif wanted[0] != have[0] or wanted[1] > have[1] + 1:
            step = f"{have[0]}.{have[1] + 1}"
            refusals.append(
                f"{change} skips a minor; "
                f"EKS upgrades one minor at a time: set {step} first (nodes follow in the same up)"
            )
    for attribute, key, why in IMMUTABLE_SETTINGS:
        old, new = getattr(current, attribute), getattr(want, attribute)
        if old is not None and new is not None and old != new:
            refusals.append(f"{name}: {key} {old} -> {new}: {why}")
    return refusals


def _mesh_skew(deployed: Mapping[str, DeployedCluster], desired: Desired) -> list[str]:
    """Clusters that would run Cilium minors more than one apart at some point of the rollout."""
    seen: list[tuple[tuple[int, int], str, str]] = []  # (minor, cluster, version)
    for want in desired.clusters:
        for version in (
            deployed[want.name].chart_version if want.name in deployed else None,
            want.chart_version,
        ):
            parsed = parse_release(version) if version else None
            if parsed is not None:
                seen.append(((parsed[0], parsed[1]), want.name, version))  # type: ignore[arg-type]
    worst: tuple[int, tuple[tuple[int, int], str, str], tuple[tuple[int, int], str, str]] | None = None
    for low in seen:
        for high in seen:
            if low[1] != high[1] and low[0][0] == high[0][0]:
                spread = high[0][1] - low[0][1]
                if worst is None or spread > worst[0]:
                    worst = (spread, low, high)
    if worst is None or worst[0] <= 1:
        return []
    _, low, high = worst
    return [
        f"mesh: {low[1]} would run Cilium {low[2]} while {high[1]} runs {high[2]}: clusters of one mesh "
        "must stay within one minor of each other"
    ]


def _values_change(current: DeployedCluster, want: DesiredCluster, members_changed: bool) -> bool:
    if current.chart_version != want.chart_version:
        return True
    if current.values_digest is not None and want.values_digest is not None:
        return current.values_digest != want.values_digest
    # Outputs without a digest: membership is what we can still see (every peer list changes).
    return members_changed


def plan_transition(
    deployed: Mapping[str, DeployedCluster],
    desired: Desired,
    published: Sequence[str] | None,
) -> TransitionPlan:
    """Check the transition from ``deployed`` to ``desired`` and plan the rollout (see module docstring).

    ``published``: versions in the chart repository index, None when the index could not be read (the
    latest-patch rule then becomes a warning, never a silent pass).
    """
    refusals: list[str] = []
    notes: list[str] = []
    warnings: list[str] = []
    wanted = {c.name: c for c in desired.clusters}

    removed = [name for name in deployed if name not in wanted]
    added = [c.name for c in desired.clusters if c.name not in deployed]
    for name in added:
        twin = next(
            (
                r
                for r in removed
                if deployed[r].id == wanted[name].id or deployed[r].pod_cidr == wanted[name].pod_cidr
            ),
            None,
        )
        if twin is not None:
            notes.append(
                f"{name}: looks like a rename of {twin}: Cilium cannot rename an installed cluster, so "
                f"this creates {name} as a new cluster (new VPC, EKS, nodes) and destroys {twin} with "
                "everything in it"
            )
        elif deployed:
            notes.append(f"{name}: new cluster, installed fresh; it does not wait for other clusters")
    for name in removed:
        notes.append(
            f"{name}: no longer in the config: pulumi up destroys its Cilium release, nodes, EKS cluster and "
            "VPC, and the other clusters drop it from their mesh peers"
        )

    for want in desired.clusters:
        current = deployed.get(want.name)
        if current is None:
            continue
        r, n = _identity_rules(current, want, desired.max_connected_clusters, desired.mesh)
        refusals += r
        notes += n
        refusals += platform_refusals(current, want)
        if current.chart_version is None:
            warnings.append(
                f"{want.name}: the outputs do not record the deployed Cilium version; rules not checked"
            )
        elif current.chart_version != want.chart_version:
            r, n, w = _version_rules(want.name, current.chart_version, want.chart_version, published)
            refusals += r
            notes += n
            warnings += w
    if desired.mesh:
        refusals += _mesh_skew(deployed, desired)

    members_changed = desired.mesh and bool(removed or added) and bool(deployed)
    kept = [c for c in desired.clusters if c.name in deployed]
    changing = {c.name for c in kept if _values_change(deployed[c.name], c, members_changed)}
    upgrading = {c.name for c in kept if deployed[c.name].chart_version != c.chart_version}
    # A change that reaches every deployed cluster rolls like an upgrade: a bad value stops at the canary.
    mesh_wide = len(kept) >= 2 and changing == {c.name for c in kept}
    coordinated = [c.name for c in kept if c.name in upgrading or (mesh_wide and c.name in changing)]

    canary: str | None = None
    waves: dict[str, int] = {}
    if coordinated:
        configured = desired.canary or desired.clusters[0].name
        canary = configured if configured in coordinated else coordinated[0]
        if canary != configured:
            notes.append(f"rollout: canary {configured} has nothing to roll; {canary} goes first instead")
        rest = [n for n in coordinated if n != canary]
        size = desired.max_parallel or len(rest) or 1
        waves[canary] = 0
        for i, name in enumerate(rest):
            waves[name] = 1 + i // size

    rollout: dict[str, ClusterRollout] = {}
    for want in desired.clusters:
        current = deployed.get(want.name)
        desired_minor = minor_of(want.chart_version)
        if current is None:
            rollout[want.name] = ClusterRollout(
                name=want.name, kind="new", desired_version=want.chart_version, installed_minor=desired_minor
            )
            continue
        installed = current.installed_minor or (
            minor_of(current.chart_version) if current.chart_version else None
        )
        kind: RolloutKind = (
            "upgrade" if want.name in upgrading else "change" if want.name in changing else "steady"
        )
        wave = waves.get(want.name)
        wait_for: tuple[str, ...] = ()
        if wave:
            wait_for = tuple(n for n, w in waves.items() if w == wave - 1)
        rollout[want.name] = ClusterRollout(
            name=want.name,
            kind=kind,
            desired_version=want.chart_version,
            deployed_version=current.chart_version,
            installed_minor=installed,
            preflight=kind == "upgrade",
            upgrade_compatibility=installed if installed and installed != desired_minor else None,
            wait_for=wait_for,
            wave=wave,
        )
    for name, plan in rollout.items():
        note = policy_default_local_cluster_note(name, plan.desired_version, plan.upgrade_compatibility)
        if note is not None:
            notes.append(note)
        if plan.preflight:
            notes.append(
                f"{name}: Cilium {plan.deployed_version} -> {plan.desired_version}: pre-flight release "
                f"cilium-preflight runs first; the next pulumi up after the upgrade removes it"
            )
    if canary is not None:
        order = " -> ".join(
            ", ".join(n for n, w in waves.items() if w == wave) for wave in sorted(set(waves.values()))
        )
        notes.append(f"rollout: canary {canary} first, then in waves: {order}")
    return TransitionPlan(
        refusals=tuple(refusals),
        notes=tuple(notes),
        warnings=tuple(warnings),
        rollout=rollout,
        canary=canary,
    )
