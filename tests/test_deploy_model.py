"""The deploy-time model (mesh/plan/deploy_model.py): small graphs by hand, then the real plans."""

from __future__ import annotations

from typing import Any

import pytest

from mesh.logic.config import StackConfig
from mesh.plan.cli import evaluate_config, plan_document
from mesh.plan.deploy_durations import DURATIONS, TypicalDuration, typical_duration
from mesh.plan.deploy_model import estimate, waits_for
from mesh.plan.deploy_report import estimate_run, markdown
from mesh.plan.harness import ProgramRun, Registration, ResourceRef, Secret
from mesh.plan.synthetic import synthetic_config

TABLE = {
    "t:a:Five": TypicalDuration(5, "test"),
    "t:a:Ten": TypicalDuration(10, "test"),
    "t:a:Hundred": TypicalDuration(100, "test"),
}


def res(urn: str, type_: str, **kw: Any) -> dict[str, Any]:
    return {"urn": urn, "type": type_, "name": urn, "parent": "", "provider": "", "dependencies": [], **kw}


def test_a_chain_adds_up_and_is_the_critical_path() -> None:
    model = estimate(
        [
            res("a", "t:a:Five"),
            res("b", "t:a:Ten", dependencies=["a"]),
            res("c", "t:a:Hundred", propertyDependencies={"x": ["b"]}),
        ],
        "proj",
        TABLE,
    )
    assert model.critical_path_seconds == 115
    assert [s.urn for s in model.critical_path] == ["a", "b", "c"]
    assert (model.steps["c"].start, model.steps["c"].finish) == (15, 115)


def test_parallel_branches_cost_the_longest_one() -> None:
    model = estimate(
        [
            res("root", "t:a:Five"),
            res("slow", "t:a:Hundred", dependencies=["root"]),
            res("fast", "t:a:Ten", dependencies=["root"]),
            res("join", "t:a:Five", dependencies=["slow", "fast"]),
        ],
        "proj",
        TABLE,
    )
    assert model.critical_path_seconds == 110
    assert [s.urn for s in model.critical_path] == ["root", "slow", "join"]
    assert model.steps["fast"].finish == 15


def test_a_child_waits_for_what_its_component_waits_for() -> None:
    # The SDK awaits the parent's URN, and a component registers only after its own depends_on.
    model = estimate(
        [
            res("nat", "t:a:Hundred"),
            res("comp", "proj:index:Group", dependencies=["nat"]),
            res("child", "t:a:Five", parent="comp"),
            res("free", "t:a:Five"),
        ],
        "proj",
        TABLE,
    )
    assert model.steps["comp"].seconds == 0
    assert model.steps["child"].start == 100
    assert model.steps["free"].start == 0


def test_a_resource_waits_for_its_provider_and_the_provider_for_its_inputs() -> None:
    model = estimate(
        [
            res("cluster", "t:a:Hundred"),
            res("k8s", "pulumi:providers:kubernetes", propertyDependencies={"kubeconfig": ["cluster"]}),
            res("patch", "t:a:Ten", provider="k8s::id-1234"),
        ],
        "proj",
        TABLE,
    )
    assert waits_for(res("patch", "t:a:Ten", provider="k8s::id-1234")) == {"k8s"}
    assert model.steps["patch"].start == 100
    assert model.critical_path_seconds == 110


def test_urns_outside_the_plan_add_no_wait_and_unknown_types_are_named() -> None:
    model = estimate(
        [res("a", "t:a:Ten", dependencies=["hidden-child-of-a-remote-component"]), res("b", "x:y:Unknown")],
        "proj",
        TABLE,
    )
    assert model.steps["a"].start == 0
    assert model.unknown_types == ("x:y:Unknown",)
    assert model.steps["b"].seconds == 0


def test_a_cycle_is_refused() -> None:
    with pytest.raises(ValueError, match="dependency cycle"):
        estimate(
            [res("a", "t:a:Ten", dependencies=["b"]), res("b", "t:a:Ten", dependencies=["a"])], "p", TABLE
        )


def test_components_and_providers_take_no_time_and_sources_are_given() -> None:
    for type_ in ("cilium-mesh:index:Cluster", "pulumi:providers:kubernetes"):
        assert typical_duration(type_, "cilium-mesh").seconds == 0  # type: ignore[union-attr]
    assert typical_duration("aws:new/thing:Thing", "cilium-mesh") is None
    assert all(d.seconds >= 0 and len(d.source) > 10 for d in DURATIONS.values())
    # The figures the critical path hangs on (sources in deploy_durations.py).
    assert DURATIONS["eks:index:Cluster"].seconds >= 9 * 60
    assert DURATIONS["aws:ec2/natGateway:NatGateway"].seconds >= 60


def test_a_resource_passed_as_an_input_is_waited_for() -> None:
    """Remote components get resource references without dependencies (pulumi-eks ``cluster=``)."""

    def reg(urn: str, type_: str, inputs: dict[str, Any]) -> Registration:
        return Registration(urn, type_, urn, "", "", True, False, inputs, [], {}, {})

    run = ProgramRun(
        "p",
        "s",
        [
            reg("cluster", "eks:index:Cluster", {}),
            reg("role", "aws:iam/role:Role", {}),
            reg(
                "nodes",
                "eks:index:ManagedNodeGroup",
                {"cluster": ResourceRef("cluster"), "x": [Secret({"role": ResourceRef("role", "id")})]},
            ),
        ],
        {},
        [],
    )
    model = estimate_run(run)
    assert model.steps["nodes"].start == DURATIONS["eks:index:Cluster"].seconds
    assert [s.urn for s in model.critical_path] == ["cluster", "nodes"]


# --- the real program -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sixteen() -> tuple[StackConfig, ProgramRun]:
    """A 16-cluster stack the program was not tuned on: per-AZ NAT gateways, three AZs, the demo on."""
    config = synthetic_config(16, demo=True)
    network = config["cilium-mesh:network"]
    quotas = {**network["quotas"], "elasticIpsPerRegion": 50}  # 3 NAT gateways x 16 VPCs
    config["cilium-mesh:network"] = {**network, "azCount": 3, "natGateways": "perAz", "quotas": quotas}
    return evaluate_config("cilium-mesh", "sixteen", config)


def test_every_type_the_program_creates_has_a_sourced_duration(
    devstg: tuple[StackConfig, ProgramRun], sixteen: tuple[StackConfig, ProgramRun]
) -> None:
    for _, run in (devstg, sixteen):
        assert estimate_run(run).unknown_types == ()


def test_a_first_install_of_16_clusters_costs_about_one_cluster(
    devstg: tuple[StackConfig, ProgramRun], sixteen: tuple[StackConfig, ProgramRun]
) -> None:
    one = estimate_run(devstg[1]).critical_path_seconds
    many = estimate_run(sixteen[1]).critical_path_seconds
    assert 15 * 60 < one < 25 * 60
    assert many <= 1.1 * one


def test_the_control_plane_does_not_wait_for_the_nat_gateway_but_the_nodes_do(
    devstg: tuple[StackConfig, ProgramRun],
) -> None:
    run = devstg[1]
    for eks in run.by_type("eks:index:Cluster"):
        nat = next(r for r in run.by_type("aws:ec2/natGateway:NatGateway") if r.name.startswith(eks.name))
        nat_route = next(r for r in run.by_type("aws:ec2/route:Route") if r.name.startswith(eks.name))
        nodes = next(r for r in run.by_type("eks:index:ManagedNodeGroup") if r.name == eks.name)
        assert not run.depends_on(eks, nat)
        assert run.depends_on(nodes, nat) and run.depends_on(nodes, nat_route)
    model = estimate_run(run)
    first_eks = min(model.steps[e.urn].start for e in run.by_type("eks:index:Cluster"))
    assert first_eks < DURATIONS["aws:ec2/natGateway:NatGateway"].seconds


def test_the_plan_json_carries_the_critical_path(devstg: tuple[StackConfig, ProgramRun]) -> None:
    run = devstg[1]
    deploy = plan_document(run)["deploy"]
    model = estimate_run(run)
    by_urn = {r.urn: r for r in run.registrations}
    assert deploy["criticalPathSeconds"] == round(model.critical_path_seconds, 1)
    assert [by_urn[u].type for u in deploy["criticalPath"]][:4] == [
        "aws:kms/key:Key",
        "eks:index:Cluster",
        "kubernetes:apps/v1:DaemonSetPatch",
        "kubernetes:helm.sh/v3:Release",
    ]
    # A critical path has no gaps: its steps' durations add up to the whole.
    assert sum(model.steps[u].seconds for u in deploy["criticalPath"]) == pytest.approx(
        deploy["criticalPathSeconds"], abs=0.1
    )


def test_the_markdown_summary_draws_the_critical_path_as_a_gantt_chart(
    devstg: tuple[StackConfig, ProgramRun],
) -> None:
    model = estimate_run(devstg[1])
    text = markdown(model, "cilium-mesh", "devstg")
    gantt = text.split("```mermaid\n", 1)[1].split("```", 1)[0].splitlines()
    assert gantt[:4] == [
        "gantt",
        f"  title devstg: modelled first deploy, {model.critical_path_seconds / 60:.1f} min",
        "  dateFormat X",
        "  axisFormat %M:%S",
    ]
    crit = [line for line in gantt if ":crit," in line]
    assert len(crit) == len(model.critical_path)
    eks = next(s for s in model.critical_path if s.type == "eks:index:Cluster")
    assert f"Cluster {eks.name} :crit, {int(eks.start)}, {round(eks.finish)}" in [c.strip() for c in crit]
