"""The GitHub workflows: valid against GitHub's workflow schema (the copy check-jsonschema vendors), and the
things users rely on - OIDC instead of stored keys, a PR preview comment with the policy pack, `pulumi up`
only behind a protected environment, `make test` on every pull request - plus the shell steps themselves
(changed-stack detection, dropping a local AWS profile) run on real inputs; charts come from the lock file."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from ruamel.yaml import YAML

from mesh.charts.fetch import user_cache_dir
from mesh.charts.lock import read_lock

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict[str, Any]:
    """YAML 1.2 (as GitHub reads it): ``on`` stays a string key, unlike PyYAML's YAML 1.1 ``True``."""
    return YAML(typ="safe", pure=True).load((WORKFLOWS / name).read_text())


def step(
    job: dict[str, Any], *, uses: str | None = None, id_: str | None = None, name: str | None = None
) -> dict:
    for s in job["steps"]:
        if (
            (uses and s.get("uses", "").split("@")[0] == uses)
            or (id_ and s.get("id") == id_)
            or (name and s.get("name") == name)
        ):
            return s
    raise AssertionError(f"no step uses={uses} id={id_} name={name} in job")


def all_workflow_files() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])


# --- schema and hygiene -------------------------------------------------------------------------------


def test_the_three_workflows_exist() -> None:
    assert {"checks.yml", "deploy.yml", "pull-request.yml"} <= {p.name for p in all_workflow_files()}


@pytest.mark.parametrize("path", all_workflow_files(), ids=lambda p: p.name)
def test_workflow_is_valid_against_the_github_schema(path: Path) -> None:
    schema_file = files("check_jsonschema.builtin_schemas.vendor").joinpath("github-workflows.json")
    schema = json.loads(schema_file.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(load(path.name)), key=lambda e: list(e.absolute_path))
    assert [f"{list(e.absolute_path)}: {e.message}" for e in errors] == []


@pytest.mark.parametrize("path", all_workflow_files(), ids=lambda p: p.name)
def test_no_long_lived_aws_keys_anywhere(path: Path) -> None:
    text = path.read_text().lower()
    for forbidden in (
        "aws-access-key-id",
        "aws-secret-access-key",
        "aws_access_key_id",
        "aws_secret_access_key",
    ):
        assert forbidden not in text


@pytest.mark.parametrize("path", all_workflow_files(), ids=lambda p: p.name)
def test_run_scripts_never_interpolate_expressions(path: Path) -> None:
    """Values reach shell steps through ``env:`` only, so a branch name or PR title cannot inject code."""
    for job_id, job in load(path.name)["jobs"].items():
        for s in job.get("steps", []):
            assert "${{" not in s.get("run", ""), f"{path.name}:{job_id}:{s.get('name')}"


@pytest.mark.parametrize("path", all_workflow_files(), ids=lambda p: p.name)
def test_actions_are_pinned_to_a_release(path: Path) -> None:
    for job in load(path.name)["jobs"].values():
        for s in job.get("steps", []):
            ref = s.get("uses")
            if ref:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@(v\d+|[0-9a-f]{40})", ref), ref


def test_pulumi_cli_matches_the_sdk_pin() -> None:
    sdk = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    assert sdk is not None
    for name in ("pull-request.yml", "deploy.yml"):
        for job in load(name)["jobs"].values():
            for s in job.get("steps", []):
                if s.get("uses", "").startswith("pulumi/actions@"):
                    assert s["with"]["pulumi-version"] == sdk.group(1), name


# --- pull requests ------------------------------------------------------------------------------------


def test_pull_requests_run_tests_plan_and_guardrails() -> None:
    pr = load("pull-request.yml")
    assert "pull_request" in pr["on"]
    checks_call = pr["jobs"]["checks"]
    assert checks_call["uses"] == "./.github/workflows/checks.yml"
    assert checks_call["with"]["base-sha"] == "${{ github.event.pull_request.base.sha }}"
    test = load("checks.yml")["jobs"]["test"]
    runs = [s.get("run", "") for s in test["steps"]]
    assert "make test" in runs
    plan_script = step(test, name="Offline plan of every stack")["run"]
    assert 'make plan STACK="${stack%.yaml}" OUT=out/plan' in plan_script and "Pulumi.*.yaml" in plan_script
    upload = step(test, uses="actions/upload-artifact")
    assert upload["with"]["path"] == "out/plan/" and upload["with"]["if-no-files-found"] == "error"
    assert (
        "-m guardrails.plan_check out/plan/plan-*.json"
        in step(test, name="Guardrails on the offline plan")["run"]
    )
    setup = step(test, uses="actions/setup-python")
    assert setup["with"]["python-version"] == "3.11" and setup["with"]["cache"] == "pip"
    # The charts are fetched before the tests, or the chart tests would silently skip.
    order = [s.get("name") or s.get("uses") for s in test["steps"]]
    assert order.index("Fetch and verify Cilium chart archives") < order.index("Tests")


def test_preview_comments_on_the_pr_with_the_policy_pack() -> None:
    preview = load("pull-request.yml")["jobs"]["preview"]
    assert preview["needs"] == "checks"
    assert preview["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.checks.outputs.stacks) }}"
    assert preview["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    pulumi = step(preview, uses="pulumi/actions")
    assert pulumi["uses"] == "pulumi/actions@v7"
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["comment-on-pr"] is True
    assert pulumi["with"]["policyPacks"] == "guardrails"
    # Previews assume a separate, read-only environment: never the deploy environment.
    assert preview["environment"] == "${{ matrix.stack }}-preview"
    assert "github.event.pull_request.head.repo.full_name == github.repository" in preview["if"]


@pytest.mark.parametrize(("workflow", "job"), [("pull-request.yml", "preview"), ("deploy.yml", "up")])
def test_aws_access_is_oidc_role_assumption(workflow: str, job: str) -> None:
    body = load(workflow)["jobs"][job]
    assert body["permissions"]["id-token"] == "write"
    creds = step(body, uses="aws-actions/configure-aws-credentials")
    assert creds["uses"] == "aws-actions/configure-aws-credentials@v6"
    assert creds["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
    assert set(creds["with"]) <= {
        "role-to-assume",
        "role-session-name",
        "aws-region",
        "role-duration-seconds",
    }
    # The credentials are in place before Pulumi runs, and the local profile is gone by then.
    names = [s.get("uses", "").split("@")[0] or s.get("name") for s in body["steps"]]
    profile = "Use the job's OIDC credentials instead of a local AWS profile"
    assert (
        names.index(profile)
        < names.index("aws-actions/configure-aws-credentials")
        < names.index("pulumi/actions")
    )


# --- pushes to main -----------------------------------------------------------------------------------


def test_up_runs_on_main_behind_the_protected_stack_environment() -> None:
    deploy = load("deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"]
    up = deploy["jobs"]["up"]
    assert up["environment"] == "${{ matrix.stack }}"
    assert "github.ref == 'refs/heads/main'" in up["if"]
    assert up["concurrency"] == {"group": "pulumi-up-${{ matrix.stack }}", "cancel-in-progress": False}
    assert up["strategy"]["max-parallel"] == 1 and up["strategy"]["fail-fast"] is True
    # A policy-gated preview of exactly this commit, then the update, both with the pack.
    pulumi = [s for s in up["steps"] if s.get("uses", "").startswith("pulumi/actions@")]
    assert [s["with"]["command"] for s in pulumi] == ["preview", "up"]
    assert all(s["with"]["policyPacks"] == "guardrails" for s in pulumi)
    assert all(s["with"]["stack-name"].endswith("${{ matrix.stack }}") for s in pulumi)
    checks_call = deploy["jobs"]["checks"]
    assert checks_call["uses"] == "./.github/workflows/checks.yml" and up["needs"] == "checks"


def test_only_preview_and_up_jobs_may_mint_oidc_tokens() -> None:
    for name in ("checks.yml", "pull-request.yml", "deploy.yml"):
        doc = load(name)
        assert doc["permissions"] == {"contents": "read"}, name
        for job_id, job in doc["jobs"].items():
            if job.get("permissions", {}).get("id-token") == "write":
                assert (name, job_id) in {("pull-request.yml", "preview"), ("deploy.yml", "up")}


# --- changed-stack detection, run for real in a scratch git repository ---------------------------------


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@t"
    out = subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True)
    return out.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    _git(tmp_path, "init", "-q", "-b", "main")
    for rel in ("Pulumi.yaml", "Pulumi.devstg.yaml", "Pulumi.prd.yaml", "__main__.py", "README.md"):
        (tmp_path / rel).write_text(f"# {rel}\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "base")
    yield tmp_path


def detect(repo: Path, base: str, tmp_path: Path) -> list[str]:
    script = step(load("checks.yml")["jobs"]["changed-stacks"], id_="detect")["run"]
    output = tmp_path / "github_output"
    output.write_text("")
    env = {
        **os.environ,
        "BASE_SHA": base,
        "HEAD_SHA": _git(repo, "rev-parse", "HEAD"),
        "GITHUB_OUTPUT": str(output),
    }
    subprocess.run(["bash", "-c", script], cwd=repo, env=env, check=True, capture_output=True, text=True)
    (line,) = [x for x in output.read_text().splitlines() if x.startswith("stacks=")]
    return json.loads(line.removeprefix("stacks="))


def change(repo: Path, *paths: str, delete: tuple[str, ...] = ()) -> str:
    base = _git(repo, "rev-parse", "HEAD")
    for rel in paths:
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(target.read_text() + "changed\n" if target.exists() else "new\n")
    for rel in delete:
        (repo / rel).unlink()
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "change")
    return base


@pytest.mark.parametrize(
    ("paths", "delete", "expected"),
    [
        (("Pulumi.prd.yaml",), (), ["prd"]),
        (("Pulumi.devstg.yaml", "docs/delivery.md"), (), ["devstg"]),
        (("mesh/components/eks.py",), (), ["devstg", "prd"]),
        (("Pulumi.yaml",), (), ["devstg", "prd"]),
        (("guardrails/policies.py",), (), ["devstg", "prd"]),
        (("README.md", "tests/test_x.py"), (), []),
        (("Pulumi.stg.yaml",), (), ["stg"]),
        ((), ("Pulumi.prd.yaml",), []),
    ],
)
def test_changed_stacks(
    repo: Path, tmp_path: Path, paths: tuple[str, ...], delete: tuple[str, ...], expected: list[str]
) -> None:
    base = change(repo, *paths, delete=delete)
    assert detect(repo, base, tmp_path) == expected


def test_without_a_usable_base_every_stack_is_selected(repo: Path, tmp_path: Path) -> None:
    assert detect(repo, "", tmp_path) == ["devstg", "prd"]
    # A force-push leaves github.event.before pointing at a commit the clone does not have.
    assert detect(repo, "0" * 40, tmp_path) == ["devstg", "prd"]


# --- chart archives: fetched, then verified against the committed digests -----------------------------


def test_every_stack_chart_version_has_a_committed_digest() -> None:
    locked = read_lock()
    for path in ROOT.glob("Pulumi.*.yaml"):
        version = yaml.safe_load(path.read_text())["config"]["cilium-mesh:cilium"]["version"]
        assert version in locked, path.name


def test_the_workflow_holds_no_digest_of_its_own() -> None:
    """The lock file is the only copy of the digests: no 64-hex string appears in any workflow."""
    for path in all_workflow_files():
        assert re.search(r"\b[0-9a-f]{64}\b", path.read_text()) is None, path.name


def test_ci_fetches_every_locked_chart_into_the_cache_the_tests_read() -> None:
    test = load("checks.yml")["jobs"]["test"]
    fetch = step(test, name="Fetch and verify Cilium chart archives")
    assert fetch["run"].strip() == "make charts CHARTS_ARGS=--locked" and "env" not in fetch
    # The archives are kept between runs, keyed on the lock file: a new digest means a new cache.
    cache = step(test, uses="actions/cache")
    assert cache["with"]["key"] == "cilium-charts-${{ hashFiles('cilium-charts.lock') }}"
    # ...in the directory the fetcher uses on the runner (HOME set, XDG_CACHE_HOME not).
    cache_dir = user_cache_dir({"HOME": "~"})
    assert cache["with"]["path"] == f"{cache_dir}/cilium-*.tgz"
    order = [s.get("name") or s.get("uses") for s in test["steps"]]
    assert order.index(cache["name"]) < order.index(fetch["name"]) < order.index("Tests")
    # The workflow leaves the chart source to the fetcher: no charts directory is configured.
    assert "CILIUM_CHARTS_DIR" not in json.dumps(test)


def test_make_charts_runs_the_fetcher() -> None:
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "charts", "CHARTS_ARGS=--locked"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert dry.stdout.strip().splitlines()[-1] == "venv/bin/python -m mesh.charts fetch --locked"


# --- the local AWS profile is dropped in CI -----------------------------------------------------------


@pytest.mark.parametrize("stack", ["devstg", "prd"])
def test_ci_drops_only_the_local_aws_profile(tmp_path: Path, stack: str) -> None:
    strip = step(
        load("deploy.yml")["jobs"]["up"], name="Use the job's OIDC credentials instead of a local AWS profile"
    )
    assert strip == step(
        load("pull-request.yml")["jobs"]["preview"],
        name="Use the job's OIDC credentials instead of a local AWS profile",
    )
    shutil.copy(ROOT / f"Pulumi.{stack}.yaml", tmp_path / f"Pulumi.{stack}.yaml")
    env = {**os.environ, "STACK": stack}
    subprocess.run(["bash", "-c", strip["run"]], cwd=tmp_path, env=env, check=True)
    before = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    after = yaml.safe_load((tmp_path / f"Pulumi.{stack}.yaml").read_text())["config"]
    assert "aws:profile" in before and "aws:profile" not in after
    assert after == {k: v for k, v in before.items() if k != "aws:profile"}


# --- the day: pinned for pull requests and CI, real for the weekly freshness check -------------------------

PIN_SCRIPT = "CILIUM_MESH_TODAY=\"$(grep -v '^#' tests/pinned-today)\"\nexport CILIUM_MESH_TODAY\n"


def test_ci_and_pull_request_plans_are_pinned_to_the_suites_day() -> None:
    from tests.conftest import PINNED_TODAY

    assert PIN_SCRIPT in (ROOT / ".ci" / "run").read_text()
    plan_script = step(load("checks.yml")["jobs"]["test"], name="Offline plan of every stack")["run"]
    assert plan_script.index(PIN_SCRIPT) < plan_script.index("make plan")
    # The shell's reading of the file is the day the suite pins, alone.
    read = subprocess.run(
        ["bash", "-c", PIN_SCRIPT + 'printf %s "$CILIUM_MESH_TODAY"'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert read.stdout == PINNED_TODAY.isoformat()


def test_freshness_runs_weekly_with_the_real_date_and_never_on_a_pull_request() -> None:
    workflow = load("freshness.yml")
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    (schedule,) = workflow["on"]["schedule"]
    minute, hour, day_of_month, month, day_of_week = schedule["cron"].split()
    assert minute.isdigit() and hour.isdigit()
    assert (day_of_month, month) == ("*", "*") and day_of_week.isdigit()  # once a week
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    runs = [s.get("run", "") for s in job["steps"]]
    update = next(i for i, r in enumerate(runs) if "-m mesh.charts update" in r)
    check = next(i for i, r in enumerate(runs) if "-m mesh.plan.freshness" in r)
    assert update < check
    script = runs[check]
    assert "unset CILIUM_MESH_TODAY" in script and "pinned-today" not in script
    assert 'exit "$status"' in script.splitlines()[-1]
    assert "CILIUM_CHARTS_DIR" not in json.dumps(job)  # today's index, not a fixed copy
    for other in all_workflow_files():
        if other.name != "freshness.yml":
            assert "mesh.plan.freshness" not in other.read_text(), other.name
