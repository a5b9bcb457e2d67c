"""Unit tests of the pure Cilium values builder and the chart-version adapter (no chart needed)."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pytest

from mesh.logic.chart_compat import ChartVersion, adapt_values, capabilities
from mesh.logic.cilium_values import (
    CiliumClusterSpec,
    ClusterMeshSpec,
    MeshPeer,
    SharedCa,
    api_server_host_port,
    build_values,
    operator_replicas,
)

EKS_HOST = "ABC.gr7.us-east-1.eks.amazonaws.com"
CA = SharedCa(
    cert_pem="-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n",
    key_pem="-----BEGIN EC PRIVATE KEY-----\nMHcfake\n-----END EC PRIVATE KEY-----\n",
)
EAST_LB = "east-cm-0123456789abcdef.elb.us-east-1.amazonaws.com"
WEST = MeshPeer(name="west", cluster_id=2, address="west-cm-0a1b2c3d.elb.us-west-2.amazonaws.com")
CENTRAL = MeshPeer(name="central", cluster_id=3, address="central-cm-9f8e7d6c.elb.eu-central-1.amazonaws.com")


def spec(**overrides: Any) -> CiliumClusterSpec:
    fields: dict[str, Any] = {
        "name": "east",
        "cluster_id": 1,
        "pod_cidr": "10.100.0.0/16",
        "node_count": 3,
        "api_endpoint": f"https://{EKS_HOST}",
        "chart_version": "1.18.12",
    }
    fields.update(overrides)
    return CiliumClusterSpec(**fields)


def meshed(*peers: MeshPeer, own_address: str = EAST_LB, **options: Any) -> dict[str, Any]:
    """Spec overrides for a mesh with the shared CA."""
    return {"ca": CA, "mesh": ClusterMeshSpec(own_address, peers=peers, **options)}


def mesh_spec(**overrides: Any) -> CiliumClusterSpec:
    mesh = ClusterMeshSpec(own_address=EAST_LB, peers=(WEST, CENTRAL))
    return spec(mesh=mesh, ca=CA, **overrides)


def test_runbook_values_are_computed_from_the_spec() -> None:
    s = spec(pod_cidr="10.120.0.0/15", pod_mask_size=25, cluster_id=7, name="prod-east")
    values = build_values(s)
    assert values["cluster"] == {"name": "prod-east", "id": 7}
    assert values["eni"] == {"enabled": False}
    assert values["routingMode"] == "tunnel"
    assert values["tunnelProtocol"] == "vxlan"
    assert values["ipam"] == {
        "mode": "cluster-pool",
        "operator": {"clusterPoolIPv4PodCIDRList": ["10.120.0.0/15"], "clusterPoolIPv4MaskSize": 25},
    }
    assert values["kubeProxyReplacement"] is True
    assert values["k8sServiceHost"] == EKS_HOST
    assert values["k8sServicePort"] == 443
    # Pod IPs are not VPC-routable in overlay mode: SNAT must be on whatever the chart default is.
    assert values["enableIPv4Masquerade"] is True
    assert values["identityAllocationMode"] == "crd"


def test_defaults_leave_optional_features_out() -> None:
    values = build_values(spec())
    assert values["ipam"]["operator"]["clusterPoolIPv4MaskSize"] == 24
    for key in ("clustermesh", "tls", "encryption", "etcd", "MTU", "egressMasqueradeInterfaces"):
        assert key not in values


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        (f"https://{EKS_HOST}", (EKS_HOST, 443)),
        (f"https://{EKS_HOST}/", (EKS_HOST, 443)),
        (f"https://{EKS_HOST}/some/path?x=1", (EKS_HOST, 443)),
        (f"  {EKS_HOST}  ", (EKS_HOST, 443)),
        (f"https://{EKS_HOST}:443", (EKS_HOST, 443)),
        ("https://10.0.0.10:6443", ("10.0.0.10", 6443)),
    ],
)
def test_api_endpoint_is_split_into_host_and_port(endpoint: str, expected: tuple[str, int]) -> None:
    assert api_server_host_port(endpoint) == expected
    values = build_values(spec(api_endpoint=endpoint))
    assert (values["k8sServiceHost"], values["k8sServicePort"]) == expected


@pytest.mark.parametrize(
    "endpoint", [f"http://{EKS_HOST}", "https://", "https://user:pw@host.example", "https://a..b"]
)
def test_bad_api_endpoints_are_rejected(endpoint: str) -> None:
    with pytest.raises(ValueError, match="api_endpoint"):
        api_server_host_port(endpoint)


@pytest.mark.parametrize(("node_count", "replicas"), [(1, 1), (2, 2), (3, 2), (10, 2)])
def test_operator_replicas_fit_the_node_count(node_count: int, replicas: int) -> None:
    assert operator_replicas(node_count) == replicas
    assert build_values(spec(node_count=node_count))["operator"] == {"replicas": replicas}


def test_mesh_values() -> None:
    values = build_values(mesh_spec())
    cm = values["clustermesh"]
    assert cm["useAPIServer"] is True
    assert cm["maxConnectedClusters"] == 255
    assert cm["config"]["enabled"] is True
    # Sorted by name for stable diffs, whatever order the caller used.
    assert cm["config"]["clusters"] == [
        {"name": "central", "address": CENTRAL.address, "port": 2379},
        {"name": "west", "address": WEST.address, "port": 2379},
    ]
    api = cm["apiserver"]
    # 1.18 deprecates kvstoremesh.enabled (default true): not sent (mesh/logic/chart_compat.py).
    assert "kvstoremesh" not in api
    # None deletes the chart default externalTrafficPolicy, which the API server refuses on ClusterIP.
    assert api["service"] == {"type": "ClusterIP", "externalTrafficPolicy": None}
    assert api["replicas"] == 1
    assert api["tls"]["auto"] == {"enabled": True, "method": "helm"}
    assert api["tls"]["server"] == {"extraDnsNames": [EAST_LB]}
    assert values["identityAllocationMode"] == "crd"
    assert base64.b64decode(values["tls"]["ca"]["cert"]).decode() == CA.cert_pem
    assert base64.b64decode(values["tls"]["ca"]["key"]).decode() == CA.key_pem


def test_mesh_options_are_passed_through() -> None:
    mesh = ClusterMeshSpec(
        own_address="10.0.0.5",
        peers=[MeshPeer("west", 300, "10.1.0.5", port=32379)],
        max_connected_clusters=511,
        kvstoremesh=False,
        apiserver_replicas=2,
    )
    values = build_values(spec(cluster_id=400, mesh=mesh, ca=CA, chart_version="1.16.3"))
    cm = values["clustermesh"]
    assert cm["maxConnectedClusters"] == 511
    assert cm["config"]["clusters"] == [{"name": "west", "address": "10.1.0.5", "port": 32379}]
    assert cm["apiserver"]["kvstoremesh"] == {"enabled": False}
    assert cm["apiserver"]["replicas"] == 2
    # An IP address needs an IP SAN, not a DNS SAN.
    assert cm["apiserver"]["tls"]["server"] == {"extraIpAddresses": ["10.0.0.5"]}


def test_wireguard_and_mtu() -> None:
    values = build_values(spec(wireguard=True, mtu=1500))
    assert values["encryption"] == {"enabled": True, "type": "wireguard"}
    assert values["MTU"] == 1500


def test_external_etcd_switches_to_kvstore_mode() -> None:
    endpoints = ("https://etcd-0.example:2379", "https://etcd-1.example:2379")
    values = build_values(spec(external_etcd_endpoints=endpoints))
    assert values["identityAllocationMode"] == "kvstore"
    assert values["etcd"] == {"enabled": True, "endpoints": list(endpoints), "ssl": True}
    plain = build_values(spec(external_etcd_endpoints=["http://etcd.example:2379"]))
    assert plain["etcd"]["ssl"] is False


def test_values_are_deterministic() -> None:
    first = build_values(mesh_spec())
    second = build_values(mesh_spec())
    assert first == second
    assert json.dumps(first) == json.dumps(second)
    reordered = dataclasses.replace(
        mesh_spec(), mesh=ClusterMeshSpec(own_address=EAST_LB, peers=(CENTRAL, WEST))
    )
    assert json.dumps(build_values(reordered)) == json.dumps(first)


def test_ca_key_is_hidden_from_repr() -> None:
    assert "PRIVATE KEY" not in repr(CA)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cluster_id": 0}, r"cluster id 0 must be within 1\.\.255"),
        ({"cluster_id": 256}, r"cluster id 256 must be within 1\.\.255"),
        (
            {"cluster_id": 512, **meshed(max_connected_clusters=511)},
            r"cluster id 512 must be within 1\.\.511",
        ),
        ({"cluster_id": True}, "cluster id True"),
        (meshed(max_connected_clusters=300), "must be 255 or 511"),
        ({"name": ""}, "must be 1-32 characters"),
        ({"name": "a" * 33}, "must be 1-32 characters"),
        ({"name": "East"}, "lower case alphanumeric"),
        ({"name": "east-"}, "lower case alphanumeric"),
        ({"name": "-east"}, "lower case alphanumeric"),
        ({"name": "default"}, "must not be 'default'"),
        ({"node_count": 0}, "node_count must be >= 1"),
        ({"pod_cidr": "10.100.0.1/16"}, "not an IPv4 network"),
        ({"pod_cidr": "fd00::/64"}, "not an IPv4 network"),
        ({"pod_cidr": "10.100.0.0/24", "pod_mask_size": 24}, "must be longer than the pod_cidr prefix"),
        ({"pod_mask_size": 31}, "at most 30"),
        ({"pod_cidr": "10.100.0.0/22", "pod_mask_size": 24, "node_count": 5}, "only 4 per-node /24 blocks"),
        ({"mtu": 576}, "mtu must be between"),
        ({"api_endpoint": f"http://{EKS_HOST}"}, "must be an https URL"),
        ({"mesh": ClusterMeshSpec(EAST_LB)}, "needs the shared CA"),
        (
            {"ca": CA, "mesh": ClusterMeshSpec(EAST_LB), "external_etcd_endpoints": ("https://etcd:2379",)},
            "cannot be combined with a Cluster Mesh",
        ),
        ({"external_etcd_endpoints": ("etcd:2379",)}, "must be an http"),
        (
            {"external_etcd_endpoints": ("https://etcd-0:2379", "http://etcd-1:2379")},
            "all use https or all use http",
        ),
        ({"ca": SharedCa(base64.b64encode(CA.cert_pem.encode()).decode(), CA.key_pem)}, "not base64"),
        ({"ca": SharedCa(CA.cert_pem, "not a key")}, r"ca\.key_pem must be a PEM private key"),
        (meshed(own_address="https://east.example"), "own_address"),
        (meshed(apiserver_replicas=0), "apiserver_replicas must be >= 1"),
        (meshed(MeshPeer("east", 9, "x.example")), "is this cluster"),
        (meshed(MeshPeer("other", 1, "x.example")), "is this cluster"),
        (
            meshed(WEST, MeshPeer("west", 9, "y.example")),
            "duplicate peer name 'west'",
        ),
        (
            meshed(WEST, MeshPeer("south", 2, "y.example")),
            "duplicate peer cluster id 2",
        ),
        (meshed(MeshPeer("default", 4, "y.example")), "'default'"),
        (meshed(MeshPeer("south", 256, "y.example")), r"1\.\.255"),
        (
            meshed(MeshPeer("south", 4, "https://y.example:2379")),
            "must be a bare host name or IP",
        ),
        (meshed(MeshPeer("south", 4, "y.example", 0)), "not a TCP port"),
        ({"chart_version": "1.15.9"}, "not supported"),
        ({"chart_version": "latest"}, r"MAJOR\.MINOR\.PATCH"),
        (
            {"chart_version": "1.19.0", **meshed(kvstoremesh=False)},
            "always runs KVStoreMesh",
        ),
    ],
)
def test_invalid_specs_raise_value_error(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_values(spec(**overrides))


def test_cluster_ids_up_to_511_are_allowed_with_511_connected_clusters() -> None:
    values = build_values(spec(cluster_id=511, **meshed(max_connected_clusters=511)))
    assert values["cluster"]["id"] == 511


# --- chart_compat ---------------------------------------------------------------------------------


def test_chart_version_parsing_and_ordering() -> None:
    assert ChartVersion.parse("v1.18.12") == ChartVersion(1, 18, 12)
    assert ChartVersion.parse("1.19.0-pre.3").line == "1.19"
    assert ChartVersion.parse("1.16.19") > ChartVersion.parse("1.16.3")
    assert str(ChartVersion.parse("1.17.18")) == "1.17.18"


@pytest.mark.parametrize(
    ("version", "toggle", "kvstore_ok"),
    [("1.16.3", True, False), ("1.17.18", True, False), ("1.18.12", True, True), ("1.19.1", False, True)],
)
def test_capabilities_per_line(version: str, toggle: bool, kvstore_ok: bool) -> None:
    caps = capabilities(version)
    assert caps.kvstoremesh_toggle is toggle
    assert caps.kvstore_identity_with_apiserver is kvstore_ok


def test_kvstoremesh_toggle_goes_only_to_charts_that_need_it() -> None:
    on = build_values(mesh_spec(chart_version="1.17.18"))
    assert on["clustermesh"]["apiserver"]["kvstoremesh"] == {"enabled": True}
    # 1.18: deprecated, default true: sent only to turn KVStoreMesh off.
    assert "kvstoremesh" not in adapt_values(on, "1.18.12")["clustermesh"]["apiserver"]
    off = build_values(
        spec(chart_version="1.17.18", ca=CA, mesh=ClusterMeshSpec(EAST_LB, peers=(WEST,), kvstoremesh=False))
    )
    assert adapt_values(off, "1.18.12")["clustermesh"]["apiserver"]["kvstoremesh"] == {"enabled": False}


def test_adapt_values_removes_the_kvstoremesh_toggle_from_1_19_on() -> None:
    canonical = build_values(mesh_spec(chart_version="1.17.18"))
    assert canonical["clustermesh"]["apiserver"]["kvstoremesh"] == {"enabled": True}
    adapted = adapt_values(canonical, "1.19.0")
    assert "kvstoremesh" not in adapted["clustermesh"]["apiserver"]
    # The input is not mutated and everything else is unchanged but the TLS method (next test).
    assert canonical["clustermesh"]["apiserver"]["kvstoremesh"] == {"enabled": True}
    adapted["clustermesh"]["apiserver"]["kvstoremesh"] = {"enabled": True}
    adapted["clustermesh"]["apiserver"]["tls"]["auto"] = {"enabled": True, "method": "helm"}
    assert adapted == canonical
    assert adapt_values(canonical, "1.16.3") == canonical


@pytest.mark.parametrize("version", ["1.16.3", "1.17.18", "1.18.12"])
def test_mesh_certificates_renew_by_cronjob_only_where_helm_can_wait_for_it(version: str) -> None:
    # 1.16-1.18: the certgen Job is a post-install hook that Helm's --wait never reaches (cilium#42045).
    values = build_values(mesh_spec(chart_version=version))
    assert values["clustermesh"]["apiserver"]["tls"]["auto"] == {"enabled": True, "method": "helm"}
    renewing = build_values(mesh_spec(chart_version="1.19.5"))["clustermesh"]["apiserver"]["tls"]
    assert renewing["auto"] == {"enabled": True, "method": "cronJob", "schedule": "0 0 1 */4 *"}
    assert renewing["server"] == values["clustermesh"]["apiserver"]["tls"]["server"]
