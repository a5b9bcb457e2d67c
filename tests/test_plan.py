"""The offline plan: its JSON contract, its summary, its exit codes, secrets and determinism."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mesh.logic.config import StackConfig
from mesh.plan.cli import ROOT, evaluate, main, plan_document, summary
from mesh.plan.harness import ProgramRun
from tests.chart_archives import need_chart

CONTRACT_KEYS = {
    "urn",
    "type",
    "name",
    "parent",
    "provider",
    "inputs",
    "dependencies",
    "propertyDependencies",
}


def test_json_document_follows_the_contract(devstg: tuple[StackConfig, ProgramRun]) -> None:
    _, run = devstg
    doc = plan_document(run)
    assert doc["project"] == "cilium-mesh" and doc["stack"] == "devstg"
    assert {"project", "stack", "resources", "outputs"} <= set(doc)
    urns = [r["urn"] for r in doc["resources"]]
    assert len(urns) == len(set(urns)) == len(run.registrations)
    for r in doc["resources"]:
        assert set(r) >= CONTRACT_KEYS, r["name"]
        assert r["urn"].startswith("urn:pulumi:devstg::cilium-mesh::") and r["urn"].endswith(f"::{r['name']}")
        assert all(d in urns or "$" in d for d in r["dependencies"]), r["name"]
        if r["parent"]:
            assert r["parent"] in urns or r["parent"].endswith("pulumi:pulumi:Stack::cilium-mesh-devstg")
    json.dumps(doc)  # serializable as is


def test_secrets_are_hidden_unless_asked(devstg: tuple[StackConfig, ProgramRun]) -> None:
    _, run = devstg
    hidden, shown = plan_document(run), plan_document(run, show_secrets=True)
    name = "bb-apps-devstg-eks-training"
    assert hidden["outputs"]["clusters"][name]["kubeconfig"] == "[secret]"
    kubeconfig = shown["outputs"]["clusters"][name]["kubeconfig"]
    assert json.loads(kubeconfig)["clusters"][0]["cluster"]["server"].startswith("https://placeholder-")
    release = next(
        r for r in hidden["resources"] if r["type"] == "kubernetes:helm.sh/v3:Release" and r["name"] == name
    )
    assert release["inputs"]["values"]["tls"]["ca"]["key"] == "[secret]"
    assert release["inputs"]["values"]["cluster"] == {"name": name, "id": 1}
    provider = next(r for r in hidden["resources"] if r["type"] == "pulumi:providers:kubernetes")
    assert provider["inputs"]["kubeconfig"] == "[secret]"
    assert "PRIVATE KEY" not in json.dumps(hidden)


def test_two_evaluations_give_identical_plans() -> None:
    first = plan_document(evaluate("devstg")[1], show_secrets=True)
    second = plan_document(evaluate("devstg")[1], show_secrets=True)
    assert first == second
    values = [
        r["inputs"]["values"] for r in first["resources"] if r["type"] == "kubernetes:helm.sh/v3:Release"
    ]
    assert len(values) == 2 and all("tls" in v for v in values)


def test_summary_shows_what_a_reviewer_needs(devstg: tuple[StackConfig, ProgramRun]) -> None:
    cfg, run = devstg
    text = summary(cfg, run)
    for c in cfg.clusters:
        assert f"{c.name}  id={c.id}  vpc={c.vpc_cidr}  pods={c.pod_cidr}" in text
    assert "10.3.0.0/18" in text and "10.1.128.0/20" in text  # a private and a public subnet
    assert (
        "bb-apps-devstg-eks-demoapps -> bb-apps-devstg-eks-training: 3 routes -> 10.3.0.0/16 in "
        "bb-apps-devstg-eks-demoapps, 3 routes -> 10.1.0.0/16 in bb-apps-devstg-eks-training" in text
    )
    assert "udp   8472" in text and "from 10.1.0.0/16" in text
    assert "chart cilium 1.19.6 (release 'cilium' in kube-system)" in text
    assert (
        'routingMode = "tunnel"' in text
        and 'ipam.operator.clusterPoolIPv4PodCIDRList = ["10.60.0.0/16"]' in text
    )
    assert f"{len(run.registrations):>4}  total" in text
    assert "placeholder" in text


def test_cli_writes_json_and_rendered_manifests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    need_chart("1.19.6")
    out = tmp_path / "plan.json"
    rendered = tmp_path / "rendered"
    assert main(["devstg", "--json", str(out), "--render-dir", str(rendered)]) == 0
    doc = json.loads(out.read_text())
    assert doc["stack"] == "devstg" and len(doc["resources"]) > 50
    import yaml

    (config,) = yaml.safe_load_all(
        (
            rendered / "bb-apps-devstg-eks-training" / "cilium" / "templates" / "cilium-configmap.yaml"
        ).read_text()
    )
    assert config["data"]["cluster-name"] == "bb-apps-devstg-eks-training"
    assert config["data"]["cluster-id"] == "1" and config["data"]["routing-mode"] == "tunnel"
    secrets = list((rendered / "bb-apps-devstg-eks-training").rglob("*secret*.yaml"))
    assert secrets and all("BEGIN" not in p.read_text() for p in secrets)  # keys redacted in artifacts
    values = (rendered / "bb-apps-devstg-eks-demoapps" / "values.yaml").read_text()
    assert "key: '[secret]'" in values and "PRIVATE KEY" not in values
    assert "Cilium releases" in capsys.readouterr().out


def _run_cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from mesh.plan.cli import main, ROOT; sys.exit(main(sys.argv[1:]))",
            *args,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_invalid_config_exits_2_with_every_error_and_no_traceback(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(
        ROOT, project, ignore=shutil.ignore_patterns("venv", ".git", "out", "__pycache__", "tests")
    )
    bad = (project / "Pulumi.devstg.yaml").read_text()
    bad = bad.replace("podCidr: 10.60.0.0/16", "podCidr: 10.50.0.0/16").replace("id: 2", "id: 1")
    bad = bad.replace("vpcCidr: 10.1.0.0/16", "vpcCIDR: 10.1.0.0/16")
    (project / "Pulumi.bad.yaml").write_text(bad)
    proc = subprocess.run(
        [sys.executable, "-m", "mesh.plan", "bad"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert "clusters[1].vpcCIDR: unknown key" in proc.stderr
    assert "clusters[1].podCidr: 10.50.0.0/16 overlaps clusters[0].podCidr 10.50.0.0/16" in proc.stderr
    assert "clusters[1].id: 1 duplicates clusters[0].id" in proc.stderr


def test_missing_stack_file_is_a_config_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-stack"]) == 2
    assert "Pulumi.no-such-stack.yaml: no such stack file" in capsys.readouterr().err


def test_program_itself_refuses_bad_config_before_any_resource() -> None:
    """Under `pulumi up` there is no plan front-end: __main__ raises RunError (printed without traceback)."""
    import pulumi

    from mesh.plan.harness import ResourceMocks, run_program
    from mesh.plan.synthetic import synthetic_config

    config = synthetic_config(2)
    config["cilium-mesh:clusters"][1]["id"] = 1
    with pytest.raises(pulumi.RunError, match=r"clusters\[1\]\.id: 1 duplicates clusters\[0\]\.id"):
        run_program(
            ROOT / "__main__.py",
            project="cilium-mesh",
            stack="bad",
            config={k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()},
            mocks=ResourceMocks(),
            project_dir=ROOT,
        )


def test_every_config_key_the_program_reads_is_declared_in_the_project_file() -> None:
    import yaml

    from mesh.logic.config import KEYS, NAMESPACE

    declared = set(yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"])
    assert declared == {f"{NAMESPACE}:{k}" for k in KEYS}
