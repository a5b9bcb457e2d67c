"""The Cluster Mesh's shared certificate authority.

Every Cilium release gets the same ``tls.ca`` so the certificates each chart issues (clustermesh-apiserver
server, remote and admin certs) chain to one root: a peer's client cert verifies against the local server
and vice versa. A fixed CA also keeps ``helm upgrade`` from minting a new root on every render
(pulumi-kubernetes#205).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_tls as tls

# Ten years: rotating the mesh CA means re-issuing every cluster's certificates at once.
CA_VALIDITY_HOURS = 10 * 365 * 24


@dataclass(frozen=True)
class MeshCaArgs:
    """Inputs of :class:`MeshCa`. Defaults: subject ``Cilium Mesh CA``, ECDSA P-256, not protected."""

    common_name: str = "Cilium Mesh CA"
    organization: str = "cilium-mesh"
    protect: bool = False


class MeshCa(pulumi.ComponentResource):
    """A self-signed CA. Outputs ``cert_pem`` and ``key_pem`` are Pulumi secrets."""

    def __init__(self, name: str, args: MeshCaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("cilium-mesh:mesh:MeshCa", name, None, opts)
        self.key = tls.PrivateKey(
            f"{name}-key",
            # ECDSA P-256: what etcd and Cilium issue themselves; Helm's genSignedCert signs with it.
            algorithm="ECDSA",
            ecdsa_curve="P256",
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.cert = tls.SelfSignedCert(
            f"{name}-cert",
            private_key_pem=self.key.private_key_pem,
            is_ca_certificate=True,
            validity_period_hours=CA_VALIDITY_HOURS,
            allowed_uses=["cert_signing", "crl_signing", "digital_signature", "key_encipherment"],
            subject=tls.SelfSignedCertSubjectArgs(
                common_name=args.common_name, organization=args.organization
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.cert_pem: pulumi.Output[str] = pulumi.Output.secret(self.cert.cert_pem)
        self.key_pem: pulumi.Output[str] = pulumi.Output.secret(self.key.private_key_pem)
        self.register_outputs({"certPem": self.cert_pem})
