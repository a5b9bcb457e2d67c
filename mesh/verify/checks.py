"""Pure checks behind ``python -m mesh.verify``: fetched Kubernetes/Cilium objects in, verdicts out.

Every function here takes plain JSON dicts exactly as the Kubernetes API (or ``cilium-dbg status -o json``)
returns them - camelCase keys, absent fields when a value is zero/false - and returns a ``CheckResult``.
Nothing here talks to a cluster, so each failure mode can be tested against recorded API objects.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Stable check identifiers: they appear in the table and the --json report, so scripts may match on them.
CHECK_NO_AWS_NODE_KUBE_PROXY = "no-aws-node-kube-proxy"
CHECK_CILIUM_READY = "cilium-ready"
CHECK_COREDNS_POD_CIDR = "coredns-pod-cidr"
CHECK_CLUSTERMESH_APISERVER = "clustermesh-apiserver"
CHECK_MESH_CONNECTED = "mesh-connected"
CHECK_GLOBAL_SERVICE = "global-service"
CHECK_MESH_CERTIFICATES = "mesh-certificates"

ALL_CHECKS: tuple[str, ...] = (
    CHECK_NO_AWS_NODE_KUBE_PROXY,
    CHECK_CILIUM_READY,
    CHECK_COREDNS_POD_CIDR,
    CHECK_CLUSTERMESH_APISERVER,
    CHECK_MESH_CONNECTED,
    CHECK_MESH_CERTIFICATES,
)
"""Checks run on every cluster; ``CHECK_GLOBAL_SERVICE`` is added only with ``--global-service``."""

AGENT_NOT_READY_TAINT = "node.cilium.io/agent-not-ready"
GLOBAL_SERVICE_ANNOTATIONS = ("service.cilium.io/global", "io.cilium/global-service")
"""Current annotation first; Cilium still honours the legacy one."""


@dataclass(frozen=True)
class CheckResult:
    """One verdict: did ``check`` pass on ``cluster``, and the facts that show it."""

    cluster: str
    check: str
    ok: bool
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "check": self.check, "ok": self.ok, "evidence": self.evidence}


@dataclass(frozen=True)
class ExecResult:
    """Output of one command run inside a pod (``returncode`` None when the exit status is unknown)."""

    stdout: str
    stderr: str = ""
    returncode: int | None = 0


@dataclass(frozen=True)
class AgentMeshStatus:
    """What one Cilium agent reported: its parsed ``cilium-dbg status -o json``, or why we have none."""

    pod: str
    status: Mapping[str, Any] | None = None
    error: str | None = None


def _dig(obj: Mapping[str, Any] | None, *path: str, default: Any = None) -> Any:
    """Nested lookup that tolerates missing levels (the API omits zero/false/empty fields)."""
    cur: Any = obj
    for key in path:
        if not isinstance(cur, Mapping) or key not in cur:
            return default
        cur = cur[key]
    return cur


def _name(obj: Mapping[str, Any]) -> str:
    return str(_dig(obj, "metadata", "name", default="?"))


def _generation_lag(obj: Mapping[str, Any]) -> str | None:
    """Describe a controller that has not yet observed its latest spec (its status may be stale)."""
    generation = _dig(obj, "metadata", "generation", default=0)
    observed = _dig(obj, "status", "observedGeneration", default=0)
    if observed < generation:
        return f"status not yet observed (generation {generation}, observed {observed})"
    return None


def _result(cluster: str, check: str, parts: Sequence[tuple[bool, str]]) -> CheckResult:
    return CheckResult(cluster, check, all(ok for ok, _ in parts), "; ".join(text for _, text in parts))


# --- 1. aws-node and kube-proxy schedule nothing -------------------------------------------------------


def daemonset_schedules_nothing(name: str, daemonset: Mapping[str, Any] | None) -> tuple[bool, str]:
    """A DaemonSet that is absent, or desires and runs 0 pods (counting misscheduled leftovers)."""
    if daemonset is None:
        return True, f"{name}: absent"
    desired = _dig(daemonset, "status", "desiredNumberScheduled", default=0)
    current = _dig(daemonset, "status", "currentNumberScheduled", default=0)
    misscheduled = _dig(daemonset, "status", "numberMisscheduled", default=0)
    ready = _dig(daemonset, "status", "numberReady", default=0)
    text = f"{name}: desired {desired}, scheduled {current}, ready {ready}"
    if misscheduled:
        text += f", misscheduled {misscheduled}"
    lag = _generation_lag(daemonset)
    if lag:
        return False, f"{text} ({lag})"
    return desired == 0 and current == 0 and misscheduled == 0, text


def check_no_aws_node_kube_proxy(
    cluster: str, aws_node: Mapping[str, Any] | None, kube_proxy: Mapping[str, Any] | None
) -> CheckResult:
    """Cilium owns pod networking and services: the VPC CNI and kube-proxy must run no pods."""
    parts = [
        daemonset_schedules_nothing("aws-node", aws_node),
        daemonset_schedules_nothing("kube-proxy", kube_proxy),
    ]
    return _result(cluster, CHECK_NO_AWS_NODE_KUBE_PROXY, parts)


# --- 2. Cilium agent and operator ready, no agent-not-ready taint ---------------------------------------


def daemonset_ready(name: str, daemonset: Mapping[str, Any] | None) -> tuple[bool, str]:
    """All desired pods ready, updated and available (same rules as ``cilium status``)."""
    if daemonset is None:
        return False, f"DaemonSet {name} not found"
    status = daemonset.get("status", {})
    desired = status.get("desiredNumberScheduled", 0)
    ready = status.get("numberReady", 0)
    updated = status.get("updatedNumberScheduled", 0)
    available = status.get("numberAvailable", 0)
    text = f"{name}: {ready}/{desired} ready, {updated} updated, {available} available"
    lag = _generation_lag(daemonset)
    if lag:
        return False, f"{text} ({lag})"
    if desired == 0:
        return False, f"{text} (no node selected)"
    return ready == desired and updated == desired and available == desired, text


def deployment_ready(name: str, deployment: Mapping[str, Any] | None) -> tuple[bool, str]:
    """Every wanted replica ready, updated and available, with no old replica left behind."""
    if deployment is None:
        return False, f"Deployment {name} not found"
    wanted = _dig(deployment, "spec", "replicas", default=1)
    status = deployment.get("status", {})
    total = status.get("replicas", 0)
    ready = status.get("readyReplicas", 0)
    updated = status.get("updatedReplicas", 0)
    available = status.get("availableReplicas", 0)
    text = f"{name}: {ready}/{wanted} ready, {updated} updated, {available} available"
    lag = _generation_lag(deployment)
    if lag:
        return False, f"{text} ({lag})"
    if wanted == 0:
        return False, f"{text} (scaled to 0)"
    if total > updated:
        return False, f"{text} (rollout in progress: {total - updated} old replicas)"
    return ready >= wanted and updated >= wanted and available >= wanted, text


def nodes_with_taint(nodes: Iterable[Mapping[str, Any]], key: str) -> list[str]:
    return [
        _name(node) for node in nodes if any(t.get("key") == key for t in _dig(node, "spec", "taints") or [])
    ]


def check_cilium_ready(
    cluster: str,
    agent: Mapping[str, Any] | None,
    operator: Mapping[str, Any] | None,
    nodes: Sequence[Mapping[str, Any]],
) -> CheckResult:
    """Agent DaemonSet and operator Deployment fully ready; the agent removed its startup taint everywhere."""
    tainted = nodes_with_taint(nodes, AGENT_NOT_READY_TAINT)
    taint_part = (
        (False, f"{len(tainted)}/{len(nodes)} nodes keep taint {AGENT_NOT_READY_TAINT}: {', '.join(tainted)}")
        if tainted
        else (True, f"no {AGENT_NOT_READY_TAINT} taint on {len(nodes)} nodes")
    )
    parts = [daemonset_ready("cilium", agent), deployment_ready("cilium-operator", operator), taint_part]
    return _result(cluster, CHECK_CILIUM_READY, parts)


# --- 3. CoreDNS runs on Cilium-assigned IPs --------------------------------------------------------------


def _pod_ips(pod: Mapping[str, Any]) -> list[str]:
    ips = [entry.get("ip", "") for entry in _dig(pod, "status", "podIPs") or []]
    single = _dig(pod, "status", "podIP")
    if single and single not in ips:
        ips.insert(0, single)
    return [ip for ip in ips if ip]


def _in_cidr(ip: str, cidr: str | None) -> bool:
    if not cidr:
        return False
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def check_coredns_pod_cidr(
    cluster: str, pods: Sequence[Mapping[str, Any]], pod_cidr: str, vpc_cidr: str | None = None
) -> CheckResult:
    """Every live CoreDNS pod has its IP(s) in the Cilium pod CIDR.

    A CoreDNS pod started before Cilium keeps the VPC IP aws-node gave it and is unreachable through Cilium;
    the fix is a rollout restart. Terminating/finished pods are ignored (they no longer serve DNS).
    """
    live = [
        pod
        for pod in pods
        if not _dig(pod, "metadata", "deletionTimestamp")
        and _dig(pod, "status", "phase") not in ("Succeeded", "Failed")
    ]
    if not live:
        return CheckResult(
            cluster, CHECK_COREDNS_POD_CIDR, False, "no running CoreDNS pod (label k8s-app=kube-dns)"
        )
    good: list[str] = []
    bad: list[str] = []
    for pod in live:
        ips = _pod_ips(pod)
        if not ips:
            bad.append(f"{_name(pod)} has no IP yet (phase {_dig(pod, 'status', 'phase', default='?')})")
            continue
        outside = [ip for ip in ips if not _in_cidr(ip, pod_cidr)]
        if not outside:
            good.append(f"{_name(pod)} {', '.join(ips)}")
            continue
        why = " (a VPC IP from aws-node)" if any(_in_cidr(ip, vpc_cidr) for ip in outside) else ""
        bad.append(f"{_name(pod)} has {', '.join(outside)} outside pod CIDR {pod_cidr}{why}")
    if bad:
        hint = "; restart it: kubectl -n kube-system rollout restart deployment coredns"
        return CheckResult(cluster, CHECK_COREDNS_POD_CIDR, False, "; ".join(bad) + hint)
    return CheckResult(
        cluster, CHECK_COREDNS_POD_CIDR, True, f"{len(good)}/{len(live)} in {pod_cidr}: {', '.join(good)}"
    )


# --- 4. clustermesh-apiserver ready behind a load balancer with an address ----------------------------------


def load_balancer_address(service: Mapping[str, Any] | None) -> str | None:
    """First ``status.loadBalancer.ingress`` hostname (AWS NLB) or IP, if the cloud has assigned one."""
    ingress = _dig(service, "status", "loadBalancer", "ingress") or []
    if not ingress:
        return None
    return ingress[0].get("hostname") or ingress[0].get("ip") or None


def check_clustermesh_apiserver(
    cluster: str,
    deployment: Mapping[str, Any] | None,
    lb_service: Mapping[str, Any] | None,
    mesh_endpoint: str | None = None,
    lb_service_name: str = "clustermesh-apiserver-lb",
) -> CheckResult:
    """Deployment ready; the LoadBalancer Service has an address, the one peers were configured with.

    ``mesh_endpoint`` is the stack output peers use as ``clustermesh.config.clusters[].address``; when
    given, it must contain the load balancer's current address (else peers dial a stale endpoint).
    """
    parts = [deployment_ready("clustermesh-apiserver", deployment)]
    if lb_service is None:
        parts.append((False, f"Service {lb_service_name} not found"))
    else:
        svc_type = _dig(lb_service, "spec", "type", default="ClusterIP")
        address = load_balancer_address(lb_service)
        if svc_type != "LoadBalancer":
            parts.append((False, f"Service {lb_service_name} is type {svc_type}, not LoadBalancer"))
        elif address is None:
            parts.append((False, f"Service {lb_service_name} has no load balancer address yet"))
        elif mesh_endpoint and address not in mesh_endpoint:
            parts.append(
                (False, f"{lb_service_name} at {address} but stack output meshEndpoint is {mesh_endpoint}")
            )
        else:
            parts.append((True, f"{lb_service_name} at {address}"))
    return _result(cluster, CHECK_CLUSTERMESH_APISERVER, parts)


# --- 5. every agent sees every other cluster connected and ready -------------------------------------------


def remote_cluster_problem(remote: Mapping[str, Any]) -> str | None:
    """Why an agent's ``cluster-mesh.clusters[]`` entry is not usable, or None when connected and ready.

    Mirrors the reasons ``cilium clustermesh status`` gives. Go's ``omitempty`` drops false booleans, so an
    absent ``connected``/``ready`` means false.
    """
    if remote.get("connected") and remote.get("ready"):
        return None
    if not remote.get("connected"):
        return f"not connected ({remote.get('status') or 'no status'})"
    config = remote.get("config")
    if config is None:
        return "connected, remote cluster configuration not retrieved yet"
    if config.get("required") and not config.get("retrieved"):
        return "connected, remote cluster configuration required but not found"
    synced = remote.get("synced")
    if synced is None:
        return "connected, synchronization status unknown"
    pending = [kind for kind in ("endpoints", "identities", "nodes", "services") if not synced.get(kind)]
    if pending:
        return f"connected, synchronization in progress for {', '.join(pending)}"
    return "connected but not ready"


def agent_mesh_problems(status: Mapping[str, Any], expected: Sequence[str]) -> tuple[list[str], list[str]]:
    """(problems, ready remote names) for one agent's status against the remote clusters it must see."""
    remotes = {str(r.get("name")): r for r in _dig(status, "cluster-mesh", "clusters") or []}
    if expected and _dig(status, "cluster-mesh") is None:
        return ["no cluster-mesh section (Cluster Mesh not configured in this agent)"], []
    problems: list[str] = []
    ready: list[str] = []
    for name in expected:
        remote = remotes.get(name)
        if remote is None:
            problems.append(f"{name}: not in this agent's mesh configuration")
            continue
        problem = remote_cluster_problem(remote)
        if problem:
            problems.append(f"{name}: {problem}")
        else:
            ready.append(name)
    return problems, ready


def check_mesh_connected(
    cluster: str, expected_remotes: Sequence[str], agents: Sequence[AgentMeshStatus]
) -> CheckResult:
    """Every agent's ``cilium-dbg status`` lists each of the N-1 other clusters as connected and ready."""
    expected = sorted(expected_remotes)
    want = len(expected)
    if not agents:
        return CheckResult(cluster, CHECK_MESH_CONNECTED, False, "no Cilium agent pod (label k8s-app=cilium)")
    failures: list[str] = []
    via_kvstoremesh = False
    nodes: dict[str, int] = {}
    for agent in agents:
        if agent.status is None:
            failures.append(f"{agent.pod}: {agent.error or 'no status'}")
            continue
        problems, ready = agent_mesh_problems(agent.status, expected)
        for remote in _dig(agent.status, "cluster-mesh", "clusters") or []:
            via_kvstoremesh = via_kvstoremesh or bool(_dig(remote, "config", "kvstoremesh"))
            if remote.get("name") in ready:
                nodes[str(remote["name"])] = max(
                    nodes.get(str(remote["name"]), 0), remote.get("num-nodes", 0)
                )
        if problems:
            failures.append(f"{agent.pod}: {len(ready)}/{want} remote clusters ready - {'; '.join(problems)}")
    healthy = len(agents) - len(failures)
    if failures:
        evidence = f"{healthy}/{len(agents)} agents see all {want} remote clusters ready; " + " | ".join(
            failures
        )
        return CheckResult(cluster, CHECK_MESH_CONNECTED, False, evidence)
    seen = (
        ", ".join(f"{name} ({nodes.get(name, 0)} nodes)" for name in expected) or "no remote cluster expected"
    )
    suffix = " via KVStoreMesh" if via_kvstoremesh else ""
    evidence = f"{len(agents)}/{len(agents)} agents see {want}/{want} remote clusters ready{suffix}: {seen}"
    return CheckResult(cluster, CHECK_MESH_CONNECTED, True, evidence)


def parse_agent_status(pod: str, result: ExecResult) -> AgentMeshStatus:
    """Parse ``cilium-dbg status -o json``. It can exit non-zero on a degraded agent yet still print JSON."""
    try:
        status = json.loads(result.stdout)
    except ValueError:
        detail = (result.stderr or result.stdout).strip().splitlines()
        reason = detail[-1] if detail else "empty output"
        return AgentMeshStatus(pod, error=f"cilium-dbg status failed (exit {result.returncode}): {reason}")
    if not isinstance(status, dict):
        return AgentMeshStatus(pod, error="cilium-dbg status printed no JSON object")
    return AgentMeshStatus(pod, status=status)


# --- 6. the demo's global service answers from every cluster -------------------------------------------


def service_is_global(service: Mapping[str, Any] | None) -> bool:
    annotations = _dig(service, "metadata", "annotations") or {}
    return any(str(annotations.get(key, "")).lower() == "true" for key in GLOBAL_SERVICE_ANNOTATIONS)


def reply_origin(reply: str, field: str) -> str | None:
    """The ``field`` value of a rebel-base JSON reply, e.g. ``{"Galaxy": "Alderaan", "Cluster": "east"}``."""
    try:
        data = json.loads(reply)
    except ValueError:
        return None
    value = data.get(field) if isinstance(data, dict) else None
    return None if value is None else str(value)


def check_global_service(
    cluster: str,
    client_pod: str | None,
    service: Mapping[str, Any] | None,
    replies: Sequence[ExecResult],
    answers: Mapping[str, str],
    field: str = "Cluster",
    service_name: str = "rebel-base",
) -> CheckResult:
    """Requests from one x-wing pod to the global service reach rebel-base in every cluster.

    ``answers`` maps each cluster name to the ``field`` value its rebel-base replies with.
    """
    if service is None:
        return CheckResult(cluster, CHECK_GLOBAL_SERVICE, False, f"Service {service_name} not found")
    if not service_is_global(service):
        text = f'Service {service_name} lacks annotation {GLOBAL_SERVICE_ANNOTATIONS[0]}: "true"'
        return CheckResult(cluster, CHECK_GLOBAL_SERVICE, False, text)
    if client_pod is None:
        return CheckResult(
            cluster, CHECK_GLOBAL_SERVICE, False, "no running x-wing pod to send requests from"
        )
    by_answer = {answer: name for name, answer in answers.items()}
    counts = dict.fromkeys(answers, 0)
    unknown: list[str] = []
    failed: list[str] = []
    for reply in replies:
        origin = reply_origin(reply.stdout, field) if reply.returncode in (0, None) else None
        if origin in by_answer:
            counts[by_answer[origin]] += 1
        elif origin is not None:
            unknown.append(origin)
        else:
            failed.append((reply.stderr or reply.stdout).strip() or f"exit {reply.returncode}")
    tally = ", ".join(f"{name} {count}" for name, count in counts.items())
    evidence = f"{len(replies)} requests from {client_pod}: {tally}"
    if unknown:
        evidence += f"; unrecognised {field} values {sorted(set(unknown))}"
    if failed:
        evidence += f"; {len(failed)} failed (e.g. {failed[0][:80]!r})"
    silent = [name for name, count in counts.items() if count == 0]
    if silent:
        return CheckResult(
            cluster, CHECK_GLOBAL_SERVICE, False, f"{evidence}; never answered: {', '.join(silent)}"
        )
    return CheckResult(cluster, CHECK_GLOBAL_SERVICE, True, evidence)


# --- 7. mesh certificates are far from expiry ------------------------------------------------------------

MIN_CERT_DAYS = 30
"""A mesh certificate with fewer days left fails the check: time to renew (``pulumi up`` re-renders the
`helm`-method certificates; the 1.19+ CronJob renews every fourth month)."""

MESH_CERT_SECRETS: tuple[tuple[str, str, bool], ...] = (
    ("cilium-ca", "ca.crt", True),
    ("clustermesh-apiserver-server-cert", "tls.crt", True),
    ("clustermesh-apiserver-admin-cert", "tls.crt", True),
    ("clustermesh-apiserver-remote-cert", "tls.crt", True),
    ("clustermesh-apiserver-local-cert", "tls.crt", False),
)
"""(Secret, key, required) in kube-system: the shared CA and the clustermesh-apiserver certificates the chart
(or its certgen job) writes; the local certificate exists only with KVStoreMesh."""


def days_to_expiry(pem: bytes, now: datetime.datetime) -> float:
    """Days until the first certificate in ``pem`` expires (negative when it already has)."""
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(pem)
    return (cert.not_valid_after_utc - now).total_seconds() / 86400


def check_mesh_certificates(
    cluster: str,
    secrets: Mapping[str, Mapping[str, Any] | None],
    now: datetime.datetime,
    min_days: int = MIN_CERT_DAYS,
) -> CheckResult:
    """Each mesh certificate's days to expiry; fails when one has fewer than ``min_days`` left or is
    missing/unreadable. ``secrets`` maps Secret name to the API object (``data`` base64, as the API
    returns it)."""
    parts: list[tuple[bool, str]] = []
    for name, key, required in MESH_CERT_SECRETS:
        secret = secrets.get(name)
        data = _dig(secret, "data", key)
        if data is None:
            if required:
                parts.append((False, f"{name}: no {key}"))
            continue
        try:
            days = days_to_expiry(base64.b64decode(data), now)
        except ValueError as err:
            parts.append((False, f"{name}: unreadable certificate ({err})"))
            continue
        ok = days >= min_days
        parts.append((ok, f"{name} {int(days)} days left" + ("" if ok else f" (< {min_days})")))
    return _result(cluster, CHECK_MESH_CERTIFICATES, parts)
