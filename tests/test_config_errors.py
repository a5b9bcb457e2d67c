"""Stack files users have not seen yet: each mistake exits 2 naming the file and the key, with no traceback,
from `python -m mesh.plan` and (as a RunError) from the program under Pulumi."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pulumi
import pytest

from mesh.logic.config import ConfigError
from mesh.plan.cli import main, read_stack
from mesh.plan.harness import ResourceMocks, run_program
from mesh.plan.synthetic import synthetic_config

ROOT = Path(__file__).resolve().parent.parent
DEVSTG = (ROOT / "Pulumi.devstg.yaml").read_text()


def plan_errors(project: Path, text: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    (project / "Pulumi.bad.yaml").write_text(text)
    assert main(["bad"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    header, *problems = captured.err.splitlines()
    # Problems found in the values name the file in the header, problems of the file itself in each line.
    assert header in ("error: invalid stack config in Pulumi.bad.yaml:", "error: invalid stack config:")
    assert header.endswith("Pulumi.bad.yaml:") or all(p.startswith("  - Pulumi.bad.yaml: ") for p in problems)
    return [line.removeprefix("  - ") for line in problems]


def test_stack_file_that_is_not_yaml(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DEVSTG.replace("    natGateways: single", "   natGateways: single")
    line = next(i for i, x in enumerate(text.splitlines(), 1) if x.startswith("   natGateways"))
    errors = plan_errors(project, text, capsys)
    assert errors == [
        f"Pulumi.bad.yaml: not valid YAML at line {line}, column 4: expected <block end>, but found "
        "'<block mapping start>'"
    ]


def test_misspelled_namespace_and_unknown_top_level_key(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        DEVSTG.replace("  cilium-mesh:demo: true", "  cilium_mesh:demo: true")
        + "secretprovider: passphrase\n"
    )
    errors = plan_errors(project, text, capsys)
    assert errors == [
        "Pulumi.bad.yaml: secretprovider: unknown top-level key (did you mean secretsprovider?); "
        "a stack file has secretsprovider, encryptedkey, encryptionsalt, config, environment",
        "Pulumi.bad.yaml: config.cilium_mesh:demo: unknown namespace 'cilium_mesh', "
        "did you mean cilium-mesh:demo? (the program never reads this key)",
    ]


def test_misspelled_aws_key_is_checked_against_the_installed_provider(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    errors = plan_errors(project, DEVSTG.replace("aws:profile:", "aws:proflie:"), capsys)
    assert errors == [
        "Pulumi.bad.yaml: config.aws:proflie: aws has no config key 'proflie', did you mean aws:profile?"
    ]


def test_unquoted_kubernetes_version_says_quote_it(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DEVSTG.replace('    kubernetesVersion: "1.35"', "    kubernetesVersion: 1.30")
    text = text.replace(
        "      podCidr: 10.60.0.0/16", "      podCidr: 10.60.0.0/16\n      kubernetesVersion: 1.34"
    )
    errors = plan_errors(project, text, capsys)
    assert errors == [
        "clusters[1].kubernetesVersion: YAML read an unquoted version as the number 1.34 "
        '(1.30 becomes 1.3); quote it: kubernetesVersion: "1.34"',
        "eks.kubernetesVersion: YAML read an unquoted version as the number 1.3 "
        '(1.30 becomes 1.3); quote it: kubernetesVersion: "1.30"',
    ]


def test_kubernetes_version_eks_no_longer_offers(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DEVSTG.replace(
        "      podCidr: 10.50.0.0/16", '      podCidr: 10.50.0.0/16\n      kubernetesVersion: "1.31"'
    )
    (errors,) = plan_errors(project, text, capsys)
    assert errors.startswith(
        "clusters[0].kubernetesVersion: 1.31 reached the end of EKS extended support on 2026-11-26: "
        "EKS no longer creates clusters with it"
    )


def test_cilium_version_not_in_the_repository_index(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    charts = tmp_path / "charts"
    charts.mkdir()
    entries = [{"version": v, "digest": "0" * 64, "urls": [f"cilium-{v}.tgz"]} for v in ("1.16.3", "1.16.19")]
    (charts / "index.yaml").write_text(json.dumps({"apiVersion": "v1", "entries": {"cilium": entries}}))
    monkeypatch.setenv("CILIUM_CHARTS_DIR", str(charts))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the parsed versions are cached there
    errors = plan_errors(project, DEVSTG.replace("version: 1.19.6", "version: 1.16.30"), capsys)
    assert errors == [
        "cilium.version: 1.16.30 is not published in the chart repository index (https://helm.cilium.io/); "
        "latest 1.16 release: 1.16.19"
    ]


def test_esc_environment_imports_are_a_warning(project: Path) -> None:
    (project / "Pulumi.esc.yaml").write_text("environment:\n  - platform/devstg\n" + DEVSTG)
    files = read_stack("esc", project)
    assert files.warnings == [
        "Pulumi.esc.yaml: environment imports Pulumi ESC environment(s) platform/devstg; the offline plan "
        "cannot resolve them, so config values they provide are missing here (`pulumi preview` resolves them)"
    ]


def test_esc_warning_and_no_traceback_from_the_command_line(tmp_path: Path) -> None:
    copy = tmp_path / "project"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("venv", ".git", "out", "__pycache__", "tests"))
    (copy / "Pulumi.esc.yaml").write_text("environment:\n  - platform/devstg\n" + DEVSTG)
    (copy / "Pulumi.broken.yaml").write_text("config:\n  cilium-mesh:clusters: [\n")
    run = [sys.executable, "-m", "mesh.plan"]
    good = subprocess.run([*run, "esc"], cwd=copy, capture_output=True, text=True, timeout=120, check=False)
    assert good.returncode == 0, good.stderr
    warnings = good.stdout[good.stdout.index("\nWarnings\n") :]
    assert "  Pulumi.esc.yaml: environment imports Pulumi ESC environment(s) platform/devstg" in warnings
    bad = subprocess.run([*run, "broken"], cwd=copy, capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "Pulumi.broken.yaml: not valid YAML at line 3, column 1" in bad.stderr


def run_under_pulumi(config: dict[str, object]) -> None:
    run_program(
        ROOT / "__main__.py",
        project="cilium-mesh",
        stack="bad",
        config={k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()},
        mocks=ResourceMocks(),
        project_dir=ROOT,
    )


def test_under_pulumi_a_misspelled_namespace_is_a_run_error() -> None:
    config: dict[str, object] = {**synthetic_config(2), "cilium_mesh:protect": "true"}
    with pytest.raises(pulumi.RunError) as info:
        run_under_pulumi(config)
    assert (
        "config.cilium_mesh:protect: unknown namespace 'cilium_mesh', did you mean cilium-mesh:protect?"
        in str(info.value)
    )


def test_under_pulumi_an_unquoted_version_is_a_run_error() -> None:
    # The Pulumi CLI hands structured config over as JSON: YAML's 1.30 arrives as the number 1.3.
    config: dict[str, object] = {**synthetic_config(2), "cilium-mesh:eks": {"kubernetesVersion": 1.3}}
    with pytest.raises(
        pulumi.RunError, match=r'eks\.kubernetesVersion: .*quote it: kubernetesVersion: "1\.30"'
    ):
        run_under_pulumi(config)


def test_config_error_lists_every_problem() -> None:
    err = ConfigError(["a: x", "b: y"])
    assert str(err) == "invalid stack config:\n  - a: x\n  - b: y"


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        (
            "  cilium-mesh:cilium:\n    version: 1.19.6\n",
            "  cilium-mesh:cilium: 1.19.6\n",
            "cilium: must be a mapping of keys, not the string '1.19.6'",
        ),
        (
            "version: 1.19.6",
            "version: 1.16",
            'cilium.version: YAML read 1.16 as a number: a chart version is X.Y.Z, e.g. version: "1.16.3"',
        ),
        (
            "aws:region: us-east-1",
            "aws:region: 5",
            "aws:region: 5 is not an AWS region name such as us-east-1",
        ),
        (
            "    - name: bb-apps-devstg-eks-training",
            "    - bb-apps-devstg-eks-training\n    - name: bb-apps-devstg-eks-training",
            "clusters[0]: must be a mapping of keys, not the string 'bb-apps-devstg-eks-training'",
        ),
        (
            "  cilium-mesh:demo: true",
            "  cilium-mesh:demo: true\n  cilium-mesh:tags: [production]",
            "tags: must be a mapping of keys, not a list",
        ),
        (
            "      id: 1\n",
            "      id: one\n",
            "clusters[0].id: Input should be a valid integer, unable to parse string as an integer",
        ),
    ],
)
def test_stack_files_nobody_tried_yet(
    project: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, error: str
) -> None:
    assert old in DEVSTG
    assert plan_errors(project, DEVSTG.replace(old, new, 1), capsys) == [error]


def test_a_stack_file_that_is_not_text(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "Pulumi.bad.yaml").write_bytes(b"config:\n  aws:region: \xff\xfe\n")
    assert main(["bad"]) == 2
    assert capsys.readouterr().err.splitlines()[1:] == ["  - Pulumi.bad.yaml: not UTF-8 text (byte 22)"]
