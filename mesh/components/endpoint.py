"""The address peers dial: an internal NLB in front of a cluster's clustermesh-apiserver, published as
``<cluster>.<domain>`` in the mesh's private hosted zone.

Peers and the cluster's own server certificate use the DNS name (:mod:`mesh.logic.mesh_dns`), never the
NLB hostname, so no Cilium release waits for a load balancer, its own or another cluster's. The CNAME
follows this cluster's Service: a replaced NLB changes one record. The chart's own
``clustermesh-apiserver`` Service stays ClusterIP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from mesh.logic.mesh_dns import RECORD_TTL_SECONDS

SERVICE_NAME = "clustermesh-apiserver-lb"
APISERVER_SELECTOR = {"k8s-app": "clustermesh-apiserver"}
# In-tree AWS cloud provider: an internal NLB with instance targets (client IPs preserved). The AWS Load
# Balancer Controller is avoided on purpose: its webhook is unreachable from the EKS control plane in VXLAN
# tunnel mode.
NLB_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
    "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
    "service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
}
# Wait for the NLB hostname only (the record needs it): the default Service await also waits for ready
# endpoints, which exist only once the release runs the clustermesh-apiserver.
WAIT_FOR_HOSTNAME = {"pulumi.com/waitFor": "jsonpath={.status.loadBalancer.ingress[0].hostname}"}


@dataclass(frozen=True)
class MeshEndpointArgs:
    """Inputs of :class:`MeshEndpoint`. Defaults: port 2379, node port 32380, no ``network``.

    ``network``: what the NLB lives in (the cluster's VPC component: subnets, NAT, internet gateway, routes).
    The Service depends on it so that ``pulumi destroy`` deletes the Service, and with it the NLB, first.
    """

    provider: k8s.Provider
    peer_cidrs: Sequence[str]
    port: int = 2379
    node_port: int = 32380
    network: Sequence[pulumi.Resource] = ()


def service_spec(args: MeshEndpointArgs) -> dict:
    """The Service spec (pure; tests and guardrails read the same data).

    No ``sessionAffinity``: the in-tree controller refuses any value but ``None`` for a load balancer
    ("unsupported load balancer affinity", cloud-provider-aws aws.go EnsureLoadBalancer), so the Service
    would never get its NLB. An etcd client keeps one long-lived connection anyway.
    """
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
        # The one owner of the node port's ingress: the in-tree controller authorizes tcp/nodePort from
        # exactly these CIDRs (plus the NLB health check) on the nodes' cluster security group and revokes
        # it with the Service (cloud-provider-aws aws_loadbalancer.go updateInstanceSecurityGroupsForNLB);
        # the stack adds no rule of its own for it (network/logic/rules.py).
        "loadBalancerSourceRanges": sorted(args.peer_cidrs),
        # Every node passes the NLB health check and forwards to the apiserver pod wherever it runs.
        "externalTrafficPolicy": "Cluster",
    }


class MeshEndpoint(pulumi.ComponentResource):
    """Output ``hostname``: the NLB's DNS name, which :meth:`publish` puts behind the mesh address."""

    def __init__(self, name: str, args: MeshEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("cilium-mesh:mesh:MeshEndpoint", name, None, opts)
        self._name = name
        self.service = k8s.core.v1.Service(
            f"{name}-lb",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=SERVICE_NAME,
                namespace="kube-system",
                annotations={**NLB_ANNOTATIONS, **WAIT_FOR_HOSTNAME},
                labels={"app.kubernetes.io/part-of": "cilium-mesh"},
            ),
            spec=service_spec(args),
            # Destroy deletes in reverse dependency order: this Service before the subnets, NAT gateways and
            # internet gateway it depends on. pulumi-kubernetes waits until the object is gone, i.e. until the
            # service controller removed its NLB and the service.kubernetes.io/load-balancer-cleanup
            # finalizer; an NLB left behind would block its subnets (DependencyViolation). Never retained
            # (retainOnDelete) or deletedWith the cluster: either would skip that delete and leak the NLB.
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=list(args.network)),
        )
        self.hostname: pulumi.Output[str] = self.service.status.apply(
            lambda s: s.load_balancer.ingress[0].hostname
        )
        self.port = args.port
        self.record: aws.route53.Record | None = None
        self.register_outputs({"hostname": self.hostname, "port": self.port})

    def publish(self, zone_id: pulumi.Input[str], address: str) -> aws.route53.Record:
        """The CNAME ``address`` (``<cluster>.<domain>``) -> this Service's NLB hostname in the mesh zone.

        It follows this cluster's own Service only; TTL :data:`~mesh.logic.mesh_dns.RECORD_TTL_SECONDS`.
        """
        self.record = aws.route53.Record(
            f"{self._name}-mesh-address",
            zone_id=zone_id,
            name=address,
            type="CNAME",
            ttl=RECORD_TTL_SECONDS,
            records=[self.hostname],
            opts=pulumi.ResourceOptions(parent=self),
        )
        return self.record
