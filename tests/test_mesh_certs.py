"""Cross-cluster TLS of the rendered Cluster Mesh: every client reaches a server whose certificate it trusts.

For N clusters sharing one CA, each cluster's chart is rendered with the builder's values. Then, for
every ordered pair (A, B), following exactly what the rendered pods read:

* the KVStoreMesh container of A dials the endpoint in A's `cilium-kvstoremesh` entry for B; B's
  clustermesh-apiserver (etcd) serves the certificate named by its `--cert-file` flag. That
  certificate must cover the endpoint host (SAN rules incl. wildcards), and A's client certificate,
  found by resolving the config's `cert-file` through A's projected volume, must verify against
  the CA that B's etcd trusts (`--trusted-ca-file`), which must also be the CA A trusts.
* A's agents dial the endpoint in `cilium-clustermesh`: the local KVStoreMesh
  (`clustermesh-apiserver.kube-system.svc`) with KVStoreMesh, B directly without it.
* A's client certificate user must be one B's etcd knows (per-cluster users when B renders
  `clustermesh-remote-users`, else the legacy common user `remote`).

Renders take ~0.2-0.6 s (the chart generates RSA keys); the matrix stays within a few seconds per version.
"""

from __future__ import annotations

import base64
import copy
import datetime
import ipaddress
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mesh.logic.cilium_values import CiliumClusterSpec, ClusterMeshSpec, MeshPeer, SharedCa, build_values
from mesh.logic.mesh_dns import DEFAULT_MESH_DOMAIN, mesh_address
from mesh.plan.render import render_cilium, rendered_documents
from tests.chart_archives import need_chart

CHART_VERSIONS = ("1.16.3", "1.16.19", "1.17.18", "1.18.12", "1.19.5")
LOCAL_SERVICE_HOST = "clustermesh-apiserver.kube-system.svc"
ETCD_SERVER = ("Deployment", "clustermesh-apiserver", "etcd")
KVSTOREMESH = ("Deployment", "clustermesh-apiserver", "kvstoremesh")
AGENT = ("DaemonSet", "cilium", "cilium-agent")

# --- the shared CA -------------------------------------------------------------------------------

# Helm mints the leaves with its Go clock (which faketime does not move) and certgen-like leaves are issued
# at ISSUED: a CA valid across both, whatever day the suite runs, keeps the checks free of the clock.
CA_NOT_BEFORE = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
CA_NOT_AFTER = datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC)
ISSUED = datetime.datetime(2026, 11, 26, tzinfo=datetime.UTC)


def make_ca(kind: str) -> tuple[SharedCa, x509.Certificate]:
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = (
        ec.generate_private_key(ec.SECP256R1()) if kind == "ecdsa" else rsa.generate_private_key(65537, 2048)
    )
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cilium-mesh"),
            x509.NameAttribute(NameOID.COMMON_NAME, "mesh-ca"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(CA_NOT_BEFORE)
        .not_valid_after(CA_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return SharedCa(cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()), cert


@pytest.fixture(scope="module")
def ecdsa_ca() -> tuple[SharedCa, x509.Certificate]:
    return make_ca("ecdsa")


# --- certificate checks --------------------------------------------------------------------------


def verify_signed_by(cert: x509.Certificate, ca: x509.Certificate) -> None:
    """Issuer matches and the signature verifies with the CA public key (raises otherwise)."""
    assert cert.issuer == ca.subject, f"{cert.subject.rfc4514_string()} not issued by {ca.subject}"
    public_key = ca.public_key()
    assert cert.signature_hash_algorithm is not None
    if isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(
            cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm
        )
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
    else:  # pragma: no cover - the fixtures only make RSA and ECDSA CAs
        raise AssertionError(f"unexpected CA key type {type(public_key)}")


def dns_name_matches(pattern: str, host: str) -> bool:
    """RFC 6125: case-insensitive; `*` only as the whole left-most label, matching exactly one label."""
    pattern_labels = pattern.lower().rstrip(".").split(".")
    host_labels = host.lower().rstrip(".").split(".")
    if len(pattern_labels) != len(host_labels) or not all(host_labels):
        return False
    first, *rest = pattern_labels
    if "*" in "".join(rest) or (first != "*" and "*" in first):
        return False
    return (first == "*" or first == host_labels[0]) and rest == host_labels[1:]


def covers(cert: x509.Certificate, host: str) -> bool:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return any(dns_name_matches(name, host) for name in san.get_values_for_type(x509.DNSName))
    return ip in san.get_values_for_type(x509.IPAddress)


def extended_key_usages(cert: x509.Certificate) -> set[x509.ObjectIdentifier]:
    return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def test_dns_name_matching_rules() -> None:
    assert dns_name_matches("east.elb.amazonaws.com", "EAST.elb.amazonaws.com")
    assert dns_name_matches("*.mesh.cilium.io", "west.mesh.cilium.io")
    assert not dns_name_matches("*.mesh.cilium.io", "a.west.mesh.cilium.io")  # one label only
    assert not dns_name_matches("*.mesh.cilium.io", "mesh.cilium.io")
    assert not dns_name_matches("w*.mesh.cilium.io", "west.mesh.cilium.io")  # no partial wildcards
    assert not dns_name_matches("east.*.amazonaws.com", "east.elb.amazonaws.com")
    assert not dns_name_matches("east.elb.amazonaws.com", "west.elb.amazonaws.com")


# --- reading the rendered cluster ----------------------------------------------------------------


@dataclass
class RenderedCluster:
    name: str
    documents: list[dict[str, Any]]

    def find(self, kind: str, name: str) -> dict[str, Any]:
        (match,) = [d for d in self.documents if d["kind"] == kind and d["metadata"]["name"] == name]
        return match

    def has(self, kind: str, name: str) -> bool:
        return any(d["kind"] == kind and d["metadata"]["name"] == name for d in self.documents)

    def secret(self, name: str) -> dict[str, bytes]:
        return {k: base64.b64decode(v) for k, v in self.find("Secret", name).get("data", {}).items()}

    def container(self, workload: tuple[str, str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
        kind, name, container = workload
        pod = self.find(kind, name)["spec"]["template"]["spec"]
        (match,) = [c for c in pod["containers"] if c["name"] == container]
        return pod, match

    def read_file(self, workload: tuple[str, str, str], path: str) -> bytes:
        """Content of `path` as the container sees it, resolved through its volume mounts."""
        pod, container = self.container(workload)
        for mount in container["volumeMounts"]:
            prefix = mount["mountPath"].rstrip("/") + "/"
            if path.startswith(prefix):
                (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
                return self._volume_file(volume, path[len(prefix) :])
        raise AssertionError(f"{path} is not mounted in {workload}")

    def _volume_file(self, volume: dict[str, Any], relative: str) -> bytes:
        # A plain secret volume names its Secret `secretName`; a projected source names it `name`.
        refs = (
            [volume["secret"]]
            if "secret" in volume
            else [s["secret"] for s in volume["projected"]["sources"] if "secret" in s]
        )
        for ref in refs:
            name = ref.get("secretName") or ref["name"]
            if not self.has("Secret", name):
                continue  # optional sources the chart did not render
            data = self.secret(name)
            if "items" not in ref and relative in data:
                return data[relative]
            for item in ref.get("items", []):
                if item["path"] == relative and item["key"] in data:
                    return data[item["key"]]
        raise AssertionError(f"no rendered Secret provides {relative} in volume {volume['name']}")

    def etcd_server(self) -> tuple[x509.Certificate, x509.Certificate]:
        """(served certificate, trusted client CA) of this cluster's clustermesh-apiserver etcd."""
        _, etcd = self.container(ETCD_SERVER)
        flags = dict(arg.removeprefix("--").split("=", 1) for arg in etcd["args"] if "=" in arg)
        served = x509.load_pem_x509_certificate(self.read_file(ETCD_SERVER, flags["cert-file"]))
        trusted = x509.load_pem_x509_certificate(self.read_file(ETCD_SERVER, flags["trusted-ca-file"]))
        return served, trusted

    def remote_users(self) -> set[str] | None:
        """Per-cluster etcd users B creates for its peers, or None in the legacy common-user mode."""
        if not self.has("ConfigMap", "clustermesh-remote-users"):
            return None
        users = yaml.safe_load(self.find("ConfigMap", "clustermesh-remote-users")["data"]["users.yaml"])
        return {user["name"] for user in users["users"]}


@dataclass
class Connection:
    host: str
    port: int
    client_cert: x509.Certificate
    trusted_ca: x509.Certificate


def connection(cluster: RenderedCluster, client: tuple[str, str, str], secret: str, peer: str) -> Connection:
    """The etcd connection `client` of `cluster` opens for `peer`, read from the mounted config file."""
    _, container = cluster.container(client)
    mount_dirs = [
        m["mountPath"] for m in container["volumeMounts"] if m["mountPath"].endswith("/clustermesh")
    ]
    assert len(mount_dirs) == 1
    config_bytes = cluster.read_file(client, posixpath.join(mount_dirs[0], peer))
    assert config_bytes == cluster.secret(secret)[peer]
    config = yaml.safe_load(config_bytes)
    (endpoint,) = config["endpoints"]
    assert endpoint.startswith("https://"), endpoint
    host, _, port = endpoint.removeprefix("https://").rpartition(":")
    return Connection(
        host=host,
        port=int(port),
        client_cert=x509.load_pem_x509_certificate(cluster.read_file(client, config["cert-file"])),
        trusted_ca=x509.load_pem_x509_certificate(cluster.read_file(client, config["trusted-ca-file"])),
    )


def assert_can_connect(conn: Connection, server: RenderedCluster, ca: x509.Certificate, what: str) -> None:
    served, server_trusts = server.etcd_server()
    assert covers(served, conn.host), f"{what}: {server.name}'s server certificate does not cover {conn.host}"
    assert conn.port == 2379, what
    # Both directions of the mutual TLS handshake chain to the one shared CA.
    assert conn.trusted_ca == ca, f"{what}: client trusts another CA"
    assert server_trusts == ca, f"{what}: {server.name} trusts another CA"
    verify_signed_by(served, ca)
    verify_signed_by(conn.client_cert, ca)
    assert ExtendedKeyUsageOID.SERVER_AUTH in extended_key_usages(served), what
    assert ExtendedKeyUsageOID.CLIENT_AUTH in extended_key_usages(conn.client_cert), what
    # Both leaves and the CA are valid together once the later leaf is issued (not "now": the clock of
    # whoever issued them, Helm's or certgen's, is not the suite's).
    at = max(served.not_valid_before_utc, conn.client_cert.not_valid_before_utc)
    for cert in (served, conn.client_cert, ca):
        assert cert.not_valid_before_utc <= at < cert.not_valid_after_utc, what


# --- the mesh ------------------------------------------------------------------------------------


def render_mesh(
    version: str, size: int, ca: SharedCa, *, kvstoremesh: bool = True, domain: str = DEFAULT_MESH_DOMAIN
) -> list[RenderedCluster]:
    """Every cluster addressed as the program does: ``<cluster>.<domain>`` (:func:`mesh_address`)."""
    names = [f"cluster-{i}" for i in range(1, size + 1)]
    clusters = []
    for index, name in enumerate(names, start=1):
        peers = tuple(
            MeshPeer(other, other_index, mesh_address(other, domain))
            for other_index, other in enumerate(names, start=1)
            if other != name
        )
        spec = CiliumClusterSpec(
            name=name,
            cluster_id=index,
            pod_cidr=f"10.{100 + index}.0.0/16",
            node_count=2,
            api_endpoint=f"https://{name.upper()}.gr7.us-east-1.eks.amazonaws.com",
            chart_version=version,
            ca=ca,
            mesh=ClusterMeshSpec(
                own_address=mesh_address(name, domain), peers=peers, kvstoremesh=kvstoremesh, domain=domain
            ),
        )
        cluster = RenderedCluster(name, rendered_documents(render_cilium(build_values(spec), version)))
        issue_like_certgen(cluster)
        clusters.append(cluster)
    return clusters


CERTGEN = "clustermesh-apiserver-generate-certs"
USAGES = {"server auth": ExtendedKeyUsageOID.SERVER_AUTH, "client auth": ExtendedKeyUsageOID.CLIENT_AUTH}


def issue_like_certgen(cluster: RenderedCluster) -> None:
    """With ``tls.auto.method=cronJob`` (charts >= 1.19) the chart renders no certificate Secrets: its
    certgen Job issues them in the cluster. Do what cilium-certgen does with the rendered Job's arguments
    and config (the SAN configuration given to the generator) and add the Secrets it would write, so the
    pairwise checks below run on exactly those certificates."""
    jobs = [d for d in cluster.documents if d["kind"] == "Job" and d["metadata"]["name"].startswith(CERTGEN)]
    if not jobs:
        return
    (job,) = jobs
    # Renewal: the CronJob re-runs the same generator on its schedule.
    cron = cluster.find("CronJob", CERTGEN)
    assert cron["spec"]["schedule"] == "0 0 1 */4 *"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    # Signed by the existing `cilium-ca` Secret, which the chart renders from the shared tls.ca.
    assert "--ca-reuse-secret" in container["args"] and "--ca-secret-name=cilium-ca" in container["args"]
    ca_secret = cluster.secret("cilium-ca")
    ca_cert = x509.load_pem_x509_certificate(ca_secret["ca.crt"])
    ca_key = serialization.load_pem_private_key(ca_secret["ca.key"], password=None)
    (env,) = [e for e in container["env"] if e["name"] == "CILIUM_CERTGEN_CONFIG"]
    for entry in yaml.safe_load(env["value"])["certs"]:
        assert not cluster.has("Secret", entry["name"]), "the chart must leave this Secret to certgen"
        key = ec.generate_private_key(ec.SECP256R1())
        sans: list[x509.GeneralName] = []
        for host in entry.get("hosts", []):
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                sans.append(x509.DNSName(host))
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, entry["commonName"])]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(ISSUED)
            .not_valid_after(ISSUED + datetime.timedelta(hours=int(entry["validity"].removesuffix("h"))))
            .add_extension(
                x509.ExtendedKeyUsage([USAGES[u] for u in entry["usage"] if u in USAGES]), critical=False
            )
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
        pem = {
            "tls.crt": cert.public_bytes(serialization.Encoding.PEM),
            "tls.key": key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
            "ca.crt": ca_secret["ca.crt"],
        }
        cluster.documents.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": entry["name"], "namespace": entry["namespace"]},
                "data": {k: base64.b64encode(v).decode() for k, v in pem.items()},
            }
        )


def check_mesh(
    clusters: list[RenderedCluster],
    ca: x509.Certificate,
    *,
    kvstoremesh: bool,
    domain: str = DEFAULT_MESH_DOMAIN,
) -> int:
    """All pairwise checks; returns the number of connections verified."""
    checked = 0
    for a in clusters:
        peers = {c.name for c in clusters if c is not a}
        assert set(a.secret("cilium-clustermesh")) == peers
        assert a.has("Secret", "cilium-kvstoremesh") is kvstoremesh
        for b in clusters:
            if b is a:
                continue
            if kvstoremesh:
                remote = connection(a, KVSTOREMESH, "cilium-kvstoremesh", b.name)
                local = connection(a, AGENT, "cilium-clustermesh", b.name)
                assert local.host == LOCAL_SERVICE_HOST
                assert_can_connect(local, a, ca, f"{a.name} agents -> local KVStoreMesh")
                checked += 1
            else:
                remote = connection(a, AGENT, "cilium-clustermesh", b.name)
            assert_can_connect(remote, b, ca, f"{a.name} -> {b.name}")
            assert remote.host == mesh_address(b.name, domain)
            checked += 1
            # The identity B's etcd sees for A must be a user B grants access to.
            user = remote.client_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
            users = b.remote_users()
            # values.yaml clustermesh.apiserver.tls.authMode: `legacy` and `migration` (1.19's default)
            # authenticate with the common user `remote`; `cluster` with per-cluster users only.
            assert user == "remote" or (users is not None and user in users), (a.name, b.name, user)
    return checked


MeshRenders = Callable[..., list[RenderedCluster]]


@pytest.fixture(scope="module")
def shared_mesh(ecdsa_ca: tuple[SharedCa, x509.Certificate]) -> MeshRenders:
    """Meshes rendered with the module's ECDSA CA, cached per (version, size, kvstoremesh)."""
    cache: dict[tuple[str, int, bool], list[RenderedCluster]] = {}

    def get(version: str, size: int, *, kvstoremesh: bool = True) -> list[RenderedCluster]:
        need_chart(version)
        key = (version, size, kvstoremesh)
        if key not in cache:
            cache[key] = render_mesh(version, size, ecdsa_ca[0], kvstoremesh=kvstoremesh)
        return copy.deepcopy(cache[key])

    return get


@pytest.mark.parametrize(
    ("version", "size"),
    [(version, 2) for version in CHART_VERSIONS] + [(CHART_VERSIONS[0], 3), (CHART_VERSIONS[-1], 3)],
)
def test_every_pair_of_clusters_can_authenticate(
    version: str, size: int, shared_mesh: MeshRenders, ecdsa_ca: tuple[SharedCa, x509.Certificate]
) -> None:
    clusters = shared_mesh(version, size)
    # A remote and a local connection per ordered pair.
    assert check_mesh(clusters, ecdsa_ca[1], kvstoremesh=True) == 2 * size * (size - 1)


@pytest.mark.parametrize("version", [CHART_VERSIONS[0], "1.18.12"])  # 1.19 always runs KVStoreMesh
def test_agents_dial_peers_directly_without_kvstoremesh(
    version: str, shared_mesh: MeshRenders, ecdsa_ca: tuple[SharedCa, x509.Certificate]
) -> None:
    clusters = shared_mesh(version, 2, kvstoremesh=False)
    assert check_mesh(clusters, ecdsa_ca[1], kvstoremesh=False) == 2


def test_an_rsa_ca_works_too() -> None:
    version = CHART_VERSIONS[-1]
    need_chart(version)
    shared, ca_cert = make_ca("rsa")
    assert check_mesh(render_mesh(version, 2, shared), ca_cert, kvstoremesh=True) == 4


def test_a_foreign_ca_is_detected(
    shared_mesh: MeshRenders, ecdsa_ca: tuple[SharedCa, x509.Certificate]
) -> None:
    """The check is real: a peer rendered with another CA fails it."""
    version = CHART_VERSIONS[-1]
    first = shared_mesh(version, 2)[0]
    other, _ = make_ca("ecdsa")
    second = render_mesh(version, 2, other)[1]
    with pytest.raises(AssertionError, match="cluster-2 trusts another CA"):
        check_mesh([first, second], ecdsa_ca[1], kvstoremesh=True)


def test_a_missing_san_is_detected(
    shared_mesh: MeshRenders, ecdsa_ca: tuple[SharedCa, x509.Certificate]
) -> None:
    """A peer addressed by a host its server certificate does not cover fails the check."""
    clusters = shared_mesh(CHART_VERSIONS[-1], 2)
    kvstoremesh_secret = clusters[0].find("Secret", "cilium-kvstoremesh")
    config = yaml.safe_load(base64.b64decode(kvstoremesh_secret["data"]["cluster-2"]))
    config["endpoints"] = ["https://cluster-2.mesh.elsewhere.internal:2379"]
    kvstoremesh_secret["data"]["cluster-2"] = base64.b64encode(yaml.safe_dump(config).encode()).decode()
    with pytest.raises(AssertionError, match=r"does not cover cluster-2\.mesh\.elsewhere\.internal"):
        check_mesh(clusters, ecdsa_ca[1], kvstoremesh=True)


@pytest.mark.parametrize("version", [CHART_VERSIONS[0], CHART_VERSIONS[-1]])
def test_a_custom_mesh_domain_is_covered_by_the_own_name(
    version: str, ecdsa_ca: tuple[SharedCa, x509.Certificate]
) -> None:
    """The chart hard-codes only *.mesh.cilium.io; another domain verifies through extraDnsNames."""
    need_chart(version)
    domain = "mesh.corp.internal"
    clusters = render_mesh(version, 2, ecdsa_ca[0], domain=domain)
    assert check_mesh(clusters, ecdsa_ca[1], kvstoremesh=True, domain=domain) == 4
