"""The values the program produces, taken from the offline plan (not rebuilt here), on the real chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from mesh.logic.config import StackConfig
from mesh.plan.cli import RELEASE_TYPE, evaluate_config
from mesh.plan.harness import ProgramRun, reveal
from mesh.plan.render import render_cilium, rendered_documents
from mesh.plan.synthetic import synthetic_config
from tests.chart_archives import need_chart
from tests.test_chart_render import validate_kubernetes_schemas

CHART_VERSIONS = ("1.16.3", "1.16.19", "1.17.18", "1.18.12")


def release_values(run: ProgramRun) -> dict[str, tuple[str, dict[str, Any]]]:
    """Cluster name -> (chart version, exact values the Release would receive)."""
    return {r.name: (r.inputs["version"], reveal(r.inputs["values"])) for r in run.by_type(RELEASE_TYPE)}


def test_devstg_values_pass_the_schema_render_and_kubernetes_schemas(
    devstg: tuple[StackConfig, ProgramRun],
) -> None:
    cfg, run = devstg
    need_chart(cfg.cilium.version)
    values = release_values(run)
    assert set(values) == {c.name for c in cfg.clusters}
    for c in cfg.clusters:
        version, vals = values[c.name]
        assert version == cfg.cilium.version
        docs = rendered_documents(render_cilium(vals, version))  # validate_schema + render
        builtin = [d for d in docs if not d["apiVersion"].split("/")[0].endswith("cilium.io")]
        assert validate_kubernetes_schemas(docs, cfg.kubernetes_version(c)) == len(builtin) > 20
        config = next(
            d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "cilium-config"
        )
        data = config["data"]
        assert data["cluster-name"] == c.name and data["cluster-id"] == str(c.id)
        assert data["routing-mode"] == "tunnel" and data["tunnel-protocol"] == "vxlan"
        assert data["ipam"] == "cluster-pool" and data["cluster-pool-ipv4-cidr"] == c.pod_cidr
        assert data["kube-proxy-replacement"] == "true"
        assert data["identity-allocation-mode"] == "crd"
        operator = next(
            d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "cilium-operator"
        )
        assert operator["spec"]["replicas"] == min(2, cfg.node_group_for(c).desired_size)


@pytest.mark.parametrize("version", CHART_VERSIONS)
def test_changing_the_version_renders_clean_on_every_chart(version: str) -> None:
    """An upgrade is a version change in config; the same program's values must render on the new chart."""
    need_chart(version)
    config = synthetic_config(2)
    config["cilium-mesh:cilium"] = {"version": version}
    # A version EKS still offers (mesh/logic/eks_versions.py); 1.30 reached end of extended support.
    config["cilium-mesh:eks"] = {"kubernetesVersion": "1.33"}
    _, run = evaluate_config("cilium-mesh", "upgrade", config)
    for name, (chart_version, vals) in release_values(run).items():
        assert chart_version == version
        docs = rendered_documents(render_cilium(vals, version))
        kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
        assert ("Deployment", "clustermesh-apiserver") in kinds, name
        assert ("Secret", "cilium-kvstoremesh") in kinds, name


def _server_cert(docs: list[dict[str, Any]]) -> x509.Certificate:
    import base64

    secret = next(
        d
        for d in docs
        if d["kind"] == "Secret" and d["metadata"]["name"] == "clustermesh-apiserver-server-cert"
    )
    return x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))


@pytest.mark.parametrize("size", [2, 3])
def test_plan_values_let_every_pair_of_clusters_authenticate(size: int, devstg: Any, three: Any) -> None:
    """For every ordered pair (A, B) of the plan: the host A's KVStoreMesh dials is covered by B's server
    certificate, and both chain to the one CA of the plan."""
    from tests.test_mesh_certs import (
        KVSTOREMESH,
        RenderedCluster,
        assert_can_connect,
        connection,
        issue_like_certgen,
    )

    cfg, run = devstg if size == 2 else three
    need_chart(cfg.cilium.version)
    assert len(cfg.clusters) == size
    values = release_values(run)
    clusters = {
        n: RenderedCluster(n, rendered_documents(render_cilium(v, ver))) for n, (ver, v) in values.items()
    }
    for cluster in clusters.values():
        issue_like_certgen(cluster)  # charts >= 1.19 leave the leaves to their certgen Job
    ca_pems = {v["tls"]["ca"]["cert"] for _, v in values.values()}
    assert len(ca_pems) == 1
    import base64

    ca = x509.load_pem_x509_certificate(base64.b64decode(ca_pems.pop()))
    peers_of = {
        n: {p["name"]: p["address"] for p in v["clustermesh"]["config"]["clusters"]}
        for n, (_, v) in values.items()
    }
    checked = 0
    for a in clusters.values():
        for b in clusters.values():
            if a is b:
                continue
            remote = connection(a, KVSTOREMESH, "cilium-kvstoremesh", b.name)
            assert remote.host == peers_of[a.name][b.name]  # the NLB hostname from B's plan Service
            assert_can_connect(remote, b, ca, f"{a.name} -> {b.name}")
            checked += 1
    assert checked == size * (size - 1)


def test_rendered_manifests_dir_is_not_committed() -> None:
    root = Path(__file__).resolve().parent.parent
    assert not list(root.glob("**/cilium-*.tgz")), "chart archives must not be copied into the project"
