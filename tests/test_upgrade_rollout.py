"""Upgrades through the real program, offline, against deployed outputs (``--deployed``).

Each scenario plans a first install, feeds its outputs back as the deployed state (what the next
``pulumi up`` would read through the StackReference to itself), changes the config and plans again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mesh.logic.cilium_values import preflight_values
from mesh.plan.cli import RELEASE_TYPE, TransitionRefused, evaluate_config, main, plan_document
from mesh.plan.harness import ProgramRun, Registration, reveal, run_program
from mesh.plan.placeholders import PlanMocks
from mesh.plan.render import render_cilium, rendered_documents
from mesh.plan.synthetic import synthetic_config
from tests.chart_archives import need_chart

ROOT = Path(__file__).resolve().parents[1]
CHARTS = ("1.16.3", "1.16.19", "1.17.18", "1.18.12", "1.19.5")


def config(n: int, version: str, **cilium: Any) -> dict[str, Any]:
    cfg = synthetic_config(n)
    cfg["cilium-mesh:cilium"] = {"version": version, **cilium}
    return cfg


def plan(cfg: dict[str, Any], deployed: dict[str, Any] | None = None) -> ProgramRun:
    return evaluate_config("cilium-mesh", "up", cfg, deployed=deployed)[1]


def outputs(run: ProgramRun) -> dict[str, Any]:
    """The outputs as `pulumi stack output --json --show-secrets` prints them."""
    return plan_document(run, show_secrets=True)["outputs"]


def releases(run: ProgramRun) -> dict[str, Registration]:
    return {r.name: r for r in run.by_type(RELEASE_TYPE)}


@pytest.fixture(scope="module")
def installed() -> dict[str, Any]:
    """Three clusters on 1.16.3, as the first `pulumi up` leaves them."""
    return outputs(plan(config(3, "1.16.3")))


@pytest.fixture(scope="module")
def on_latest_patch(installed: dict[str, Any]) -> dict[str, Any]:
    return outputs(plan(config(3, "1.16.19"), installed))


def test_outputs_record_what_the_rules_need(installed: dict[str, Any]) -> None:
    east = installed["clusters"]["mesh-01"]
    assert (east["id"], east["podCidr"], east["vpcCidr"]) == (1, "10.101.0.0/16", "10.1.0.0/16")
    assert (east["ciliumVersion"], east["ciliumInstalledMinor"], east["maxConnectedClusters"]) == (
        "1.16.3",
        "1.16",
        255,
    )
    assert east["meshPeers"] == ["mesh-02", "mesh-03"] and east["preflight"] is None


def test_minor_upgrade_preflight_canary_and_upgrade_compatibility(on_latest_patch: dict[str, Any]) -> None:
    run = plan(config(3, "1.17.18"), on_latest_patch)
    rel = releases(run)
    for n in ("mesh-01", "mesh-02", "mesh-03"):
        main_release, pre = rel[n], rel[f"{n}-preflight"]
        assert (pre.inputs["name"], pre.inputs["version"]) == ("cilium-preflight", "1.17.18")
        values = reveal(pre.inputs["values"])
        assert values["preflight"] == {"enabled": True} and values["agent"] is False
        assert values["operator"] == {"enabled": False} and values["k8sServicePort"] == 443
        assert values["k8sServiceHost"] == reveal(main_release.inputs["values"])["k8sServiceHost"]
        # The main release waits for its own pre-flight release (Helm wait: the DaemonSet on every node).
        assert pre.urn in main_release.dependencies
        assert reveal(main_release.inputs["values"])["upgradeCompatibility"] == "1.16"
    # Canary first (default: the first cluster); the others wait for the canary's release only.
    assert not any(run.depends_on(rel["mesh-01"], rel[n]) for n in ("mesh-02", "mesh-03"))
    for n in ("mesh-02", "mesh-03"):
        assert rel["mesh-01"].urn in rel[n].dependencies
        assert rel["mesh-01"].urn not in rel[f"{n}-preflight"].dependencies
    assert not run.depends_on(rel["mesh-02"], rel["mesh-03"])
    assert not run.depends_on(rel["mesh-03"], rel["mesh-02"])
    assert "cilium-preflight 1.17.18" in run.outputs["clusters"]["mesh-02"]["preflight"]


def test_max_parallel_batches_after_a_configured_canary(on_latest_patch: dict[str, Any]) -> None:
    run = plan(config(3, "1.17.18", rollout={"canary": "mesh-02", "maxParallel": 1}), on_latest_patch)
    rel = releases(run)
    assert rel["mesh-02"].urn in rel["mesh-01"].dependencies
    assert rel["mesh-01"].urn in rel["mesh-03"].dependencies
    assert not run.depends_on(rel["mesh-02"], rel["mesh-01"])


def test_steady_state_leaves_nothing_over(on_latest_patch: dict[str, Any]) -> None:
    upgraded = outputs(plan(config(3, "1.17.18"), on_latest_patch))
    run = plan(config(3, "1.17.18"), upgraded)
    rel = releases(run)
    assert sorted(rel) == ["mesh-01", "mesh-02", "mesh-03"]  # no pre-flight release any more
    for r in rel.values():
        assert not any(run.depends_on(r, other) for other in rel.values() if other is not r)
        # The first installed minor stays (upgrade guide: the initial version installed).
        assert reveal(r.inputs["values"])["upgradeCompatibility"] == "1.16"
    assert all(c["preflight"] is None for c in run.outputs["clusters"].values())


def test_joining_cluster_waits_for_nobody_while_peers_roll_canary_first(installed: dict[str, Any]) -> None:
    two = outputs(plan(config(2, "1.16.3")))
    run = plan(config(3, "1.16.3"), two)
    rel = releases(run)
    assert sorted(rel) == ["mesh-01", "mesh-02", "mesh-03"]  # a values change: no pre-flight
    assert not any(run.depends_on(rel["mesh-03"], rel[n]) for n in ("mesh-01", "mesh-02"))
    # Both deployed clusters' peer lists change: mesh-02 waits for the canary mesh-01.
    assert rel["mesh-01"].urn in rel["mesh-02"].dependencies
    assert "upgradeCompatibility" not in reveal(rel["mesh-02"].inputs["values"])


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"cilium-mesh:cilium": {"version": "1.18.12"}}, "mesh-01: Cilium 1.16.19 -> 1.18.12 skips 1.17"),
        ({"cilium-mesh:cilium": {"version": "1.16.3", "clustermesh": {"maxConnectedClusters": 511}}},
         "mesh-02: clustermesh.maxConnectedClusters 255 -> 511"),
    ],
)  # fmt: skip
def test_unsafe_changes_are_refused_before_the_program_runs(
    on_latest_patch: dict[str, Any], change: dict[str, Any], needle: str
) -> None:
    with pytest.raises(TransitionRefused) as err:
        plan({**config(3, "1.16.19"), **change}, on_latest_patch)
    assert needle in str(err.value)


def test_id_and_pod_cidr_changes_are_refused(on_latest_patch: dict[str, Any]) -> None:
    cfg = config(3, "1.16.19")
    cfg["cilium-mesh:clusters"][0]["id"] = 9
    cfg["cilium-mesh:clusters"][1]["podCidr"] = "10.199.0.0/16"
    with pytest.raises(TransitionRefused) as err:
        plan(cfg, on_latest_patch)
    assert "mesh-01: cluster id 1 -> 9" in str(err.value)
    assert "mesh-02: podCidr 10.102.0.0/16 -> 10.199.0.0/16" in str(err.value)


def test_an_availability_zone_change_is_refused_through_the_program(on_latest_patch: dict[str, Any]) -> None:
    assert on_latest_patch["clusters"]["mesh-02"]["availabilityZones"] == ["us-east-1a", "us-east-1b"]
    cfg = config(3, "1.16.19")
    cfg["cilium-mesh:network"] = {**cfg.get("cilium-mesh:network", {}), "azCount": 3}
    with pytest.raises(TransitionRefused) as err:
        plan(cfg, on_latest_patch)
    assert "mesh-02: availability zones us-east-1a, us-east-1b -> us-east-1a, us-east-1b, us-east-1c" in str(
        err.value
    )


def test_the_program_itself_refuses_under_pulumi(installed: dict[str, Any]) -> None:
    # Same rules inside __main__.py (RunError before any resource), answered by the StackReference.
    cfg = config(3, "1.17.18")
    with pytest.raises(Exception, match=r"upgrade to 1\.16\.19 first"):
        run_program(
            ROOT / "__main__.py",
            project="cilium-mesh",
            stack="up",
            config={k: v if isinstance(v, str) else json.dumps(v) for k, v in cfg.items()},
            mocks=PlanMocks("us-east-1"),
            project_dir=ROOT,
            stack_outputs={"organization/cilium-mesh/up": installed},
        )


def test_plan_cli_exits_2_naming_cluster_and_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed = tmp_path / "outputs.json"
    clusters = {
        "bb-apps-devstg-eks-training": {"id": 1, "podCidr": "10.50.0.0/16", "ciliumVersion": "1.21.1"},
    }
    deployed.write_text(json.dumps({"clusters": clusters}))
    assert main(["devstg", "--deployed", str(deployed)]) == 2
    err = capsys.readouterr().err
    assert "bb-apps-devstg-eks-training: Cilium 1.21.1 -> 1.19.6 goes back 2 minors" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("version", CHARTS)
def test_preflight_values_render_only_preflight_objects(version: str) -> None:
    need_chart(version)
    values = preflight_values("https://ABC.gr7.us-east-1.eks.amazonaws.com")
    docs = rendered_documents(render_cilium(values, version))
    assert {d["metadata"]["name"] for d in docs} == {"cilium-pre-flight", "cilium-pre-flight-check"}
    # The Deployment validates policies against the API server (the DaemonSet only pulls the image).
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    hosts = {
        e.get("value")
        for c in [*pod.get("initContainers", []), *pod["containers"]]
        for e in c.get("env", [])
        if e["name"] == "KUBERNETES_SERVICE_HOST"
    }
    # kube-proxy is gone: the validator reaches the API through the EKS endpoint host.
    assert hosts == {"ABC.gr7.us-east-1.eks.amazonaws.com"}


@pytest.mark.parametrize("version", ["1.17.18", "1.18.12", "1.19.5"])
def test_upgrade_values_render_clean_on_the_target_chart(
    on_latest_patch: dict[str, Any], version: str
) -> None:
    need_chart(version)
    # Deployed 1.16 (installed minor) -> every later chart gets upgradeCompatibility=1.16; the rules are
    # bypassed here on purpose to render each target chart with those values.
    deployed = json.loads(json.dumps(on_latest_patch))
    for c in deployed["clusters"].values():
        c["ciliumVersion"] = f"{version.rsplit('.', 1)[0]}.0"
    run = plan(config(3, version), deployed)
    for name, r in releases(run).items():
        values = reveal(r.inputs["values"])
        if not name.endswith("-preflight"):
            assert values["upgradeCompatibility"] == "1.16"
        assert rendered_documents(render_cilium(values, version))


def test_the_program_logs_the_rollout_and_preflight_lifecycle(on_latest_patch: dict[str, Any]) -> None:
    run = plan(config(2, "1.17.18"), on_latest_patch)
    notes = plan_document(run)["notes"]
    assert "rollout: canary mesh-01 first, then in waves: mesh-01 -> mesh-02" in notes
    assert any(
        n.startswith("mesh-02: Cilium 1.16.19 -> 1.17.18: pre-flight") and "removes it" in n for n in notes
    )
