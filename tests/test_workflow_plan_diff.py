"""The pull-request plan diff: planned offline for every pull request (forks included) with a read-only
token, and commented by a separate ``workflow_run`` workflow that never runs pull-request code. The shell
steps run here for real, against fakes of ``make``, the planner and ``gh``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.test_workflows import all_workflow_files, load, step

COMMENT = "plan-diff-comment.yml"
MARKER = "<!-- cilium-mesh:plan-diff -->"


def test_no_workflow_runs_pull_request_code_with_secrets() -> None:
    """``pull_request_target`` would hand a fork's code the base repository's secrets and a write token."""
    for path in all_workflow_files():
        assert "pull_request_target" not in load(path.name)["on"], path.name


def test_plan_diff_job_needs_nothing_but_read_access() -> None:
    job = load("pull-request.yml")["jobs"]["plan-diff"]
    assert job["permissions"] == {"contents": "read"}
    assert "environment" not in job and "if" not in job  # forks included
    text = (Path(__file__).resolve().parent.parent / ".github/workflows/pull-request.yml").read_text()
    plan_diff = text[text.index("  plan-diff:") :]
    assert "secrets." not in plan_diff and "id-token" not in plan_diff
    checkouts = [s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@")]
    assert [s["with"].get("path") for s in checkouts] == ["head", "base"]
    assert checkouts[1]["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    assert all(s["with"]["persist-credentials"] is False for s in checkouts)
    upload = step(job, uses="actions/upload-artifact")
    assert upload["with"]["name"] == "plan-diff" and upload["with"]["path"] == "out/"


def test_comment_workflow_runs_no_pull_request_code() -> None:
    doc = load(COMMENT)
    assert doc["on"] == {"workflow_run": {"workflows": ["pull-request"], "types": ["completed"]}}
    assert load("pull-request.yml")["name"] == "pull-request"
    assert doc["permissions"] == {"contents": "read"}
    job = doc["jobs"]["comment"]
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    assert job["if"] == "github.event.workflow_run.event == 'pull_request'"
    uses = [s.get("uses", "").split("@")[0] for s in job["steps"]]
    code_steps = [u for u in uses if u in ("actions/checkout", "actions/setup-python")]
    assert code_steps == []
    download = step(job, uses="actions/download-artifact")
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    assert download["with"]["name"] == "plan-diff"


# --- the plan-diff step, run against a fake make and a fake planner -----------------------------------

FAKE_MAKE = """#!/usr/bin/env bash
# make -C DIR TARGET [STACK=s OUT=o]: install-dev is a no-op; plan writes a plan JSON or fails on demand.
dir="$2"; target="$3"; shift 3
for kv in "$@"; do export "${kv%%=*}=${kv#*=}"; done
[ "$target" = plan ] || exit 0
[ "${FAKE_BASE_FAILS:-}" = "$STACK" ] && { echo "base broke" >&2; exit 2; }
mkdir -p "$OUT/rendered-$STACK"
echo '{"resources": [{"urn": "u1"}]}' > "$OUT/plan-$STACK.json"
"""

FAKE_PLANNER = """#!/usr/bin/env bash
# venv/bin/python -m mesh.plan STACK ... --compare BASE.json ...: prints a summary, then the comparison.
stack="$3"
base=""; while [ $# -gt 0 ]; do [ "$1" = --compare ] && base="$2"; shift; done
echo "Plan of cilium-mesh/$stack (summary)"
echo "Plan changes from $(basename "$base") to head: compared with $(cat "$base")"
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    for side in ("base", "head"):
        (tmp_path / side).mkdir()
        (tmp_path / side / "Pulumi.devstg.yaml").write_text("config: {}\n")
    (tmp_path / "head" / "Pulumi.prd.yaml").write_text("config: {}\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "make").write_text(FAKE_MAKE)
    (tmp_path / "head" / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "head" / "venv" / "bin" / "python").write_text(FAKE_PLANNER)
    for exe in (bin_dir / "make", tmp_path / "head" / "venv" / "bin" / "python"):
        exe.chmod(0o755)
    return tmp_path


def run_plan_diff(workspace: Path, **extra: str) -> str:
    script = step(load("pull-request.yml")["jobs"]["plan-diff"], name="Plan base and head, compare")["run"]
    env = {
        **os.environ,
        "PATH": f"{workspace / 'bin'}:{os.environ['PATH']}",
        "PR_NUMBER": "42",
        "BASE_SHA": "a" * 40,
        "HEAD_SHA": "b" * 40,
        "GITHUB_STEP_SUMMARY": str(workspace / "summary.md"),
        **extra,
    }
    done = subprocess.run(["bash", "-c", script], cwd=workspace, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return (workspace / "out" / "comment" / "comment.md").read_text()


def test_plan_diff_compares_each_stack_with_its_base(workspace: Path) -> None:
    body = run_plan_diff(workspace)
    assert body.startswith("### Offline plan diff\nBase `aaaaaaa` -> head `bbbbbbb`")
    devstg = body[body.index("#### devstg") : body.index("#### prd")]
    # Only the comparison goes into the comment, not the plan summary before it.
    assert devstg == (
        '#### devstg\n```\nPlan changes from plan-devstg.json to head: compared with {"resources": '
        '[{"urn": "u1"}]}\n```\n\n'
    )
    prd = body[body.index("#### prd") :]
    assert prd.startswith("#### prd\nNew stack: everything is added.\n```\n")
    assert 'compared with {"resources": []}' in prd
    assert (workspace / "out" / "comment" / "pr-number").read_text() == "42\n"
    assert (workspace / "summary.md").read_text() == body


def test_a_base_that_cannot_plan_is_said_so(workspace: Path) -> None:
    body = run_plan_diff(workspace, FAKE_BASE_FAILS="devstg")
    assert "The base commit could not be planned (see the artifact's base/plan-devstg.log)" in body
    assert (workspace / "out" / "base" / "plan-devstg.log").read_text() == "base broke\n"


# --- the comment step, run against a fake gh ----------------------------------------------------------

FAKE_GH = """#!/usr/bin/env bash
echo "$*" >> "$GH_LOG"
case "$*" in
  "api repos/o/r/pulls/"*) echo "$FAKE_PR_HEAD" ;;
  "api --paginate repos/o/r/issues/"*) [ -n "${FAKE_EXISTING:-}" ] && echo "$FAKE_EXISTING" ;;
  *"-F body=@body.md"*) cp body.md "$GH_LOG.body" ;;
esac
exit 0
"""


def run_comment(tmp_path: Path, pr_number: str, **extra: str) -> tuple[int, list[str], Path]:
    (tmp_path / "plan-diff" / "comment").mkdir(parents=True)
    (tmp_path / "plan-diff" / "comment" / "pr-number").write_text(pr_number)
    (tmp_path / "plan-diff" / "comment" / "comment.md").write_text("### Offline plan diff\nbody\n")
    gh = tmp_path / "bin" / "gh"
    gh.parent.mkdir()
    gh.write_text(FAKE_GH)
    gh.chmod(0o755)
    log = tmp_path / "gh.log"
    script = step(load(COMMENT)["jobs"]["comment"], name="Post or update the comment")["run"]
    env = {
        **os.environ,
        "PATH": f"{gh.parent}:{os.environ['PATH']}",
        "GH_LOG": str(log),
        "REPO": "o/r",
        "RUN_HEAD_SHA": "c" * 40,
        "FAKE_PR_HEAD": "c" * 40,
        **extra,
    }
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    calls = log.read_text().splitlines() if log.exists() else []
    return done.returncode, calls, log


def test_first_comment_is_posted_with_the_marker(tmp_path: Path) -> None:
    code, calls, log = run_comment(tmp_path, "17\n")
    assert code == 0
    assert calls[0] == "api repos/o/r/pulls/17 --jq .head.sha"
    assert calls[-1] == "api --method POST repos/o/r/issues/17/comments -F body=@body.md"
    assert Path(f"{log}.body").read_text() == f"{MARKER}\n### Offline plan diff\nbody\n"


def test_later_pushes_update_the_same_comment(tmp_path: Path) -> None:
    code, calls, _ = run_comment(tmp_path, "17", FAKE_EXISTING="991")
    assert code == 0
    assert calls[-1] == "api --method PATCH repos/o/r/issues/comments/991 -F body=@body.md"


@pytest.mark.parametrize("pr_number", ["17; curl evil", "$(id)", "0", "", "-1"])
def test_a_forged_pr_number_is_refused_before_any_api_call(tmp_path: Path, pr_number: str) -> None:
    code, calls, _ = run_comment(tmp_path, pr_number)
    assert code == 1 and calls == []


def test_no_comment_when_the_pr_moved_on_or_is_another_pr(tmp_path: Path) -> None:
    code, calls, _ = run_comment(tmp_path, "17", FAKE_PR_HEAD="d" * 40)
    assert code == 0 and calls == ["api repos/o/r/pulls/17 --jq .head.sha"]


@pytest.mark.parametrize(("workflow", "job"), [("pull-request.yml", "preview"), ("deploy.yml", "up")])
def test_jobs_running_the_pack_build_its_venv_with_make(workflow: str, job: str) -> None:
    """One recipe for the pack's virtualenv (Makefile target ``guardrails``), locally and in CI."""
    install = step(load(workflow)["jobs"][job], name="Install the program and the policy pack")
    assert install["run"].split() == ["make", "install", "guardrails"]
    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text()
    assert "guardrails/venv/.installed: guardrails/requirements.txt\n" in makefile
    assert "guardrails/venv/bin/python -m pip install --quiet -r guardrails/requirements.txt" in makefile
    policy = (Path(__file__).resolve().parent.parent / "guardrails" / "PulumiPolicy.yaml").read_text()
    assert "virtualenv: venv" in policy
