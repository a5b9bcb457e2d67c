"""What reaches an API server passes its own rules: rendered charts, the program's objects, the plan's exit.

The rules are mesh/logic/apiserver_rules.py (tested rule by rule in test_apiserver_rules.py). Here: every
locked chart renders with zero violations for the values this project sends; the chart default the API
server refused (externalTrafficPolicy on the ClusterIP clustermesh-apiserver Service) travels to Helm as a
null in a values file; and the plan exits 2, naming object, field and rule, when something would be refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mesh.charts.lock import read_lock
from mesh.logic import chart_compat
from mesh.logic.apiserver_rules import check_all
from mesh.logic.cilium_values import build_values
from mesh.logic.helm_values import deletions_yaml, merge_values, release_values, split_deletions
from mesh.plan.admission import AdmissionError, program_violations
from mesh.plan.cli import RELEASE_TYPE, ROOT, evaluate, main, render_dir
from mesh.plan.harness import reveal
from mesh.plan.render import render_cilium, rendered_documents
from tests.chart_archives import need_chart
from tests.test_chart_render import make_spec

LOCKED = sorted(read_lock())
DELETED = {"clustermesh": {"apiserver": {"service": {"externalTrafficPolicy": None}}}}


@pytest.mark.parametrize("version", LOCKED)
@pytest.mark.parametrize("kind", ["plain", "mesh", "wireguard", "etcd"])
def test_every_locked_chart_renders_what_the_api_server_accepts(version: str, kind: str) -> None:
    need_chart(version)
    documents = rendered_documents(render_cilium(build_values(make_spec(version, kind)), version))
    assert [v.line() for v in check_all(documents)] == []
    if kind == "mesh":
        (svc,) = [
            d
            for d in documents
            if d["kind"] == "Service" and d["metadata"]["name"] == "clustermesh-apiserver"
        ]
        assert svc["spec"]["type"] == "ClusterIP"
        assert "externalTrafficPolicy" not in svc["spec"]


@pytest.mark.parametrize("version", LOCKED)
def test_the_chart_default_alone_would_be_refused(version: str) -> None:
    """Proof the deletion matters on every line: the same values without it render a refused Service."""
    need_chart(version)
    values = build_values(make_spec(version, "mesh"))
    kept, deleted = split_deletions(values)
    assert deleted == DELETED
    refused = check_all(rendered_documents(render_cilium(kept, version)))
    assert [(v.obj, v.field) for v in refused] == [
        ("Service kube-system/clustermesh-apiserver", "spec.externalTrafficPolicy")
    ]


def test_split_and_merge_values_round_trip() -> None:
    values = {"a": {"b": None, "c": 1, "d": {}}, "e": None, "f": [None]}
    kept, deleted = split_deletions(values)
    assert kept == {"a": {"c": 1, "d": {}}, "f": [None]}
    assert deleted == {"a": {"b": None}, "e": None}
    assert merge_values([deleted], kept) == values
    assert yaml.safe_load(deletions_yaml(deleted)) == deleted
    # values win over files key by key; nested maps merge (Helm's mergeMaps).
    assert merge_values([{"a": {"x": 1, "y": 2}}], {"a": {"y": 3}}) == {"a": {"x": 1, "y": 3}}
    assert merge_values([{"a": {"x": 1}}, {"a": 5}], {}) == {"a": 5}


def test_releases_send_the_deletion_as_a_values_file() -> None:
    """The Python SDK drops None map entries, so the null must not be in `values` (pulumi/pulumi#12178)."""
    _, run = evaluate("devstg", ROOT)
    releases = [r for r in run.by_type(RELEASE_TYPE) if r.inputs.get("name") == "cilium"]
    assert len(releases) == 2
    for rel in releases:
        inputs = reveal(rel.inputs)
        assert inputs["values"]["clustermesh"]["apiserver"]["service"] == {"type": "ClusterIP"}
        (asset,) = inputs["valueYamlFiles"]
        assert yaml.safe_load(asset["text"]) == DELETED
        merged = release_values(inputs)
        assert merged["clustermesh"]["apiserver"]["service"] == {
            "type": "ClusterIP",
            "externalTrafficPolicy": None,
        }


def test_devstg_and_prd_program_objects_pass() -> None:
    for stack in ("devstg", "prd"):
        _, run = evaluate(stack, ROOT)
        assert [v.line() for v in program_violations(run)] == []


def test_render_dir_refuses_a_manifest_the_api_server_would(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the chart_compat fix, --render-dir (and so `make plan`) exits 2 naming object, field, rule."""
    need_chart("1.16.3")
    monkeypatch.setattr(
        chart_compat, "EXTERNALLY_ACCESSIBLE_SERVICE_TYPES", ("NodePort", "LoadBalancer", "ClusterIP")
    )
    _, run = evaluate("devstg", ROOT)
    with pytest.raises(AdmissionError) as caught:
        render_dir(run, tmp_path / "r")
    assert {(v.obj, v.field, v.source) for v in caught.value.violations} == {
        (
            f"Service kube-system/clustermesh-apiserver ({name})",
            "spec.externalTrafficPolicy",
            "core/validation validateServiceExternalTrafficPolicy",
        )
        for name in ("bb-apps-devstg-eks-demoapps", "bb-apps-devstg-eks-training")
    }
    assert main(["devstg", "--render-dir", str(tmp_path / "cli")]) == 2
    err = capsys.readouterr().err
    assert "the Kubernetes API server would refuse 2 field(s)" in err
    assert (
        'spec.externalTrafficPolicy: Invalid value: "Cluster": may only be set for externally-accessible'
        in err
    )
    assert "Traceback" not in err


def test_plan_refuses_a_program_object_the_api_server_would(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A patch is checked for what it sets: a node selector key with a space is refused."""
    from mesh.components import takeover

    bad: dict[str, Any] = {"no such node": "true"}
    monkeypatch.setattr(takeover, "NO_NODE_SELECTOR", bad)
    assert main(["devstg"]) == 2
    err = capsys.readouterr().err
    assert "DaemonSet kube-system/aws-node" in err
    assert "spec.template.spec.nodeSelector" in err
    assert "[apimachinery validation ValidateLabelName]" in err
