"""Tests for ``python -m mesh.verify``: a fake at the ClusterClient boundary fed with realistic API objects.

Fixtures (tests/fixtures/verify): ``cluster-<name>.json`` is a healthy mesh of three clusters (east, west,
central) as the Kubernetes API and ``cilium-dbg status -o json`` return it; ``broken/`` holds single objects
that show one failure each, swapped into a cluster by the tests.
"""

from __future__ import annotations

import base64
import copy
import datetime
import io
import itertools
import json
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mesh.verify import cli as verify
from mesh.verify.checks import (
    CHECK_CILIUM_READY,
    CHECK_CLUSTERMESH_APISERVER,
    CHECK_COREDNS_POD_CIDR,
    CHECK_GLOBAL_SERVICE,
    CHECK_MESH_CERTIFICATES,
    CHECK_MESH_CONNECTED,
    CHECK_NO_AWS_NODE_KUBE_PROXY,
    MESH_CERT_SECRETS,
    ExecResult,
    check_coredns_pod_cidr,
    deployment_ready,
    parse_agent_status,
    remote_cluster_problem,
)
from mesh.verify.sources import (
    ClusterAccessError,
    ClusterInfo,
    ConfigError,
    KubernetesClusterClient,
    parse_stack_outputs,
    read_stack_outputs,
)

FIXTURES = Path(__file__).parent / "fixtures" / "verify"
OUTPUTS = FIXTURES / "stack-outputs.json"
CLUSTERS = ("east", "west", "central")
ALL_CHECKS = (
    CHECK_NO_AWS_NODE_KUBE_PROXY,
    CHECK_CILIUM_READY,
    CHECK_COREDNS_POD_CIDR,
    CHECK_CLUSTERMESH_APISERVER,
    CHECK_MESH_CONNECTED,
    CHECK_MESH_CERTIFICATES,
)
# The wall clock the certificate check measures against, fixed: no result depends on the day the suite runs.
NOW = datetime.datetime(2026, 11, 26, 12, 0, tzinfo=datetime.UTC)


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


class FakeCluster:
    """``ClusterClient`` over one snapshot; exec behaves like the API (unknown pod/container is an error)."""

    def __init__(self, snapshot: dict[str, Any], curl: Callable[[], str]) -> None:
        self.snapshot = snapshot
        self.curl = curl
        self.execs: list[tuple[str, str, str, tuple[str, ...]]] = []

    def read_daemonset(self, namespace: str, name: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.snapshot["daemonsets"].get(f"{namespace}/{name}"))

    def read_deployment(self, namespace: str, name: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.snapshot["deployments"].get(f"{namespace}/{name}"))

    def read_service(self, namespace: str, name: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.snapshot["services"].get(f"{namespace}/{name}"))

    def read_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.snapshot.get("secrets", {}).get(f"{namespace}/{name}"))

    def list_pods(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        wanted = dict(term.split("=", 1) for term in label_selector.split(","))
        pods = self.snapshot["pods"].get(namespace, [])
        return [copy.deepcopy(p) for p in pods if wanted.items() <= p["metadata"].get("labels", {}).items()]

    def list_nodes(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self.snapshot["nodes"])

    def exec_in_pod(
        self, namespace: str, pod: str, container: str, command: Sequence[str], timeout: float
    ) -> ExecResult:
        self.execs.append((namespace, pod, container, tuple(command)))
        found = [p for p in self.snapshot["pods"].get(namespace, []) if p["metadata"]["name"] == pod]
        if not found:
            raise ClusterAccessError(f"exec in {pod}: API error 404 Not Found")
        if container not in [c["name"] for c in found[0]["spec"]["containers"]]:
            raise ClusterAccessError(f"exec in {pod}: API error 400 Bad Request")
        if tuple(command) == ("cilium-dbg", "status", "-o", "json"):
            return ExecResult(json.dumps(self.snapshot["ciliumStatus"][pod], indent=2) + "\n")
        if command[0] == "curl" and command[-1] == "rebel-base":
            return ExecResult(self.curl())
        return ExecResult("", f"{command[0]}: not found", 127)


def rebel_base_reply(cluster: str) -> str:
    """What the demo's rebel-base in ``cluster`` serves (the ConfigMap message of that cluster's fixture)."""
    return load(f"cluster-{cluster}.json")["configmaps"]["mesh-demo/rebel-base-response"]["data"]["message"]


def round_robin(clusters: Sequence[str]) -> Callable[[], str]:
    replies: Iterator[str] = itertools.cycle([rebel_base_reply(c) for c in clusters])
    return lambda: next(replies)


class World:
    """Three healthy clusters; tests break one object at a time before running the CLI."""

    def __init__(self) -> None:
        self.clusters = {
            name: FakeCluster(load(f"cluster-{name}.json"), round_robin(CLUSTERS)) for name in CLUSTERS
        }
        for fake in self.clusters.values():
            fake.snapshot["secrets"] = mesh_cert_secrets(days_left=1095)
        self.unreachable: set[str] = set()
        self.sleeps: list[float] = []
        self.now = 0.0

    def snapshot(self, cluster: str) -> dict[str, Any]:
        return self.clusters[cluster].snapshot

    def agent_pods(self, cluster: str) -> list[str]:
        return list(self.snapshot(cluster)["ciliumStatus"])

    def factory(self, info: ClusterInfo) -> FakeCluster:
        if info.name in self.unreachable:
            raise ClusterAccessError("cannot load kubeconfig: ConfigException: exec: process returned 255")
        return self.clusters[info.name]

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def run(self, *args: str, outputs: Path = OUTPUTS) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        argv = ["dev", "--outputs-file", str(outputs), "--wait", "0", *args]
        code = verify.main(
            argv,
            client_factory=self.factory,
            clock=self.clock,
            sleep=self.sleep,
            now=lambda: NOW,
            stdout=out,
            stderr=err,
        )
        return code, out.getvalue(), err.getvalue()

    def report(self, *args: str) -> tuple[int, dict[str, Any]]:
        code, out, _ = self.run(*args, "--json")
        return code, json.loads(out)


def mesh_cert_secrets(days_left: float, short: str | None = None) -> dict[str, Any]:
    """kube-system Secrets holding a CA and the clustermesh-apiserver certificates, valid ``days_left`` days
    after NOW (the ``short`` one only 20)."""
    key = ec.generate_private_key(ec.SECP256R1())
    secrets: dict[str, Any] = {}
    for name, data_key, _ in MESH_CERT_SECRETS:
        days = 20 if name == short else days_left
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=1))
            # An hour past the day: the check floors the days left.
            .not_valid_after(NOW + datetime.timedelta(days=days, hours=1))
            .sign(key, hashes.SHA256())
        )
        pem = cert.public_bytes(serialization.Encoding.PEM)
        secrets[f"kube-system/{name}"] = {"data": {data_key: base64.b64encode(pem).decode()}}
    return secrets


def result(report: dict[str, Any], cluster: str, check: str) -> dict[str, Any]:
    (found,) = [c for c in report["checks"] if c["cluster"] == cluster and c["check"] == check]
    return found


def failing(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["cluster"], c["check"]) for c in report["checks"] if not c["ok"]}


@pytest.fixture
def world() -> World:
    return World()


# --- all green ----------------------------------------------------------------------------------------------


def test_healthy_mesh_passes_every_check_with_exit_0_and_a_table(world: World) -> None:
    code, out, err = world.run("--global-service")

    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["CLUSTER", "CHECK", "RESULT", "EVIDENCE"]
    rows = [line.split()[:3] for line in lines[1:-1]]
    expected = [[c, check, "PASS"] for c in CLUSTERS for check in (*ALL_CHECKS, CHECK_GLOBAL_SERVICE)]
    assert rows == expected
    assert lines[-1].startswith("PASS: all 21 checks passed (stack dev, 3 clusters, 1 round")
    assert "round 1: 21/21 checks pass" in err


def test_healthy_report_json_carries_evidence_users_read(world: World) -> None:
    code, report = world.report("--global-service")

    assert code == 0
    assert report["ok"] is True
    assert (report["stack"], report["clusters"]) == ("dev", list(CLUSTERS))
    assert (report["passed"], report["failed"], report["rounds"]) == (21, 0, 1)
    assert set(report["checks"][0]) == {"cluster", "check", "ok", "evidence"}
    east = {c["check"]: c["evidence"] for c in report["checks"] if c["cluster"] == "east"}
    assert (
        east[CHECK_NO_AWS_NODE_KUBE_PROXY] == "aws-node: desired 0, scheduled 0, ready 0; kube-proxy: absent"
    )
    assert east[CHECK_CILIUM_READY].startswith(
        "cilium: 3/3 ready, 3 updated, 3 available; cilium-operator: 2/2 ready"
    )
    assert east[CHECK_CILIUM_READY].endswith("no node.cilium.io/agent-not-ready taint on 3 nodes")
    assert east[CHECK_COREDNS_POD_CIDR].startswith("2/2 in 10.100.0.0/16: coredns-")
    lb = "a3f9c2e81d4b4c6fa0b7e5d2c1f8a9e4-7c1d2e3f4a5b6c7d.elb.us-east-1.amazonaws.com"
    assert (
        east[CHECK_CLUSTERMESH_APISERVER]
        == f"clustermesh-apiserver: 1/1 ready, 1 updated, 1 available; clustermesh-apiserver-lb at {lb}"
    )
    assert east[CHECK_MESH_CONNECTED] == (
        "3/3 agents see 2/2 remote clusters ready via KVStoreMesh: central (3 nodes), west (3 nodes)"
    )
    assert "30 requests from x-wing-" in east[CHECK_GLOBAL_SERVICE]
    assert east[CHECK_GLOBAL_SERVICE].endswith(": east 10, west 10, central 10")


def test_checks_exec_the_documented_commands_in_the_right_containers(world: World) -> None:
    world.run("--global-service", "--requests-per-cluster", "4")

    execs = world.clusters["west"].execs
    agent_execs = [e for e in execs if e[2] == "cilium-agent"]
    assert sorted(e[1] for e in agent_execs) == sorted(world.agent_pods("west"))
    assert {(e[0], e[3]) for e in agent_execs} == {("kube-system", ("cilium-dbg", "status", "-o", "json"))}
    curls = [e for e in execs if e[2] == "x-wing-container"]
    assert len(curls) == 3 * 4  # N clusters * k requests
    assert {(e[0], e[3][0], e[3][-1]) for e in curls} == {("mesh-demo", "curl", "rebel-base")}
    assert len({e[1] for e in curls}) == 1 and curls[0][1].startswith("x-wing-")


# --- each failure the command must catch ----------------------------------------------------------------


def test_aws_node_still_scheduled_fails(world: World) -> None:
    world.snapshot("east")["daemonsets"]["kube-system/aws-node"] = load("broken/aws-node-scheduled.json")

    code, report = world.report()

    assert code == 1
    assert failing(report) == {("east", CHECK_NO_AWS_NODE_KUBE_PROXY)}
    evidence = result(report, "east", CHECK_NO_AWS_NODE_KUBE_PROXY)["evidence"]
    assert evidence == "aws-node: desired 3, scheduled 3, ready 3; kube-proxy: absent"


def test_kube_proxy_present_and_scheduled_fails(world: World) -> None:
    world.snapshot("east")["daemonsets"]["kube-system/kube-proxy"] = load("broken/kube-proxy-scheduled.json")

    code, report = world.report()

    assert code == 1
    assert failing(report) == {("east", CHECK_NO_AWS_NODE_KUBE_PROXY)}
    assert result(report, "east", CHECK_NO_AWS_NODE_KUBE_PROXY)["evidence"].endswith(
        "kube-proxy: desired 3, scheduled 3, ready 3"
    )
    # west parks kube-proxy on a node selector nothing matches: present but scheduling nothing is fine.
    assert result(report, "west", CHECK_NO_AWS_NODE_KUBE_PROXY)["evidence"].endswith(
        "kube-proxy: desired 0, scheduled 0, ready 0"
    )


def test_cilium_agent_daemonset_not_fully_ready_fails(world: World) -> None:
    world.snapshot("east")["daemonsets"]["kube-system/cilium"] = load("broken/cilium-agent-rolling.json")

    code, report = world.report()

    assert code == 1
    assert failing(report) == {("east", CHECK_CILIUM_READY)}
    assert result(report, "east", CHECK_CILIUM_READY)["evidence"].startswith(
        "cilium: 2/3 ready, 2 updated, 2 available;"
    )


def test_cilium_operator_not_ready_fails(world: World) -> None:
    world.snapshot("east")["deployments"]["kube-system/cilium-operator"] = load(
        "broken/cilium-operator-unavailable.json"
    )

    code, report = world.report()

    assert code == 1
    assert failing(report) == {("east", CHECK_CILIUM_READY)}
    assert (
        "cilium-operator: 1/2 ready, 2 updated, 1 available"
        in result(report, "east", CHECK_CILIUM_READY)["evidence"]
    )


def test_node_keeping_agent_not_ready_taint_fails(world: World) -> None:
    tainted = load("broken/node-agent-not-ready-taint.json")
    world.snapshot("east")["nodes"][2] = tainted

    code, report = world.report()

    assert code == 1
    assert failing(report) == {("east", CHECK_CILIUM_READY)}
    evidence = result(report, "east", CHECK_CILIUM_READY)["evidence"]
    assert evidence.endswith(
        f"1/3 nodes keep taint node.cilium.io/agent-not-ready: {tainted['metadata']['name']}"
    )


def test_coredns_pod_with_vpc_ip_fails_with_restart_hint(world: World) -> None:
    stale = load("broken/coredns-pod-vpc-ip.json")
    pods = world.snapshot("east")["pods"]["kube-system"]
    pods[[p["metadata"]["name"] for p in pods].index(stale["metadata"]["name"])] = stale

    code, report = world.report()

    assert code == 1
    assert failing(report) == {("east", CHECK_COREDNS_POD_CIDR)}
    evidence = result(report, "east", CHECK_COREDNS_POD_CIDR)["evidence"]
    assert (
        f"{stale['metadata']['name']} has 10.0.26.141 outside pod CIDR 10.100.0.0/16 (a VPC IP from aws-node)"
        in evidence
    )
    assert evidence.endswith("kubectl -n kube-system rollout restart deployment coredns")


def test_clustermesh_apiserver_not_ready_fails(world: World) -> None:
    world.snapshot("east")["deployments"]["kube-system/clustermesh-apiserver"] = load(
        "broken/clustermesh-apiserver-unready.json"
    )

    code, report = world.report()

    assert code == 1
    assert failing(report) == {("east", CHECK_CLUSTERMESH_APISERVER)}
    assert result(report, "east", CHECK_CLUSTERMESH_APISERVER)["evidence"].startswith(
        "clustermesh-apiserver: 0/1 ready, 1 updated, 0 available;"
    )


def test_load_balancer_without_address_fails(world: World) -> None:
    world.snapshot("east")["services"]["kube-system/clustermesh-apiserver-lb"] = load(
        "broken/clustermesh-apiserver-lb-pending.json"
    )

    code, report = world.report()

    assert code == 1
    assert failing(report) == {("east", CHECK_CLUSTERMESH_APISERVER)}
    assert result(report, "east", CHECK_CLUSTERMESH_APISERVER)["evidence"].endswith(
        "Service clustermesh-apiserver-lb has no load balancer address yet"
    )


def test_load_balancer_address_differing_from_stack_mesh_endpoint_fails(world: World, tmp_path: Path) -> None:
    outputs = json.loads(OUTPUTS.read_text())
    outputs["clusters"]["east"]["meshEndpoint"] = "old-nlb-0123456789.elb.us-east-1.amazonaws.com"
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))

    code, _, _ = world.run(outputs=path)
    _, out, _ = world.run("--json", outputs=path)
    report = json.loads(out)

    assert code == 1
    assert failing(report) == {("east", CHECK_CLUSTERMESH_APISERVER)}
    assert (
        "but stack output meshEndpoint is old-nlb-0123456789"
        in result(report, "east", CHECK_CLUSTERMESH_APISERVER)["evidence"]
    )


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        (
            "broken/cilium-status-east-central-disconnected.json",
            "central: not connected (Waiting for initial connection to be established)",
        ),
        ("broken/cilium-status-east-central-missing.json", "central: not in this agent's mesh configuration"),
        (
            "broken/cilium-status-east-central-not-ready.json",
            "central: connected, remote cluster configuration required but not found",
        ),
    ],
)
def test_agent_seeing_only_n_minus_2_ready_remotes_fails(world: World, fixture: str, reason: str) -> None:
    pod = world.agent_pods("east")[0]
    world.snapshot("east")["ciliumStatus"][pod] = load(fixture)

    code, report = world.report()

    assert code == 1
    assert failing(report) == {("east", CHECK_MESH_CONNECTED)}
    evidence = result(report, "east", CHECK_MESH_CONNECTED)["evidence"]
    assert (
        evidence == f"2/3 agents see all 2 remote clusters ready; {pod}: 1/2 remote clusters ready - {reason}"
    )


def test_agent_whose_status_command_fails_is_reported(world: World) -> None:
    pod = world.agent_pods("west")[1]
    world.clusters["west"].snapshot["pods"]["kube-system"] = [
        p for p in world.snapshot("west")["pods"]["kube-system"] if p["metadata"]["name"] != pod
    ] + [_pending(world.snapshot("west")["pods"]["kube-system"], pod)]

    code, report = world.report()

    assert code == 1
    assert failing(report) == {("west", CHECK_MESH_CONNECTED)}
    assert f"{pod}: pod is Pending" in result(report, "west", CHECK_MESH_CONNECTED)["evidence"]


def _pending(pods: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (pod,) = [copy.deepcopy(p) for p in pods if p["metadata"]["name"] == name]
    pod["status"]["phase"] = "Pending"
    return pod


def test_global_service_answered_by_one_cluster_only_fails(world: World) -> None:
    world.clusters["east"].curl = round_robin(["east"])  # remote backends never merged into the service

    code, report = world.report("--global-service")

    assert code == 1
    assert failing(report) == {("east", CHECK_GLOBAL_SERVICE)}
    evidence = result(report, "east", CHECK_GLOBAL_SERVICE)["evidence"]
    assert evidence.endswith(": east 30, west 0, central 0; never answered: west, central")


def test_global_service_without_global_annotation_fails_without_requests(world: World) -> None:
    del world.snapshot("central")["services"]["mesh-demo/rebel-base"]["metadata"]["annotations"]

    code, report = world.report("--global-service")

    assert code == 1
    assert failing(report) == {("central", CHECK_GLOBAL_SERVICE)}
    assert result(report, "central", CHECK_GLOBAL_SERVICE)["evidence"] == (
        'Service rebel-base lacks annotation service.cilium.io/global: "true"'
    )
    assert not [e for e in world.clusters["central"].execs if e[2] == "x-wing-container"]


def test_upstream_demo_replies_need_demo_answer_mapping(world: World) -> None:
    upstream = {"east": "Cluster-1", "west": "Cluster-2", "central": "Cluster-3"}
    for cluster in CLUSTERS:
        replies = itertools.cycle(
            [json.dumps({"Galaxy": "Alderaan", "Cluster": v}) + "\n" for v in upstream.values()]
        )
        world.clusters[cluster].curl = lambda replies=replies: next(replies)

    code, report = world.report("--global-service")
    assert code == 1
    assert (
        "unrecognised Cluster values ['Cluster-1', 'Cluster-2', 'Cluster-3']"
        in (result(report, "west", CHECK_GLOBAL_SERVICE)["evidence"])
    )

    mapping = [arg for name, value in upstream.items() for arg in ("--demo-answer", f"{name}={value}")]
    code, report = world.report("--global-service", *mapping)
    assert code == 0
    assert result(report, "west", CHECK_GLOBAL_SERVICE)["evidence"].endswith(": east 10, west 10, central 10")


def test_unreachable_cluster_is_a_failed_check_not_a_traceback(world: World) -> None:
    world.unreachable.add("central")

    code, out, err = world.run()

    assert code == 1
    assert "Traceback" not in err
    assert "still failing: central: all checks; giving up (--wait 0s)" in err
    central_rows = [line for line in out.splitlines() if line.startswith("central")]
    assert len(central_rows) == len(ALL_CHECKS)
    assert all(
        " FAIL " in row and "cannot reach cluster: cannot load kubeconfig" in row for row in central_rows
    )
    assert out.splitlines()[-1].startswith("FAIL: 6 of 18 checks failed")


def test_api_error_on_one_call_fails_only_that_check(world: World) -> None:
    def forbidden_service(namespace: str, name: str) -> dict[str, Any] | None:
        raise ClusterAccessError("API error 403 Forbidden")

    world.clusters["west"].read_service = forbidden_service  # type: ignore[method-assign]

    code, report = world.report()

    assert code == 1
    assert failing(report) == {("west", CHECK_CLUSTERMESH_APISERVER)}
    assert (
        result(report, "west", CHECK_CLUSTERMESH_APISERVER)["evidence"]
        == "cannot read cluster: API error 403 Forbidden"
    )


def test_cluster_whose_api_times_out_fails_every_check_after_one_attempt(world: World) -> None:
    calls: list[str] = []

    def timing_out() -> list[dict[str, Any]]:
        calls.append("list_nodes")
        raise ClusterAccessError("ConnectTimeoutError: connection to 10.0.0.1 timed out (connect timeout=5)")

    world.clusters["east"].list_nodes = timing_out  # type: ignore[method-assign]

    code, report = world.report()

    assert code == 1
    assert calls == ["list_nodes"]
    assert failing(report) == {("east", check) for check in ALL_CHECKS}
    assert result(report, "east", CHECK_MESH_CONNECTED)["evidence"] == (
        "cannot reach cluster: ConnectTimeoutError: connection to 10.0.0.1 timed out (connect timeout=5)"
    )


# --- waiting ----------------------------------------------------------------------------------------------


def test_waits_until_mesh_connects_then_exits_0(world: World) -> None:
    pod = world.agent_pods("east")[0]
    healthy = world.snapshot("east")["ciliumStatus"][pod]
    world.snapshot("east")["ciliumStatus"][pod] = load("broken/cilium-status-east-central-disconnected.json")
    original_sleep = world.sleep

    def sleep_then_heal(seconds: float) -> None:
        original_sleep(seconds)
        if len(world.sleeps) == 2:  # the agent reconnects during the second pause
            world.snapshot("east")["ciliumStatus"][pod] = healthy

    world.sleep = sleep_then_heal  # type: ignore[method-assign]

    code, out, err = world.run("--wait", "120", "--interval", "15")

    assert code == 0
    assert world.sleeps == [15, 15]
    progress = err.splitlines()
    assert progress[0] == (
        "Verifying stack dev: 3 clusters (east, west, central), 18 checks, waiting up to 120s"
    )
    assert (
        progress[1]
        == "[    0s] round 1: 17/18 checks pass; waiting for east: mesh-connected; retrying in 15s"
    )
    assert progress[3] == "[   30s] round 3: 18/18 checks pass"
    assert "3 rounds, 30s)" in out.splitlines()[-1]


def test_gives_up_when_wait_elapses(world: World) -> None:
    world.snapshot("east")["services"]["kube-system/clustermesh-apiserver-lb"] = load(
        "broken/clustermesh-apiserver-lb-pending.json"
    )

    code, report = world.report("--wait", "30", "--interval", "10")

    assert code == 1
    assert world.sleeps == [10, 10, 10]  # rounds at t=0, 10, 20, 30; a 5th would start after --wait
    assert (report["rounds"], report["elapsedSeconds"], report["waitSeconds"]) == (4, 30, 30)
    assert failing(report) == {("east", CHECK_CLUSTERMESH_APISERVER)}


def test_wait_zero_is_a_single_pass(world: World) -> None:
    world.snapshot("east")["daemonsets"]["kube-system/aws-node"] = load("broken/aws-node-scheduled.json")

    code, _, err = world.run("--wait", "0")

    assert code == 1
    assert world.sleeps == []
    assert "giving up (--wait 0s)" in err


# --- usage and stack-output errors (exit 2) -------------------------------------------------------------


def _outputs_without(tmp_path: Path, mutate: Callable[[dict[str, Any]], None]) -> Path:
    outputs = json.loads(OUTPUTS.read_text())
    mutate(outputs)
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    return path


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda o: o.pop("clusters"),
            "error: stack dev has no `clusters` output (has `pulumi up` completed?)",
        ),
        (
            lambda o: o["clusters"]["west"].pop("podCidr"),
            "error: stack output clusters.west.podCidr is missing",
        ),
        (
            lambda o: o["clusters"]["west"].pop("kubeconfig"),
            "error: stack output clusters.west.kubeconfig is missing",
        ),
        (
            lambda o: o["clusters"]["east"].update(podCidr="10.100.0.0/33"),
            "error: stack output clusters.east.podCidr is not a CIDR: '10.100.0.0/33'",
        ),
    ],
)
def test_bad_stack_outputs_exit_2(
    world: World, tmp_path: Path, mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    code, out, err = world.run(outputs=_outputs_without(tmp_path, mutate))

    assert (code, out, err.strip()) == (2, "", message)


def test_global_service_without_demo_exits_2(world: World, tmp_path: Path) -> None:
    code, _, err = world.run(
        "--global-service", outputs=_outputs_without(tmp_path, lambda o: o.update(demo=False))
    )

    assert code == 2
    assert err.strip() == "error: --global-service needs the demo: stack dev has output demo = false"


def test_demo_answer_for_unknown_cluster_exits_2(world: World) -> None:
    code, _, err = world.run("--global-service", "--demo-answer", "north=Cluster-9")

    assert code == 2
    assert "--demo-answer names unknown cluster 'north' (stack has east, west, central)" in err


def test_pulumi_cli_is_asked_for_secrets_shown_json() -> None:
    calls: list[list[str]] = []

    def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, stdout=OUTPUTS.read_text(), stderr="")

    outputs = read_stack_outputs("dev", run=run)

    assert calls == [["pulumi", "stack", "output", "--json", "--show-secrets", "--stack", "dev"]]
    assert sorted(outputs["clusters"]) == ["central", "east", "west"]


def test_pulumi_failure_and_absence_are_config_errors() -> None:
    def failing_run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(cmd, 255, stdout="", stderr="error: no stack named 'dev' found\n")

    def missing_run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError(2, "No such file or directory", "pulumi")

    with pytest.raises(ConfigError, match=r"failed: error: no stack named 'dev' found$"):
        read_stack_outputs("dev", run=failing_run)
    with pytest.raises(
        ConfigError, match=r"pulumi CLI not found on PATH; install it or pass --outputs-file PATH"
    ):
        read_stack_outputs("dev", run=missing_run)


def test_kubeconfig_output_may_be_yaml_json_string_or_object() -> None:
    outputs = json.loads(OUTPUTS.read_text())
    as_dict = json.loads(outputs["clusters"]["east"]["kubeconfig"])
    outputs["clusters"]["west"]["kubeconfig"] = yaml.safe_dump(
        json.loads(outputs["clusters"]["west"]["kubeconfig"])
    )
    outputs["clusters"]["central"]["kubeconfig"] = json.loads(outputs["clusters"]["central"]["kubeconfig"])

    stack = parse_stack_outputs("dev", outputs)

    assert stack.names == ["east", "west", "central"]
    assert stack.clusters[0].kubeconfig == as_dict
    assert stack.clusters[1].kubeconfig["users"][0]["user"]["exec"]["args"][:2] == ["eks", "get-token"]
    assert stack.clusters[2].kubeconfig["clusters"][0]["cluster"]["server"].endswith(".eks.amazonaws.com")
    assert (stack.clusters[0].pod_cidr, stack.clusters[0].vpc_cidr, stack.demo) == (
        "10.100.0.0/16",
        "10.0.0.0/16",
        True,
    )


# --- pure check details -------------------------------------------------------------------------------------


def test_remote_cluster_reasons_follow_cilium_cli() -> None:
    connected = load("cluster-east.json")["ciliumStatus"]
    remote = next(iter(connected.values()))["cluster-mesh"]["clusters"][0]
    syncing = {**remote, "ready": False, "synced": {"nodes": True, "services": True}}
    del syncing["ready"]  # Go omits false booleans

    assert remote_cluster_problem(remote) is None
    assert (
        remote_cluster_problem(syncing) == "connected, synchronization in progress for endpoints, identities"
    )


def test_deployment_mid_rollout_is_not_ready() -> None:
    deployment = load("cluster-east.json")["deployments"]["kube-system/cilium-operator"]
    deployment["status"]["replicas"] = 3  # a surge pod of the old ReplicaSet still exists

    ok, text = deployment_ready("cilium-operator", deployment)

    assert not ok
    assert text == "cilium-operator: 2/2 ready, 2 updated, 2 available (rollout in progress: 1 old replicas)"


def test_terminating_coredns_pod_is_ignored() -> None:
    pods = load("cluster-east.json")["pods"]["kube-system"]
    dns = [p for p in pods if p["metadata"]["labels"].get("k8s-app") == "kube-dns"]
    leaving = load("broken/coredns-pod-vpc-ip.json")
    leaving["metadata"]["deletionTimestamp"] = "2025-11-24T10:30:00Z"

    result_ = check_coredns_pod_cidr("east", [*dns, leaving], "10.100.0.0/16", "10.0.0.0/16")

    assert result_.ok
    assert result_.evidence.startswith("2/2 in 10.100.0.0/16")


def test_unparseable_agent_status_reports_the_last_error_line() -> None:
    status = parse_agent_status(
        "cilium-abcde",
        ExecResult(
            "",
            'Error: Get "http:///var/run/cilium/cilium.sock/v1/healthz": dial unix: connect: no such file',
            1,
        ),
    )

    assert status.status is None
    assert status.error == (
        'cilium-dbg status failed (exit 1): Error: Get "http:///var/run/cilium/cilium.sock/v1/healthz": '
        "dial unix: connect: no such file"
    )


# --- the real client, against a local HTTP stand-in for the API server ------------------------------------


class _ApiHandler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, Any]] = {}
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        path = self.path.split("?", 1)[0]
        body = self.routes.get(path)
        status = 200 if body is not None else 404
        if body is None:
            body = {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "reason": "NotFound",
                "code": 404,
            }
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def test_kubernetes_client_returns_raw_api_json_and_none_for_404() -> None:
    east = load("cluster-east.json")
    _ApiHandler.routes = {
        "/apis/apps/v1/namespaces/kube-system/daemonsets/cilium": east["daemonsets"]["kube-system/cilium"],
        "/api/v1/namespaces/kube-system/pods": {
            "kind": "PodList",
            "apiVersion": "v1",
            "items": east["pods"]["kube-system"],
        },
    }
    _ApiHandler.seen = []
    server = HTTPServer(("127.0.0.1", 0), _ApiHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        kubeconfig = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "local", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": "c", "context": {"cluster": "local", "user": "u"}}],
            "current-context": "c",
        }
        client = KubernetesClusterClient.from_kubeconfig(kubeconfig)

        daemonset = client.read_daemonset("kube-system", "cilium")
        missing = client.read_daemonset("kube-system", "kube-proxy")
        pods = client.list_pods("kube-system", "k8s-app=kube-dns")
    finally:
        server.shutdown()
        server.server_close()

    assert daemonset == east["daemonsets"]["kube-system/cilium"]
    assert missing is None
    assert [p["metadata"]["name"] for p in pods] == [
        p["metadata"]["name"] for p in east["pods"]["kube-system"]
    ]
    assert "/api/v1/namespaces/kube-system/pods?labelSelector=k8s-app%3Dkube-dns" in _ApiHandler.seen


def test_kubernetes_client_maps_unreachable_server_to_cluster_access_error() -> None:
    probe = HTTPServer(("127.0.0.1", 0), _ApiHandler)
    port = probe.server_port
    probe.server_close()  # nothing listens on this port any more
    kubeconfig = {
        "clusters": [{"name": "gone", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "gone", "user": "u"}}],
        "current-context": "c",
    }
    client = KubernetesClusterClient.from_kubeconfig(kubeconfig)
    client._timeout = (1, 1)

    with pytest.raises(ClusterAccessError):
        client.list_nodes()


class _FakeWebSocket:
    """Stands in for kubernetes.stream's WSClient: replays stdout/stderr frames, then closes."""

    def __init__(self, frames: list[tuple[str, str]], returncode: int | None, closes: bool = True) -> None:
        self.frames = frames
        self.closes = closes
        self._returncode = returncode
        self.buffer: dict[str, str] = {}
        self.closed = False

    def is_open(self) -> bool:
        return not self.closed and (bool(self.frames) or not self.closes)

    def update(self, timeout: float) -> None:
        if self.frames:
            channel, data = self.frames.pop(0)
            self.buffer[channel] = self.buffer.get(channel, "") + data

    def peek_stdout(self) -> bool:
        return bool(self.buffer.get("out"))

    def read_stdout(self) -> str:
        return self.buffer.pop("out")

    def peek_stderr(self) -> bool:
        return bool(self.buffer.get("err"))

    def read_stderr(self) -> str:
        return self.buffer.pop("err")

    def close(self) -> None:
        self.closed = True

    @property
    def returncode(self) -> int | None:
        return self._returncode


def _exec_client(
    monkeypatch: pytest.MonkeyPatch, ws: _FakeWebSocket
) -> tuple[KubernetesClusterClient, list[Any]]:
    import inspect

    import kubernetes.stream
    from kubernetes import client as k8s

    calls: list[Any] = []

    def fake_stream(api_method: Callable[..., Any], *args: Any, **kwargs: Any) -> _FakeWebSocket:
        inspect.signature(api_method).bind(*args, **kwargs)  # the arguments the real API method accepts
        calls.append((api_method.__name__, args, kwargs))
        return ws

    monkeypatch.setattr(kubernetes.stream, "stream", fake_stream)
    return KubernetesClusterClient(k8s.ApiClient()), calls


def test_kubernetes_client_exec_collects_output_and_exit_code(monkeypatch: pytest.MonkeyPatch) -> None:
    status = json.dumps(next(iter(load("cluster-east.json")["ciliumStatus"].values())))
    ws = _FakeWebSocket(
        [("out", status[:100]), ("err", "level=warning\n"), ("out", status[100:])], returncode=0
    )
    client, calls = _exec_client(monkeypatch, ws)

    got = client.exec_in_pod(
        "kube-system", "cilium-xpg4v", "cilium-agent", ["cilium-dbg", "status", "-o", "json"], 5
    )

    assert got == ExecResult(status, "level=warning\n", 0)
    ((method, args, kwargs),) = calls
    assert (method, args) == ("connect_get_namespaced_pod_exec", ("cilium-xpg4v", "kube-system"))
    assert kwargs["command"] == ["cilium-dbg", "status", "-o", "json"]
    assert (kwargs["container"], kwargs["stdout"], kwargs["stderr"], kwargs["tty"]) == (
        "cilium-agent",
        True,
        True,
        False,
    )


def test_kubernetes_client_exec_that_never_ends_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    ws = _FakeWebSocket([], returncode=None, closes=False)
    client, _ = _exec_client(monkeypatch, ws)

    with pytest.raises(
        ClusterAccessError, match=r"exec curl -s rebel-base in x-wing-1 timed out after 0.05s"
    ):
        client.exec_in_pod("default", "x-wing-1", "x-wing-container", ["curl", "-s", "rebel-base"], 0.05)
    assert ws.closed


def test_json_path_writes_report_and_still_prints_table(world: World, tmp_path: Path) -> None:
    path = tmp_path / "report.json"

    code, out, _ = world.run("--json", str(path))

    assert code == 0
    assert out.splitlines()[0].split() == ["CLUSTER", "CHECK", "RESULT", "EVIDENCE"]
    report = json.loads(path.read_text())
    assert (report["ok"], report["passed"], report["failed"]) == (True, 18, 0)


def test_cluster_without_mesh_endpoint_gets_no_mesh_checks(world: World, tmp_path: Path) -> None:
    def single_cluster_without_mesh(outputs: dict[str, Any]) -> None:
        outputs["clusters"] = {"east": {**outputs["clusters"]["east"], "meshEndpoint": None}}
        outputs["demo"] = False

    code, out, err = world.run(outputs=_outputs_without(tmp_path, single_cluster_without_mesh))

    assert code == 0
    assert [line.split()[1] for line in out.splitlines()[1:-1]] == [
        CHECK_NO_AWS_NODE_KUBE_PROXY,
        CHECK_CILIUM_READY,
        CHECK_COREDNS_POD_CIDR,
    ]
    assert "No meshEndpoint output (Cluster Mesh disabled) for east: mesh checks skipped" in err


# --- an invalid kubeconfig is a usage error, not a failed check ---------------------------------------------


def _break_kubeconfig(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def mutate(outputs: dict[str, Any]) -> None:
        kubeconfig = json.loads(outputs["clusters"]["west"]["kubeconfig"])
        change(kubeconfig)
        outputs["clusters"]["west"]["kubeconfig"] = json.dumps(kubeconfig)

    return mutate


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda k: k.pop("current-context"), "current-context is not set"),
        (
            lambda k: k.update({"current-context": "admin"}),
            "current-context 'admin' names no entry of contexts (aws)",
        ),
        (
            lambda k: k["contexts"][0]["context"].update(cluster="gone"),
            "context 'aws' names cluster 'gone', which is not in clusters",
        ),
        (
            lambda k: k["clusters"][0]["cluster"].update(server="4F1D.gr7.us-east-1.eks.amazonaws.com"),
            "cluster 'kubernetes' has no server URL (https://host)",
        ),
        (
            lambda k: k["clusters"][0]["cluster"].update({"certificate-authority-data": "not base64!"}),
            "cluster 'kubernetes': certificate-authority-data is not base64",
        ),
        (
            lambda k: k["contexts"][0]["context"].update(user="nobody"),
            "context 'aws' names user 'nobody', which is not in users",
        ),
        (
            lambda k: k["users"][0]["user"]["exec"].pop("command"),
            "user 'aws': exec has no command (pulumi-eks uses `aws eks get-token`)",
        ),
    ],
)
def test_invalid_kubeconfig_exits_2_naming_the_key(
    world: World, tmp_path: Path, change: Callable[[dict[str, Any]], None], problem: str
) -> None:
    code, out, err = world.run(outputs=_outputs_without(tmp_path, _break_kubeconfig(change)))
    assert (code, out) == (2, "")
    assert (
        err.strip() == f"error: stack output clusters.west.kubeconfig is not a usable kubeconfig: {problem}"
    )


def test_kubeconfig_problems_never_quote_credentials(world: World, tmp_path: Path) -> None:
    def leak(k: dict[str, Any]) -> None:
        k["users"][0]["user"] = {"token": "s3cr3t-token"}
        k["clusters"][0]["cluster"]["server"] = "s3cr3t-server"

    code, _, err = world.run(outputs=_outputs_without(tmp_path, _break_kubeconfig(leak)))
    assert code == 2 and "has no server URL" in err and "s3cr3t" not in err


def test_help_states_prerequisites_environment_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        verify.main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for needle in (
        "prerequisites:",
        "`pulumi stack output\n    --json --show-secrets --stack STACK`",
        "runs `aws eks get-token`",
        "environment variables:",
        "AWS_PROFILE, AWS_REGION",
        "PULUMI_BACKEND_URL",
        "exit codes:\n  0    every check passed\n  1    a check failed",
        "2    usage error, missing or malformed stack outputs (an invalid kubeconfig included)",
    ):
        assert needle in text, needle


def test_mesh_certificates_report_days_to_expiry_and_fail_under_30(world: World) -> None:
    code, report = world.report()
    assert code == 0
    evidence = result(report, "west", CHECK_MESH_CERTIFICATES)["evidence"]
    assert "clustermesh-apiserver-server-cert 1095 days left" in evidence
    assert "cilium-ca 1095 days left" in evidence

    world.snapshot("west")["secrets"] = mesh_cert_secrets(1095, short="clustermesh-apiserver-remote-cert")
    code, report = world.report()
    assert code == 1
    failed = result(report, "west", CHECK_MESH_CERTIFICATES)
    assert failed["ok"] is False
    assert "clustermesh-apiserver-remote-cert 20 days left (< 30)" in failed["evidence"]
    assert result(report, "east", CHECK_MESH_CERTIFICATES)["ok"] is True


def test_missing_mesh_certificate_fails(world: World) -> None:
    del world.snapshot("east")["secrets"]["kube-system/clustermesh-apiserver-server-cert"]
    # The local certificate is optional (KVStoreMesh only): dropping it still passes.
    del world.snapshot("west")["secrets"]["kube-system/clustermesh-apiserver-local-cert"]
    code, report = world.report()
    assert code == 1
    assert (
        "clustermesh-apiserver-server-cert: no tls.crt"
        in result(report, "east", CHECK_MESH_CERTIFICATES)["evidence"]
    )
    assert result(report, "west", CHECK_MESH_CERTIFICATES)["ok"] is True
