"""A real first `pulumi up`, later updates and `pulumi destroy` (issue 10): ordering edges, no cross-cluster
waits, no state-dropping provider option, and inputs that do not depend on the machine running Pulumi.

Evaluated offline on devstg and a synthetic 4-cluster stack; every assertion is about the plan's edges and
input values.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from mesh.logic.config import StackConfig
from mesh.plan.cli import ROOT, evaluate_config, read_stack_files
from mesh.plan.harness import ProgramRun, Registration, to_json
from mesh.plan.synthetic import synthetic_config

CLUSTER = "cilium-mesh:index:Cluster"
PATCH = "kubernetes:apps/v1:DaemonSetPatch"
RELEASE = "kubernetes:helm.sh/v3:Release"
NODE_GROUP = "eks:index:ManagedNodeGroup"
EKS = "eks:index:Cluster"
K8S_PROVIDER = "pulumi:providers:kubernetes"


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
