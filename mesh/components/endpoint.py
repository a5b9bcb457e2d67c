"""The address peers dial: an internal NLB in front of a cluster's clustermesh-apiserver.

It is created before the Cilium releases, so its hostname can feed both the peers' ``clustermesh.config``
and the cluster's own server certificate (``tls.server.extraDnsNames``) without a dependency cycle
between clusters. The chart's own ``clustermesh-apiserver`` Service stays ClusterIP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

SERVICE_NAME = "clustermesh-apiserver-lb"
APISERVER_SELECTOR = {"k8s-app": "clustermesh-apiserver"}
# In-tree AWS cloud provider: an internal NLB with instance targets (client IPs preserved, so node
# security rules see peer VPC CIDRs). The AWS Load Balancer Controller is avoided on purpose: its
# webhook is unreachable from the EKS control plane in VXLAN tunnel mode.
NLB_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
    "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
    "service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
}
# Wait for the NLB hostname only: the default Service await also waits for ready endpoints, which the
# clustermesh-apiserver cannot have before the release that this hostname feeds.
WAIT_FOR_HOSTNAME = {"pulumi.com/waitFor": "jsonpath={.status.loadBalancer.ingress[0].hostname}"}


@dataclass(frozen=True)
class MeshEndpointArgs:
    """Inputs of :class:`MeshEndpoint`. Defaults: port 2379, node port 32380."""

    provider: k8s.Provider
    peer_cidrs: Sequence[str]
    port: int = 2379
    node_port: int = 32380


def service_spec(args: MeshEndpointArgs) -> dict:
    """The Service spec (pure; tests and guardrails read the same data)."""
    if not args.peer_cidrs or any(c in ("0.0.0.0/0", "::/0") for c in args.peer_cidrs):
        raise ValueError("the mesh endpoint is reachable from peer VPC CIDRs only")
    return {
        "type": "LoadBalancer",
        "selector": dict(APISERVER_SELECTOR),
        "ports": [
            {
                "name": "apiserv",
                "protocol": "TCP",
                "port": args.port,
                "targetPort": 2379,
                "nodePort": args.node_port,
            }
        ],
        "loadBalancerSourceRanges": sorted(args.peer_cidrs),
        # Each clustermesh-apiserver replica runs its own etcd: a client that switched replica would
        # resync everything, so keep every peer on one replica.
        "sessionAffinity": "ClientIP",
        # Every node passes the NLB health check and forwards to the apiserver pod wherever it runs.
        "externalTrafficPolicy": "Cluster",
    }


class MeshEndpoint(pulumi.ComponentResource):
    """Output ``hostname``: the NLB's DNS name (what peers dial and the server cert covers)."""

    def __init__(self, name: str, args: MeshEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("cilium-mesh:mesh:MeshEndpoint", name, None, opts)
        self.service = k8s.core.v1.Service(
            f"{name}-lb",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=SERVICE_NAME,
                namespace="kube-system",
                annotations={**NLB_ANNOTATIONS, **WAIT_FOR_HOSTNAME},
                labels={"app.kubernetes.io/part-of": "cilium-mesh"},
            ),
            spec=service_spec(args),
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
        )
        self.hostname: pulumi.Output[str] = self.service.status.apply(
            lambda s: s.load_balancer.ingress[0].hostname
        )
        self.port = args.port
        self.register_outputs({"hostname": self.hostname, "port": self.port})
