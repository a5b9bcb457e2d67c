"""The resource graph of the real program, evaluated offline: values and ordering edges users rely on."""

from __future__ import annotations

import ipaddress
from itertools import combinations

import pytest

from mesh.logic.config import StackConfig
from mesh.plan.cli import evaluate_config
from mesh.plan.harness import ProgramRun, Registration
from mesh.plan.synthetic import synthetic_config

PATCH = "kubernetes:apps/v1:DaemonSetPatch"
RELEASE = "kubernetes:helm.sh/v3:Release"
NODE_GROUP = "eks:index:ManagedNodeGroup"
COREDNS = "kubernetes:apps/v1:DeploymentPatch"
SERVICE = "kubernetes:core/v1:Service"
RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"


def owned_by(run: ProgramRun, reg: Registration, component_type: str) -> str | None:
    """Name of the nearest ancestor component of ``component_type`` (components are named by cluster)."""
    by_urn = {r.urn: r for r in run.registrations}
    parent = reg.parent
    while parent in by_urn:
        if by_urn[parent].type == component_type:
            return by_urn[parent].name
        parent = by_urn[parent].parent
    return None


def of_cluster(run: ProgramRun, type_: str, cluster: str, component: str) -> list[Registration]:
    return [r for r in run.by_type(type_) if owned_by(run, r, component) == cluster]


@pytest.fixture(params=["devstg", "three"])
def stack(request: pytest.FixtureRequest) -> tuple[StackConfig, ProgramRun]:
    return request.getfixturevalue(request.param)


def test_node_group_and_release_wait_for_both_daemonset_patches(
    stack: tuple[StackConfig, ProgramRun],
) -> None:
    cfg, run = stack
    for c in cfg.clusters:
        patches = of_cluster(run, PATCH, c.name, "cilium-mesh:mesh:CniTakeover")
        assert sorted(p.inputs["metadata"]["name"] for p in patches) == ["aws-node", "kube-proxy"]
        (node_group,) = of_cluster(run, NODE_GROUP, c.name, "cilium-mesh:mesh:ClusterNodes")
        (release,) = of_cluster(run, RELEASE, c.name, "cilium-mesh:mesh:CiliumRelease")
        for patch in patches:
            assert patch.urn in node_group.dependencies, (c.name, patch.name)
            assert patch.urn in release.dependencies, (c.name, patch.name)
        # In parallel: a node group waiting for its nodes' CNI would deadlock (tests/test_lifecycle.py).
        assert not run.depends_on(release, node_group)


def test_coredns_is_rolled_after_the_release(stack: tuple[StackConfig, ProgramRun]) -> None:
    cfg, run = stack
    for c in cfg.clusters:
        (coredns,) = of_cluster(run, COREDNS, c.name, "cilium-mesh:mesh:CorednsRollout")
        (release,) = of_cluster(run, RELEASE, c.name, "cilium-mesh:mesh:CiliumRelease")
        assert release.urn in coredns.dependencies
        assert coredns.inputs["spec"]["replicas"] == cfg.coredns.replicas
        # A fixed restart key: the pods roll once, and a re-run with the same config changes nothing.
        annotations = coredns.inputs["spec"]["template"]["metadata"]["annotations"]
        assert annotations == {"cilium-mesh.io/restarted-for": f"cilium/{c.pod_cidr}"}
        assert coredns.options.get("retainOnDelete") is True


def test_mesh_load_balancer_is_internal_and_only_peers_may_connect(
    stack: tuple[StackConfig, ProgramRun],
) -> None:
    cfg, run = stack
    for c in cfg.clusters:
        (svc,) = of_cluster(run, SERVICE, c.name, "cilium-mesh:mesh:MeshEndpoint")
        meta, spec = svc.inputs["metadata"], svc.inputs["spec"]
        assert meta["annotations"]["service.beta.kubernetes.io/aws-load-balancer-internal"] == "true"
        assert spec["type"] == "LoadBalancer"
        assert spec["loadBalancerSourceRanges"] == sorted(
            p.vpc_cidr for p in cfg.clusters if p.name != c.name
        )
        assert spec["ports"][0]["nodePort"] == cfg.cilium.clustermesh.node_port


def test_every_pair_is_peered_with_routes_in_every_route_table(stack: tuple[StackConfig, ProgramRun]) -> None:
    cfg, run = stack
    peerings = run.by_type("aws:ec2/vpcPeeringConnection:VpcPeeringConnection")
    assert len(peerings) == len(cfg.clusters) * (len(cfg.clusters) - 1) // 2
    tables = {
        c.name: of_cluster(run, ROUTE_TABLE, c.name, "cilium-mesh:network:ClusterVpc") for c in cfg.clusters
    }
    # public + one private per AZ
    assert all(len(t) == 1 + len(cfg.availability_zones) for t in tables.values())
    routes = [r for r in run.by_type(ROUTE) if r.inputs.get("vpcPeeringConnectionId")]
    for a, b in combinations(cfg.clusters, 2):
        for owner, peer in ((a, b), (b, a)):
            table_ids = {t.id for t in tables[owner.name]}
            to_peer = {
                r.inputs["routeTableId"] for r in routes if r.inputs["destinationCidrBlock"] == peer.vpc_cidr
            }
            assert table_ids <= to_peer, (owner.name, peer.name)
    assert len(routes) == sum(len(t) for t in tables.values()) * (len(cfg.clusters) - 1)


def test_datapath_rules_open_exactly_the_mesh_ports_to_peer_vpcs_only(
    stack: tuple[StackConfig, ProgramRun],
) -> None:
    cfg, run = stack
    # Not the clustermesh NLB's node port: the service controller owns it (tests/test_lifecycle.py).
    expected = {("udp", 8472, 8472), ("tcp", 4240, 4240), ("icmp", 8, 0)}
    eks_clusters = {
        owned_by(run, e, "cilium-mesh:mesh:EksCluster"): e for e in run.by_type("eks:index:Cluster")
    }
    for c in cfg.clusters:
        rules = of_cluster(run, RULE, c.name, "cilium-mesh:network:MeshSecurityRules")
        sg = eks_clusters[c.name].outputs["clusterSecurityGroupId"]
        for peer in cfg.clusters:
            if peer.name == c.name:
                continue
            mine = {
                (r.inputs["ipProtocol"], r.inputs["fromPort"], r.inputs["toPort"])
                for r in rules
                if r.inputs["cidrIpv4"] == peer.vpc_cidr
            }
            assert mine == expected, (c.name, peer.name)
        assert {r.inputs["securityGroupId"] for r in rules} == {sg}
        assert len(rules) == len(expected) * (len(cfg.clusters) - 1)
    for r in run.by_type(RULE):
        assert ipaddress.ip_network(r.inputs["cidrIpv4"]).prefixlen >= 16


def test_eks_leaves_networking_add_ons_to_the_takeover(devstg: tuple[StackConfig, ProgramRun]) -> None:
    cfg, run = devstg
    for eks in run.by_type("eks:index:Cluster"):
        i = eks.inputs
        assert i["useDefaultVpcCni"] is True
        assert i["kubeProxyAddonOptions"]["enabled"] is False
        assert i["corednsAddonOptions"]["enabled"] is False
        assert i["skipDefaultNodeGroup"] is True
        assert i["endpointPrivateAccess"] is True and i["endpointPublicAccess"] is False
        assert "publicAccessCidrs" not in i  # AWS would read an absent list as 0.0.0.0/0
        assert i["authenticationMode"] == "API" and i["createOidcProvider"] is True
        assert i["kubernetesServiceIpAddressRange"] == cfg.eks.service_cidr
        assert sorted(i["enabledClusterLogTypes"]) == sorted(cfg.eks.enabled_log_types)
        assert i["encryptionConfigKeyArn"].startswith("arn:aws:kms:us-east-1:")
        assert i["version"] == cfg.eks.kubernetes_version


def test_node_groups_are_tainted_private_and_imdsv2(devstg: tuple[StackConfig, ProgramRun]) -> None:
    cfg, run = devstg
    for c in cfg.clusters:
        (ng,) = of_cluster(run, NODE_GROUP, c.name, "cilium-mesh:mesh:ClusterNodes")
        i = ng.inputs
        assert i["taints"] == [
            {"key": "node.cilium.io/agent-not-ready", "value": "true", "effect": "NO_EXECUTE"}
        ]
        assert i["enableIMDSv2"] is True or i.get("enableImdSv2") is True
        assert i["operatingSystem"] == "AL2023"
        group = cfg.node_group_for(c)
        assert i["scalingConfig"] == {
            "minSize": group.min_size,
            "desiredSize": group.desired_size,
            "maxSize": group.max_size,
        }
        subnets = of_cluster(run, "aws:ec2/subnet:Subnet", c.name, "cilium-mesh:network:ClusterVpc")
        private = {s.id for s in subnets if "kubernetes.io/role/internal-elb" in s.inputs["tags"]}
        assert set(i["subnetIds"]) == private and len(private) == len(cfg.availability_zones)


def test_takeover_patches_are_forced_and_never_block_destroy(devstg: tuple[StackConfig, ProgramRun]) -> None:
    _, run = devstg
    for patch in run.by_type(PATCH):
        assert patch.inputs["spec"]["template"]["spec"]["nodeSelector"] == {"no-such-node": "true"}
        assert patch.inputs["metadata"]["annotations"] == {"pulumi.com/patchForce": "true"}
        assert patch.inputs["metadata"]["namespace"] == "kube-system"
        assert patch.options.get("retainOnDelete") is True


def test_every_kubernetes_resource_uses_its_clusters_explicit_provider(
    devstg: tuple[StackConfig, ProgramRun],
) -> None:
    cfg, run = devstg
    providers = {
        owned_by(run, p, "cilium-mesh:mesh:EksCluster"): p for p in run.by_type("pulumi:providers:kubernetes")
    }
    assert set(providers) == {c.name for c in cfg.clusters}
    for p in providers.values():
        assert p.inputs["enableServerSideApply"] == "true" or p.inputs["enableServerSideApply"] is True
    for r in run.registrations:
        if r.type.startswith("kubernetes:") and r.custom:
            assert "default" not in r.provider.split("::")[-2], r.name
            cluster = r.provider.split("::")[3].split("::")[0]
            assert cluster.endswith("-k8s") and r.provider.startswith(providers[cluster[:-4]].urn)


def test_mesh_ca_is_shared_and_its_key_stays_secret(devstg: tuple[StackConfig, ProgramRun]) -> None:
    from mesh.plan.harness import Secret

    _, run = devstg
    cas = set()
    for release in run.by_type(RELEASE):
        ca = release.inputs["values"]["tls"]["ca"]
        assert isinstance(ca["key"], Secret)
        assert not isinstance(ca["cert"], Secret)
        cas.add(ca["cert"])
        assert not isinstance(release.inputs["values"]["cluster"], Secret)
    assert len(cas) == 1


def test_wireguard_adds_its_rule_and_values() -> None:
    config = synthetic_config(2)
    config["cilium-mesh:cilium"] = {"version": "1.16.3", "wireguard": True}
    _, run = evaluate_config("cilium-mesh", "wg", config)
    wg = [r for r in run.by_type(RULE) if r.inputs["fromPort"] == 51871]
    assert sorted(r.inputs["cidrIpv4"] for r in wg) == ["10.1.0.0/16", "10.2.0.0/16"]
    assert all(r.inputs["ipProtocol"] == "udp" for r in wg)
    for release in run.by_type(RELEASE):
        assert release.inputs["values"]["encryption"] == {"enabled": True, "type": "wireguard"}


def test_single_cluster_has_no_mesh_and_no_cross_vpc_rules() -> None:
    _, run = evaluate_config("cilium-mesh", "solo", synthetic_config(1))
    assert run.by_type(RULE) == [] and run.by_type(SERVICE) == []
    (release,) = run.by_type(RELEASE)
    assert "clustermesh" not in release.inputs["values"]


def test_demo_runs_in_every_cluster_after_cilium_and_coredns(three: tuple[StackConfig, ProgramRun]) -> None:
    cfg, run = three
    for c in cfg.clusters:
        (release,) = of_cluster(run, RELEASE, c.name, "cilium-mesh:mesh:CiliumRelease")
        demo = [r for r in run.registrations if r.custom and r.parent.endswith(f"MeshDemo::{c.name}")]
        assert demo, c.name
        for r in demo:
            assert run.depends_on(r, release), r.name
        policy = next(r for r in demo if r.type.endswith("CiliumNetworkPolicy"))
        allowed = {
            e["matchLabels"]["io.cilium.k8s.policy.cluster"]
            for e in policy.inputs["spec"]["ingress"][0]["fromEndpoints"]
        }
        assert allowed == {p.name for p in cfg.clusters}


def test_stack_outputs_per_cluster(devstg: tuple[StackConfig, ProgramRun]) -> None:
    from mesh.plan.harness import Secret

    cfg, run = devstg
    clusters = run.outputs["clusters"]
    assert list(clusters) == [c.name for c in cfg.clusters]
    for c in cfg.clusters:
        out = clusters[c.name]
        assert out["id"] == c.id and out["podCidr"] == c.pod_cidr
        assert out["endpoint"].startswith("https://") and isinstance(out["kubeconfig"], Secret)
        assert out["meshEndpoint"].endswith(".elb.us-east-1.amazonaws.com:2379")
    commands = run.outputs["verifyCommands"]
    assert any(
        cmd.startswith("cilium clustermesh status --context bb-apps-devstg-eks-training --wait")
        for cmd in commands
    )
    assert (
        "cilium connectivity test --context bb-apps-devstg-eks-training "
        "--multi-cluster bb-apps-devstg-eks-demoapps" in commands
    )


CLUSTER_COMPONENT = "cilium-mesh:index:Cluster"
MESH_COMPONENT = "cilium-mesh:index:Mesh"


def test_one_top_level_component_per_cluster_owns_that_cluster(stack: tuple[StackConfig, ProgramRun]) -> None:
    cfg, run = stack
    by_urn = {r.urn: r for r in run.registrations}
    top = [r for r in run.registrations if r.parent not in by_urn]
    # Exactly one component per cluster, named after it, plus the mesh-wide component; nothing else.
    assert sorted((r.type, r.name) for r in top) == sorted(
        [(CLUSTER_COMPONENT, c.name) for c in cfg.clusters] + [(MESH_COMPONENT, "mesh")]
    )
    owned = {
        "aws:ec2/vpc:Vpc": 1,
        "eks:index:Cluster": 1,
        NODE_GROUP: 1,
        PATCH: 2,
        RELEASE: 1,
        COREDNS: 1,
        "pulumi:providers:kubernetes": 1,
        "aws:kms/key:Key": 1,
    }
    for type_, per_cluster in owned.items():
        regs = run.by_type(type_)
        assert len(regs) == per_cluster * len(cfg.clusters), type_
        for c in cfg.clusters:
            mine = [r for r in regs if owned_by(run, r, CLUSTER_COMPONENT) == c.name]
            assert len(mine) == per_cluster, (type_, c.name)
    for c in cfg.clusters:
        services = of_cluster(run, SERVICE, c.name, CLUSTER_COMPONENT)
        assert "clustermesh-apiserver-lb" in [r.inputs["metadata"]["name"] for r in services], c.name
    # Everything else descends from exactly one top-level component.
    for reg in run.registrations:
        if reg not in top:
            in_cluster = owned_by(run, reg, CLUSTER_COMPONENT) is not None
            assert in_cluster != (owned_by(run, reg, MESH_COMPONENT) is not None), reg.urn


def test_mesh_wide_parts_sit_under_the_mesh_component(stack: tuple[StackConfig, ProgramRun]) -> None:
    cfg, run = stack
    peerings = run.by_type("aws:ec2/vpcPeeringConnection:VpcPeeringConnection")
    assert len(peerings) == len(list(combinations(cfg.clusters, 2)))
    for reg in [*peerings, *run.by_type("tls:index/privateKey:PrivateKey")]:
        assert owned_by(run, reg, MESH_COMPONENT) == "mesh", reg.name
        assert owned_by(run, reg, CLUSTER_COMPONENT) is None, reg.name
