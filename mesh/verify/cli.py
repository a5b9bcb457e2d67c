"""``python -m mesh.verify STACK``: does the deployed Cilium Cluster Mesh really work?

Reads the stack outputs (``clusters``, ``demo``), talks to every cluster with the official ``kubernetes``
client and checks, per cluster:

1. ``no-aws-node-kube-proxy`` - DaemonSets aws-node and kube-proxy schedule 0 pods (or are absent);
2. ``cilium-ready`` - DaemonSet ``cilium`` and Deployment ``cilium-operator`` fully ready, no node keeps the
   ``node.cilium.io/agent-not-ready`` taint;
3. ``coredns-pod-cidr`` - CoreDNS pods have IPs inside the cluster's ``podCidr``;
4. ``clustermesh-apiserver`` - Deployment ready, Service ``clustermesh-apiserver-lb`` has an LB address;
5. ``mesh-connected`` - ``cilium-dbg status -o json`` in every agent shows the N-1 other clusters connected
   and ready;
6. ``mesh-certificates`` - days to expiry of the shared CA (``cilium-ca``) and each clustermesh-apiserver
   certificate (server, admin, remote, local); fails under 30 days;
7. ``global-service`` (only with ``--global-service``) - ``curl rebel-base`` from an x-wing pod gets answers
   from every cluster.

Checks 4, 5 and 6 apply to clusters with a ``meshEndpoint`` output (Cluster Mesh enabled).

It re-runs all checks every ``--interval`` seconds (default 10) until they all pass or ``--wait`` seconds
(default 300; 0 = one pass) have elapsed, printing progress to stderr. Then it prints a table (or, with
``--json``, a JSON report). Exit status: 0 all checks pass, 1 some check fails, 2 usage/stack-output error.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from mesh.verify.checks import (
    ALL_CHECKS,
    CHECK_CILIUM_READY,
    CHECK_CLUSTERMESH_APISERVER,
    CHECK_COREDNS_POD_CIDR,
    CHECK_GLOBAL_SERVICE,
    CHECK_MESH_CERTIFICATES,
    CHECK_MESH_CONNECTED,
    CHECK_NO_AWS_NODE_KUBE_PROXY,
    MESH_CERT_SECRETS,
    AgentMeshStatus,
    CheckResult,
    ExecResult,
    check_cilium_ready,
    check_clustermesh_apiserver,
    check_coredns_pod_cidr,
    check_global_service,
    check_mesh_certificates,
    check_mesh_connected,
    check_no_aws_node_kube_proxy,
    parse_agent_status,
    service_is_global,
)
from mesh.verify.sources import (
    ClusterAccessError,
    ClusterClient,
    ClusterInfo,
    ConfigError,
    KubernetesClusterClient,
    StackInfo,
    parse_stack_outputs,
    read_stack_outputs,
)

MESH_CHECKS = (CHECK_CLUSTERMESH_APISERVER, CHECK_MESH_CONNECTED, CHECK_MESH_CERTIFICATES)
KUBE_SYSTEM = "kube-system"
LB_SERVICE = "clustermesh-apiserver-lb"
CILIUM_STATUS_COMMAND = ("cilium-dbg", "status", "-o", "json")
# x-wing's image (cilium/json-mock) ships curl; --max-time keeps one lost request from stalling the run.
CURL_COMMAND = ("curl", "-s", "--max-time", "5", "rebel-base")

DEFAULT_WAIT = 300.0
DEFAULT_DEMO_NAMESPACE = "mesh-demo"  # where mesh/components/demo.py deploys rebel-base and x-wing
DEFAULT_INTERVAL = 10.0


def _utc_now() -> datetime.datetime:
    """The wall clock: a deployed certificate expires in real time, whatever a plan is pinned to."""
    return datetime.datetime.now(datetime.UTC)


@dataclass(frozen=True)
class VerifyOptions:
    """Knobs of one verification run; defaults match the CLI's."""

    wait: float = DEFAULT_WAIT
    interval: float = DEFAULT_INTERVAL
    global_service: bool = False
    requests_per_cluster: int = 10
    """k in "N*k requests": with 2 rebel-base replicas per cluster, missing one of 3 clusters by chance in
    30 requests has probability ~3*(2/3)^30 < 1e-5."""
    demo_namespace: str = DEFAULT_DEMO_NAMESPACE
    demo_field: str = "Cluster"
    demo_answers: Mapping[str, str] = field(default_factory=dict)
    """cluster name -> value of ``demo_field`` its rebel-base replies with; default: the cluster name."""
    exec_timeout: float = 30.0
    now: Callable[[], datetime.datetime] = field(default=_utc_now)
    """Wall clock for certificate expiry (tests pin it)."""

    def checks(self, info: ClusterInfo) -> tuple[str, ...]:
        """Checks for one cluster. A cluster without a ``meshEndpoint`` output is not in a mesh (Cluster
        Mesh disabled), so it gets no clustermesh-apiserver / mesh-connected checks."""
        checks = ALL_CHECKS if info.mesh_endpoint else tuple(c for c in ALL_CHECKS if c not in MESH_CHECKS)
        return (*checks, CHECK_GLOBAL_SERVICE) if self.global_service else checks

    def answers(self, clusters: Sequence[str]) -> dict[str, str]:
        return {name: self.demo_answers.get(name, name) for name in clusters}


@dataclass(frozen=True)
class Report:
    """Outcome of a run: the last round's results and how long it took to get there."""

    stack: str
    clusters: tuple[str, ...]
    results: tuple[CheckResult, ...]
    rounds: int
    elapsed: float
    wait: float

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.ok]

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "ok": self.ok,
            "clusters": list(self.clusters),
            "passed": len(self.results) - len(self.failed),
            "failed": len(self.failed),
            "rounds": self.rounds,
            "elapsedSeconds": round(self.elapsed, 1),
            "waitSeconds": self.wait,
            "checks": [r.to_dict() for r in self.results],
        }


ClientFactory = Callable[[ClusterInfo], ClusterClient]


def default_client_factory(info: ClusterInfo) -> ClusterClient:
    return KubernetesClusterClient.from_kubeconfig(info.kubeconfig)


def _guarded(cluster: str, check: str, run: Callable[[], CheckResult]) -> CheckResult:
    """An unreachable API is a failed check with the reason as evidence, never a traceback."""
    try:
        return run()
    except ClusterAccessError as err:
        return CheckResult(cluster, check, False, f"cannot read cluster: {err}")


def _is_live(pod: Mapping[str, Any]) -> bool:
    return not pod.get("metadata", {}).get("deletionTimestamp")


def _is_running_ready(pod: Mapping[str, Any]) -> bool:
    status = pod.get("status", {})
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    return _is_live(pod) and status.get("phase") == "Running" and conditions.get("Ready") == "True"


def collect_agent_statuses(client: ClusterClient, timeout: float) -> list[AgentMeshStatus]:
    """``cilium-dbg status -o json`` from every live agent pod; a failed exec is that agent's evidence."""
    statuses: list[AgentMeshStatus] = []
    for pod in client.list_pods(KUBE_SYSTEM, "k8s-app=cilium"):
        if not _is_live(pod):
            continue  # terminating during a rollout; its replacement is checked instead
        name = pod["metadata"]["name"]
        phase = pod.get("status", {}).get("phase")
        if phase != "Running":
            statuses.append(AgentMeshStatus(name, error=f"pod is {phase}"))
            continue
        try:
            result = client.exec_in_pod(KUBE_SYSTEM, name, "cilium-agent", CILIUM_STATUS_COMMAND, timeout)
        except ClusterAccessError as err:
            statuses.append(AgentMeshStatus(name, error=str(err)))
            continue
        statuses.append(parse_agent_status(name, result))
    return statuses


def _global_service(
    info: ClusterInfo, stack: StackInfo, client: ClusterClient, options: VerifyOptions
) -> CheckResult:
    namespace = options.demo_namespace
    service = client.read_service(namespace, "rebel-base")
    pods = [p for p in client.list_pods(namespace, "name=x-wing") if _is_running_ready(p)]
    client_pod = pods[0]["metadata"]["name"] if pods else None
    replies: list[ExecResult] = []
    if client_pod and service_is_global(service):
        # The demo's x-wing has one container ("x-wing-container" upstream); take it by position.
        container = pods[0]["spec"]["containers"][0]["name"]
        for _ in range(options.requests_per_cluster * len(stack.clusters)):
            replies.append(
                client.exec_in_pod(namespace, client_pod, container, CURL_COMMAND, options.exec_timeout)
            )
    return check_global_service(
        info.name, client_pod, service, replies, options.answers(stack.names), field=options.demo_field
    )


def verify_cluster(
    info: ClusterInfo, stack: StackInfo, client: ClusterClient, options: VerifyOptions
) -> list[CheckResult]:
    """All checks for one cluster, in the order of ``options.checks(info)``."""
    name = info.name
    remotes = [other.name for other in stack.clusters if other.name != name and other.mesh_endpoint]
    runs: dict[str, Callable[[], CheckResult]] = {
        CHECK_NO_AWS_NODE_KUBE_PROXY: lambda: check_no_aws_node_kube_proxy(
            name,
            client.read_daemonset(KUBE_SYSTEM, "aws-node"),
            client.read_daemonset(KUBE_SYSTEM, "kube-proxy"),
        ),
        CHECK_CILIUM_READY: lambda: check_cilium_ready(
            name,
            client.read_daemonset(KUBE_SYSTEM, "cilium"),
            client.read_deployment(KUBE_SYSTEM, "cilium-operator"),
            client.list_nodes(),
        ),
        CHECK_COREDNS_POD_CIDR: lambda: check_coredns_pod_cidr(
            name, client.list_pods(KUBE_SYSTEM, "k8s-app=kube-dns"), info.pod_cidr, info.vpc_cidr
        ),
        CHECK_CLUSTERMESH_APISERVER: lambda: check_clustermesh_apiserver(
            name,
            client.read_deployment(KUBE_SYSTEM, "clustermesh-apiserver"),
            client.read_service(KUBE_SYSTEM, LB_SERVICE),
            info.mesh_endpoint,
            LB_SERVICE,
        ),
        CHECK_MESH_CONNECTED: lambda: check_mesh_connected(
            name, remotes, collect_agent_statuses(client, options.exec_timeout)
        ),
        CHECK_MESH_CERTIFICATES: lambda: check_mesh_certificates(
            name,
            {secret: client.read_secret(KUBE_SYSTEM, secret) for secret, _, _ in MESH_CERT_SECRETS},
            options.now(),
        ),
        CHECK_GLOBAL_SERVICE: lambda: _global_service(info, stack, client, options),
    }
    return [_guarded(name, check, runs[check]) for check in options.checks(info)]


def run_round(stack: StackInfo, options: VerifyOptions, client_factory: ClientFactory) -> list[CheckResult]:
    """One pass over every cluster. Clients are rebuilt each round: EKS tokens expire after ~15 minutes.

    A cluster whose API cannot be reached at all (first call fails) gets every check failed with that
    reason, instead of waiting for the same timeout once per check.
    """
    results: list[CheckResult] = []
    for info in stack.clusters:
        try:
            client = client_factory(info)
            client.list_nodes()
        except ClusterAccessError as err:
            results += [
                CheckResult(info.name, c, False, f"cannot reach cluster: {err}") for c in options.checks(info)
            ]
            continue
        results += verify_cluster(info, stack, client, options)
    return results


def verify(
    stack: StackInfo,
    options: VerifyOptions,
    client_factory: ClientFactory = default_client_factory,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str], None] = lambda line: None,
) -> Report:
    """Run rounds until every check passes or the next round would start after ``options.wait`` seconds."""
    start = clock()
    rounds = 0
    while True:
        rounds += 1
        results = run_round(stack, options, client_factory)
        elapsed = clock() - start
        failing = [r for r in results if not r.ok]
        line = f"[{elapsed:5.0f}s] round {rounds}: {len(results) - len(failing)}/{len(results)} checks pass"
        if not failing:
            progress(line)
            break
        waiting = describe_failing(results)
        if elapsed + options.interval > options.wait:
            progress(f"{line}; still failing: {waiting}; giving up (--wait {options.wait:g}s)")
            break
        progress(f"{line}; waiting for {waiting}; retrying in {options.interval:g}s")
        sleep(options.interval)
    return Report(stack.stack, tuple(stack.names), tuple(results), rounds, elapsed, options.wait)


def describe_failing(results: Sequence[CheckResult]) -> str:
    """Short progress text, e.g. ``east: mesh-connected; west: all checks``."""
    parts: list[str] = []
    for cluster in dict.fromkeys(r.cluster for r in results):
        mine = [r for r in results if r.cluster == cluster]
        bad = [r.check for r in mine if not r.ok]
        if bad:
            parts.append(f"{cluster}: {'all checks' if len(bad) == len(mine) else ', '.join(bad)}")
    return "; ".join(parts)


def format_table(results: Sequence[CheckResult]) -> str:
    """Fixed-width table, one row per (cluster, check); evidence is never truncated."""
    rows = [("CLUSTER", "CHECK", "RESULT", "EVIDENCE")]
    rows += [(r.cluster, r.check, "PASS" if r.ok else "FAIL", r.evidence) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
        for row in rows
    )


def summary_line(report: Report) -> str:
    rounds = f"{report.rounds} round{'s' if report.rounds != 1 else ''}"
    where = f"stack {report.stack}, {len(report.clusters)} clusters, {rounds}, {report.elapsed:.0f}s"
    if report.ok:
        return f"PASS: all {len(report.results)} checks passed ({where})"
    return f"FAIL: {len(report.failed)} of {len(report.results)} checks failed ({where})"


def _parse_answers(pairs: Sequence[str], clusters: Sequence[str]) -> dict[str, str]:
    answers: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not value:
            raise ConfigError(f"--demo-answer expects CLUSTER=VALUE, got {pair!r}")
        if name not in clusters:
            raise ConfigError(
                f"--demo-answer names unknown cluster {name!r} (stack has {', '.join(clusters)})"
            )
        answers[name] = value
    return answers


EPILOG = """\
prerequisites:
  - the stack's outputs: the `pulumi` CLI logged in to the stack's backend (it runs `pulumi stack output
    --json --show-secrets --stack STACK` in the current directory, the project root), or --outputs-file;
  - the `aws` CLI on PATH with credentials for the stack's account: each cluster's kubeconfig (output
    clusters.<name>.kubeconfig) runs `aws eks get-token`, and that identity needs an EKS access entry;
  - network access to each EKS API endpoint (inside the VPCs, a VPN, or eks.publicAccessCidrs).

environment variables:
  AWS_PROFILE, AWS_REGION, AWS_*     credentials for `aws eks get-token` (the same as for `pulumi up`)
  PULUMI_BACKEND_URL, PULUMI_ACCESS_TOKEN, PULUMI_CONFIG_PASSPHRASE
                                     what `pulumi stack output` needs to read the stack (not with
                                     --outputs-file)

exit codes:
  0    every check passed
  1    a check failed (an unreachable cluster counts as failed, with the reason as evidence)
  2    usage error, missing or malformed stack outputs (an invalid kubeconfig included), or a --json
       file that cannot be written; never a traceback
  130  interrupted
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mesh.verify",
        description="Check that a deployed Cilium Cluster Mesh works (exit 0 only when every check passes).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("stack", metavar="STACK", help="Pulumi stack name")
    parser.add_argument(
        "--outputs-file",
        metavar="PATH",
        help="read stack outputs from this JSON file instead of `pulumi stack output --json --show-secrets`",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_WAIT,
        metavar="SECONDS",
        help=f"re-check until all pass or this many seconds elapsed (default {DEFAULT_WAIT:g}; 0 = one pass)",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_INTERVAL,
        metavar="SECONDS",
        help=f"pause between rounds (default {DEFAULT_INTERVAL:g})",
    )
    parser.add_argument(
        "--global-service",
        action="store_true",
        help="also check the demo: x-wing in each cluster reaches rebel-base everywhere (needs demo: true)",
    )
    parser.add_argument(
        "--requests-per-cluster",
        type=int,
        default=10,
        metavar="K",
        help="global-service check sends N*K requests from each cluster (default 10)",
    )
    parser.add_argument(
        "--demo-namespace",
        default=DEFAULT_DEMO_NAMESPACE,
        help=f"namespace of the demo (default {DEFAULT_DEMO_NAMESPACE})",
    )
    parser.add_argument(
        "--demo-field",
        default="Cluster",
        help="JSON field of rebel-base replies naming the cluster (default Cluster)",
    )
    parser.add_argument(
        "--demo-answer",
        action="append",
        default=[],
        metavar="CLUSTER=VALUE",
        help="value of --demo-field that CLUSTER's rebel-base replies with (default: its name); repeatable",
    )
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="PATH",
        help="machine-readable report: to stdout instead of the table, or to PATH (table still printed)",
    )
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    client_factory: ClientFactory = default_client_factory,
    read_outputs: Callable[[str, str | None], Mapping[str, Any]] = read_stack_outputs,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime.datetime] = _utc_now,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """CLI entry; the keyword arguments are seams for tests (fake clusters, outputs, the monotonic
    ``clock`` for waiting and ``now``, the wall clock certificate expiry is measured against)."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args = build_parser().parse_args(argv)
    if args.wait < 0 or args.interval <= 0 or args.requests_per_cluster < 1:
        print("error: --wait must be >= 0, --interval > 0 and --requests-per-cluster >= 1", file=err)
        return 2
    try:
        stack = parse_stack_outputs(args.stack, read_outputs(args.stack, args.outputs_file))
        if args.global_service and not stack.demo:
            raise ConfigError(f"--global-service needs the demo: stack {args.stack} has output demo = false")
        options = VerifyOptions(
            wait=args.wait,
            interval=args.interval,
            global_service=args.global_service,
            requests_per_cluster=args.requests_per_cluster,
            demo_namespace=args.demo_namespace,
            demo_field=args.demo_field,
            demo_answers=_parse_answers(args.demo_answer, stack.names),
            now=now,
        )
    except ConfigError as error:
        print(f"error: {error}", file=err)
        return 2

    def progress(line: str) -> None:
        print(line, file=err, flush=True)

    total = sum(len(options.checks(info)) for info in stack.clusters)
    progress(
        f"Verifying stack {stack.stack}: {len(stack.clusters)} clusters ({', '.join(stack.names)}), "
        f"{total} checks, waiting up to {options.wait:g}s"
    )
    no_mesh = [info.name for info in stack.clusters if not info.mesh_endpoint]
    if no_mesh:
        progress(
            f"No meshEndpoint output (Cluster Mesh disabled) for {', '.join(no_mesh)}: mesh checks skipped"
        )
    try:
        report = verify(stack, options, client_factory, clock=clock, sleep=sleep, progress=progress)
    except KeyboardInterrupt:
        print("interrupted", file=err)
        return 130
    document = json.dumps(report.to_dict(), indent=2)
    if args.json == "-":
        print(document, file=out)
        return 0 if report.ok else 1
    print(format_table(report.results), file=out)
    print(summary_line(report), file=out)
    if args.json:
        try:
            with open(args.json, "w", encoding="utf-8") as handle:
                handle.write(document + "\n")
        except OSError as error:
            print(f"error: cannot write {args.json}: {error.strerror or error}", file=err)
            return 2
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
