"""What AWS refuses, refused by the plan first (mesh/logic/aws_rules.py, mesh/logic/aws_models.json).

Each class of input the issue lists is fed to the stack-file edge and must exit 2 naming the key, with
every other problem listed too; each rule's limit is tested on both sides; the extracted model snapshot is
checked against the pinned botocore's own files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mesh.logic import aws_rules
from mesh.logic.config import COMMON_TAG_KEYS, EKS_LOG_TYPES, LOG_RETENTION_DAYS
from mesh.logic.mesh_dns import domain_problem
from mesh.plan import cli
from mesh.plan.cli import ROOT, evaluate, main
from tests.chart_archives import in_ci

DEVSTG = (ROOT / "Pulumi.devstg.yaml").read_text()
PINNED_EKS = '    kubernetesVersion: "1.35"\n'
CILIUM = "  cilium-mesh:cilium:\n"
BOTOCORE_DATA = Path(os.environ.get("AWS_MODELS_DATA", ROOT / "venv" / "aws-models" / "botocore" / "data"))


def problems_of(project: Path, text: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    (project / "Pulumi.bad.yaml").write_text(text)
    assert main(["bad"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return [line.removeprefix("  - ") for line in err.splitlines()[1:]]


def devstg_with(*edits: tuple[str, str]) -> str:
    text = DEVSTG
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


# --- through the stack file: each class exits 2 naming the key --------------------------------------


def test_every_aws_refusal_is_listed_at_once(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = devstg_with(
        ("instanceTypes: [t3.large]", "instanceTypes: [t3.large, m7g.large, t3.hyuge]"),
        ("azCount: 2", "azCount: 1"),
        ("podCidr: 10.50.0.0/16", "podCidr: 169.254.0.0/16"),
        ("  cilium-mesh:cilium:\n", '  cilium-mesh:cilium:\n    repository: "helm.cilium.io"\n'),
        ("  cilium-mesh:demo: true", "  cilium-mesh:demo: true\n  cilium-mesh:tags:\n    aws:owner: me\n"),
        (
            '    kubernetesVersion: "1.35"\n',
            '    kubernetesVersion: "1.35"\n    serviceCidr: 100.64.0.0/16\n',
        ),
    )
    problems = problems_of(project, text, capsys)
    keys = [p.split(": ", 1)[0].removeprefix("Pulumi.bad.yaml: ") for p in problems]
    for key in (
        "nodeGroup.instanceTypes[2]",
        "nodeGroup.instanceTypes",
        "network.azCount",
        "clusters[0].podCidr",
        "cilium.repository",
        "tags.aws:owner",
        "eks.serviceCidr",
    ):
        assert key in keys, (key, problems)
    text_all = "\n".join(problems)
    assert "'t3.hyuge' is not an EC2 instance type" in text_all
    assert "arm64: m7g.large" in text_all and "x86_64: t3.large" in text_all
    assert "EKS needs subnets in at least 2 Availability Zones" in text_all
    assert "169.254.0.0/16 overlaps 169.254.0.0/16, link-local" in text_all


def test_pod_cidr_must_hold_the_node_group_at_its_peak(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """maxSize 3 + the update surge (2 x 2 AZs) = 7 nodes: a /22 pod CIDR at /24 per node holds 4."""
    problems = problems_of(project, devstg_with(("podCidr: 10.50.0.0/16", "podCidr: 10.50.0.0/22")), capsys)
    assert problems == [
        "clusters[0].podCidr: 10.50.0.0/22 holds 4 per-node /24 blocks, but the node group "
        "can reach 7 nodes (maxSize 3 plus 4 during a managed node group update)"
    ]


def test_pod_cidr_at_exactly_the_peak_passes(project: Path) -> None:
    # /21 holds 8 blocks >= 7: the config is accepted (read and validated as the plan does).
    from mesh.plan.cli import read_stack_files

    (project / "Pulumi.ok.yaml").write_text(devstg_with(("podCidr: 10.50.0.0/16", "podCidr: 10.50.0.0/21")))
    name, config, secrets = read_stack_files("ok", project)
    cfg, _ = cli.evaluate_config(name, "ok", config, project_dir=ROOT, secret_keys=secrets)
    assert cfg.clusters[0].pod_cidr == "10.50.0.0/21"


def test_region_outside_every_partition(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    problems = problems_of(project, devstg_with(("aws:region: us-east-1", "aws:region: us-north-9")), capsys)
    assert any("aws:region: 'us-north-9' is not a region of any AWS partition" in p for p in problems)


def test_mesh_domain_inside_what_coredns_answers(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = devstg_with(
        (
            "  cilium-mesh:cilium:\n",
            "  cilium-mesh:cilium:\n    clustermesh:\n      domain: mesh.cluster.local\n",
        )
    )
    problems = problems_of(project, text, capsys)
    assert any("cilium.clustermesh.domain" in p and "CoreDNS answers itself" in p for p in problems), problems


# --- the rules at their limits ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cidr", "ok"),
    [
        ("172.20.0.0/16", True),
        ("10.96.0.0/12", True),
        ("10.0.0.0/11", False),  # bigger than /12
        ("192.168.0.0/24", True),
        ("192.168.0.0/25", False),  # smaller than /24
        ("100.64.0.0/16", False),  # not RFC 1918
        ("172.32.0.0/16", False),  # just outside 172.16/12
    ],
)
def test_service_cidr(cidr: str, ok: bool) -> None:
    assert (aws_rules.service_cidr_problem(cidr) is None) is ok


@pytest.mark.parametrize(
    ("cidr", "ok"),
    [
        ("10.50.0.0/16", True),
        ("100.64.0.0/10", True),  # shared address space is usable inside a VPC
        ("127.0.0.0/16", False),
        ("169.254.0.0/24", False),
        ("224.0.0.0/8", False),
        ("240.0.0.0/8", False),
        ("0.0.0.0/16", False),
        ("192.0.0.0/24", False),
        ("192.0.1.0/24", True),
        ("223.255.0.0/16", True),
    ],
)
def test_special_ranges(cidr: str, ok: bool) -> None:
    assert (aws_rules.special_range_problem(cidr) is None) is ok


@pytest.mark.parametrize(
    ("instance_type", "arch"),
    [
        ("t3.large", "x86_64"), ("m7g.large", "arm64"), ("c6gn.xlarge", "arm64"), ("r8gd.large", "arm64"),
        ("x2gd.xlarge", "arm64"), ("im4gn.large", "arm64"), ("is4gen.large", "arm64"),
        ("g5g.xlarge", "arm64"),
        ("a1.large", "arm64"), ("g4dn.xlarge", "x86_64"), ("m6i.large", "x86_64"), ("p4d.24xlarge", "x86_64"),
        ("hpc7g.4xlarge", "arm64"), ("m5zn.large", "x86_64"), ("u-6tb1.metal", "x86_64"),
        ("p6e-gb200.36xlarge", "arm64"),
    ],
)  # fmt: skip
def test_architecture_from_the_family(instance_type: str, arch: str) -> None:
    assert aws_rules.architecture(instance_type) == arch


def test_instance_types_known_counted_and_of_one_architecture() -> None:
    assert aws_rules.instance_type_problems(["t3.large", "m6i.large"], "k") == []
    assert aws_rules.instance_type_problems(["t3.large"] * aws_rules.MAX_NODE_GROUP_INSTANCE_TYPES, "k") == []
    too_many = aws_rules.instance_type_problems(
        ["t3.large"] * (aws_rules.MAX_NODE_GROUP_INSTANCE_TYPES + 1), "k"
    )
    assert too_many == ["k: 21 types; a managed node group takes at most 20"]
    assert aws_rules.instance_type_problems(["t3.larg"], "k") == [
        "k[0]: 't3.larg' is not an EC2 instance type (EC2 InstanceType, botocore model)"
    ]


def test_tags() -> None:
    common = len(COMMON_TAG_KEYS)
    assert aws_rules.tag_problems({"team": "mesh", "cost-center": "42 / ops@x"}, common) == []
    assert aws_rules.tag_problems({"k" * 128: "v" * 256}, common) == []
    assert [p.split(":")[0] for p in aws_rules.tag_problems({"k" * 129: "v"}, common)] == [
        "tags." + "k" * 129
    ]
    assert len(aws_rules.tag_problems({"k": "v" * 257}, common)) == 1
    assert len(aws_rules.tag_problems({"AWS:thing": "v"}, common)) == 1  # reserved, any case
    assert len(aws_rules.tag_problems({"owner": "a|b"}, common)) == 1  # '|' is not allowed
    assert len(aws_rules.tag_problems({"owner": 5}, common)) == 1
    # The mesh's hosted zone is the tightest: Route 53 takes 10 tags, 4 are common.
    room = aws_rules.route53_max_tags() - common
    assert room == 6
    assert aws_rules.tag_problems({f"t{n}": "v" for n in range(room)}, common) == []
    (problem,) = aws_rules.tag_problems({f"t{n}": "v" for n in range(room + 1)}, common)
    assert "Route 53 hosted zone takes 10 tags" in problem
    # Without a mesh there is no hosted zone, and its limit does not apply.
    assert aws_rules.tag_problems({f"t{n}": "v" for n in range(room + 1)}, common, hosted_zone=False) == []
    # Without a zone, AWS's 50 per resource is the limit: 50 - 4 common - 3 program tags.
    limit = aws_rules.MAX_TAGS_PER_RESOURCE - common - aws_rules.PROGRAM_TAGS
    assert aws_rules.tag_problems({f"t{n}": "v" for n in range(limit)}, common, hosted_zone=False) == []
    assert (
        len(aws_rules.tag_problems({f"t{n}": "v" for n in range(limit + 1)}, common, hosted_zone=False)) == 1
    )
    many = aws_rules.tag_problems({f"t{n}": "v" for n in range(50)}, common)
    assert len(many) == 1 and "more than AWS's 50" in many[0]


def test_program_tags_match_what_the_plan_registers() -> None:
    """PROGRAM_TAGS is the most tags the program adds to a resource beyond the common ones."""
    cfg, run = evaluate("devstg", ROOT)
    common = cfg.common_tags()
    extra = max(
        len(r.inputs.get("tags") or {}) - len(common) for r in run.registrations if r.type.startswith("aws:")
    )
    assert extra == aws_rules.PROGRAM_TAGS


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://helm.cilium.io/", True),
        ("oci://quay.io/cilium/charts", True),
        ("http://127.0.0.1:8080/charts", True),
        ("helm.cilium.io", False),
        ("ftp://helm.cilium.io", False),
        ("https://", False),
    ],
)
def test_chart_repository(url: str, ok: bool) -> None:
    assert (aws_rules.chart_repository_problem(url) is None) is ok


@pytest.mark.parametrize(("count", "ok"), [(1, False), (2, True), (3, True)])
def test_az_count(count: int, ok: bool) -> None:
    assert (aws_rules.az_count_problem(count) is None) is ok


def test_update_surge() -> None:
    assert aws_rules.update_surge(2) == 4
    assert aws_rules.update_surge(3) == 6
    assert aws_rules.update_surge(1, max_unavailable=5) == 5


@pytest.mark.parametrize(
    ("domain", "ok"),
    [("mesh.cilium.io", True), ("cluster.local", False), ("mesh.cluster.local", False),
     ("my-cluster.local", True), ("10.in-addr.arpa", False)],
)  # fmt: skip
def test_mesh_domain_against_coredns_zones(domain: str, ok: bool) -> None:
    assert (domain_problem(domain) is None) is ok


# --- the snapshot is the pinned botocore's own ------------------------------------------------------


def test_model_snapshot_matches_the_pinned_botocore() -> None:
    if not BOTOCORE_DATA.is_dir():
        message = f"botocore data not found at {BOTOCORE_DATA} (make install-dev installs it)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    from tools.extract_aws_models import SNAPSHOT, extract

    assert json.loads(SNAPSHOT.read_text()) == json.loads(json.dumps(extract(BOTOCORE_DATA)))


def test_config_tables_agree_with_the_models() -> None:
    models = aws_rules.models()
    assert tuple(EKS_LOG_TYPES) == tuple(models["eks"]["LogType"])
    assert tuple(LOG_RETENTION_DAYS) == tuple(models["logs"]["retentionInDays"])
    assert "t3.large" in aws_rules.instance_types() and "us-east-1" in aws_rules.partition_regions()


def test_config_map_auth_with_a_private_endpoint_is_refused(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pulumi-eks writes aws-auth inside the construct; a private-only endpoint never answers it."""
    eks = '    kubernetesVersion: "1.35"\n    authenticationMode: API_AND_CONFIG_MAP\n'
    problems = problems_of(project, devstg_with(('    kubernetesVersion: "1.35"\n', eks)), capsys)
    assert len(problems) == 1
    assert problems[0].startswith("eks: authenticationMode API_AND_CONFIG_MAP with a private-only endpoint")
    assert "pulumi-eks writes kube-system/aws-auth inside the cluster construct" in problems[0]


def test_config_map_auth_with_a_public_endpoint_is_accepted() -> None:
    from mesh.logic.config import EksConfig

    cfg = EksConfig.model_validate(
        {"authenticationMode": "API_AND_CONFIG_MAP", "publicAccessCidrs": ["203.0.113.7/32"]}
    )
    assert cfg.authentication_mode == "API_AND_CONFIG_MAP"
    with pytest.raises(ValueError, match="private-only endpoint"):
        EksConfig.model_validate({"authenticationMode": "API_AND_CONFIG_MAP"})
