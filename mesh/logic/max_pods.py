"""Max pods per node: how many pod addresses Cilium's per-node pod CIDR really holds, and the AL2023
nodeadm ``NodeConfig`` that tells the kubelet.

AL2023 nodes otherwise take max pods from the VPC CNI's ENI formula (35 on a t3.large), although with
cluster-pool IPAM pods take their addresses from Cilium's pool, not from ENIs.
"""

from __future__ import annotations

DEFAULT_MAX_PODS = 110
# Addresses of a node's pod CIDR no pod can get. 2: the network and the broadcast address, which the
# Kubernetes ipallocator behind Cilium's host-scope allocator never hands out (cilium pkg/ipam/hostscope.go
# -> ipallocator.NewCIDRRange). 2 more: the agent takes the cilium_host router IP and the cilium-health
# endpoint IP from the same per-node pool.
RESERVED_PER_NODE = 4
# nodeadm's MIME part type (amazon-eks-ami nodeadm docs; pulumi-eks NodeadmOptionsArgs.content_type).
NODEADM_CONTENT_TYPE = "application/node.eks.aws"


def usable_pod_ips(pod_cidr_mask_size: int) -> int:
    """Pod addresses in one node's pod CIDR of ``/pod_cidr_mask_size`` (``/24`` -> 252)."""
    if not 0 <= pod_cidr_mask_size <= 32:
        raise ValueError(f"pod CIDR mask /{pod_cidr_mask_size} is not an IPv4 prefix length")
    return max(0, 2 ** (32 - pod_cidr_mask_size) - RESERVED_PER_NODE)


def max_pods_problem(max_pods: int, pod_cidr_mask_size: int) -> str | None:
    """Why ``max_pods`` cannot work with per-node pod CIDRs of ``/pod_cidr_mask_size``; ``None`` if it can."""
    usable = usable_pod_ips(pod_cidr_mask_size)
    if max_pods > usable:
        return (
            f"{max_pods} exceeds the {usable} pod addresses of a node's /{pod_cidr_mask_size} pod CIDR "
            f"(cilium.podCidrMaskSize: 2^{32 - pod_cidr_mask_size} minus network, broadcast, Cilium router "
            "and health IPs); lower maxPods or the mask size"
        )
    return None


def nodeadm_max_pods_config(max_pods: int) -> str:
    """A nodeadm ``NodeConfig`` document that only sets ``kubelet.config.maxPods``.

    nodeadm merges every ``NodeConfig`` part of the user data in order, so this part adds to the cluster
    part pulumi-eks writes (pulumi-eks userdata.ts ``createNodeadmUserData``) without repeating it.
    """
    if isinstance(max_pods, bool) or not isinstance(max_pods, int) or max_pods < 1:
        raise ValueError(f"maxPods must be a positive integer, got {max_pods!r}")
    return (
        "---\n"
        "apiVersion: node.eks.aws/v1alpha1\n"
        "kind: NodeConfig\n"
        "spec:\n"
        "  kubelet:\n"
        "    config:\n"
        f"      maxPods: {max_pods}\n"
    )
