"""Cilium installed (and upgraded) by a Helm release per cluster: the runbook's step 3 and the mesh.

Values come from the pure :func:`mesh.logic.cilium_values.build_values`; this module only resolves the
Pulumi Outputs it needs (API endpoint, the CA certificate) and keeps the CA key a secret at its own leaf, so
``pulumi preview`` still shows every other value change.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mesh.logic.cilium_values import CiliumClusterSpec, SharedCa, build_values
from mesh.logic.helm_values import deletions_yaml, split_deletions

RELEASE_NAME = "cilium"  # cilium-cli and `cilium clustermesh status` look the release up by this name
NAMESPACE = "kube-system"
MAX_HISTORY = 10


@dataclass(frozen=True)
class MeshCaInputs:
    """The shared mesh CA as a release needs it (either may be an Output): the certificate is public, the
    key stays a secret leaf of the values."""

    cert_pem: pulumi.Input[str]
    key_pem: pulumi.Input[str]


@dataclass(frozen=True)
class ReleaseValues:
    """What a release sends: ``values``, and ``files`` for the chart defaults to delete.

    The builder marks a chart default to delete with ``None`` (Helm's "delete a default key"). The Python
    SDK drops ``None`` map entries before the provider sees them (pulumi/pulumi#12178), so those leaves
    travel as a ``valueYamlFiles`` asset, whose nulls the provider keeps (pulumi-kubernetes#4293);
    mesh/logic/helm_values.py.
    """

    values: pulumi.Output[dict[str, Any]]
    files: pulumi.Output[list[pulumi.Asset]]


def values_output(
    spec: CiliumClusterSpec, api_endpoint: pulumi.Input[str], ca: MeshCaInputs | None
) -> ReleaseValues:
    """Resolve the API endpoint and the CA, build the values, then put the CA key back as a secret leaf.

    ``spec`` is complete except ``api_endpoint`` and ``ca``: peers are addressed by their mesh DNS names
    (:func:`mesh.logic.mesh_dns.mesh_address`), known from config, so the values wait for no load
    balancer and no other cluster.
    """
    # The certificate is public; only the key is secret, and it must not taint the whole values tree.
    cert = pulumi.Output.unsecret(pulumi.Output.from_input(ca.cert_pem)) if ca is not None else None
    key_b64 = (
        pulumi.Output.secret(pulumi.Output.from_input(ca.key_pem)).apply(_b64) if ca is not None else None
    )

    def built(args: list[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        endpoint, cert_pem = args
        shared = SharedCa(cert_pem=cert_pem, key_pem=_KEY_PLACEHOLDER) if cert_pem is not None else None
        return split_deletions(build_values(replace(spec, api_endpoint=endpoint, ca=shared)))

    def values(args: list[Any]) -> dict[str, Any]:
        kept = built(args)[0]
        if key_b64 is not None:
            kept["tls"]["ca"]["key"] = key_b64
        return kept

    def files(args: list[Any]) -> list[pulumi.Asset]:
        deleted = built(args)[1]
        return [pulumi.StringAsset(deletions_yaml(deleted))] if deleted else []

    inputs = pulumi.Output.all(api_endpoint, cert)
    return ReleaseValues(values=inputs.apply(values), files=inputs.apply(files))


# build_values needs some key to encode; the real one is swapped in as a secret Output afterwards.
_KEY_PLACEHOLDER = "-----BEGIN EC PRIVATE KEY-----\nset-by-values_output\n-----END EC PRIVATE KEY-----\n"


def _b64(pem: str) -> str:
    return base64.b64encode(pem.encode()).decode()


@dataclass(frozen=True)
class CiliumReleaseArgs:
    """Inputs of :class:`CiliumRelease`.

    ``value_files``: values files merged under ``values`` (the chart defaults to delete, see
    :class:`ReleaseValues`; default none). Defaults: chart repository ``https://helm.cilium.io/``, 900 s
    timeout, atomic (rolls back on failure), 10 revisions of history.
    ``depends_on``: this cluster's CNI takeover patches.
    ``preflight_values``: set while an upgrade is pending, to run the pre-flight release of the target chart
    first (None = no pre-flight). ``after``: other clusters' releases the main release waits for (the
    canary's, or the previous batch's; empty for new clusters and first installs).
    """

    provider: k8s.Provider
    chart_version: str
    values: pulumi.Input[dict[str, Any]]
    value_files: pulumi.Input[Sequence[pulumi.Asset]] = ()
    depends_on: Sequence[pulumi.Resource] = ()
    repository: str = "https://helm.cilium.io/"
    timeout_seconds: int = 900
    preflight_values: pulumi.Input[dict[str, Any]] | None = None
    after: Sequence[pulumi.Resource] = ()


PREFLIGHT_RELEASE_NAME = "cilium-preflight"  # the upgrade guide's name for it


class CiliumRelease(pulumi.ComponentResource):
    """The ``cilium`` Helm release in ``kube-system``. Output: ``status`` (the release status)."""

    def __init__(
        self, name: str, args: CiliumReleaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("cilium-mesh:mesh:CiliumRelease", name, None, opts)
        self.preflight: k8s.helm.v3.Release | None = None
        if args.preflight_values is not None:
            # Upgrade guide, "Running pre-flight check (Required)": the target chart's pre-flight DaemonSet
            # pulls the new image on every node and its Deployment validates the network policies. Helm's
            # wait (pkg/kube/ready.go) holds the release until the DaemonSet is scheduled on every node with
            # all but maxUnavailable (1: the template sets no updateStrategy) pods ready, and the Deployment
            # ready; atomic uninstalls it on failure, and the main release, which waits for it, never starts.
            # It exists only while the deployed version differs from the desired one: the next `pulumi up`
            # after the upgrade no longer declares it, so Pulumi deletes it.
            self.preflight = k8s.helm.v3.Release(
                f"{name}-preflight",
                name=PREFLIGHT_RELEASE_NAME,
                chart="cilium",
                version=args.chart_version,
                namespace=NAMESPACE,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=args.repository),
                values=args.preflight_values,
                reset_values=True,
                atomic=True,
                cleanup_on_fail=True,
                timeout=args.timeout_seconds,
                opts=pulumi.ResourceOptions(
                    parent=self, provider=args.provider, depends_on=list(args.depends_on)
                ),
            )
        self.release = k8s.helm.v3.Release(
            name,
            name=RELEASE_NAME,
            chart="cilium",
            version=args.chart_version,
            namespace=NAMESPACE,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=args.repository),
            values=args.values,
            value_yaml_files=args.value_files,
            # Every value is ours on every upgrade: never merge with what a hand-run `helm upgrade` left
            # (a `--set` without `--reuse-values` is how the runbook's step 5 dropped its step-3 values).
            reset_values=True,
            atomic=True,
            cleanup_on_fail=True,
            max_history=MAX_HISTORY,
            timeout=args.timeout_seconds,
            wait_for_jobs=True,
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.provider,
                # Other clusters' releases (canary first, then batches): only the main release waits for
                # them; the pre-flight may pull images meanwhile.
                depends_on=[
                    *args.depends_on,
                    *([self.preflight] if self.preflight is not None else []),
                    *args.after,
                ],
            ),
        )
        self.version: pulumi.Output[str] = self.release.version
        self.status = self.release.status
        self.register_outputs({"status": self.status})
