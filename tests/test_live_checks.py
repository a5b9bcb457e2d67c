"""Facts only AWS and the host know, asked before any resource in a real run (mesh/components/live_checks.py).

Under the mock runtime with the checks on, the invokes get AWS-shaped answers: each refusal raises a
RunError naming the key and the fact, and no resource is registered; offline (the plan) nothing is asked.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from mesh.components import live_checks
from mesh.logic import aws_rules, host_rules
from mesh.plan.cli import ROOT, read_stack_files
from mesh.plan.harness import InvokeFailure, ProgramRun, run_program
from mesh.plan.placeholders import PlanMocks

ZONES = {"us-east-1a": "use1-az6", "us-east-1b": "use1-az1", "us-east-1c": "use1-az2"}
TYPES = ("t3.large",)


class AwsAnswers(PlanMocks):
    """PlanMocks plus AWS-shaped answers to the three invokes the live checks make."""

    def __init__(
        self,
        zones: dict[str, str] = ZONES,
        offered: set[tuple[str, str]] | None = None,
        account: str = "111122223333",
        fail: str | None = None,
        eks_versions: dict[str, str] | None = None,
    ) -> None:
        super().__init__("us-east-1")
        self.zones = zones
        self.offered = offered if offered is not None else {(t, az) for t in TYPES for az in zones}
        self.account = account
        self.fail = fail
        self.eks_versions = eks_versions if eks_versions is not None else {"1.35": "STANDARD_SUPPORT"}
        self.calls: list[str] = []

    def call(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(token)
        if self.fail and self.fail in token:
            raise InvokeFailure("operation error EC2: UnauthorizedOperation")
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": self.account,
                "arn": f"arn:aws:iam::{self.account}:role/x",
                "id": self.account,
                "userId": "x",
            }
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = sorted(self.zones)
            return {
                "id": "us-east-1",
                "names": names,
                "zoneIds": [self.zones[n] for n in names],
                "groupNames": names,
            }
        if token == "aws:eks/getClusterVersions:getClusterVersions":
            rows = [
                (v, status) for v, status in self.eks_versions.items() if v in args["clusterVersionsOnlies"]
            ]
            return {
                "id": "us-east-1",
                "clusterVersions": [
                    {
                        "clusterType": "eks",
                        "clusterVersion": v,
                        "controlPlaneComponentConfigs": [],
                        "controlPlaneScalingTiers": [],
                        "defaultPlatformVersion": "eks.1",
                        "defaultVersion": False,
                        "endOfExtendedSupportDate": "2028-03-27",
                        "endOfStandardSupportDate": "2027-03-27",
                        "kubernetesPatchVersion": f"{v}.0",
                        "releaseDate": "2026-01-27",
                        "versionStatus": status,
                    }
                    for v, status in rows
                ],
            }
        if token == "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings":
            wanted = {f["name"]: f["values"] for f in args["filters"]}
            rows = sorted(
                (t, az) for t, az in self.offered if t in wanted["instance-type"] and az in wanted["location"]
            )
            return {
                "id": "us-east-1",
                "instanceTypes": [t for t, _ in rows],
                "locations": [az for _, az in rows],
                "locationTypes": ["availability-zone"] * len(rows),
            }
        return super().call(token, args)


def run_devstg(
    mocks: AwsAnswers,
    extra: dict[str, Any] | None = None,
    *,
    live: bool = True,
    cli: str | None = "aws-cli/2.22.0 Python/3.12",
    deployed: dict[str, Any] | None = None,
) -> ProgramRun:
    """devstg under the mock runtime, the live checks on (`live`), the host's aws CLI answering `cli`."""
    project, config, secrets = read_stack_files("devstg", ROOT)
    config = {**config, **(extra or {})}
    encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    original = live_checks.aws_cli_version
    live_checks.aws_cli_version = lambda: cli  # the host probe, replaced like an invoke
    try:
        return run_program(
            ROOT / "__main__.py",
            project=project,
            stack="devstg",
            config=encoded,
            mocks=mocks,
            project_dir=ROOT,
            secret_keys=secrets,
            live_checks=live,
            stack_outputs={"organization/cilium-mesh/devstg": deployed} if deployed else None,
        )
    finally:
        live_checks.aws_cli_version = original


run_live = run_devstg


def test_a_good_account_deploys_and_each_fact_was_asked() -> None:
    mocks = AwsAnswers()
    run = run_live(mocks)
    assert run.by_type("aws:ec2/vpc:Vpc")
    for token in (
        "getCallerIdentity",
        "getAvailabilityZones",
        "getInstanceTypeOfferings",
        "getClusterVersions",
    ):
        assert any(token in c for c in mocks.calls), token


def refusal(mocks: AwsAnswers, **kwargs: Any) -> str:
    with pytest.raises(pulumi.RunError) as info:
        run_live(mocks, **kwargs)
    return str(info.value)


def test_a_zone_id_eks_refuses() -> None:
    message = refusal(AwsAnswers(zones={**ZONES, "us-east-1b": "use1-az3"}))
    assert "network.availabilityZones: us-east-1b is zone use1-az3 in this account" in message


def test_a_zone_the_account_does_not_have() -> None:
    message = refusal(AwsAnswers(zones={"us-east-1a": "use1-az6", "us-east-1c": "use1-az2"}))
    assert "us-east-1b is not an availability zone of us-east-1 in this account" in message


def test_an_instance_type_not_offered_in_a_zone() -> None:
    message = refusal(AwsAnswers(offered={("t3.large", "us-east-1a")}))
    assert "nodeGroup.instanceTypes: t3.large is not offered in us-east-1b" in message


@pytest.mark.parametrize(
    ("offered", "expected"),
    [
        ({}, "eks.kubernetesVersion: EKS does not offer Kubernetes 1.35 in this region"),
        ({"1.35": "UNSUPPORTED"}, "eks.kubernetesVersion: Kubernetes 1.35 is UNSUPPORTED by EKS now"),
    ],
)
def test_eks_versions_asked_from_aws(offered: dict[str, str], expected: str) -> None:
    assert expected in refusal(AwsAnswers(eks_versions=offered))


def test_credentials_of_another_account() -> None:
    message = refusal(AwsAnswers(account="999999999999"), extra={"aws:allowedAccountIds": ["111122223333"]})
    assert "aws:allowedAccountIds: the credentials are for account 999999999999" in message


def test_the_host_without_a_usable_aws_cli() -> None:
    assert "deploy host: the aws CLI is not installed" in refusal(AwsAnswers(), cli=None)
    assert "aws CLI 2.6.4 is too old: pulumi-eks needs at least 2.7.0" in refusal(
        AwsAnswers(), cli="aws-cli/2.6.4 Python/3.9"
    )


def test_a_failed_invoke_fails_closed_and_every_problem_is_listed() -> None:
    message = refusal(
        AwsAnswers(fail="getInstanceTypeOfferings", account="999999999999"),
        extra={"aws:allowedAccountIds": ["111122223333"]},
        cli=None,
    )
    assert "aws.ec2.get_instance_type_offerings failed, so the checks it feeds cannot be made" in message
    assert "deploy host:" in message and "aws:allowedAccountIds:" in message


def test_offline_nothing_is_asked() -> None:
    mocks = AwsAnswers()
    run_devstg(mocks, live=False, cli=None)  # not even the aws CLI is asked
    assert not any("getAvailabilityZones" in c or "getInstanceTypeOfferings" in c for c in mocks.calls)


# --- the pure rules behind them ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "ok"),
    [
        ("aws-cli/2.7.0 Python/3.9.11 Linux/5.15", True),
        ("aws-cli/2.6.9 Python/3.9.11", False),
        ("aws-cli/1.24.0 Python/3.8", True),
        ("aws-cli/1.23.9 Python/3.8", False),
        ("aws-cli/3.0.0 Python/3.13", True),
        ("garbage", False),
        (None, False),
    ],
)
def test_aws_cli_versions(output: str | None, ok: bool) -> None:
    assert (host_rules.aws_cli_problem(output) is None) is ok


def test_pulumi_cli_against_the_workflow_pin() -> None:
    pin = host_rules.pinned_pulumi_version((ROOT / ".github/workflows/deploy.yml").read_text())
    assert pin is not None
    assert host_rules.pulumi_cli_problem(f"v{pin}", pin) is None
    major, minor, patch = (int(n) for n in pin.split("."))
    assert host_rules.pulumi_cli_problem(f"v{major}.{minor}.{patch + 1}", pin) is None
    assert "older than" in (host_rules.pulumi_cli_problem(f"v{major}.{minor - 1}.{patch}", pin) or "")
    assert "not installed" in (host_rules.pulumi_cli_problem(None, pin) or "")


def test_account_rules() -> None:
    assert host_rules.account_problem("111122223333", []) is None
    assert host_rules.account_problem("111122223333", ["111122223333"]) is None
    assert host_rules.account_problem("1", ["111122223333"]) is not None
    assert "no AWS credentials" in (host_rules.account_problem(None, []) or "")


def test_offering_problems_name_every_missing_zone() -> None:
    offered = {("m7g.large", "a")}
    assert aws_rules.offering_problems({"k": ["m7g.large"]}, offered, ["a", "b", "c"]) == [
        "k: m7g.large is not offered in b, c"
    ]


# --- make doctor ---------------------------------------------------------------------------------


def test_doctor_reports_each_check(capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    from mesh import doctor

    pin = host_rules.pinned_pulumi_version((ROOT / ".github/workflows/deploy.yml").read_text())
    good = doctor.Probes(lambda: "aws-cli/2.22.0 Python/3.12", lambda: f"v{pin}", lambda: "111122223333")
    assert doctor.main(["devstg"], good) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["ok    aws CLI", "ok    Pulumi CLI", "ok    AWS credentials for devstg"]
    bad = doctor.Probes(lambda: None, lambda: "v3.100.0", lambda: None)
    assert doctor.main(["devstg"], bad) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["FAIL", "FAIL", "FAIL"]
    assert f"older than {pin}, which the workflows pin" in lines[1]


def test_doctor_reads_allowed_accounts_from_the_stack_file(tmp_path: Any) -> None:
    from mesh import doctor

    (tmp_path / "Pulumi.x.yaml").write_text('config:\n  aws:allowedAccountIds: ["111122223333"]\n')
    assert doctor.allowed_accounts("x", tmp_path) == ["111122223333"]
    assert doctor.allowed_accounts("missing", tmp_path) == []


# --- the chart index in a real run ------------------------------------------------------------------


def _deployed_on(version: str) -> dict[str, Any]:
    from mesh.plan.cli import evaluate, plan_document

    _, run = evaluate("devstg", ROOT)
    outputs: dict[str, Any] = json.loads(json.dumps(plan_document(run, show_secrets=True)["outputs"]))
    for cluster in outputs["clusters"].values():
        cluster.update(ciliumVersion=version, ciliumInstalledMinor=version.rsplit(".", 1)[0])
    return outputs


def test_an_upgrade_the_index_cannot_vouch_for_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh runner without the index and no repository: the upgrade rules cannot run, so no upgrade."""
    from mesh.components import program

    unreadable = (None, "the index of https://helm.cilium.io/ could not be read: connection refused")
    monkeypatch.setattr(program, "live_published_versions", lambda repository: unreadable)
    deployed = _deployed_on("1.18.12")
    with pytest.raises(pulumi.RunError) as info:
        run_devstg(AwsAnswers(), deployed=deployed)
    message = str(info.value)
    assert "upgrade to Cilium 1.19.6 cannot be checked against the chart repository's index" in message
    assert "cilium-mesh:cilium.rollout.allowUnverifiedUpgrade: true" in message
    # The named override lets it through, with the warning kept.
    cilium = {"version": "1.19.6", "rollout": {"allowUnverifiedUpgrade": True}}
    run = run_devstg(AwsAnswers(), {"cilium-mesh:cilium": cilium}, deployed=deployed)
    assert any(
        "chart index: the index of https://helm.cilium.io/ could not be read" in w for w in run.warnings
    )


def test_without_an_upgrade_an_unreadable_index_is_only_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    from mesh.components import program

    monkeypatch.setattr(program, "live_published_versions", lambda repository: (None, "no network"))
    run = run_devstg(AwsAnswers(), deployed=_deployed_on("1.19.6"))
    assert any("chart index: no network" in w for w in run.warnings)
