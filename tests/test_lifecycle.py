"""A real first `pulumi up`, later updates and `pulumi destroy` (issue 10): ordering edges, no cross-cluster
waits, no state-dropping provider option, and inputs that do not depend on the machine running Pulumi.

Evaluated offline on devstg and a synthetic 4-cluster stack; every assertion is about the plan's edges and
input values.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from mesh.logic.config import ConfigError, StackConfig
from mesh.plan.cli import ROOT, evaluate_config, read_stack_files
from mesh.plan.harness import ProgramRun, Registration, to_json
from mesh.plan.synthetic import synthetic_config

CLUSTER = "cilium-mesh:index:Cluster"
PATCH = "kubernetes:apps/v1:DaemonSetPatch"
RELEASE = "kubernetes:helm.sh/v3:Release"
NODE_GROUP = "eks:index:ManagedNodeGroup"
EKS = "eks:index:Cluster"
K8S_PROVIDER = "pulumi:providers:kubernetes"
SERVICE = "kubernetes:core/v1:Service"
ZONE = "aws:route53/zone:Zone"
RECORD = "aws:route53/record:Record"
MESH = "cilium-mesh:index:Mesh"


@pytest.fixture(scope="module")
def four() -> tuple[StackConfig, ProgramRun]:
    return evaluate_config("cilium-mesh", "four", synthetic_config(4))


@pytest.fixture(params=["devstg", "four"])
def stack(request: pytest.FixtureRequest) -> tuple[StackConfig, ProgramRun]:
    return request.getfixturevalue(request.param)


def cluster_of(run: ProgramRun, reg: Registration) -> str | None:
    """The cluster (top-level ``cilium-mesh:index:Cluster`` component) a registration belongs to."""
    by_urn = {r.urn: r for r in run.registrations}
    current: Registration | None = reg
    while current is not None:
        if current.type == CLUSTER:
            return current.name
        current = by_urn.get(current.parent)
    return None


def one(run: ProgramRun, type_: str, cluster: str) -> Registration:
    (reg,) = [r for r in run.by_type(type_) if cluster_of(run, r) == cluster]
    return reg


def waits_for(run: ProgramRun, reg: Registration) -> set[str]:
    """Every URN ``reg`` waits for: its dependencies, theirs, and so on (explicit and through inputs)."""
    by_urn = {r.urn: r for r in run.registrations}
    seen: set[str] = set()
    todo = [reg.urn]
    while todo:
        current = by_urn.get(todo.pop())
        if current is None:
            continue
        deps: set[str] = set(current.dependencies)
        for urns in current.property_dependencies.values():
            deps.update(urns)
        for urn in deps - seen:
            seen.add(urn)
            todo.append(urn)
    return seen


def clusters_of(run: ProgramRun, urns: Iterable[str]) -> set[str]:
    by_urn = {r.urn: r for r in run.registrations}
    return {name for urn in urns if urn in by_urn and (name := cluster_of(run, by_urn[urn])) is not None}


# --- 1. node group vs. CNI ------------------------------------------------------------------------------


def test_release_and_node_group_both_follow_the_patches_in_parallel(
    stack: tuple[StackConfig, ProgramRun],
) -> None:
    cfg, run = stack
    for c in cfg.clusters:
        patches = [p for p in run.by_type(PATCH) if cluster_of(run, p) == c.name]
        assert sorted(p.inputs["metadata"]["name"] for p in patches) == ["aws-node", "kube-proxy"]
        release, node_group = one(run, RELEASE, c.name), one(run, NODE_GROUP, c.name)
        for patch in patches:
            assert patch.urn in release.dependencies and patch.urn in node_group.dependencies
        # Nodes stay NotReady until their Cilium agent runs: a release waiting for the node group would
        # hold the group in CREATING until NodeCreationFailure.
        assert node_group.urn not in waits_for(run, release)
        assert release.urn not in waits_for(run, node_group)
        assert node_group.inputs["taints"][0]["key"] == "node.cilium.io/agent-not-ready"
        # Helm's wait covers the nodes joining meanwhile; atomic rolls a timed-out install back.
        assert release.inputs["timeout"] == cfg.cilium.timeout_seconds == 900
        assert release.inputs["atomic"] is True


def test_no_release_waits_for_another_clusters_release(stack: tuple[StackConfig, ProgramRun]) -> None:
    cfg, run = stack
    releases = {c.name: one(run, RELEASE, c.name) for c in cfg.clusters}
    for name, release in releases.items():
        waited = waits_for(run, release)
        assert not {r.urn for n, r in releases.items() if n != name} & waited, name


# --- 5. deleteUnreachable ------------------------------------------------------------------------------


def test_kubernetes_providers_never_drop_unreachable_objects_from_state(
    stack: tuple[StackConfig, ProgramRun],
) -> None:
    cfg, run = stack
    providers = run.by_type(K8S_PROVIDER)
    assert len(providers) == len(cfg.clusters)
    for provider in providers:
        # Absent, not false: a provider value would override PULUMI_K8S_DELETE_UNREACHABLE=true.
        assert "deleteUnreachable" not in provider.inputs, provider.name


# --- 7. no drift between machines ----------------------------------------------------------------------


def _machine_sensitive_inputs(run: ProgramRun) -> dict[str, object]:
    return {
        r.urn: to_json(r.inputs, show_secrets=True)
        for r in run.registrations
        if r.type in (EKS, K8S_PROVIDER, RELEASE)
    }


def test_eks_provider_and_release_inputs_ignore_the_aws_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    project, config, _ = read_stack_files("devstg", ROOT)
    assert config.get("aws:profile"), "devstg sets aws:profile; this test compares with and without it"
    _, laptop = evaluate_config(project, "devstg", config)
    without = {k: v for k, v in config.items() if k != "aws:profile"}
    monkeypatch.setenv("AWS_PROFILE", "someone-elses-profile")
    _, ci = evaluate_config(project, "devstg", without)
    laptop_inputs, ci_inputs = _machine_sensitive_inputs(laptop), _machine_sensitive_inputs(ci)
    assert len(laptop_inputs) == 3 * 2 and laptop_inputs == ci_inputs
    for reg in laptop.by_type(EKS):
        # pulumi-eks fills an unset providerCredentialOpts from AWS_PROFILE / aws:profile; empty pins it.
        assert reg.inputs["providerCredentialOpts"] == {}


# --- 2. mesh addresses: no cross-cluster waits ---------------------------------------------------------


def test_each_cluster_publishes_its_own_nlb_in_a_zone_of_every_mesh_vpc(
    stack: tuple[StackConfig, ProgramRun],
) -> None:
    cfg, run = stack
    domain = cfg.cilium.clustermesh.domain
    (zone,) = run.by_type(ZONE)
    assert zone.inputs["name"] == domain == "mesh.cilium.io"
    assert cluster_of(run, zone) is None and zone.parent.endswith(f"{MESH}::mesh")
    vpc_ids = {v.id for v in run.by_type("aws:ec2/vpc:Vpc")}
    assert len(vpc_ids) == len(cfg.clusters)
    # A private zone answers only in VPCs with DNS support and hostnames on.
    for vpc in run.by_type("aws:ec2/vpc:Vpc"):
        assert vpc.inputs["enableDnsSupport"] is True and vpc.inputs["enableDnsHostnames"] is True
    # Private (VPCs inline), every VPC, and one association style only.
    assert sorted(v["vpcId"] for v in zone.inputs["vpcs"]) == sorted(vpc_ids)
    assert run.by_type("aws:route53/zoneAssociation:ZoneAssociation") == []
    services = {
        cluster_of(run, s): s for s in run.by_type(SERVICE) if s.inputs["spec"]["type"] == "LoadBalancer"
    }
    assert set(services) == {c.name for c in cfg.clusters}
    for c in cfg.clusters:
        record = one(run, RECORD, c.name)
        own = services[c.name]
        assert record.inputs["name"] == f"{c.name}.{domain}"
        assert record.inputs["type"] == "CNAME" and record.inputs["ttl"] == 60
        assert record.inputs["records"] == [own.outputs["status"]["loadBalancer"]["ingress"][0]["hostname"]]
        assert record.inputs["zoneId"] == zone.outputs["zoneId"]
        assert record.property_dependencies["records"] == [own.urn]
        # It follows its own Service; of other clusters it waits only for their VPCs (through the zone).
        by_urn = {r.urn: r for r in run.registrations}
        foreign = {
            by_urn[u].type for u in waits_for(run, record) if cluster_of(run, by_urn[u]) not in (None, c.name)
        }
        assert foreign == {"aws:ec2/vpc:Vpc"}


def test_releases_dial_peers_by_mesh_name_and_wait_for_no_other_cluster(
    stack: tuple[StackConfig, ProgramRun],
) -> None:
    cfg, run = stack
    domain, port = cfg.cilium.clustermesh.domain, cfg.cilium.clustermesh.port
    route53_or_lb = {r.urn for r in run.registrations if r.type in (ZONE, RECORD, SERVICE)}
    for c in cfg.clusters:
        release = one(run, RELEASE, c.name)
        mesh = release.inputs["values"]["clustermesh"]
        assert mesh["config"]["domain"] == domain
        assert {(p["name"], p["address"], p["port"]) for p in mesh["config"]["clusters"]} == {
            (p.name, f"{p.name}.{domain}", port) for p in cfg.clusters if p.name != c.name
        }
        assert mesh["apiserver"]["tls"]["server"]["extraDnsNames"] == [f"{c.name}.{domain}"]
        waited = waits_for(run, release)
        assert clusters_of(run, waited) == {c.name}
        # Not even its own load balancer or record: the release never waits for an NLB.
        assert not waited & route53_or_lb


def test_a_custom_mesh_domain_names_the_zone_records_and_values() -> None:
    config = synthetic_config(2)
    config["cilium-mesh:cilium"] = {"version": "1.16.3", "clustermesh": {"domain": "mesh.corp.internal"}}
    cfg, run = evaluate_config("cilium-mesh", "custom-domain", config)
    (zone,) = run.by_type(ZONE)
    assert zone.inputs["name"] == "mesh.corp.internal"
    names = {c.name for c in cfg.clusters}
    assert {r.inputs["name"] for r in run.by_type(RECORD)} == {f"{n}.mesh.corp.internal" for n in names}
    for c in cfg.clusters:
        server = one(run, RELEASE, c.name).inputs["values"]["clustermesh"]["apiserver"]["tls"]["server"]
        assert server == {"extraDnsNames": [f"{c.name}.mesh.corp.internal"]}


def test_no_zone_or_record_without_a_mesh() -> None:
    _, run = evaluate_config("cilium-mesh", "solo", synthetic_config(1))
    assert run.by_type(ZONE) == [] and run.by_type(RECORD) == []


# --- 10. outputs for other stacks ----------------------------------------------------------------------


def test_outputs_give_other_stacks_each_clusters_network_identity_and_mesh_address(
    stack: tuple[StackConfig, ProgramRun],
) -> None:
    cfg, run = stack
    domain, port = cfg.cilium.clustermesh.domain, cfg.cilium.clustermesh.port
    clusters = run.outputs["clusters"]
    for c in cfg.clusters:
        out = clusters[c.name]
        vpc = one(run, "aws:ec2/vpc:Vpc", c.name)
        subnets = [s for s in run.by_type("aws:ec2/subnet:Subnet") if cluster_of(run, s) == c.name]
        private = [s.id for s in subnets if "kubernetes.io/role/internal-elb" in s.inputs["tags"]]
        eks, node_group = one(run, EKS, c.name), one(run, NODE_GROUP, c.name)
        role = one(run, "aws:iam/role:Role", c.name)
        assert out["vpcId"] == vpc.id
        assert out["privateSubnetIds"] == private == node_group.inputs["subnetIds"]
        assert out["clusterSecurityGroupId"] == eks.outputs["clusterSecurityGroupId"]
        assert out["oidcProviderArn"] == eks.outputs["oidcProviderArn"]
        assert out["oidcProviderUrl"] == eks.outputs["oidcProviderUrl"]
        assert out["oidcProviderArn"].endswith(out["oidcProviderUrl"].removeprefix("https://"))
        assert out["nodeRoleArn"] == role.outputs["arn"]
        assert node_group.inputs["nodeRole"].urn == role.urn
        assert out["meshAddress"] == f"{c.name}.{domain}:{port}"
    (zone,) = run.by_type(ZONE)
    assert run.outputs["mesh"] == {
        "domain": domain,
        "zoneId": zone.outputs["zoneId"],
        "addresses": {c.name: f"{c.name}.{domain}:{port}" for c in cfg.clusters},
    }


def test_a_single_cluster_exports_no_mesh() -> None:
    _, run = evaluate_config("cilium-mesh", "solo", synthetic_config(1))
    assert run.outputs.get("mesh") is None
    (out,) = run.outputs["clusters"].values()
    assert out["meshAddress"] is None and out["vpcId"].startswith("vpc-")


# --- 6. one owner for the clustermesh node port -------------------------------------------------------


def test_the_service_controller_is_the_only_owner_of_the_node_port_ingress(
    stack: tuple[StackConfig, ProgramRun],
) -> None:
    cfg, run = stack
    node_port = cfg.cilium.clustermesh.node_port
    rules = run.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert rules  # the datapath rules exist; none of them is the node port's
    for r in rules:
        low, high = r.inputs["fromPort"], r.inputs["toPort"]
        assert not (r.inputs["ipProtocol"] in ("tcp", "-1") and low <= node_port <= high), r.name
    for c in cfg.clusters:
        (service,) = [
            s
            for s in run.by_type(SERVICE)
            if cluster_of(run, s) == c.name and s.inputs["spec"]["type"] == "LoadBalancer"
        ]
        spec = service.inputs["spec"]
        assert [p["nodePort"] for p in spec["ports"]] == [node_port]
        # What the controller opens the node port to: the peer VPCs, nothing else.
        assert spec["loadBalancerSourceRanges"] == sorted(
            p.vpc_cidr for p in cfg.clusters if p.name != c.name
        )
        # The in-tree controller refuses any sessionAffinity but None for a load balancer.
        assert spec.get("sessionAffinity", "None") == "None"


# --- 8. destroy leaves nothing behind ------------------------------------------------------------------

NETWORK = (
    "aws:ec2/subnet:Subnet",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/routeTable:RouteTable",
)


def test_load_balancer_services_are_deleted_before_their_network(
    stack: tuple[StackConfig, ProgramRun],
) -> None:
    cfg, run = stack
    services = [s for s in run.by_type(SERVICE) if s.inputs["spec"]["type"] == "LoadBalancer"]
    assert len(services) == len(cfg.clusters)
    for service in services:
        name = cluster_of(run, service)
        network = {r.urn for r in run.registrations if r.type in NETWORK and cluster_of(run, r) == name}
        assert {t for t in NETWORK if any(t in u for u in network)} == set(NETWORK)
        # Destroy runs in reverse dependency order: the Service (and so its NLB) goes before all of these.
        assert network <= set(service.dependencies), name
        # Never skipped on destroy: a retained or deletedWith Service would leak its NLB into the subnets.
        assert not service.options.get("retainOnDelete") and not service.options.get("deletedWith")


def test_the_control_plane_log_group_is_created_first_with_a_retention(
    stack: tuple[StackConfig, ProgramRun],
) -> None:
    cfg, run = stack
    for c in cfg.clusters:
        log_group = one(run, "aws:cloudwatch/logGroup:LogGroup", c.name)
        assert log_group.inputs["name"] == f"/aws/eks/{c.name}/cluster"
        assert log_group.inputs["retentionInDays"] == cfg.eks.log_retention_days == 30
        assert not log_group.inputs.get("skipDestroy") and not log_group.options.get("retainOnDelete")
        # Before EKS, which would otherwise create it itself, without retention, and never delete it.
        assert log_group.urn in one(run, EKS, c.name).dependencies


def test_log_retention_is_configurable_and_checked() -> None:
    config = synthetic_config(2)
    config["cilium-mesh:eks"] = {"logRetentionDays": 90}
    _, run = evaluate_config("cilium-mesh", "retention", config)
    assert {g.inputs["retentionInDays"] for g in run.by_type("aws:cloudwatch/logGroup:LogGroup")} == {90}
    config["cilium-mesh:eks"] = {"logRetentionDays": 31}
    with pytest.raises(ConfigError) as info:
        evaluate_config("cilium-mesh", "retention", config)
    assert any(p.startswith("eks.logRetentionDays: 31 is not a CloudWatch") for p in info.value.problems)


def test_the_control_plane_uses_the_private_subnets_only(stack: tuple[StackConfig, ProgramRun]) -> None:
    cfg, run = stack
    for c in cfg.clusters:
        eks = one(run, EKS, c.name)
        subnets = [s for s in run.by_type("aws:ec2/subnet:Subnet") if cluster_of(run, s) == c.name]
        private = [s.id for s in subnets if "kubernetes.io/role/internal-elb" in s.inputs["tags"]]
        assert len(private) == len(cfg.availability_zones)
        # pulumi-eks puts public + private ids into the control plane's subnets: send private ones only.
        assert eks.inputs["privateSubnetIds"] == private
        assert "publicSubnetIds" not in eks.inputs and "subnetIds" not in eks.inputs
