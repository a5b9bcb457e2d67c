"""The offline plan of a stack.

``python -m mesh.plan STACK [--json PATH] [--show-secrets] [--render-dir DIR] [--deployed PATH]
[--compare BASE_PLAN [--compare-render-dir BASE_DIR]]``

Reads ``Pulumi.yaml`` and ``Pulumi.STACK.yaml``, validates the config, evaluates the real ``__main__.py``
under Pulumi's mock runtime (no AWS account, no Pulumi CLI, no plugins) and prints what ``pulumi up``
would create. ``--json`` writes the machine-readable contract::

    {"project", "stack", "resources": [{"urn", "type", "name", "parent", "provider", "inputs",
     "dependencies", "propertyDependencies", "options"}], "outputs", "warnings", "notes",
     "deploy": {"criticalPathSeconds", "criticalPath": [urn, ...]}}

``--markdown PATH`` writes the modelled deploy (mesh/plan/deploy_model.py) as Markdown with a mermaid gantt
chart, for a pull-request comment.

``--render-dir`` gets each release's chart archive like :mod:`mesh.charts` does (``$CILIUM_CHARTS_DIR``,
the user cache, else the release's repository or ``$CILIUM_CHART_REPO``, verified against
``cilium-charts.lock``).

``--deployed PATH`` plans against what is deployed: the outputs as ``pulumi stack output --json
--show-secrets`` prints them, or an earlier plan JSON (its ``outputs``). Without it the plan is a first
install. Unsafe transitions (mesh/logic/transitions.py) are refused before anything is evaluated.

Exit codes: 0 planned, 2 invalid config, a refused transition or a chart that cannot be had (every problem
on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from mesh.charts.fetch import ChartError
from mesh.charts.versions import published_versions
from mesh.components.run_mode import OFFLINE_NOTE
from mesh.logic.clock import ClockError, Today
from mesh.logic.clock import today as clock_today
from mesh.logic.config import KEYS, NAMESPACE, ConfigError, StackConfig, parse_stack_config, quota_usage
from mesh.logic.deployed_state import DeployedStateError, identity_problem, parse_deployed, stack_outputs
from mesh.logic.desired_state import desired_state
from mesh.logic.eks_versions import AS_OF as EKS_AS_OF
from mesh.logic.helm_values import release_values
from mesh.logic.stack_file import installed_provider_keys, load_yaml, parse_stack_document
from mesh.logic.transitions import TransitionPlan, plan_transition, refusal_message
from mesh.plan.admission import AdmissionError, manifest_violations, program_violations
from mesh.plan.compare import compare, load_plan, render_text
from mesh.plan.deploy_report import deploy_document, estimate_run
from mesh.plan.deploy_report import markdown as deploy_markdown
from mesh.plan.deploy_report import text_lines as deploy_text_lines
from mesh.plan.harness import ProgramRun, Registration, reveal, run_program, to_json
from mesh.plan.placeholders import PLACEHOLDER, PlanMocks
from mesh.plan.steps import after_text, cluster_rank, owner_and_step

ROOT = Path(__file__).resolve().parents[2]
RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"
PEERING_TYPE = "aws:ec2/vpcPeeringConnection:VpcPeeringConnection"
EXTERNAL_PEERING_TYPE = "cilium-mesh:network:ExternalPeering"
SECRET_TEXT = "[secret]"


class StackFiles(NamedTuple):
    """What the offline plan reads from ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml``."""

    project: str
    config: dict[str, Any]  # full keys, decoded YAML; secure values as "[secret]"
    secret_keys: list[str]
    warnings: list[str]  # e.g. Pulumi ESC imports the offline plan cannot resolve


def _load(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError([f"{path.name}: not UTF-8 text (byte {err.start})"]) from None
    doc, problem = load_yaml(path.name, text)
    if problem is not None:
        raise ConfigError([problem])
    return doc


def read_stack_files(stack: str, project_dir: Path = ROOT) -> tuple[str, dict[str, Any], list[str]]:
    """Project name, the stack's config (full keys, decoded YAML) and its secure keys: :func:`read_stack`
    without its warnings."""
    files = read_stack(stack, project_dir)
    return files.project, files.config, files.secret_keys


def read_stack(stack: str, project_dir: Path = ROOT) -> StackFiles:
    """The project's name and config defaults, then the stack file's values, checked as Pulumi reads them
    (:mod:`mesh.logic.stack_file`). Raises :class:`ConfigError` naming the file and the key."""
    project_file = project_dir / "Pulumi.yaml"
    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        raise ConfigError([f"{stack_file.name}: no such stack file in {project_dir}"])
    project = _load(project_file)
    if not isinstance(project, Mapping) or not project.get("name"):
        raise ConfigError([f"{project_file.name}: name: required (the Pulumi project name)"])
    parsed = parse_stack_document(
        stack_file.name,
        _load(stack_file),
        project=str(project["name"]),
        project_keys=KEYS,
        provider_keys=installed_provider_keys(),
    )
    if parsed.problems:
        raise ConfigError(list(parsed.problems))
    config: dict[str, Any] = {}
    # Project-level defaults first, then the stack's values.
    for key, decl in (project.get("config") or {}).items():
        if isinstance(decl, Mapping) and "default" in decl:
            config[key] = decl["default"]
    for key, value in parsed.config.items():
        # Encrypted with the stack's secrets provider: unreadable offline, kept secret.
        config[key] = SECRET_TEXT if key in parsed.secret_keys else value
    warning = parsed.environment_warning(stack_file.name)
    return StackFiles(str(project["name"]), config, list(parsed.secret_keys), [warning] if warning else [])


def validate(
    project: str,
    stack: str,
    config: Mapping[str, Any],
    *,
    today: date | None = None,
    published_versions: Collection[str] | None = None,
) -> StackConfig:
    """The same validation ``__main__`` runs, done before evaluating anything. ``today`` and
    ``published_versions`` (default ``None``: not checked) are passed to :func:`parse_stack_config`."""
    prefix = f"{NAMESPACE}:"
    raw = {k.removeprefix(prefix): v for k, v in config.items() if k.startswith(prefix)}
    return parse_stack_config(
        raw,
        project=project,
        stack=stack,
        region=config.get("aws:region"),
        today=today,
        published_versions=published_versions,
    )


def _as_config_string(value: Any) -> str:
    """What the Pulumi CLI hands a program: strings as is, everything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


class TransitionRefused(ConfigError):
    """The config asks for a change the deployed mesh must not get; ``problems`` names each one."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__(problems)
        self.args = (refusal_message(problems),)

    def __str__(self) -> str:
        return str(self.args[0])


def transition_for(cfg: StackConfig, deployed: Mapping[str, Any] | None) -> TransitionPlan:
    """The transition from the ``deployed`` outputs (None = nothing deployed) to ``cfg``, the same rules
    the program applies. Raises :class:`TransitionRefused` or :class:`ConfigError` (unreadable outputs)."""
    foreign = identity_problem(deployed or {}, cfg.project, cfg.stack)
    if foreign is not None:
        raise TransitionRefused([f"--deployed: {foreign}"])
    try:
        current = parse_deployed(deployed or {})
    except DeployedStateError as err:
        raise ConfigError([f"--deployed: {p}" for p in err.problems]) from None
    plan = plan_transition(current, desired_state(cfg), published_versions())
    if plan.refusals:
        raise TransitionRefused(plan.refusals)
    return plan


def read_deployed(path: Path) -> dict[str, Any]:
    """The outputs in ``path`` (``pulumi stack output --json --show-secrets`` or a plan JSON)."""
    try:
        document = json.loads(path.read_text())
        return dict(stack_outputs(document))
    except (OSError, ValueError) as err:
        raise ConfigError([f"--deployed {path}: {err}"]) from None


def checked_on() -> Today:
    """:func:`mesh.logic.clock.today`, its error as a :class:`ConfigError` (exit 2, the variable named).

    The plan asks it wherever the program under ``pulumi up`` asks the clock (``load_config``), so the two
    can never be handed different days: there is no ``today`` argument to disagree with the program."""
    try:
        return clock_today()
    except ClockError as err:
        raise ConfigError([str(err)]) from None


def evaluate(
    stack: str,
    project_dir: Path = ROOT,
    *,
    deployed: Mapping[str, Any] | None = None,
) -> tuple[StackConfig, ProgramRun]:
    """Validate the stack's config, then run ``__main__.py`` under mocks. Raises :class:`ConfigError`.
    EKS versions are checked for the day of :func:`checked_on`."""
    files = read_stack(stack, project_dir)
    published = published_versions()
    try:  # validated here too (evaluate_config repeats it) so that the error names the stack file
        validate(files.project, stack, files.config, today=checked_on().day, published_versions=published)
    except ConfigError as err:
        raise ConfigError(err.problems, source=f"Pulumi.{stack}.yaml") from None
    cfg, run = evaluate_config(
        files.project,
        stack,
        files.config,
        project_dir=project_dir,
        secret_keys=files.secret_keys,
        published_versions=published,
        deployed=deployed,
    )
    notes = list(files.warnings)
    if published is None:
        notes.append(
            f"cilium.version {cfg.cilium.version} not checked against the chart repository index: none in "
            "$CILIUM_CHARTS_DIR or the chart cache (`python -m mesh.charts update` fetches it)"
        )
    run.warnings[:0] = notes
    return cfg, run


def evaluate_config(
    project: str,
    stack: str,
    config: Mapping[str, Any],
    *,
    project_dir: Path = ROOT,
    secret_keys: Sequence[str] = (),
    published_versions: Collection[str] | None = None,
    deployed: Mapping[str, Any] | None = None,
    speedups: bool = True,
) -> tuple[StackConfig, ProgramRun]:
    """:func:`evaluate` for a config given as data (full keys, decoded YAML values). Kubernetes versions
    are checked for the day of :func:`checked_on` (the program under the mock runtime asks the same clock);
    ``published_versions`` as in :func:`validate`.

    ``deployed``: the stack's current outputs, served to the program's StackReference to itself (with a
    self-managed backend the organization is ``organization``). Refused transitions raise
    :class:`TransitionRefused` before the program runs. ``speedups``: see
    :func:`mesh.plan.harness.run_program`.
    """
    cfg = validate(project, stack, config, today=checked_on().day, published_versions=published_versions)
    transition_for(cfg, deployed)
    run = run_program(
        project_dir / "__main__.py",
        project=project,
        stack=stack,
        config={k: _as_config_string(v) for k, v in config.items()},
        secret_keys=list(secret_keys),
        mocks=PlanMocks(cfg.region),
        project_dir=project_dir,
        stack_outputs={f"organization/{project}/{stack}": dict(deployed or {})},
        speedups=speedups,
    )
    return cfg, run


def resource_json(reg: Registration, *, show_secrets: bool) -> dict[str, Any]:
    return {
        "urn": reg.urn,
        "type": reg.type,
        "name": reg.name,
        "parent": reg.parent,
        "provider": reg.provider,
        "inputs": to_json(reg.inputs, show_secrets=show_secrets),
        "dependencies": list(reg.dependencies),
        "propertyDependencies": {k: list(v) for k, v in reg.property_dependencies.items()},
        "options": dict(reg.options),
    }


def plan_document(run: ProgramRun, *, show_secrets: bool = False) -> dict[str, Any]:
    """The ``--json`` contract."""
    return {
        "project": run.project,
        "stack": run.stack,
        "resources": [resource_json(r, show_secrets=show_secrets) for r in run.registrations],
        "outputs": to_json(run.outputs, show_secrets=show_secrets),
        "warnings": list(run.warnings),
        "notes": list(run.infos),
        # The modelled first deploy: critical path seconds and resources (mesh/plan/deploy_model.py).
        "deploy": deploy_document(run),
    }


def plan_stack(stack: str, project_dir: Path = ROOT, *, show_secrets: bool = False) -> dict[str, Any]:
    """Python API of ``--json``: the plan document of ``stack``."""
    _, run = evaluate(stack, project_dir)
    return plan_document(run, show_secrets=show_secrets)


# --- human summary -------------------------------------------------------------------------------


def _get(values: Mapping[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


KEY_VALUES = (
    "cluster.name",
    "cluster.id",
    "routingMode",
    "tunnelProtocol",
    "ipam.mode",
    "ipam.operator.clusterPoolIPv4PodCIDRList",
    "ipam.operator.clusterPoolIPv4MaskSize",
    "kubeProxyReplacement",
    "k8sServiceHost",
    "k8sServicePort",
    "operator.replicas",
    "identityAllocationMode",
    "encryption.enabled",
    "clustermesh.useAPIServer",
    "clustermesh.maxConnectedClusters",
    "clustermesh.apiserver.kvstoremesh.enabled",
    "clustermesh.apiserver.tls.server.extraDnsNames",
    "clustermesh.apiserver.tls.auto.method",
    "upgradeCompatibility",
)


def _cluster_of(reg: Registration, by_urn: Mapping[str, Registration], types: Sequence[str]) -> str:
    """Name of the closest ancestor component of one of ``types`` (components are named by cluster)."""
    parent = reg.parent
    while parent in by_urn:
        p = by_urn[parent]
        if p.type in types:
            return p.name
        parent = p.parent
    return "?"


def transition_lines(transition: TransitionPlan, *, deployed_given: bool) -> list[str]:
    """The "Upgrade and rollout" section: what changes per cluster, in which order, and the notes."""
    out = ["Upgrade and rollout (mesh/logic/transitions.py)"]
    if not deployed_given:
        out.append("  deployed state: none given (--deployed PATH): planned as a first install")
    for r in transition.rollout.values():
        change = (
            f"{r.deployed_version} -> {r.desired_version}"
            if r.deployed_version and r.deployed_version != r.desired_version
            else r.desired_version
        )
        extra = [
            "canary (goes first)" if r.name == transition.canary else "",
            f"waits for {', '.join(r.wait_for)}" if r.wait_for else "",
            "pre-flight release cilium-preflight first" if r.preflight else "",
            f"upgradeCompatibility={r.upgrade_compatibility}" if r.upgrade_compatibility else "",
        ]
        out.append(f"  {r.name}: {r.kind} {change}" + "".join(f"; {e}" for e in extra if e))
    out += [f"  note: {n}" for n in transition.notes]
    out += [f"  warning: {w}" for w in transition.warnings]
    return out


def summary(
    cfg: StackConfig,
    run: ProgramRun,
    transition: TransitionPlan | None = None,
    *,
    deployed_given: bool = False,
    today: Today | None = None,
) -> str:
    """A reviewer's view: clusters, subnets, peerings, security rules, Cilium values, counts, and (with
    ``transition``) the upgrade and rollout section. ``today``: the day EKS versions were checked for,
    named in the header (default: not named)."""
    by_urn = {r.urn: r for r in run.registrations}
    out: list[str] = []
    w = out.append
    w(f"Plan of {run.project}/{run.stack} (offline: Pulumi mock runtime, no cloud calls)")
    if today is not None:
        w(f"EKS versions checked as of {today.describe()}: mesh/logic/eks_versions.py, as of {EKS_AS_OF}")
    w(
        f"account {cfg.account}, region {cfg.region}, AZs {', '.join(cfg.availability_zones)}, "
        f"NAT gateways: {cfg.network.nat_gateways}, EKS service CIDR {cfg.eks.service_cidr}"
    )
    w(textwrap.fill(OFFLINE_NOTE, width=110))
    w("")
    w("Clusters")
    for c in cfg.clusters:
        ng = cfg.node_group_for(c)
        w(
            f"  {c.name}  id={c.id}  vpc={c.vpc_cidr}  pods={c.pod_cidr}  "
            f"k8s={cfg.kubernetes_version(c)}  nodes={ng.min_size}/{ng.desired_size}/{ng.max_size} "
            f"{','.join(ng.instance_types)}"
        )
    w("")
    w("Subnets")
    names = [c.name for c in cfg.clusters]
    azs = list(cfg.availability_zones)

    def subnet_key(s: Registration) -> tuple[int, int, int, str]:
        az = s.inputs.get("availabilityZone")
        public = "kubernetes.io/role/elb" in (s.inputs.get("tags") or {})
        return cluster_rank(s, by_urn, names), int(public), azs.index(az) if az in azs else len(azs), s.name

    for s in sorted(run.by_type("aws:ec2/subnet:Subnet"), key=subnet_key):
        tags = s.inputs.get("tags") or {}
        tier = "public" if "kubernetes.io/role/elb" in tags else "private"
        w(f"  {s.name:<58} {s.inputs.get('availabilityZone', '?'):<12} {tier:<8} {s.inputs.get('cidrBlock')}")
    w("")
    w("VPC peerings, requester -> accepter (routes to the peer CIDR in every route table of both VPCs)")
    routes = [r for r in run.by_type("aws:ec2/route:Route") if r.inputs.get("vpcPeeringConnectionId")]
    peerings = []
    external = [p for p in run.by_type(PEERING_TYPE) if by_urn[p.parent].type == EXTERNAL_PEERING_TYPE]
    for p in run.by_type(PEERING_TYPE):
        if p in external:
            continue
        # Direction from the graph: vpcId is the requester's VPC, peerVpcId the accepter's.
        sides = []
        for prop in ("vpcId", "peerVpcId"):
            owner = next(
                (o[0] for u in p.property_dependencies.get(prop, ()) if (o := owner_and_step(u, by_urn))), "?"
            )
            sides.append(owner)
        peerings.append((sides, p))
    cidrs = {c.name: c.vpc_cidr for c in cfg.clusters}
    rank = {n: i for i, n in enumerate(names)}
    for (requester, accepter), p in sorted(
        peerings, key=lambda e: (rank.get(e[0][0], len(rank)), rank.get(e[0][1], len(rank)))
    ):
        mine = Counter(r.inputs.get("destinationCidrBlock") for r in routes if r.parent == p.parent)
        w(
            f"  {requester} -> {accepter}: {mine.get(cidrs.get(accepter), 0)} routes -> "
            f"{cidrs.get(accepter)} in {requester}, {mine.get(cidrs.get(requester), 0)} routes -> "
            f"{cidrs.get(requester)} in {accepter}"
        )
    if external:
        w("")
        w("External peerings, mesh VPC -> existing VPC (routes to its CIDR in every route table of the VPC)")
        for p in sorted(external, key=lambda p: (cluster_rank(p, by_urn, names), p.name)):
            i = p.inputs
            mine = [r for r in routes if r.parent == p.parent]
            spec = next(e for e in cfg.network.external_peerings if p.name.endswith(f"--ext-{e.name}"))
            back = sum(1 for r in mine if r.inputs.get("destinationCidrBlock") != spec.cidr)
            accept = {True: "accepted by this stack", False: "the owner accepts"}.get(
                i.get("autoAccept"), "accept decided at deploy time"
            )
            w(
                f"  {p.name}: {i.get('peerVpcId')} {spec.cidr} (account {i.get('peerOwnerId') or 'this'}, "
                f"region {i.get('peerRegion') or cfg.region}), {len(mine) - back} routes there, {back} back, "
                f"{accept}"
            )
    entries = next(iter(run.by_type("eks:index:Cluster")), None)
    if entries is not None and entries.inputs.get("accessEntries"):
        w("")
        w("EKS access entries (on every cluster, policies cluster-scoped; the creator is admin implicitly)")
        for _key, entry in sorted(entries.inputs["accessEntries"].items()):
            policies = ", ".join(sorted(entry.get("accessPolicies") or {})) or "-"
            groups = ", ".join(entry.get("kubernetesGroups") or ()) or "-"
            w(f"  {entry.get('principalArn')}: policies {policies}; groups {groups}")
    w("")
    zones = run.by_type("aws:route53/zone:Zone")
    if zones:
        w("Mesh addresses (Route53 private zone, CNAME to each cluster's own internal NLB)")
        for zone in zones:
            vpcs = [v.get("vpcId") for v in zone.inputs.get("vpcs") or []]
            w(f"  zone {zone.inputs.get('name')}: associated with {len(vpcs)} VPCs")
        records = run.by_type("aws:route53/record:Record")
        # Record names are <cluster>.<domain>: list them in config order.
        for record in sorted(
            records, key=lambda r: rank.get(str(r.inputs.get("name", "")).split(".")[0], len(rank))
        ):
            i = record.inputs
            w(f"  {i.get('name')} {i.get('type')} {', '.join(i.get('records') or [])} (ttl {i.get('ttl')})")
        w("")
    w("Security rules on the EKS cluster security group (mesh datapath from peers, tcp/443 for API access)")
    peer_of = {cidr: n for n, cidr in cidrs.items()}
    rules = run.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")

    def rule_key(r: Registration) -> tuple[int, int, str]:
        peer = peer_of.get(r.inputs.get("cidrIpv4"))
        return cluster_rank(r, by_urn, names), rank.get(peer or "", len(rank)), r.name

    for r in sorted(rules, key=rule_key):
        i = r.inputs
        ports = (
            f"{i.get('fromPort')}"
            if i.get("fromPort") == i.get("toPort")
            else f"{i.get('fromPort')}-{i.get('toPort')}"
        )
        if i.get("ipProtocol") == "icmp":
            ports = f"type {i.get('fromPort')} code {i.get('toPort')}"
        w(f"  {r.name:<70} {i.get('ipProtocol'):<5} {ports:<16} from {i.get('cidrIpv4')}")
    services = [s for s in run.by_type("kubernetes:core/v1:Service") if s.inputs.get("spec", {}).get("type")]
    for svc in sorted(services, key=lambda r: cluster_rank(r, by_urn, names)):
        spec = svc.inputs["spec"]
        if spec["type"] != "LoadBalancer":
            continue
        node_ports = ", ".join(f"{p.get('nodePort')}/tcp" for p in spec.get("ports") or [])
        sources = ", ".join(spec.get("loadBalancerSourceRanges") or [])
        w(
            f"  {svc.name}: node port {node_ports} from {sources}, opened by the Kubernetes service "
            "controller (loadBalancerSourceRanges), not by this stack"
        )
    w("")
    w("AWS quotas (this stack's use / the account's quota in network.quotas; per region and per AZ, what")
    w("the account already has there counts too)")
    for use, quota in quota_usage(cfg):
        w(f"  {use.quota:<40} {use.needed:>5} / {quota:<5} per {use.per:<15} {use.breakdown}")
    w("")
    w("Cilium releases")
    for rel in sorted(run.by_type(RELEASE_TYPE), key=lambda r: cluster_rank(r, by_urn, names)):
        values = reveal(rel.inputs.get("values") or {})
        w(
            f"  {rel.name}: chart {rel.inputs.get('chart')} {rel.inputs.get('version')} "
            f"(release {rel.inputs.get('name')!r} in {rel.inputs.get('namespace')})"
        )
        w(f"      after: {after_text(rel, by_urn, names)}")
        for key in KEY_VALUES:
            value = _get(values, key)
            if value is not None:
                w(f"      {key} = {json.dumps(value)}")
        for peer in _get(values, "clustermesh.config.clusters") or []:
            w(f"      mesh peer {peer.get('name')} -> {peer.get('address')}:{peer.get('port')}")
        deleted = release_values(reveal(rel.inputs)) if rel.inputs.get("valueYamlFiles") else {}
        for path in _deleted_paths(deleted):
            w(f"      {path} = null (chart default deleted, sent as a values file)")
    if transition is not None:
        w("")
        out.extend(transition_lines(transition, deployed_given=deployed_given))
    w("")
    out.extend(deploy_text_lines(estimate_run(run)))
    w("")
    w("Resources by type")
    counts = Counter(r.type for r in run.registrations)
    for type_, n in sorted(counts.items()):
        w(f"  {n:>4}  {type_}")
    w(f"  {sum(counts.values()):>4}  total")
    if run.warnings:
        w("")
        w("Warnings")
        out.extend(f"  {m}" for m in run.warnings)
    w("")
    w(f"Values containing '{PLACEHOLDER}' (ids, endpoints, load-balancer hostnames) are computed by AWS at")
    w("deploy time; the plan uses deterministic placeholders for them.")
    return "\n".join(out)


def render_dir(run: ProgramRun, directory: Path, *, show_secrets: bool = False) -> list[Path]:
    """Render every Cilium release with the real chart and its exact values, one folder per release.

    Writes ``<release>/values.yaml`` (what Helm receives: the release's values files, then its values) and
    ``<release>/cilium/templates/...``; Secret data and the CA key are redacted unless ``show_secrets`` (the
    folder is meant to be a pull-request artifact). Then checks every rendered object with the API server's
    rules and raises :class:`AdmissionError` listing each violation (the files stay, to be read).
    """
    from mesh.plan.render import render_cilium, rendered_documents, write_manifests

    written: list[Path] = []
    violations = []
    for rel in run.by_type(RELEASE_TYPE):
        values = release_values(reveal(rel.inputs))
        # The chart comes from the release's own repository, as Helm would fetch it (CILIUM_CHART_REPO wins).
        repository = (rel.inputs.get("repositoryOpts") or {}).get("repo")
        manifests = render_cilium(values, str(rel.inputs.get("version")), repository)
        folder = directory / rel.name
        folder.mkdir(parents=True, exist_ok=True)
        shown = values if show_secrets else _redact_ca_key(values)
        (folder / "values.yaml").write_text(yaml.safe_dump(shown, sort_keys=True))
        written.append(folder / "values.yaml")
        written += write_manifests(manifests, folder, redact_secrets=not show_secrets)
        violations += manifest_violations(rel.name, rendered_documents(manifests))
    if violations:
        raise AdmissionError(violations)
    return written


def _deleted_paths(values: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of the ``None`` leaves of `values` (chart defaults the release deletes)."""
    paths: list[str] = []
    for key, value in values.items():
        if value is None:
            paths.append(f"{prefix}{key}")
        elif isinstance(value, Mapping):
            paths += _deleted_paths(value, f"{prefix}{key}.")
    return paths


def _redact_ca_key(values: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(values))
    if _get(out, "tls.ca.key"):
        out["tls"]["ca"]["key"] = SECRET_TEXT
    return out


EPILOG = """\
prerequisites:
  Python 3.11+ with requirements.txt and requirements-dev.txt (`make plan` creates ./venv). No AWS
  account, Pulumi CLI or provider plugins: the program runs under Pulumi's mock runtime.
  --render-dir needs the Cilium chart archive of cilium.version: from CILIUM_CHARTS_DIR, the cache, or
  downloaded from the repository (network) and verified against cilium-charts.lock (`make charts`).

environment variables:
  CILIUM_CHARTS_DIR  read-only directory with cilium-<version>.tgz and the repository's index.yaml,
                     searched first (the index checks that cilium.version is published)
  XDG_CACHE_HOME     caches under cilium-mesh/ (default ~/.cache): charts/ (archives, index, published
                     versions) and sdk-code/ (the SDK modules compiled for the plan)
  CILIUM_CHART_REPO  chart repository URL, overrides cilium.repository (see python -m mesh.charts)
  CILIUM_MESH_TODAY  YYYY-MM-DD: check the EKS versions as of that day instead of today's date (UTC);
                     the tests and CI's offline plans pin it (tests/pinned-today, mesh/logic/clock.py)
  CILIUM_MESH_STOCK_SDK_IMPORTS
                     set to import the Pulumi SDKs unchanged (slower; for comparing, mesh/plan/sdk_imports.py)

exit codes:
  0  planned (and compared)
  2  invalid stack file or config: every problem on stderr, naming the file and the key; a chart
     that cannot be fetched or verified; an unreadable --compare plan; an object the Kubernetes API server
     would refuse (its own validation rules, mesh/logic/apiserver_rules.py: object, field and rule named).
     Never a traceback.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mesh.plan",
        description=__doc__.split("\n\n")[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("stack", help="stack name: reads Pulumi.STACK.yaml")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the plan document here")
    parser.add_argument("--show-secrets", action="store_true", help="print secret values in the JSON")
    parser.add_argument(
        "--render-dir", type=Path, metavar="DIR", help="write each cluster's rendered Cilium manifests here"
    )
    parser.add_argument(
        "--deployed",
        type=Path,
        metavar="PATH",
        help="plan against these outputs (`pulumi stack output --json --show-secrets`, or a plan JSON)",
    )
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="BASE_PLAN",
        help="print what changes from this plan JSON (e.g. the base branch's --json) to this plan",
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        metavar="PATH",
        help="write a Markdown summary of the modelled deploy (critical path, mermaid gantt) here",
    )
    parser.add_argument(
        "--compare-render-dir",
        type=Path,
        metavar="BASE_DIR",
        help="with --compare and --render-dir: also diff the rendered manifests against this --render-dir",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.compare_render_dir and not (args.compare and args.render_dir):
        parser.error("--compare-render-dir needs --compare BASE_PLAN and --render-dir DIR")
    try:
        base = load_plan(args.compare) if args.compare else None
        deployed = read_deployed(args.deployed) if args.deployed else None
        today = checked_on()
        cfg, run = evaluate(args.stack, ROOT, deployed=deployed)
        refused = program_violations(run)
        if refused:
            raise AdmissionError(refused)
    except (ConfigError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    transition = transition_for(cfg, deployed)
    print(summary(cfg, run, transition, deployed_given=deployed is not None, today=today))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(plan_document(run, show_secrets=args.show_secrets), indent=2) + "\n")
        print(f"\nplan JSON written to {args.json}")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(deploy_markdown(estimate_run(run), run.project, run.stack))
        print(f"deploy summary written to {args.markdown}")
    if args.render_dir:
        try:
            written = render_dir(run, args.render_dir, show_secrets=args.show_secrets)
        except ChartError as err:
            print(f"error: cannot render the Cilium chart: {err}", file=sys.stderr)
            return 2
        except AdmissionError as err:
            print(f"error: rendered into {args.render_dir}, but {err}", file=sys.stderr)
            return 2
        print(f"rendered {len(written)} manifests into {args.render_dir}")
    if base is not None:
        # Compared with secrets masked on both sides, whatever --show-secrets wrote.
        diff = compare(
            base,
            plan_document(run),
            cluster_order=[c.name for c in cfg.clusters],
            base_render_dir=args.compare_render_dir,
            head_render_dir=args.render_dir if args.compare_render_dir else None,
        )
        print()
        print(render_text(diff, base_label=str(args.compare), head_label=f"this plan of {args.stack}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
