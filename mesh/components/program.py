"""The program's wiring: what is created, in which order, and why. Read it top to bottom.

1. The mesh-wide component and the shared CA (nothing to wait for).
2. Per cluster (:class:`~mesh.components.cluster.MeshCluster`): VPC -> EKS control plane -> mesh security
   rules -> aws-node/kube-proxy patches -> node group (after both patches) -> mesh endpoint (the NLB behind
   the cluster's mesh address).
3. The mesh's private hosted zone and the VPC peerings (they need every VPC).
4. Per cluster: the record ``<cluster>.<domain>`` -> its own NLB; the Cilium release after its own two
   patches only, in parallel with its node group (peers are dialled by DNS name, so no release waits for a
   node group or a load balancer), then CoreDNS, then the demo. Across clusters only what the rollout plan
   says (:func:`check_transition`): during an upgrade, or a change to every deployed cluster's values, the
   canary's release goes first and the others wait for it (in batches of ``cilium.rollout.maxParallel``);
   new clusters and first installs wait for nobody.

Every edge is asserted by ``tests/test_graph.py``; ``docs/architecture.md`` explains each one.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from pulumi.runtime.config import CONFIG, get_config_env

from mesh.charts.versions import live_published_versions, published_versions
from mesh.components.cilium_release import PREFLIGHT_RELEASE_NAME, CiliumRelease, MeshCaInputs
from mesh.components.cluster import MeshCluster, MeshClusterArgs
from mesh.components.deployed import read_deployed_outputs
from mesh.components.mesh import ClusterMesh
from mesh.components.run_mode import is_offline
from mesh.logic.clock import ClockError
from mesh.logic.clock import today as clock_today
from mesh.logic.config import (
    KEYS,
    NAMESPACE,
    ConfigError,
    StackConfig,
    code_default_warnings,
    decode_config_value,
    parse_stack_config,
)
from mesh.logic.deployed_state import DeployedStateError, identity_problem, parse_deployed
from mesh.logic.desired_state import desired_state, effective_max_connected_clusters, mesh_peers
from mesh.logic.eks_versions import extended_support_warning
from mesh.logic.k8s_compat import compat_warning
from mesh.logic.mesh_dns import mesh_address
from mesh.logic.stack_file import config_key_problems, installed_provider_keys
from mesh.logic.transitions import TransitionPlan, plan_transition, refusal_message
from mesh.logic.verify_commands import verify_commands
from network.logic.rules import mesh_rule_table


def load_config() -> StackConfig:
    """Read ``cilium-mesh:*`` and ``aws:*`` from the running Pulumi program and validate them: key names
    (a misspelled namespace such as ``cilium_mesh:demo`` is never read, so it is an error), values, and the
    Kubernetes versions against what EKS offers on the day of :func:`mesh.logic.clock.today` (read once).
    Logs each cluster's version warnings (untested with its Cilium line, EKS extended support).

    The program's only reader of ``pulumi.Config``; raises :class:`mesh.logic.config.ConfigError`.
    """
    try:
        today = clock_today()
    except ClockError as err:
        raise ConfigError([str(err)]) from None
    known = {**get_config_env(), **CONFIG.get()}
    # Under Pulumi the config also holds what imported ESC environments provide, which may carry other
    # projects' namespaces: only misspellings of ours (or of a provider's) are errors here; the stack file
    # itself is checked strictly by `python -m mesh.plan` (mesh/logic/stack_file.py).
    key_problems = config_key_problems(
        list(known),
        project=pulumi.get_project(),
        project_keys=KEYS,
        provider_keys=installed_provider_keys(),
        report_foreign=False,
    )
    prefix = f"{NAMESPACE}:"
    raw = {k.removeprefix(prefix): decode_config_value(v) for k, v in known.items() if k.startswith(prefix)}
    aws = pulumi.Config("aws")
    try:
        cfg = parse_stack_config(
            raw,
            project=pulumi.get_project(),
            stack=pulumi.get_stack(),
            region=aws.get("region"),
            today=today.day,
        )
    except ConfigError as err:
        raise ConfigError([*key_problems, *err.problems]) from None
    if key_problems:
        raise ConfigError(key_problems)
    for warning in code_default_warnings(cfg):
        pulumi.log.warn(warning)
    for c in cfg.clusters:
        for warning in (
            compat_warning(cfg.cilium.version, cfg.kubernetes_version(c)),
            extended_support_warning(cfg.kubernetes_version(c), today.day),
        ):
            if warning:
                pulumi.log.warn(f"{c.name}: {warning}")
    return cfg


def _published_for_this_run(cfg: StackConfig) -> tuple[tuple[str, ...] | None, str | None]:
    """Offline: the local index only (the plan says so). A real run reads the repository's index when the
    local copy is missing or older than a day: the upgrade rules exist for the fresh CI runner."""
    if is_offline():
        return published_versions(), None
    return live_published_versions(cfg.cilium.repository)


def check_transition(cfg: StackConfig) -> TransitionPlan:
    """Compare the config with what the last ``pulumi up`` deployed, before any resource is registered.

    Raises ``pulumi.RunError`` naming each refused change (cluster and both values); logs warnings (checks
    that could not be made) and notes (new, removed or renamed clusters, the rollout order).
    """
    outputs = read_deployed_outputs()
    foreign = identity_problem(outputs, pulumi.get_project(), pulumi.get_stack())
    if foreign is not None:
        raise pulumi.RunError(f"refused, nothing was changed: {foreign}")
    try:
        deployed = parse_deployed(outputs)
    except DeployedStateError as err:
        raise pulumi.RunError(str(err)) from None
    published, stale = _published_for_this_run(cfg)
    plan = plan_transition(deployed, desired_state(cfg), published)
    upgrading = sorted(r.name for r in plan.rollout.values() if r.kind == "upgrade")
    if published is None and upgrading and not cfg.cilium.rollout.allow_unverified_upgrade:
        raise pulumi.RunError(
            refusal_message(
                [
                    f"{', '.join(upgrading)}: upgrade to Cilium {cfg.cilium.version} cannot be checked "
                    f"against the chart repository's index ({stale or 'no index'}); fix access to "
                    f"{cfg.cilium.repository}, or set cilium-mesh:cilium.rollout.allowUnverifiedUpgrade: true"
                ]
            )
        )
    if stale is not None:
        pulumi.log.warn(f"chart index: {stale}")
    if plan.refusals:
        raise pulumi.RunError(refusal_message(plan.refusals))
    for warning in plan.warnings:
        pulumi.log.warn(warning)
    for note in plan.notes:
        pulumi.log.info(note)
    return plan


@dataclass(frozen=True)
class BuiltMesh:
    """What :func:`build_mesh` made: the mesh-wide component and the clusters, in config order."""

    mesh: ClusterMesh
    clusters: dict[str, MeshCluster]
    transition: TransitionPlan


def build_mesh(cfg: StackConfig, transition: TransitionPlan | None = None) -> BuiltMesh:
    """Create every resource of the stack described by ``cfg``; ``transition`` orders the releases
    (None: a first install, nothing waits for another cluster)."""
    if transition is None:
        transition = plan_transition({}, desired_state(cfg), None)
    tags = cfg.common_tags()
    vpc_cidrs = {c.name: c.vpc_cidr for c in cfg.clusters}
    mesh_cfg = cfg.cilium.clustermesh

    # 1. Mesh-wide: the CA every release shares.
    mesh = ClusterMesh("mesh", mesh_enabled=cfg.mesh_enabled, protect=cfg.protect, tags=tags)

    # 2. Each cluster up to its mesh endpoint.
    rule_table = mesh_rule_table(wireguard=cfg.cilium.wireguard)
    # "Same account" for an external peering with an explicit ownerAccountId is only known at deploy time;
    # ask once, and only then (the offline plan answers from its placeholder account).
    caller_account_id = (
        aws.get_caller_identity_output().account_id
        if any(p.owner_account_id is not None for p in cfg.network.external_peerings)
        else None
    )
    clusters: dict[str, MeshCluster] = {}
    for c in cfg.clusters:
        clusters[c.name] = MeshCluster(
            c.name,
            MeshClusterArgs(
                cfg=cfg,
                cluster=c,
                peer_cidrs={p: cidr for p, cidr in vpc_cidrs.items() if p != c.name},
                rule_table=rule_table,
                tags=tags,
                caller_account_id=caller_account_id,
            ),
        )

    # 3. The zone of the mesh addresses (associated with every VPC) and the peerings between every pair.
    vpcs = {n: k.vpc for n, k in clusters.items()}
    order = [c.name for c in cfg.clusters]
    zone = mesh.add_zone(mesh_cfg.domain, vpcs, order) if cfg.mesh_enabled else None
    mesh.peer(vpcs, vpc_cidrs, order)

    # 4. Per cluster: its mesh address, then Cilium. Cross-cluster edges come only from the rollout plan
    # (canary, then batches); releases are declared wave by wave so that each one's predecessors exist.
    ca = MeshCaInputs(cert_pem=mesh.ca.cert_pem, key_pem=mesh.ca.key_pem) if mesh.ca is not None else None
    for c in cfg.clusters:
        if zone is not None:
            clusters[c.name].publish_mesh_address(zone.zone_id)
    rollout = transition.rollout
    releases: dict[str, CiliumRelease] = {}
    for c in sorted(cfg.clusters, key=lambda c: rollout[c.name].wave or 0):
        releases[c.name] = clusters[c.name].install_cilium(
            ca,
            after=[releases[n] for n in rollout[c.name].wait_for],
            rollout=rollout[c.name],
        )
    return BuiltMesh(mesh=mesh, clusters=clusters, transition=transition)


def export_outputs(cfg: StackConfig, built: BuiltMesh) -> None:
    """The stack outputs.

    ``clusters``: per cluster its identity, endpoints, kubeconfig, and what other stacks build on (VPC id,
    private subnet ids, cluster security group id, OIDC provider ARN and URL, node role ARN);
    ``meshAddress`` is the DNS name peers dial, ``meshEndpoint`` the NLB behind it. ``mesh``: the mesh
    domain, its private zone id and every cluster's mesh address (``None`` without a mesh).
    ``demo`` and ``verifyCommands`` for ``python -m mesh.verify``.
    """
    mesh_cfg = cfg.cilium.clustermesh
    demo = cfg.demo and cfg.mesh_enabled
    desired = desired_state(cfg)
    addresses = {c.name: f"{mesh_address(c.name, mesh_cfg.domain)}:{mesh_cfg.port}" for c in cfg.clusters}
    outputs = {}
    for i, c in enumerate(cfg.clusters):
        cluster = built.clusters[c.name]
        endpoint = cluster.endpoint
        outputs[c.name] = {
            "name": c.name,
            "id": c.id,
            "endpoint": cluster.eks.endpoint,
            "kubeconfig": cluster.eks.kubeconfig,
            "meshAddress": addresses[c.name] if endpoint is not None else None,
            "meshEndpoint": (
                endpoint.hostname.apply(lambda h: f"{h}:{mesh_cfg.port}") if endpoint is not None else None
            ),
            "podCidr": c.pod_cidr,
            "vpcCidr": c.vpc_cidr,
            "availabilityZones": list(cfg.availability_zones),
            "kubernetesVersion": cfg.kubernetes_version(c),
            "serviceCidr": cfg.eks.service_cidr,
            "podCidrMaskSize": cfg.cilium.pod_cidr_mask_size,
            "meshDomain": mesh_cfg.domain if cfg.mesh_enabled else None,
            # What the next run's transition rules read (mesh/logic/deployed_state.py). The version
            # comes from the release itself: it resolves only when the release succeeded, and a
            # failed update leaves the previous outputs in place.
            "ciliumVersion": cluster.release.version,  # type: ignore[union-attr]
            "ciliumInstalledMinor": built.transition.rollout[c.name].installed_minor,
            "maxConnectedClusters": effective_max_connected_clusters(cfg),
            "valuesDigest": desired.clusters[i].values_digest,
            "meshPeers": list(mesh_peers(cfg, c)),
            "preflight": (
                f"{PREFLIGHT_RELEASE_NAME} {cfg.cilium.version}: runs before this upgrade; "
                "the next pulumi up removes it"
                if built.transition.rollout[c.name].preflight
                else None
            ),
            # For other stacks.
            "vpcId": cluster.vpc.vpc_id,
            "privateSubnetIds": cluster.vpc.private_subnet_ids,
            "clusterSecurityGroupId": cluster.eks.cluster_security_group_id,
            "oidcProviderArn": cluster.eks.oidc_provider_arn,
            "oidcProviderUrl": cluster.eks.oidc_provider_url,
            "nodeRoleArn": cluster.nodes.role.arn,
        }
    pulumi.export("clusters", outputs)
    # Whose outputs these are: a later run refuses another project's or stack's (deployed_state.py).
    pulumi.export("stackIdentity", {"project": pulumi.get_project(), "stack": pulumi.get_stack()})
    zone = built.mesh.zone
    pulumi.export(
        "mesh",
        {"domain": mesh_cfg.domain, "zoneId": zone.zone_id, "addresses": addresses}
        if zone is not None
        else None,
    )
    pulumi.export("externalPeerings", external_peerings_output(cfg, built))
    pulumi.export("demo", demo)
    pulumi.export(
        "verifyCommands",
        verify_commands(cfg.stack, [c.name for c in cfg.clusters], demo=demo, region=cfg.region),
    )


def external_peerings_output(cfg: StackConfig, built: BuiltMesh) -> dict[str, object]:
    """Per external peering, what its owner needs: which VPC, and per mesh cluster the connection id, whether
    this stack accepted it itself, its status and the requester VPC CIDR to route back to (the other side
    accepts in its own account and region and adds those routes to its route tables)."""
    result: dict[str, object] = {}
    for ext in cfg.network.external_peerings:
        requesters: dict[str, object] = {}
        for c in cfg.clusters:
            peering = built.clusters[c.name].external_peerings[ext.name]
            requesters[c.name] = {
                "peeringConnectionId": peering.connection.id,
                "autoAccepted": peering.auto_accept,
                "acceptStatus": peering.connection.accept_status,
                "vpcId": built.clusters[c.name].vpc.vpc_id,
                "vpcCidr": c.vpc_cidr,
            }
        result[ext.name] = {
            "vpcId": ext.vpc_id,
            "cidr": ext.cidr,
            "ownerAccountId": ext.owner_account_id,
            "region": ext.region or cfg.region,
            "requesters": requesters,
        }
    return result
