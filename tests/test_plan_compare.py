"""`--compare`: what changes between two offline plans, as a reviewer needs it. Replacements come from the
providers' replace-on-change properties (mesh/plan/replacements.py), values from real evaluations."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from mesh.logic.config import StackConfig
from mesh.plan.cli import evaluate_config, main, plan_document, read_stack
from mesh.plan.compare import compare, compare_documents, load_plan, render_text, rendered_diffs
from mesh.plan.harness import ProgramRun
from mesh.plan.replacements import forces_replacement

RELEASE = "kubernetes:helm.sh/v3:Release"
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


@pytest.fixture(scope="module")
def changed(devstg: tuple[StackConfig, ProgramRun]) -> tuple[dict[str, Any], dict[str, Any]]:
    """devstg, and devstg with demoapps' VPC moved to 10.2.0.0/16, training's pods to 10.55.0.0/16 and the
    demo off: a replacement, updates, value changes and removals."""
    files = read_stack("devstg")
    config = copy.deepcopy(files.config)
    training, demoapps = config["cilium-mesh:clusters"]
    demoapps["vpcCidr"] = "10.2.0.0/16"
    training["podCidr"] = "10.55.0.0/16"
    config["cilium-mesh:demo"] = False
    _, head = evaluate_config(files.project, "devstg", config)
    return plan_document(devstg[1]), plan_document(head)


def by_name(diff: Any, rtype: str) -> dict[str, Any]:
    return {c.name: c for c in diff.resources if c.type == rtype}


def test_a_new_vpc_cidr_replaces_the_vpc_and_its_subnets(changed: tuple[dict, dict]) -> None:
    diff = compare_documents(*changed)
    vpcs = by_name(diff, VPC)
    assert list(vpcs) == ["bb-apps-devstg-eks-demoapps-vpc"]  # training's VPC is untouched
    vpc = vpcs["bb-apps-devstg-eks-demoapps-vpc"]
    assert vpc.action == "replace" and vpc.replace_keys == ("cidrBlock",)
    assert [(c.key, c.old, c.new) for c in vpc.changes] == [("cidrBlock", "10.1.0.0/16", "10.2.0.0/16")]
    subnets = by_name(diff, SUBNET)
    assert subnets["bb-apps-devstg-eks-demoapps-private-us-east-1a"].action == "replace"
    assert ("cidrBlock", "10.1.0.0/18", "10.2.0.0/18") in [
        (c.key, c.old, c.new) for c in subnets["bb-apps-devstg-eks-demoapps-private-us-east-1a"].changes
    ]
    # The peer's security rules only change their source CIDR: an in-place update (cidr_ipv4 is updatable).
    rule = by_name(diff, RULE)["bb-apps-devstg-eks-training-from-bb-apps-devstg-eks-demoapps-vxlan"]
    assert rule.action == "update" and rule.replace_keys == ()
    assert [(c.key, c.old, c.new) for c in rule.changes] == [("cidrIpv4", "10.1.0.0/16", "10.2.0.0/16")]


def test_changes_are_grouped_by_owner_in_config_order(changed: tuple[dict, dict]) -> None:
    training, demoapps = "bb-apps-devstg-eks-training", "bb-apps-devstg-eks-demoapps"
    for order in ([training, demoapps], [demoapps, training]):
        diff = compare_documents(*changed, cluster_order=order)
        owners = list(dict.fromkeys(c.owner for c in diff.resources))
        assert owners == ["mesh", *order]  # the peering routes to the moved VPC are mesh-wide
        assert list(diff.cilium) == order
        text = render_text(diff)
        assert text.index(f"\n  {order[0]}\n    ") < text.index(f"\n  {order[1]}\n    ")


def test_cilium_value_changes_per_cluster(changed: tuple[dict, dict]) -> None:
    diff = compare_documents(*changed)
    training = {c.key: (c.old, c.new) for c in diff.cilium["bb-apps-devstg-eks-training"]}
    assert training["ipam.operator.clusterPoolIPv4PodCIDRList"] == (["10.50.0.0/16"], ["10.55.0.0/16"])
    # The release itself is updated in place (only name/namespace replace a Helm release).
    release = by_name(diff, RELEASE)["bb-apps-devstg-eks-training"]
    assert release.action == "update"
    text = render_text(diff)
    assert '      ipam.operator.clusterPoolIPv4PodCIDRList: ["10.50.0.0/16"] -> ["10.55.0.0/16"]' in text
    assert "      values: " in text and "listed under 'Cilium values' below" in text


def test_turning_the_demo_off_removes_its_resources(changed: tuple[dict, dict]) -> None:
    diff = compare_documents(*changed)
    removed = {(c.type, c.name) for c in diff.resources if c.action == "remove"}
    assert ("kubernetes:apps/v1:Deployment", "bb-apps-devstg-eks-training-rebel-base") in removed
    assert ("kubernetes:cilium.io/v2:CiliumNetworkPolicy", "bb-apps-devstg-eks-demoapps-policy") in removed
    assert not [c for c in diff.resources if c.action == "add"]
    counts = diff.counts()
    assert render_text(diff).splitlines()[0] == (
        f"Plan changes from base to head: {counts['add']} to add, {counts['update']} to update, "
        f"{counts['replace']} to replace, {counts['remove']} to remove"
    )


def test_secrets_are_masked_even_in_plans_written_with_show_secrets(
    devstg: tuple[StackConfig, ProgramRun],
) -> None:
    base = plan_document(devstg[1], show_secrets=True)
    head = copy.deepcopy(base)
    release = next(r for r in head["resources"] if r["type"] == RELEASE)
    old_key = release["inputs"]["values"]["tls"]["ca"]["key"]
    assert old_key not in ("", "[secret]")  # the real (base64 PEM) key is in this plan
    release["inputs"]["values"]["tls"]["ca"]["key"] = "bmV3IGtleQ=="
    text = render_text(compare_documents(base, head))
    assert "tls.ca.key: [secret] -> [secret]" in text
    assert old_key[:16] not in text and "bmV3IGtleQ==" not in text


def test_identical_plans_have_no_changes(devstg: tuple[StackConfig, ProgramRun]) -> None:
    doc = plan_document(devstg[1])
    assert render_text(compare_documents(doc, copy.deepcopy(doc))).endswith("\nNo changes.")


@pytest.mark.parametrize(
    ("rtype", "path", "replaces"),
    [
        ("aws:ec2/subnet:Subnet", "availabilityZone", True),
        ("aws:ec2/subnet:Subnet", "tags.Name", False),
        ("kubernetes:core/v1:ConfigMap", "data.response", True),
        ("kubernetes:apps/v1:DeploymentPatch", "metadata.name", True),
        ("kubernetes:apps/v1:DeploymentPatch", "spec.template.metadata.annotations.x", False),
        # pulumi-kubernetes spells the DaemonSet table "Daemonset": a selector change is an update there.
        ("kubernetes:apps/v1:DaemonSet", "spec.selector.matchLabels.app", False),
        ("kubernetes:helm.sh/v3:Release", "namespace", True),
        ("kubernetes:helm.sh/v3:Release", "values.operator.replicas", False),
        ("eks:index:ManagedNodeGroup", "instanceTypes[0]", True),
        ("eks:index:ManagedNodeGroup", "scalingConfig.desiredSize", False),
        ("pulumi:providers:kubernetes", "metadata.name", False),
    ],
)
def test_replace_on_change_table(rtype: str, path: str, replaces: bool) -> None:
    assert forces_replacement(rtype, path) is replaces


def test_rendered_manifests_are_diffed_per_cluster(tmp_path: Path) -> None:
    base, head = tmp_path / "base", tmp_path / "head"
    for root, replicas in ((base, 1), (head, 2)):
        (root / "east" / "cilium" / "templates").mkdir(parents=True)
        (root / "east" / "cilium" / "templates" / "operator.yaml").write_text(
            f"kind: Deployment\nreplicas: {replicas}\n"
        )
        (root / "west").mkdir()
        (root / "west" / "values.yaml").write_text("same: true\n")
    (head / "east" / "new.yaml").write_text("kind: Service\n")
    diffs = rendered_diffs(base, head)
    assert diffs["west"] == ""
    assert diffs["east"] == (
        "--- base/east/cilium/templates/operator.yaml\n+++ head/east/cilium/templates/operator.yaml\n"
        "@@ -1,2 +1,2 @@\n kind: Deployment\n-replicas: 1\n+replicas: 2\n"
        "--- /dev/null\n+++ head/east/new.yaml\n@@ -0,0 +1 @@\n+kind: Service\n"
    )
    text = render_text(
        compare({"resources": []}, {"resources": []}, base_render_dir=base, head_render_dir=head)
    )
    assert "Rendered manifests (per cluster)\n  east\n--- base/east/" in text and "  west" not in text


def test_cli_refuses_a_base_that_is_not_a_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "base.json"
    bad.write_text(json.dumps({"stack": "devstg"}))
    assert main(["devstg", "--compare", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad}: not a plan document") and "Traceback" not in err
    with pytest.raises(ValueError, match="not JSON"):
        bad.write_text("{")
        load_plan(bad)
    with pytest.raises(SystemExit) as info:
        main(["devstg", "--compare", str(bad), "--compare-render-dir", str(tmp_path)])
    assert info.value.code == 2
    assert "--compare-render-dir needs --compare BASE_PLAN and --render-dir DIR" in capsys.readouterr().err


def test_cli_prints_the_comparison_after_the_plan(
    devstg: tuple[StackConfig, ProgramRun], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = plan_document(devstg[1])
    vpc = next(r for r in base["resources"] if r["type"] == VPC and "demoapps" in r["name"])
    vpc["inputs"]["cidrBlock"] = "10.99.0.0/16"
    (tmp_path / "base.json").write_text(json.dumps(base))
    assert main(["devstg", "--compare", str(tmp_path / "base.json")]) == 0
    out = capsys.readouterr().out
    plan_end = out.index("Plan changes from ")
    assert out.index("Cilium releases") < plan_end
    assert (
        f"  bb-apps-devstg-eks-demoapps\n    +- replace {VPC}  {vpc['name']}\n"
        '        replaced because of: cidrBlock\n        cidrBlock: "10.99.0.0/16" -> "10.1.0.0/16"\n'
    ) in out[plan_end:]
    # A new VPC id replaces what is created in it (terraform-provider-aws: subnet vpc_id is ForceNew).
    assert (
        f"    +- replace {SUBNET}  bb-apps-devstg-eks-demoapps-private-us-east-1a\n"
        "        replaced because of: vpcId (from replaced bb-apps-devstg-eks-demoapps-vpc)\n"
    ) in out[plan_end:]


def test_plan_help_states_prerequisites_environment_and_exit_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for needle in (
        "--compare BASE_PLAN",
        "prerequisites:\n  Python 3.11+",
        "No AWS\n  account, Pulumi CLI or provider plugins",
        "environment variables:\n  CILIUM_CHARTS_DIR",
        "CILIUM_CHART_REPO",
        "exit codes:\n  0  planned (and compared)\n  2  invalid stack file or config",
    ):
        assert needle in text, needle


def test_a_replaced_eks_cluster_replaces_every_kubernetes_object_on_it(
    devstg: tuple[StackConfig, ProgramRun],
) -> None:
    """The Kubernetes provider reads the new cluster's kubeconfig (unknown in a preview: replaced), and a
    replaced provider replaces its resources (pulumi-kubernetes DiffConfig, #4019)."""
    base = plan_document(devstg[1])
    head = copy.deepcopy(base)
    eks = next(r for r in base["resources"] if r["type"] == "eks:index:Cluster" and "demoapps" in r["name"])
    eks["inputs"]["name"] = "renamed-before"
    diff = compare_documents(base, head)
    by_urn = {r["urn"]: r for r in head["resources"]}
    replaced = {c.urn: c for c in diff.resources if c.action == "replace"}
    assert replaced[eks["urn"]].replace_keys == ("name",)
    provider = next(
        r for r in head["resources"] if r["type"] == "pulumi:providers:kubernetes" and "demoapps" in r["name"]
    )
    assert replaced[provider["urn"]].replace_keys == (f"kubeconfig (from replaced {eks['name']})",)
    on_provider = {
        u for u, r in by_urn.items() if str(r.get("provider", "")).startswith(provider["urn"] + "::")
    }
    assert on_provider and on_provider <= set(replaced)
    release = next(u for u in on_provider if by_urn[u]["type"] == RELEASE)
    assert replaced[release].replace_keys == (f"provider {provider['name']} replaced",)
    # The other cluster is untouched.
    assert {c.owner for c in diff.resources} == {"bb-apps-devstg-eks-demoapps"}
