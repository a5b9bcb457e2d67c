"""The runbook's takeover of pod networking from aws-node and kube-proxy, as Kubernetes patches.

Steps 1 and 2 (disable aws-node and kube-proxy) are :class:`CniTakeover`; step 4 (CoreDNS back with Cilium
IPs) is :class:`CorednsRollout`, which runs after the Cilium release.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

# A node selector no node carries: the DaemonSet stays, with zero pods scheduled (the runbook's trick).
NO_NODE_SELECTOR = {"no-such-node": "true"}
DISABLED_DAEMONSETS = ("aws-node", "kube-proxy")
PATCH_FORCE = {"pulumi.com/patchForce": "true"}
# Pod-template annotation whose value changes only when CoreDNS must move to new pod IPs.
COREDNS_RESTART_ANNOTATION = "cilium-mesh.io/restarted-for"


def patch_options(parent: pulumi.Resource, provider: k8s.Provider, **extra: object) -> pulumi.ResourceOptions:
    """Options every patch of a cluster-owned object shares.

    ``retain_on_delete``: deleting a patch gives the fields back to their previous manager; on
    ``pulumi destroy`` the cluster is going away, and a patch that tries to reach it (or that owns a
    field another manager requires) must not block the teardown (pulumi-kubernetes#2104, #2149).
    """
    return pulumi.ResourceOptions(parent=parent, provider=provider, retain_on_delete=True, **extra)


@dataclass(frozen=True)
class CniTakeoverArgs:
    """Inputs of :class:`CniTakeover`."""

    provider: k8s.Provider


class CniTakeover(pulumi.ComponentResource):
    """Disables aws-node and kube-proxy. ``patches`` is what node groups and Cilium must wait for."""

    def __init__(self, name: str, args: CniTakeoverArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("cilium-mesh:mesh:CniTakeover", name, None, opts)
        self.patches = [
            k8s.apps.v1.DaemonSetPatch(
                f"{name}-{ds}",
                metadata=k8s.meta.v1.ObjectMetaPatchArgs(
                    name=ds, namespace="kube-system", annotations=PATCH_FORCE
                ),
                spec=k8s.apps.v1.DaemonSetSpecPatchArgs(
                    template=k8s.core.v1.PodTemplateSpecPatchArgs(
                        spec=k8s.core.v1.PodSpecPatchArgs(node_selector=NO_NODE_SELECTOR)
                    )
                ),
                opts=patch_options(self, args.provider),
            )
            for ds in DISABLED_DAEMONSETS
        ]
        self.register_outputs({"disabled": list(DISABLED_DAEMONSETS)})


@dataclass(frozen=True)
class CorednsRolloutArgs:
    """Inputs of :class:`CorednsRollout`. ``restart_key`` (e.g. the pod CIDR) changes only when CoreDNS
    pods must be recreated; ``depends_on`` is the Cilium release. Default replicas: 2 (the runbook's)."""

    provider: k8s.Provider
    restart_key: str
    depends_on: tuple[pulumi.Resource, ...]
    replicas: int = 2


class CorednsRollout(pulumi.ComponentResource):
    """The runbook scales CoreDNS 0 → install Cilium → 2 so no DNS pod keeps an aws-node IP.

    Declaratively: after the release is ready, CoreDNS ends with ``replicas`` and its pod template carries
    a restart annotation. A changed template makes the Deployment roll its pods once (they come back with
    Cilium IPs); the value is stable, so later ``pulumi up`` runs show no diff and restart nothing.
    """

    def __init__(
        self, name: str, args: CorednsRolloutArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("cilium-mesh:mesh:CorednsRollout", name, None, opts)
        self.patch = k8s.apps.v1.DeploymentPatch(
            f"{name}-coredns",
            metadata=k8s.meta.v1.ObjectMetaPatchArgs(
                name="coredns", namespace="kube-system", annotations=PATCH_FORCE
            ),
            spec=k8s.apps.v1.DeploymentSpecPatchArgs(
                replicas=args.replicas,
                template=k8s.core.v1.PodTemplateSpecPatchArgs(
                    metadata=k8s.meta.v1.ObjectMetaPatchArgs(
                        annotations={COREDNS_RESTART_ANNOTATION: f"cilium/{args.restart_key}"}
                    )
                ),
            ),
            opts=patch_options(self, args.provider, depends_on=list(args.depends_on)),
        )
        self.register_outputs({"replicas": args.replicas})
