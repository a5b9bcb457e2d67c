"""Deterministic stand-ins for values only AWS or a cluster can compute, for the offline plan.

Every invented string carries the word ``placeholder`` so nobody mistakes it for a real value. The mesh
CA is the exception: it is a real (deterministic) ECDSA certificate, because the plan renders the real
Cilium chart, which signs certificates with it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from mesh.plan.harness import NewResource, ResourceMocks, Secret

PLACEHOLDER = "placeholder"
ACCOUNT_ID = "000000000000"
# aws.get_caller_identity (the only data source the program calls).
CALLER_IDENTITY = "aws:index/getCallerIdentity:getCallerIdentity"


def _short(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:8]


def placeholder_id(type_: str, name: str) -> str:
    """``vpc-placeholder-1a2b3c4d`` style ids, stable per resource name."""
    prefix = {
        "aws:ec2/vpc:Vpc": "vpc",
        "aws:ec2/subnet:Subnet": "subnet",
        "aws:ec2/routeTable:RouteTable": "rtb",
        "aws:ec2/internetGateway:InternetGateway": "igw",
        "aws:ec2/natGateway:NatGateway": "nat",
        "aws:ec2/eip:Eip": "eipalloc",
        "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": "pcx",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr",
    }.get(type_, "id")
    return f"{prefix}-{PLACEHOLDER}-{_short(name)}"


def eks_endpoint(cluster_name: str, region: str) -> str:
    return f"https://{PLACEHOLDER}-{_short(cluster_name).upper()}.gr7.{region}.eks.amazonaws.com"


def nlb_hostname(name: str, region: str) -> str:
    return f"{PLACEHOLDER}-{name[:20]}-{_short(name)}.elb.{region}.amazonaws.com"


def cluster_security_group_id(cluster_name: str) -> str:
    return f"sg-{PLACEHOLDER}-cluster-{_short(cluster_name)}"


def _kubeconfig(cluster_name: str, endpoint: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": PLACEHOLDER}}
        ],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
        "users": [
            {
                "name": cluster_name,
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": ["eks", "get-token", "--cluster-name", cluster_name],
                    }
                },
            }
        ],
    }


def deterministic_ca(seed: str, common_name: str, organization: str, hours: int) -> tuple[str, str]:
    """A real, reproducible ECDSA P-256 CA (key derived from ``seed``, RFC 6979 signatures)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    secret = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big") % (2**255)
    key = ec.derive_private_key(secret or 1, ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(int(_short(seed), 16))
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(hours=hours))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return cert_pem, key_pem


class PlanMocks(ResourceMocks):
    """Outputs for every resource type the program registers; anything else echoes its inputs."""

    def __init__(self, region: str) -> None:
        self.region = region
        self._ca_keys: dict[str, str] = {}

    def new_resource(self, res: NewResource) -> tuple[str, dict[str, Any]]:
        inputs = dict(res.inputs)
        handler = getattr(self, "_" + res.type.replace(":", "_").replace("/", "_").replace(".", "_"), None)
        if handler is not None:
            return handler(res, inputs)
        if not res.custom:
            return "", {}
        return placeholder_id(res.type, res.name), inputs

    # --- AWS ---------------------------------------------------------------------------------------
    def _aws_ec2_vpc_Vpc(self, res: NewResource, inputs: dict) -> tuple[str, dict]:
        id_ = placeholder_id(res.type, res.name)
        return id_, {
            **inputs,
            "arn": f"arn:aws:ec2:{self.region}:{ACCOUNT_ID}:vpc/{id_}",
            "defaultSecurityGroupId": f"sg-{PLACEHOLDER}-{_short(res.name)}",
            "mainRouteTableId": f"rtb-{PLACEHOLDER}-main-{_short(res.name)}",
        }

    def _aws_kms_key_Key(self, res: NewResource, inputs: dict) -> tuple[str, dict]:
        key_id = f"{PLACEHOLDER}-{_short(res.name)}"
        return key_id, {
            **inputs,
            "keyId": key_id,
            "arn": f"arn:aws:kms:{self.region}:{ACCOUNT_ID}:key/{key_id}",
        }

    def _aws_route53_zone_Zone(self, res: NewResource, inputs: dict) -> tuple[str, dict]:
        zone_id = f"Z{PLACEHOLDER.upper()}{_short(res.name).upper()}"
        return zone_id, {**inputs, "zoneId": zone_id, "arn": f"arn:aws:route53:::hostedzone/{zone_id}"}

    def _aws_iam_role_Role(self, res: NewResource, inputs: dict) -> tuple[str, dict]:
        return res.name, {**inputs, "name": res.name, "arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{res.name}"}

    # --- pulumi-eks (remote components: children never reach the mocks, so stand them in) ----------
    def _eks_index_Cluster(self, res: NewResource, inputs: dict) -> tuple[str, dict]:
        name = inputs.get("name", res.name)
        endpoint = eks_endpoint(name, self.region)
        sg = cluster_security_group_id(name)
        eks_cluster = res.register_child(
            "aws:eks/cluster:Cluster",
            f"{res.name}-eksCluster",
            {
                "name": name,
                "arn": f"arn:aws:eks:{self.region}:{ACCOUNT_ID}:cluster/{name}",
                "endpoint": endpoint,
                "version": inputs.get("version"),
                "vpcConfig": {"clusterSecurityGroupId": sg, "vpcId": inputs.get("vpcId")},
                "certificateAuthority": {"data": PLACEHOLDER},
            },
        )
        kubeconfig = _kubeconfig(name, endpoint)
        oidc_host = f"oidc.eks.{self.region}.amazonaws.com/id/{PLACEHOLDER.upper()}{_short(name).upper()}"
        return "", {
            "eksCluster": eks_cluster,
            "kubeconfig": Secret(kubeconfig),
            "kubeconfigJson": Secret(json.dumps(kubeconfig)),
            "clusterSecurityGroupId": sg,
            "oidcProviderArn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{oidc_host}",
            "oidcProviderUrl": f"https://{oidc_host}",
            "oidcIssuer": oidc_host,
        }

    def _eks_index_ManagedNodeGroup(self, res: NewResource, inputs: dict) -> tuple[str, dict]:
        node_group = res.register_child(
            "aws:eks/nodeGroup:NodeGroup",
            f"{res.name}-nodeGroup",
            {"nodeGroupName": inputs.get("nodeGroupName", res.name), "status": "ACTIVE"},
        )
        return "", {"nodeGroup": node_group}

    # --- TLS: a real CA, so the chart can sign with it ----------------------------------------------
    def _tls_index_privateKey_PrivateKey(self, res: NewResource, inputs: dict) -> tuple[str, dict]:
        _, key_pem = deterministic_ca(res.name, "seed", "seed", 1)
        self._ca_keys[key_pem] = res.name
        return f"{PLACEHOLDER}-{_short(res.name)}", {**inputs, "privateKeyPem": Secret(key_pem)}

    def _tls_index_selfSignedCert_SelfSignedCert(self, res: NewResource, inputs: dict) -> tuple[str, dict]:
        seed = self._ca_keys.get(str(inputs.get("privateKeyPem")), res.name)
        subject = inputs.get("subject") or {}
        cert_pem, _ = deterministic_ca(
            seed,
            subject.get("commonName", "placeholder CA"),
            subject.get("organization", PLACEHOLDER),
            int(inputs.get("validityPeriodHours", 24)),
        )
        return f"{PLACEHOLDER}-{_short(res.name)}", {**inputs, "certPem": cert_pem}

    # --- Kubernetes ---------------------------------------------------------------------------------
    def _kubernetes_core_v1_Service(self, res: NewResource, inputs: dict) -> tuple[str, dict]:
        meta = inputs.get("metadata", {})
        state = {**inputs}
        if inputs.get("spec", {}).get("type") == "LoadBalancer":
            host = nlb_hostname(f"{res.name}", self.region)
            state["status"] = {"loadBalancer": {"ingress": [{"hostname": host}]}}
        return f"{meta.get('namespace', 'default')}/{meta.get('name', res.name)}", state

    def _kubernetes_helm_sh_v3_Release(self, res: NewResource, inputs: dict) -> tuple[str, dict]:
        status = {
            "name": inputs.get("name", res.name),
            "namespace": inputs.get("namespace", "default"),
            "chart": inputs.get("chart"),
            "version": inputs.get("version"),
            "revision": 1,
            "status": "deployed",
        }
        return f"{status['namespace']}/{status['name']}", {**inputs, "status": status}

    def call(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        if token == CALLER_IDENTITY:
            # The one data source the program reads (only for an external peering with an explicit
            # ownerAccountId): the plan runs as a fixed, obviously fake account.
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:role/placeholder",
                "id": ACCOUNT_ID,
                "userId": "placeholder",
            }
        raise NotImplementedError(f"the program must not call data sources offline ({token})")
