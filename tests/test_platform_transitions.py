"""Transitions EKS and Cilium cannot make in place (issue 17 item 4), refused with cluster and both values.

Pure rules (mesh/logic/transitions.py ``platform_refusals``, deployed_state ``identity_problem``) on both
sides of each limit, then the same refusals through ``python -m mesh.plan devstg --deployed``: the outputs
of a plan of devstg, edited to say what a different config deployed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mesh.logic.deployed_state import identity_problem
from mesh.logic.transitions import DeployedCluster, DesiredCluster, platform_refusals
from mesh.plan.cli import ROOT, evaluate, main, plan_document

WANT = DesiredCluster(
    name="a",
    id=1,
    pod_cidr="10.50.0.0/16",
    vpc_cidr="10.3.0.0/16",
    chart_version="1.19.6",
    kubernetes_version="1.35",
    service_cidr="172.20.0.0/16",
    pod_cidr_mask_size=24,
    mesh_domain="mesh.cilium.io",
)


def deployed(**changes: Any) -> DeployedCluster:
    base: dict[str, Any] = {
        "name": "a",
        "id": 1,
        "pod_cidr": "10.50.0.0/16",
        "vpc_cidr": "10.3.0.0/16",
        "chart_version": "1.19.6",
        "kubernetes_version": "1.35",
        "service_cidr": "172.20.0.0/16",
        "pod_cidr_mask_size": 24,
        "mesh_domain": "mesh.cilium.io",
    }
    base.update(changes)
    return DeployedCluster(**base)


@pytest.mark.parametrize(
    ("deployed_version", "refused"),
    [
        ("1.35", None),
        ("1.34", None),
        ("1.33", "skips a minor; EKS upgrades one minor at a time: set 1.34 first"),
        ("1.36", "is a downgrade"),
        ("1.9", "skips a minor"),
    ],
)
def test_kubernetes_one_minor_up_never_down(deployed_version: str, refused: str | None) -> None:
    found = platform_refusals(deployed(kubernetes_version=deployed_version), WANT)
    if refused is None:
        assert found == []
    else:
        (message,) = found
        assert message.startswith(f"a: Kubernetes {deployed_version} -> 1.35 ") and refused in message


@pytest.mark.parametrize(
    ("field", "old", "key"),
    [
        ("service_cidr", "172.21.0.0/16", "eks.serviceCidr 172.21.0.0/16 -> 172.20.0.0/16"),
        ("pod_cidr_mask_size", 25, "cilium.podCidrMaskSize 25 -> 24"),
        (
            "mesh_domain",
            "mesh.example.internal",
            "cilium.clustermesh.domain mesh.example.internal -> mesh.cilium.io",
        ),
    ],
)
def test_immutable_settings(field: str, old: Any, key: str) -> None:
    (message,) = platform_refusals(deployed(**{field: old}), WANT)
    assert message.startswith(f"a: {key}")


def test_outputs_from_before_a_key_existed_are_not_checked() -> None:
    old = deployed(kubernetes_version=None, service_cidr=None, pod_cidr_mask_size=None, mesh_domain=None)
    assert platform_refusals(old, WANT) == []


def test_identity_of_the_outputs() -> None:
    mine = {"stackIdentity": {"project": "cilium-mesh", "stack": "devstg"}}
    assert identity_problem(mine, "cilium-mesh", "devstg") is None
    assert identity_problem({}, "cilium-mesh", "devstg") is None  # written before the key existed
    other_stack = identity_problem(
        {"stackIdentity": {"project": "cilium-mesh", "stack": "prd"}}, "cilium-mesh", "devstg"
    )
    assert other_stack is not None and "cilium-mesh/prd, not of cilium-mesh/devstg" in other_stack
    assert identity_problem(
        {"stackIdentity": {"project": "other", "stack": "devstg"}}, "cilium-mesh", "devstg"
    )


# --- through the plan's --deployed ------------------------------------------------------------------


@pytest.fixture(scope="module")
def devstg_outputs() -> dict[str, Any]:
    _, run = evaluate("devstg", ROOT)
    return json.loads(json.dumps(plan_document(run, show_secrets=True)["outputs"]))


def plan_against(
    outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    path = tmp_path / "deployed.json"
    path.write_text(json.dumps(outputs))
    code = main(["devstg", "--deployed", str(path)])
    return code, capsys.readouterr().err


def edited(outputs: dict[str, Any], **fields: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(outputs))
    for cluster in out["clusters"].values():
        cluster.update(fields)
    return out


def test_the_own_outputs_plan_steady(devstg_outputs: dict[str, Any], tmp_path: Path, capsys: Any) -> None:
    code, err = plan_against(devstg_outputs, tmp_path, capsys)
    assert code == 0, err


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"kubernetesVersion": "1.33"}, "bb-apps-devstg-eks-training: Kubernetes 1.33 -> 1.35 skips a minor"),
        (
            {"kubernetesVersion": "1.36"},
            "bb-apps-devstg-eks-training: Kubernetes 1.36 -> 1.35 is a downgrade",
        ),
        (
            {"serviceCidr": "172.21.0.0/16"},
            "bb-apps-devstg-eks-training: eks.serviceCidr 172.21.0.0/16 -> 172.20.0.0/16",
        ),
        ({"podCidrMaskSize": 26}, "bb-apps-devstg-eks-training: cilium.podCidrMaskSize 26 -> 24"),
        ({"meshDomain": "mesh.example.internal"}, "bb-apps-devstg-eks-demoapps: cilium.clustermesh.domain"),
    ],
)
def test_refused_transitions_exit_2_naming_cluster_and_values(
    devstg_outputs: dict[str, Any], fields: dict[str, Any], expected: str, tmp_path: Path, capsys: Any
) -> None:
    code, err = plan_against(edited(devstg_outputs, **fields), tmp_path, capsys)
    assert code == 2
    assert err.startswith("error: refused, nothing was changed:")
    assert expected in err and "Traceback" not in err


def test_one_minor_up_is_planned(devstg_outputs: dict[str, Any], tmp_path: Path, capsys: Any) -> None:
    code, err = plan_against(edited(devstg_outputs, kubernetesVersion="1.34"), tmp_path, capsys)
    assert code == 0, err


def test_another_stacks_outputs_are_refused(
    devstg_outputs: dict[str, Any], tmp_path: Path, capsys: Any
) -> None:
    foreign = {**devstg_outputs, "stackIdentity": {"project": "cilium-mesh", "stack": "prd"}}
    code, err = plan_against(foreign, tmp_path, capsys)
    assert code == 2
    assert "--deployed: the deployed outputs are those of cilium-mesh/prd, not of cilium-mesh/devstg" in err


def test_the_program_refuses_a_self_reference_resolving_to_another_stack(
    devstg_outputs: dict[str, Any],
) -> None:
    """Under `pulumi up` the outputs come from a StackReference; one that holds another stack's is refused."""
    import pulumi

    from mesh.plan.cli import read_stack_files
    from mesh.plan.harness import run_program
    from mesh.plan.placeholders import PlanMocks

    project, config, secrets = read_stack_files("devstg", ROOT)
    foreign = {**devstg_outputs, "stackIdentity": {"project": "other-project", "stack": "devstg"}}
    with pytest.raises(
        pulumi.RunError, match="outputs are those of other-project/devstg, not of cilium-mesh/devstg"
    ):
        run_program(
            ROOT / "__main__.py",
            project=project,
            stack="devstg",
            config={k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()},
            mocks=PlanMocks("us-east-1"),
            project_dir=ROOT,
            secret_keys=secrets,
            stack_outputs={"organization/cilium-mesh/devstg": foreign},
        )
