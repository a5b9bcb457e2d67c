"""Mesh addresses `<cluster>.<domain>`: the pure rules, the config key, and the values peers dial."""

from __future__ import annotations

from typing import Any

import pytest

from mesh.logic.cilium_values import CiliumClusterSpec, ClusterMeshSpec, MeshPeer, SharedCa, build_values
from mesh.logic.config import ConfigError, parse_stack_config
from mesh.logic.mesh_dns import DEFAULT_MESH_DOMAIN, domain_problem, mesh_address

CA = SharedCa(
    cert_pem="-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n",
    key_pem="-----BEGIN EC PRIVATE KEY-----\nMHcfake\n-----END EC PRIVATE KEY-----\n",
)
CLUSTERS = [
    {"name": "east", "id": 1, "vpcCidr": "10.1.0.0/16", "podCidr": "10.101.0.0/16"},
    {"name": "west", "id": 2, "vpcCidr": "10.2.0.0/16", "podCidr": "10.102.0.0/16"},
]


def parse(clustermesh: dict[str, Any]) -> Any:
    raw = {"account": "a", "clusters": CLUSTERS, "cilium": {"version": "1.16.3", "clustermesh": clustermesh}}
    return parse_stack_config(raw, region="us-east-1")


def test_default_domain_is_the_charts_own() -> None:
    # The Cilium chart's clustermesh.config.domain, whose wildcard every chart puts in the server cert.
    assert DEFAULT_MESH_DOMAIN == "mesh.cilium.io"
    assert parse({}).cilium.clustermesh.domain == "mesh.cilium.io"
    assert mesh_address("bb-apps-devstg-eks-training") == "bb-apps-devstg-eks-training.mesh.cilium.io"
    assert mesh_address("east", "mesh.corp.internal") == "east.mesh.corp.internal"


@pytest.mark.parametrize(
    ("domain", "fragment"),
    [
        ("mesh", "at least two labels"),
        ("Mesh.Example.com", "lower-case DNS label"),
        ("mesh.example.com.", "no trailing dot"),
        ("-mesh.example.com", "'-mesh'"),
        ("mesh..example.com", "label ''"),
        ("a" * 64 + ".example.com", "lower-case DNS label"),
        (".".join(["abcdefghi"] * 23), "too long"),
        ("", "DNS name"),
    ],
)
def test_bad_domains_are_refused_with_the_key_path(domain: str, fragment: str) -> None:
    problem = domain_problem(domain)
    assert problem is not None and fragment in problem
    with pytest.raises(ConfigError) as info:
        parse({"domain": domain})
    assert any(p.startswith("cilium.clustermesh.domain: ") and fragment in p for p in info.value.problems)


def test_longest_cluster_name_fits_any_accepted_domain() -> None:
    domain = ".".join(["abcdefghi"] * 22)  # 219 characters: the longest accepted shape
    assert domain_problem(domain) is None
    assert len(mesh_address("c" * 32, domain)) <= 253
    with pytest.raises(ValueError, match="single lower-case DNS label"):
        mesh_address("East", domain)


@pytest.mark.parametrize("domain", ["mesh.cilium.io", "mesh.corp.internal"])
def test_values_dial_peers_by_name_and_certify_the_own_name(domain: str) -> None:
    values = build_values(
        CiliumClusterSpec(
            name="east",
            cluster_id=1,
            pod_cidr="10.101.0.0/16",
            node_count=2,
            api_endpoint="https://EAST.gr7.us-east-1.eks.amazonaws.com",
            chart_version="1.16.3",
            mesh=ClusterMeshSpec(
                own_address=mesh_address("east", domain),
                peers=(MeshPeer("west", 2, mesh_address("west", domain)),),
                domain=domain,
            ),
            ca=CA,
        )
    )
    mesh = values["clustermesh"]
    assert mesh["config"]["domain"] == domain
    assert mesh["config"]["clusters"] == [{"name": "west", "address": f"west.{domain}", "port": 2379}]
    # The chart only hard-codes *.mesh.cilium.io: the exact own name is what covers any other domain.
    assert mesh["apiserver"]["tls"]["server"] == {"extraDnsNames": [f"east.{domain}"]}


def test_values_refuse_an_invalid_domain() -> None:
    with pytest.raises(ValueError, match="mesh domain"):
        build_values(
            CiliumClusterSpec(
                name="east",
                cluster_id=1,
                pod_cidr="10.101.0.0/16",
                node_count=2,
                api_endpoint="https://EAST.gr7.us-east-1.eks.amazonaws.com",
                chart_version="1.16.3",
                mesh=ClusterMeshSpec(own_address="east.mesh", domain="mesh"),
                ca=CA,
            )
        )
