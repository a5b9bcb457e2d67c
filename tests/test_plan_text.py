"""The plan text a reviewer reads: releases list their cluster's steps (not raw resource names) in creation
order, peerings show requester -> accepter, and clusters appear in config order everywhere."""

from __future__ import annotations

import re

from mesh.logic.config import StackConfig
from mesh.plan.cli import evaluate_config, read_stack_files, summary
from mesh.plan.harness import ProgramRun
from mesh.plan.steps import after_text, owner_and_step

RELEASE = "kubernetes:helm.sh/v3:Release"


def section(text: str, title: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    body = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        body.append(line)
    return body


def test_release_after_lists_steps_in_creation_order(devstg: tuple[StackConfig, ProgramRun]) -> None:
    cfg, run = devstg
    by_urn = {r.urn: r for r in run.registrations}
    first, second = (c.name for c in cfg.clusters)
    releases = {r.name: r for r in run.by_type(RELEASE)}
    # Its own cluster's steps in creation order (the release waits for the takeover, not for the node
    # group: mesh/components/program.py) and the shared CA; peers are dialled by their mesh DNS names, so
    # no load balancer of any cluster appears.
    own = "EKS cluster, aws-node/kube-proxy takeover"
    assert after_text(releases[first], by_urn, [first, second]) == f"{own}; mesh: CA"
    assert after_text(releases[second], by_urn, [first, second]) == f"{own}; mesh: CA"
    text = summary(cfg, run)
    assert f"      after: {own}; mesh: CA\n" in text
    assert not re.search(r"after: .*-node-Amazon", text)  # no raw IAM attachment names any more


def test_remote_component_children_map_to_their_step(devstg: tuple[StackConfig, ProgramRun]) -> None:
    """pulumi-eks' inner ``aws:eks/cluster:Cluster`` is never registered by the program: its dependency
    URN still reads as the cluster's "EKS cluster" step."""
    _, run = devstg
    by_urn = {r.urn: r for r in run.registrations}
    release = run.by_type(RELEASE)[0]
    inner = [u for u in release.dependencies if u not in by_urn]
    assert inner and all("aws:eks/cluster:Cluster" in u for u in inner)
    owner = owner_and_step(release.urn, by_urn)
    assert owner is not None
    assert {owner_and_step(u, by_urn) for u in inner} == {
        (owner[0], "cilium-mesh:mesh:EksCluster", "EKS cluster")
    }


def test_peering_direction_and_config_order(three: tuple[StackConfig, ProgramRun]) -> None:
    cfg, run = three
    names = [c.name for c in cfg.clusters]
    cidr = {c.name: c.vpc_cidr for c in cfg.clusters}
    text = summary(cfg, run)
    peerings = section(text, "VPC peerings")
    arrows = [tuple(line.split(":")[0].strip().split(" -> ")) for line in peerings]
    # Requester = the VPC of vpcId in the connection's inputs, accepter = peerVpcId (peering.py: sorted pair).
    expected = sorted(
        (tuple(sorted(p)) for p in [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]),
        key=lambda p: (names.index(p[0]), names.index(p[1])),
    )
    assert arrows == expected
    req, acc = arrows[0]
    assert peerings[0].endswith(f"-> {cidr[acc]} in {req}, 3 routes -> {cidr[req]} in {acc}")


def test_every_section_lists_clusters_in_config_order(devstg: tuple[StackConfig, ProgramRun]) -> None:
    """devstg lists training before demoapps: the reverse of name order, so sorting by name would show."""
    cfg, run = devstg
    names = [c.name for c in cfg.clusters]
    assert names != sorted(names)
    text = summary(cfg, run)

    def first_index(lines: list[str], name: str) -> int:
        return next(i for i, line in enumerate(lines) if line.strip().startswith(name))

    for title in ("Clusters", "Subnets", "Security rules", "Mesh addresses"):
        lines = section(text, title)
        assert sorted(names, key=lambda n: first_index(lines, n)) == names, title
    releases = [line.split(":")[0].strip() for line in section(text, "Cilium releases") if ": chart " in line]
    assert releases == names
    # Issue 17: a newcomer's first plan of devstg warns about nothing.
    assert "\nWarnings\n" not in text


def test_warnings_list_clusters_in_config_order() -> None:
    """devstg moved back to the runbook's 1.16.3, which is untested with EKS 1.35: one warning per cluster."""
    project, config, secrets = read_stack_files("devstg")
    config = {**config, "cilium-mesh:cilium": {"version": "1.16.3"}}
    cfg, run = evaluate_config(project, "devstg", config, secret_keys=secrets)
    names = [c.name for c in cfg.clusters]
    warnings = [
        line for line in section(summary(cfg, run), "Warnings") if line.strip().startswith(tuple(names))
    ]
    assert [w.strip().split(":")[0] for w in warnings] == names
