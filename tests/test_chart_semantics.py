"""Cilium semantics that change across a minor keep the install-time behaviour (issue 17 item 5).

`clustermesh.policyDefaultLocalCluster` is false up to 1.18 and true from 1.19 (values.yaml): a cluster
installed before 1.19 keeps false after the upgrade, the plan says how to adopt the new default, and a
cluster installed on 1.19 gets the chart's default. Proven on the real charts' cilium-config.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mesh.logic.chart_compat import keeps_policy_default, policy_default_local_cluster_note
from mesh.logic.cilium_values import build_values
from mesh.plan.cli import ROOT, evaluate, main, plan_document
from mesh.plan.render import render_cilium, rendered_documents
from tests.chart_archives import need_chart
from tests.test_chart_render import make_spec


@pytest.mark.parametrize(
    ("version", "installed", "keeps"),
    [
        ("1.19.6", "1.18", True),
        ("1.19.6", "1.16", True),
        ("1.19.6", "1.19", False),
        ("1.19.6", None, False),
        ("1.18.12", "1.16", False),
        ("1.20.0", "1.18", True),
        ("1.20.0", "1.19", False),
    ],
)
def test_which_clusters_keep_the_old_default(version: str, installed: str | None, keeps: bool) -> None:
    assert keeps_policy_default(version, installed) is keeps
    note = policy_default_local_cluster_note("a", version, installed)
    assert (note is not None) is keeps


@pytest.mark.parametrize(("installed", "rendered"), [("1.18", "false"), (None, "true")])
def test_the_rendered_config_keeps_the_install_time_behaviour(installed: str | None, rendered: str) -> None:
    need_chart("1.19.6")
    spec = replace(make_spec("1.19.6", "mesh"), upgrade_compatibility=installed)
    values = build_values(spec)
    assert ("policyDefaultLocalCluster" in values["clustermesh"]) is (installed is not None)
    docs = rendered_documents(render_cilium(values, "1.19.6"))
    (config,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "cilium-config"]
    assert config["data"]["policy-default-local-cluster"] == rendered


def test_the_upgrade_plan_says_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """devstg deployed on 1.18.12 (installed on 1.18), planned at 1.19.6."""
    _, run = evaluate("devstg", ROOT)
    outputs: dict[str, Any] = json.loads(json.dumps(plan_document(run, show_secrets=True)["outputs"]))
    for cluster in outputs["clusters"].values():
        cluster.update(ciliumVersion="1.18.12", ciliumInstalledMinor="1.18")
    path = tmp_path / "deployed.json"
    path.write_text(json.dumps(outputs))
    assert main(["devstg", "--deployed", str(path)]) == 0
    out = capsys.readouterr().out
    assert (
        "bb-apps-devstg-eks-training: keeps clustermesh.policyDefaultLocalCluster=false (installed on 1.18"
        in out
    )
    assert "add io.cilium.k8s.policy.cluster to every policy that must reach other clusters" in out


def test_no_key_1_19_removed_is_sent_and_auth_mode_is_the_charts() -> None:
    """chart_compat records the 1.18 -> 1.19 values diff; the builder relies on what it decided."""
    values = build_values(make_spec("1.19.6", "mesh"))

    def has(path: str) -> bool:
        node: Any = values
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    removed = (
        "clustermesh.apiserver.tls.client",
        "nodePort.enabled",
        "svcSourceRangeCheck",
        "customCalls",
        "l2podAnnouncements",
    )
    assert [p for p in removed if has(p)] == []
    assert not has("clustermesh.apiserver.tls.authMode")  # the chart's migration default, kept on purpose
