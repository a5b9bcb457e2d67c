"""The CrossGuard guardrails: each policy passes the real stacks' offline plans, fires on a mutated plan,
survives preview-time unknowns, and works as the Pulumi CLI loads the pack (gRPC). Also the per-account
stack files: ids and CIDRs disjoint across accounts, production sized and protected."""

from __future__ import annotations

import ast
import copy
import fnmatch
import ipaddress
import itertools
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from guardrails.cilium_mesh_guardrails.pack import (
    ALLOW_PUBLIC_ENDPOINT_KEY,
    CLUSTER_IDENTITY_POLICY,
    EKS_API_INGRESS_POLICY,
    EKS_ENDPOINT_POLICY,
    EXTRA_ALLOWED_CIDRS_KEY,
    KPR_POLICY,
    MESH_PORTS_POLICY,
    NODE_PORT_OWNER_POLICY,
    POLICY_PACK_NAME,
)
from guardrails.cilium_mesh_guardrails.policies import (
    EKS_CLUSTER,
    EKS_COMPONENT,
    HELM_RELEASE,
    K8S_SERVICE,
    PUBLIC_ENDPOINT_OPT_IN_TAG,
    SECURITY_GROUP,
    SG_INGRESS_RULE,
    SG_RULE_LEGACY,
    UNKNOWN,
    cilium_cluster_identity_violations,
    eks_public_endpoint_violations,
    kube_proxy_replacement_violations,
    mesh_port_violations,
    node_port_owner_violations,
)
from guardrails.plan_check import Violation, check_plan, check_resources
from guardrails.plan_check import main as plan_check_main
from mesh.logic.config import parse_stack_config
from mesh.plan.cli import plan_stack

ROOT = Path(__file__).resolve().parent.parent
STACKS = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in ROOT.glob("Pulumi.*.yaml"))


def stack_config(stack: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]


def clusters_of(stack: str) -> list[dict[str, Any]]:
    return stack_config(stack)["cilium-mesh:clusters"]


@pytest.fixture(scope="module")
def plans() -> dict[str, dict[str, Any]]:
    return {stack: plan_stack(stack) for stack in STACKS}


def of_type(plan: Mapping[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"] == type_]


def mutated(
    plan: Mapping[str, Any], pick: Callable[[dict[str, Any]], bool], change: Callable[[dict], None]
) -> tuple:
    """A deep copy of ``plan``, ``change`` applied to the inputs of the first resource ``pick`` accepts."""
    doc = copy.deepcopy(plan)
    target = next(r for r in doc["resources"] if pick(r))
    change(target["inputs"])
    return doc, target["urn"]


def fired(violations: list[Violation], policy: str) -> list[Violation]:
    return [v for v in violations if v.policy == policy]


# --- the real stacks ----------------------------------------------------------------------------------


def test_both_account_stacks_exist() -> None:
    assert {"devstg", "prd"} <= set(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_real_stack_passes_every_policy(plans: dict[str, dict[str, Any]], stack: str) -> None:
    plan = plans[stack]
    assert check_plan(plan) == []
    # ...and the policies had something real to look at, not a plan they could not read.
    names = {c["name"] for c in clusters_of(stack)}
    releases = of_type(plan, HELM_RELEASE)
    assert {r["inputs"]["values"]["cluster"]["name"] for r in releases} == names
    assert all(r["inputs"]["values"]["kubeProxyReplacement"] is True for r in releases)
    mesh_rules = [r for r in of_type(plan, SG_INGRESS_RULE) if r["inputs"]["fromPort"] == 8472]
    assert len(mesh_rules) == len(names) * (len(names) - 1)
    assert {r["inputs"]["name"] for r in of_type(plan, EKS_COMPONENT)} == names


def test_stacks_could_be_meshed_with_each_other(plans: dict[str, dict[str, Any]]) -> None:
    """Cluster names and ids are unique across every account, not just within one stack."""
    everything = [
        (r["type"], r["inputs"])
        for plan in plans.values()
        for r in plan["resources"]
        if r["type"] == HELM_RELEASE
    ]
    assert len(everything) == sum(len(clusters_of(s)) for s in STACKS)
    assert cilium_cluster_identity_violations(everything) == []


def test_stack_cidrs_are_disjoint_across_accounts() -> None:
    """Every VPC and pod CIDR of every stack is disjoint from all others, so accounts could be peered."""
    networks = [
        (f"{stack}:{c['name']}:{key}", ipaddress.ip_network(c[key]))
        for stack in STACKS
        for c in clusters_of(stack)
        for key in ("vpcCidr", "podCidr")
    ]
    overlapping = [(a, b) for (a, na), (b, nb) in itertools.combinations(networks, 2) if na.overlaps(nb)]
    assert overlapping == []


def test_production_stack_is_sized_and_protected(plans: dict[str, dict[str, Any]]) -> None:
    raw = stack_config("prd")
    cfg = parse_stack_config(
        {k.removeprefix("cilium-mesh:"): v for k, v in raw.items() if k.startswith("cilium-mesh:")},
        stack="prd",
        region=raw["aws:region"],
    )
    dev = stack_config("devstg")["cilium-mesh:nodeGroup"]
    assert len(cfg.availability_zones) == 3 and cfg.network.nat_gateways == "perAz"
    assert cfg.node_group.min_size >= 3 > dev["minSize"] and cfg.node_group.max_size > dev["maxSize"]
    assert cfg.protect is True and cfg.eks.public_access_cidrs == () and cfg.demo is False
    plan = plans["prd"]
    assert len(of_type(plan, "aws:ec2/natGateway:NatGateway")) == 3 * len(cfg.clusters)
    stateful = ("aws:ec2/vpc:Vpc", EKS_COMPONENT, "aws:kms/key:Key", "tls:index/privateKey:PrivateKey")
    for type_ in stateful:
        found = of_type(plan, type_)
        assert found and all(r["options"].get("protect") is True for r in found), type_


# --- each policy fires on a mutated real plan ---------------------------------------------------------


def _mesh_rule(port: int) -> Callable[[dict[str, Any]], bool]:
    return lambda r: r["type"] == SG_INGRESS_RULE and r["inputs"].get("fromPort") == port


@pytest.mark.parametrize("port", [8472, 4240])
def test_mesh_rule_open_to_the_world_is_stopped(plans: dict[str, dict[str, Any]], port: int) -> None:
    doc, urn = mutated(plans["devstg"], _mesh_rule(port), lambda i: i.update(cidrIpv4="0.0.0.0/0"))
    found = check_plan(doc)
    assert [v.urn for v in found] == [urn]
    assert found[0].policy == MESH_PORTS_POLICY
    assert f"/{port} " in found[0].message and "0.0.0.0/0 (the whole internet)" in found[0].message


def test_mesh_api_load_balancer_without_source_ranges_is_stopped(plans: dict[str, dict[str, Any]]) -> None:
    def is_lb(r: dict[str, Any]) -> bool:
        return r["type"] == K8S_SERVICE and r["inputs"]["metadata"]["name"] == "clustermesh-apiserver-lb"

    doc, urn = mutated(plans["prd"], is_lb, lambda i: i["spec"].pop("loadBalancerSourceRanges"))
    found = fired(check_plan(doc), MESH_PORTS_POLICY)
    assert [v.urn for v in found] == [urn]
    assert "kube-system/clustermesh-apiserver-lb" in found[0].message and "0.0.0.0/0" in found[0].message

    doc, urn = mutated(
        plans["prd"], is_lb, lambda i: i["spec"].update(loadBalancerSourceRanges=["0.0.0.0/0"])
    )
    assert [v.urn for v in fired(check_plan(doc), MESH_PORTS_POLICY)] == [urn]


def _release(name_index: int, stack: str) -> Callable[[dict[str, Any]], bool]:
    name = clusters_of(stack)[name_index]["name"]
    return lambda r: r["type"] == HELM_RELEASE and r["inputs"]["values"]["cluster"]["name"] == name


def test_duplicate_cluster_id_is_stopped(plans: dict[str, dict[str, Any]]) -> None:
    first_id = clusters_of("devstg")[0]["id"]
    doc, _ = mutated(
        plans["devstg"], _release(1, "devstg"), lambda i: i["values"]["cluster"].update(id=first_id)
    )
    found = check_plan(doc)
    assert [v.policy for v in found] == [CLUSTER_IDENTITY_POLICY]
    names = ", ".join(sorted(c["name"] for c in clusters_of("devstg")))
    assert found[0].message.startswith(f"Cilium cluster.id {first_id} is used by {names}")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Bad_Name", "must consist of lower-case alphanumerics"),
        ("x" * 33, "must be 1-32 characters"),
        ("default", "'default' cannot be used with cluster.id"),
    ],
)
def test_invalid_cluster_name_is_stopped(plans: dict[str, dict[str, Any]], name: str, expected: str) -> None:
    doc, _ = mutated(plans["prd"], _release(0, "prd"), lambda i: i["values"]["cluster"].update(name=name))
    found = fired(check_plan(doc), CLUSTER_IDENTITY_POLICY)
    assert len(found) == 1 and expected in found[0].message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda v: v.pop("k8sServiceHost"), "does not set k8sServiceHost"),
        (lambda v: v.update(k8sServiceHost="https://ABC.gr7.us-east-1.eks.amazonaws.com"), "bare host name"),
        (lambda v: v.update(k8sServiceHost="auto"), "'auto' needs the kubeadm cluster-info"),
        (lambda v: v.pop("k8sServicePort"), "k8sServicePort is not set"),
    ],
)
def test_kube_proxy_replacement_without_api_host_is_stopped(
    plans: dict[str, dict[str, Any]], change: Callable[[dict], None], expected: str
) -> None:
    doc, urn = mutated(plans["devstg"], _release(0, "devstg"), lambda i: change(i["values"]))
    found = check_plan(doc)
    assert [(v.policy, v.urn) for v in found] == [(KPR_POLICY, urn)]
    assert expected in found[0].message


def test_world_open_eks_endpoint_needs_an_explicit_opt_in(plans: dict[str, dict[str, Any]]) -> None:
    def open_to_world(i: dict[str, Any]) -> None:
        i.update(endpointPublicAccess=True)
        i.pop("publicAccessCidrs", None)

    doc, urn = mutated(plans["prd"], lambda r: r["type"] == EKS_COMPONENT, open_to_world)
    found = check_plan(doc)
    assert [(v.policy, v.urn) for v in found] == [(EKS_ENDPOINT_POLICY, urn)]
    assert "open to 0.0.0.0/0 (AWS reads an empty publicAccessCidrs as 0.0.0.0/0)" in found[0].message
    # Opt-in by policy config for the run, or by a tag on that cluster.
    assert check_plan(doc, {EKS_ENDPOINT_POLICY: {ALLOW_PUBLIC_ENDPOINT_KEY: True}}) == []
    target = next(r for r in doc["resources"] if r["urn"] == urn)
    target["inputs"]["tags"][PUBLIC_ENDPOINT_OPT_IN_TAG] = "true"
    assert check_plan(doc) == []


def test_public_endpoint_restricted_to_an_office_range_passes(plans: dict[str, dict[str, Any]]) -> None:
    doc, _ = mutated(
        plans["prd"],
        lambda r: r["type"] == EKS_COMPONENT,
        lambda i: i.update(endpointPublicAccess=True, publicAccessCidrs=["203.0.113.0/24"]),
    )
    assert check_plan(doc) == []


def test_plan_check_cli_exits_non_zero_on_a_violation(
    plans: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(plans["devstg"]))
    assert plan_check_main([str(good)]) == 0
    doc, _ = mutated(plans["devstg"], _mesh_rule(8472), lambda i: i.update(cidrIpv4="0.0.0.0/0"))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    assert plan_check_main([str(good), str(bad)]) == 1


# --- the checks on synthetic resources (resource types the program does not use) ----------------------

WORLD_RULES = [
    (
        SG_INGRESS_RULE,
        {"ipProtocol": "udp", "fromPort": 8472, "toPort": 8472, "cidrIpv6": "::/0"},
        "udp/8472",
    ),
    (SG_INGRESS_RULE, {"ipProtocol": "-1", "cidrIpv4": "0.0.0.0/0"}, "udp/51871"),
    (
        SG_INGRESS_RULE,
        {"ipProtocol": "tcp", "fromPort": 30000, "toPort": 32767, "cidrIpv4": "0.0.0.0/1"},
        "tcp/32380",
    ),
    (
        SG_INGRESS_RULE,
        {"ipProtocol": "6", "fromPort": 2379.0, "toPort": 2379.0, "cidrIpv4": "8.8.8.8/32"},
        "tcp/2379",
    ),
    (
        SG_RULE_LEGACY,
        {"type": "ingress", "protocol": "tcp", "fromPort": 4240, "toPort": 4240, "cidrBlocks": ["0.0.0.0/0"]},
        "tcp/4240",
    ),
    (
        SECURITY_GROUP,
        {
            "ingress": [
                {
                    "protocol": "udp",
                    "fromPort": 8472,
                    "toPort": 8472,
                    "cidrBlocks": ["10.0.0.0/8", "0.0.0.0/0"],
                }
            ]
        },
        "udp/8472",
    ),
    (
        HELM_RELEASE,
        {"chart": "cilium", "values": {"clustermesh": {"apiserver": {"service": {"type": "LoadBalancer"}}}}},
        "clustermesh.apiserver.service is a LoadBalancer without loadBalancerSourceRanges",
    ),
]


@pytest.mark.parametrize(("rtype", "props", "expected"), WORLD_RULES)
def test_mesh_port_guard_cannot_be_bypassed_with_another_resource_type(
    rtype: str, props: dict[str, Any], expected: str
) -> None:
    found = mesh_port_violations(rtype, props)
    assert len(found) == 1 and expected in found[0]


@pytest.mark.parametrize(
    ("rtype", "props"),
    [
        (SG_INGRESS_RULE, {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"}),
        (SG_INGRESS_RULE, {"ipProtocol": "udp", "fromPort": 8472, "toPort": 8472, "cidrIpv4": "10.1.0.0/16"}),
        (SG_INGRESS_RULE, {"ipProtocol": "icmp", "fromPort": 8, "toPort": 0, "cidrIpv4": "0.0.0.0/0"}),
        (
            SG_INGRESS_RULE,
            {"ipProtocol": "udp", "fromPort": 8472, "toPort": 8472, "referencedSecurityGroupId": "sg-1"},
        ),
        (
            SG_RULE_LEGACY,
            {"type": "egress", "protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]},
        ),
        (
            K8S_SERVICE,
            {"metadata": {"name": "web"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 443}]}},
        ),
    ],
)
def test_traffic_that_is_not_mesh_traffic_from_the_internet_passes(rtype: str, props: dict[str, Any]) -> None:
    assert mesh_port_violations(rtype, props) == []


def test_public_vpc_ranges_can_be_allowed_by_policy_config() -> None:
    rule = {"ipProtocol": "udp", "fromPort": 8472, "toPort": 8472, "cidrIpv4": "198.51.100.0/24"}
    assert len(mesh_port_violations(SG_INGRESS_RULE, rule)) == 1
    assert mesh_port_violations(SG_INGRESS_RULE, rule, ["198.51.100.0/22"]) == []
    resource = {"urn": "u", "type": SG_INGRESS_RULE, "name": "r", "inputs": rule}
    assert (
        check_resources([resource], {MESH_PORTS_POLICY: {EXTRA_ALLOWED_CIDRS_KEY: ["198.51.100.0/24"]}}) == []
    )


def test_load_balancer_source_ranges_annotation_counts_as_source_ranges() -> None:
    service = {
        "metadata": {
            "name": "clustermesh-apiserver-lb",
            "annotations": {
                "service.beta.kubernetes.io/load-balancer-source-ranges": "10.1.0.0/16, 0.0.0.0/0"
            },
        },
        "spec": {"type": "LoadBalancer", "ports": [{"port": 2379}]},
    }
    found = mesh_port_violations(K8S_SERVICE, service)
    assert len(found) == 1 and "accepts clients from 0.0.0.0/0" in found[0]


def test_aws_eks_cluster_resource_is_checked_too() -> None:
    cluster = {"name": "c", "vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}}
    assert "open to 0.0.0.0/0" in eks_public_endpoint_violations(EKS_CLUSTER, cluster)[0]
    cluster["vpcConfig"] = {"endpointPublicAccess": False}
    assert eks_public_endpoint_violations(EKS_CLUSTER, cluster) == []
    # pulumi-eks defaults endpointPublicAccess to true: omitting it is not private.
    assert eks_public_endpoint_violations(EKS_COMPONENT, {"name": "c", "publicAccessCidrs": ["0.0.0.0/1"]})


def test_identity_rules_match_cilium_limits() -> None:
    def release(name: str, id_: int, max_connected: int = 255) -> tuple[str, dict[str, Any]]:
        values = {
            "cluster": {"name": name, "id": id_},
            "clustermesh": {"maxConnectedClusters": max_connected},
        }
        return HELM_RELEASE, {"chart": "cilium", "values": values}

    assert cilium_cluster_identity_violations([release("a", 300, 511), release("b", 2, 511)]) == []
    assert (
        "must be an integer 1-255"
        in cilium_cluster_identity_violations([release("a", 256), release("b", 1)])[0]
    )
    assert (
        "must be an integer 1-255"
        in cilium_cluster_identity_violations([release("a", 0), release("b", 1)])[0]
    )
    mixed = cilium_cluster_identity_violations([release("a", 1, 511), release("b", 2, 255)])
    assert mixed == [
        "clustermesh.maxConnectedClusters differs between clusters (a: 511, b: 255); "
        "connected clusters must agree"
    ]
    assert cilium_cluster_identity_violations([release("a", 1), release("a", 2)]) == [
        "Cilium cluster name 'a' is used by 2 releases; names must be unique"
    ]


# --- preview-time unknowns ----------------------------------------------------------------------------


def test_unknown_values_are_skipped_not_crashed_on() -> None:
    unknown_rule = {"ipProtocol": "udp", "fromPort": 8472, "toPort": 8472, "cidrIpv4": UNKNOWN}
    assert mesh_port_violations(SG_INGRESS_RULE, unknown_rule) == []
    release = {
        "chart": "cilium",
        "values": {"kubeProxyReplacement": True, "k8sServiceHost": UNKNOWN, "k8sServicePort": 443},
    }
    assert kube_proxy_replacement_violations(HELM_RELEASE, release) == []
    assert kube_proxy_replacement_violations(HELM_RELEASE, {"chart": "cilium", "values": UNKNOWN}) == []
    assert eks_public_endpoint_violations(EKS_COMPONENT, {"endpointPublicAccess": UNKNOWN}) == []
    assert cilium_cluster_identity_violations([(HELM_RELEASE, {"chart": "cilium", "values": UNKNOWN})]) == []


def test_an_unknown_neighbour_value_does_not_hide_a_violation() -> None:
    """pulumi-policy's proxy raises on the first unknown read; the pack must still see the open CIDR."""
    rule = {
        "urn": "urn:rule",
        "type": SG_INGRESS_RULE,
        "name": "rule",
        "inputs": {
            "securityGroupId": "[unknown]",  # how mesh.plan writes a value only known after creation
            "description": "[unknown]",
            "ipProtocol": "udp",
            "fromPort": 8472,
            "toPort": 8472,
            "cidrIpv4": "0.0.0.0/0",
        },
    }
    found = check_resources([rule])
    assert [(v.policy, v.urn) for v in found] == [(MESH_PORTS_POLICY, "urn:rule")]


# --- the pack as the Pulumi CLI runs it ---------------------------------------------------------------


def published_files(pack: Path) -> list[Path]:
    """The files ``pulumi policy publish`` uploads from ``pack``: every file but what the pack's own
    ``.gitignore`` lists (pulumi/pulumi#4644: the archive skips ``.git`` and ``.gitignore`` matches)."""
    patterns = [
        line.strip().rstrip("/")
        for line in (pack / ".gitignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return [
        path.relative_to(pack)
        for path in sorted(pack.rglob("*"))
        if path.is_file()
        and not any(fnmatch.fnmatch(part, pat) for part in path.relative_to(pack).parts for pat in patterns)
    ]


@pytest.fixture(scope="module")
def published_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of what publishing ``guardrails/`` would upload, in a directory with no repository around it."""
    target = tmp_path_factory.mktemp("published") / "cilium-mesh-guardrails"
    for rel in published_files(ROOT / "guardrails"):
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "guardrails" / rel, target / rel)
    return target


def test_the_published_pack_holds_its_policies_and_nothing_from_the_repository(published_pack: Path) -> None:
    files = {str(p) for p in published_files(published_pack)}
    assert {
        "PulumiPolicy.yaml",
        "requirements.txt",
        "__main__.py",
        "cilium_mesh_guardrails/__init__.py",
        "cilium_mesh_guardrails/pack.py",
        "cilium_mesh_guardrails/policies.py",
    } <= files
    assert not [f for f in files if f.startswith("venv/") or "__pycache__" in f]
    requirements = (published_pack / "requirements.txt").read_text()
    assert "pulumi-policy==" in requirements and "pulumi==" in requirements
    # The pack's code imports only the standard library, Pulumi's SDKs and its own package.
    for rel in files:
        if not rel.endswith(".py") or rel == "plan_check.py":  # plan_check is the repository's CLI
            continue
        tree = ast.parse((published_pack / rel).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                assert node.module.split(".")[0] not in ("guardrails", "mesh", "network", "tests"), (
                    rel,
                    node.module,
                )
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "insert":
                assert "sys.path" not in ast.unparse(node), rel


@pytest.fixture(scope="module")
def analyzer(published_pack: Path) -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """The published copy of ``guardrails/`` started the way ``pulumi preview --policy-pack`` starts a pack
    (``python -m pulumi.policy ENGINE PACKDIR``, in isolated mode: no PYTHONPATH, no repository on
    ``sys.path``), reached over gRPC on the loopback address."""
    proc = subprocess.Popen(
        [sys.executable, "-I", "-u", "-m", "pulumi.policy", "127.0.0.1:0", "."],
        cwd=published_pack,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.strip().isdigit():
            proc.kill()
            raise AssertionError(
                f"policy pack did not start: {line}{proc.stderr.read() if proc.stderr else ''}"
            )
        with grpc.insecure_channel(f"127.0.0.1:{int(line)}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_pack_declares_every_policy_as_mandatory(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == POLICY_PACK_NAME
    levels = {p.name: p.enforcementLevel for p in info.policies}
    assert levels == dict.fromkeys(
        [
            MESH_PORTS_POLICY,
            CLUSTER_IDENTITY_POLICY,
            NODE_PORT_OWNER_POLICY,
            KPR_POLICY,
            EKS_ENDPOINT_POLICY,
            EKS_API_INGRESS_POLICY,
        ],
        analyzer_pb2.MANDATORY,
    )
    eks = next(p for p in info.policies if p.name == EKS_ENDPOINT_POLICY)
    assert eks.configSchema.properties[ALLOW_PUBLIC_ENDPOINT_KEY]["default"] is False


def test_pack_stops_a_world_open_vxlan_rule_over_grpc(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    request = analyzer_pb2.AnalyzeRequest(type=SG_INGRESS_RULE, urn="urn:pulumi:x::y::rule::r", name="r")
    request.properties.update(
        {
            "ipProtocol": "udp",
            "fromPort": 8472,
            "toPort": 8472,
            "cidrIpv4": "0.0.0.0/0",
            "securityGroupId": UNKNOWN,
        }
    )
    diagnostics = analyzer.Analyze(request).diagnostics
    assert [(d.policyName, d.enforcementLevel) for d in diagnostics] == [
        (MESH_PORTS_POLICY, analyzer_pb2.MANDATORY)
    ]
    assert "udp/8472" in diagnostics[0].message and "0.0.0.0/0" in diagnostics[0].message


def test_pack_stops_duplicate_cluster_ids_over_grpc(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    resources = []
    for name in ("east", "west"):
        resource = analyzer_pb2.AnalyzerResource(type=HELM_RELEASE, urn=f"urn:{name}", name=name)
        resource.properties.update({"chart": "cilium", "values": {"cluster": {"name": name, "id": 7}}})
        resources.append(resource)
    diagnostics = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources)).diagnostics
    assert [d.policyName for d in diagnostics] == [CLUSTER_IDENTITY_POLICY]
    assert "cluster.id 7 is used by east, west" in diagnostics[0].message


# --- one owner for a LoadBalancer node port ------------------------------------------------------------


def _with_node_port_rule(plan: Mapping[str, Any], **inputs: Any) -> tuple[dict[str, Any], str]:
    """The real plan plus one stack-owned ingress rule on the mesh NLB's node port from a peer VPC."""
    doc = copy.deepcopy(plan)
    template = next(r for r in doc["resources"] if r["type"] == SG_INGRESS_RULE)
    rule = copy.deepcopy(template)
    rule["urn"] = template["urn"] + "-nodeport"
    rule["inputs"].update({"ipProtocol": "tcp", "fromPort": 32380, "toPort": 32380, **inputs})
    doc["resources"].append(rule)
    return doc, rule["urn"]


def test_the_mesh_node_port_has_no_stack_rule_in_real_plans(plans: dict[str, dict[str, Any]]) -> None:
    for plan in plans.values():
        services = [r for r in of_type(plan, K8S_SERVICE) if r["inputs"]["spec"]["type"] == "LoadBalancer"]
        assert {p["nodePort"] for s in services for p in s["inputs"]["spec"]["ports"]} == {32380}
        assert not [r for r in of_type(plan, SG_INGRESS_RULE) if r["inputs"].get("fromPort") == 32380]


@pytest.mark.parametrize(
    "rule",
    [
        {},  # exactly the port, from a peer VPC: what the service controller adds itself
        {"fromPort": 30000, "toPort": 32767},  # the whole node port range
        {"ipProtocol": "-1", "fromPort": -1, "toPort": -1},  # everything
    ],
)
def test_a_second_owner_of_the_node_port_is_stopped(plans: dict[str, dict[str, Any]], rule: dict) -> None:
    doc, urn = _with_node_port_rule(plans["devstg"], **rule)
    found = fired(check_plan(doc), NODE_PORT_OWNER_POLICY)
    assert [v.urn for v in found] == [urn]
    assert "tcp/32380" in found[0].message and "kube-system/clustermesh-apiserver-lb" in found[0].message
    assert "InvalidPermission.Duplicate" in found[0].message


def test_other_protocols_and_unknown_node_ports_are_not_flagged(plans: dict[str, dict[str, Any]]) -> None:
    doc, _ = _with_node_port_rule(plans["devstg"], ipProtocol="udp")
    assert fired(check_plan(doc), NODE_PORT_OWNER_POLICY) == []
    doc, _ = _with_node_port_rule(plans["devstg"])
    for service in of_type(doc, K8S_SERVICE):
        service["inputs"]["spec"]["ports"][0]["nodePort"] = UNKNOWN
    assert fired(check_plan(doc), NODE_PORT_OWNER_POLICY) == []


def test_legacy_and_inline_rules_are_second_owners_too() -> None:
    service = {
        "metadata": {"name": "lb", "namespace": "ns"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 443, "nodePort": 31000, "protocol": "TCP"}]},
    }
    legacy = {
        "type": "ingress",
        "protocol": "tcp",
        "fromPort": 31000,
        "toPort": 31000,
        "cidrBlocks": ["10.0.0.0/8"],
    }
    inline = {
        "ingress": [{"protocol": "6", "fromPort": 30000, "toPort": 31999, "cidrBlocks": ["10.0.0.0/8"]}]
    }
    found = node_port_owner_violations(
        [
            ("urn:svc", K8S_SERVICE, service),
            ("urn:a", SG_RULE_LEGACY, legacy),
            ("urn:b", SECURITY_GROUP, inline),
        ]
    )
    assert [urn for urn, _ in found] == ["urn:a", "urn:b"]
    assert all("tcp/31000" in message and "ns/lb" in message for _, message in found)
    # A ClusterIP Service has no node port to own.
    service["spec"]["type"] = "ClusterIP"
    assert (
        node_port_owner_violations([("urn:svc", K8S_SERVICE, service), ("urn:a", SG_RULE_LEGACY, legacy)])
        == []
    )


def test_pack_stops_a_node_port_rule_over_grpc(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    service = analyzer_pb2.AnalyzerResource(type=K8S_SERVICE, urn="urn:svc", name="svc")
    service.properties.update(
        {
            "metadata": {"name": "clustermesh-apiserver-lb", "namespace": "kube-system"},
            "spec": {
                "type": "LoadBalancer",
                "loadBalancerSourceRanges": ["10.2.0.0/16"],
                "ports": [{"port": 2379, "nodePort": 32380, "protocol": "TCP"}],
            },
        }
    )
    rule = analyzer_pb2.AnalyzerResource(type=SG_INGRESS_RULE, urn="urn:rule", name="rule")
    rule.properties.update(
        {"ipProtocol": "tcp", "fromPort": 32380, "toPort": 32380, "cidrIpv4": "10.2.0.0/16"}
    )
    request = analyzer_pb2.AnalyzeStackRequest(resources=[service, rule])
    diagnostics = analyzer.AnalyzeStack(request).diagnostics
    assert [(d.policyName, d.urn) for d in diagnostics] == [(NODE_PORT_OWNER_POLICY, "urn:rule")]
