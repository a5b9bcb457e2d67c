"""The builder's values against the real Cilium charts: schema, render, Kubernetes schemas, cilium-config.

Archives come through the project's resolver (``tests.chart_archives.need_chart``): a test skips only when
the repository is unreachable and nothing is cached, and fails instead under CI.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from helm_python import HelmError

from mesh.charts.fetch import ChartUnavailable
from mesh.charts.lock import read_lock
from mesh.logic.chart_compat import capabilities
from mesh.logic.cilium_values import CiliumClusterSpec, ClusterMeshSpec, MeshPeer, build_values
from mesh.logic.k8s_compat import e2e_tested_kubernetes
from mesh.plan.render import REDACTED, render_cilium, rendered_documents, write_manifests
from tests.chart_archives import closed_port_url, need_chart
from tests.test_cilium_values import CA, EAST_LB, EKS_HOST

CHART_VERSIONS = ("1.16.3", "1.16.19", "1.17.18", "1.18.12")


def make_spec(version: str, kind: str) -> CiliumClusterSpec:
    base: dict[str, Any] = {
        "name": "east",
        "cluster_id": 7,
        "pod_cidr": "10.100.0.0/16",
        "pod_mask_size": 25,
        "node_count": 1,
        "api_endpoint": f"https://{EKS_HOST}/",
        "chart_version": version,
    }
    if kind == "mesh":
        peers = (
            MeshPeer("west", 2, "west-cm.elb.us-west-2.amazonaws.com"),
            MeshPeer("north", 3, "10.30.1.9"),
        )
        return CiliumClusterSpec(**base, ca=CA_REAL, mesh=ClusterMeshSpec(EAST_LB, peers=peers))
    if kind == "wireguard":
        return CiliumClusterSpec(**base, wireguard=True, mtu=1500)
    if kind == "etcd":
        return CiliumClusterSpec(**base, external_etcd_endpoints=("https://etcd.example:2379",))
    return CiliumClusterSpec(**base)


def _real_ca() -> Any:
    """The chart parses the CA (buildCustomCert), so this file needs a real one, made once per module."""
    from tests.test_mesh_certs import make_ca

    return make_ca("ecdsa")[0]


CA_REAL = _real_ca()
assert CA_REAL.cert_pem != CA.cert_pem  # the unit-test CA is a fake the chart would reject


def find(documents: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [d for d in documents if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def container_env(workload: dict[str, Any], container: str) -> dict[str, Any]:
    spec = workload["spec"]["template"]["spec"]
    (target,) = [c for c in spec["containers"] if c["name"] == container]
    return {e["name"]: e.get("value") for e in target.get("env", [])}


def validate_kubernetes_schemas(documents: list[dict[str, Any]], k8s_version: str) -> int:
    """Strict-validate every object; only Cilium/Prometheus custom resources may lack a schema."""
    validated = 0
    for doc in documents:
        try:
            kubernetes_validate.validate(doc, k8s_version, strict=True)
            validated += 1
        except kubernetes_validate.utils.SchemaNotFoundError:
            assert doc["apiVersion"].split("/")[0].endswith(("cilium.io", "monitoring.coreos.com")), doc[
                "kind"
            ]
    return validated


@pytest.fixture(scope="module")
def rendered() -> dict[tuple[str, str], tuple[CiliumClusterSpec, list[dict[str, Any]]]]:
    """Render each (version, kind) once for the whole module."""
    cache: dict[tuple[str, str], tuple[CiliumClusterSpec, list[dict[str, Any]]]] = {}

    def get(version: str, kind: str) -> tuple[CiliumClusterSpec, list[dict[str, Any]]]:
        if (version, kind) not in cache:
            spec = make_spec(version, kind)
            cache[(version, kind)] = (spec, rendered_documents(render_cilium(build_values(spec), version)))
        return cache[(version, kind)]

    return get  # type: ignore[return-value]


def test_every_tested_chart_version_is_locked() -> None:
    """A version the tests render must have its official digest committed, or nobody can fetch it."""
    assert set(CHART_VERSIONS) <= set(read_lock())


@pytest.mark.parametrize("version", CHART_VERSIONS)
@pytest.mark.parametrize("kind", ["plain", "mesh", "wireguard", "etcd"])
def test_renders_and_passes_kubernetes_schemas(rendered: Any, version: str, kind: str) -> None:
    need_chart(version)
    spec, documents = rendered(version, kind)
    tested = e2e_tested_kubernetes(version)
    assert tested is not None
    # helm-python renders as for Kubernetes v1.36 (Helm's built-in default KubeVersion), so the chart
    # emits fields such as `appArmorProfile` (Kubernetes >= 1.30). Validate against the newest
    # Kubernetes this Cilium line is e2e-tested on (>= 1.30 for every supported line), not older ones.
    # Every object must validate: none may be skipped as an unknown kind.
    assert validate_kubernetes_schemas(documents, tested[-1]) == len(documents)

    config = find(documents, "ConfigMap", "cilium-config")["data"]
    assert config["cluster-name"] == spec.name
    assert config["cluster-id"] == str(spec.cluster_id)
    assert config["routing-mode"] == "tunnel"
    assert config["tunnel-protocol"] == "vxlan"
    assert config["ipam"] == "cluster-pool"
    assert config["cluster-pool-ipv4-cidr"] == spec.pod_cidr
    assert config["cluster-pool-ipv4-mask-size"] == str(spec.pod_mask_size)
    assert config["kube-proxy-replacement"] == "true"
    assert config["enable-ipv4-masquerade"] == "true"

    # kube-proxy replacement reaches the API server through the EKS endpoint, not a Service IP.
    agent = find(documents, "DaemonSet", "cilium")
    env = container_env(agent, "cilium-agent")
    assert env["KUBERNETES_SERVICE_HOST"] == EKS_HOST
    assert env["KUBERNETES_SERVICE_PORT"] == "443"
    operator = find(documents, "Deployment", "cilium-operator")
    assert operator["spec"]["replicas"] == 1  # one node: the chart default of 2 would never be ready

    if kind == "wireguard":
        assert config["enable-wireguard"] == "true"
        assert config["mtu"] == "1500"
    if kind == "etcd":
        assert config["identity-allocation-mode"] == "kvstore"
        assert yaml.safe_load(config["etcd-config"])["endpoints"] == ["https://etcd.example:2379"]
    if kind == "mesh":
        assert config["identity-allocation-mode"] == "crd"
        assert config["max-connected-clusters"] == "255"
        service = find(documents, "Service", "clustermesh-apiserver")
        assert service["spec"]["type"] == "ClusterIP"
        kvstoremesh = find(documents, "Secret", "cilium-kvstoremesh")["data"]
        assert sorted(kvstoremesh) == sorted(peer.name for peer in spec.mesh.peers)
        west = yaml.safe_load(base64.b64decode(kvstoremesh["west"]))
        assert west["endpoints"] == ["https://west-cm.elb.us-west-2.amazonaws.com:2379"]
    else:
        assert not [d for d in documents if d["metadata"]["name"].startswith("clustermesh-apiserver")]


def _mesh_values(version: str) -> dict[str, Any]:
    return build_values(make_spec(version, "mesh"))


@pytest.mark.parametrize("version", CHART_VERSIONS)
def test_chart_rejects_kvstore_identities_with_the_mesh_apiserver(version: str) -> None:
    """The builder refuses etcd + mesh; the chart itself must refuse the raw combination too."""
    need_chart(version)
    values = _mesh_values(version)
    values["identityAllocationMode"] = "kvstore"
    if capabilities(version).kvstore_identity_with_apiserver:
        # 1.18+ only accepts kvstore identities with the apiserver while KVStoreMesh runs.
        render_cilium(values, version)
        values["clustermesh"]["apiserver"]["kvstoremesh"] = {"enabled": False}
    with pytest.raises(HelmError, match="identityAllocationMode=kvstore"):
        render_cilium(values, version)


@pytest.mark.parametrize("version", CHART_VERSIONS)
@pytest.mark.parametrize(
    ("path", "bad", "message"),
    [
        (("cluster", "name"), "default", "cannot use default value"),
        (("cluster", "name"), "a" * 33, "must not be more than 32 characters"),
        (("cluster", "name"), "East", "lower case alphanumeric"),
        (("clustermesh", "maxConnectedClusters"), 300, "must be set to 255 or 511"),
        # The runbook's step 5 (2021, Cilium 1.9) sets these; the modern chart refuses them.
        (("etcd", "managed"), True, r"etcd\.managed"),
        (("tunnel",), "vxlan", "tunnel was deprecated"),
    ],
)
def test_chart_rejects_what_the_builder_rejects(
    version: str, path: tuple[str, ...], bad: Any, message: str
) -> None:
    """Each rule mirrors one in the builder or the runbook; the same values without it render cleanly."""
    need_chart(version)
    values = build_values(make_spec(version, "plain"))
    target = values
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = bad
    with pytest.raises(HelmError, match=message):
        render_cilium(values, version)


def test_render_gets_the_archive_through_the_resolver(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = need_chart("1.18.12")
    local, unreachable = tmp_path / "local", closed_port_url()
    local.mkdir()
    monkeypatch.setenv("CILIUM_CHARTS_DIR", str(local))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("CILIUM_CHART_REPO", unreachable)
    with pytest.raises(ChartUnavailable) as err:
        render_cilium({}, "1.18.12")
    assert "CILIUM_CHARTS_DIR" in str(err.value) and unreachable in str(err.value)
    (local / "cilium-1.18.12.tgz").symlink_to(real)
    docs = rendered_documents(render_cilium({}, "1.18.12"))
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "cilium-config")
    assert config["data"]["cluster-name"] == "default"  # the chart's own default, from the local archive


def test_rendered_documents_skips_text_and_empty_documents() -> None:
    config_map = "---\n# a comment only\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"
    manifests = {
        "cilium/templates/NOTES.txt": "kind: NotYaml\n",
        "cilium/templates/b.yaml": config_map,
        "cilium/templates/a.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\n",
        "cilium/templates/empty.yaml": "",
    }
    assert [d["metadata"]["name"] for d in rendered_documents(manifests)] == ["a", "b"]


def test_write_manifests_redacts_secrets(tmp_path: Path) -> None:
    version = CHART_VERSIONS[-1]
    need_chart(version)
    values = _mesh_values(version)
    manifests = render_cilium(values, version)
    written = write_manifests(manifests, tmp_path)
    assert written and all(path.is_relative_to(tmp_path) for path in written)
    text = "\n".join(path.read_text() for path in written)
    assert values["tls"]["ca"]["key"] not in text  # the shared CA key never reaches the disk
    ca_secret = find(
        rendered_documents({p.name + ".yaml": p.read_text() for p in written}), "Secret", "cilium-ca"
    )
    assert set(ca_secret["data"].values()) == {REDACTED}
    # Non-secret objects are written unchanged.
    config_files = [p for p in written if p.name == "cilium-configmap.yaml"]
    assert len(config_files) == 1
    assert yaml.safe_load(config_files[0].read_text())["data"]["cluster-name"] == "east"
