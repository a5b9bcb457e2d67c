"""The managed node group of one cluster, born tainted so nothing runs before its Cilium agent."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks

from mesh.logic.max_pods import DEFAULT_MAX_PODS, NODEADM_CONTENT_TYPE, nodeadm_max_pods_config

# Cilium removes this taint from a node once its agent is ready (docs: "Taint nodes" for EKS).
AGENT_NOT_READY_TAINT = {"key": "node.cilium.io/agent-not-ready", "value": "true", "effect": "NO_EXECUTE"}
NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    # Session Manager instead of SSH keys for node access.
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
)


@dataclass(frozen=True)
class NodeGroupArgs:
    """Inputs of :class:`ClusterNodes`. ``depends_on`` holds what must exist first (the CNI takeover).

    Defaults: AL2023, IMDSv2 required, private subnets only, the agent-not-ready taint, 110 pods per node.
    """

    cluster_name: str
    cluster: eks.Cluster
    subnet_ids: Sequence[pulumi.Input[str]]
    instance_types: Sequence[str]
    min_size: int
    desired_size: int
    max_size: int
    max_pods: int = DEFAULT_MAX_PODS
    depends_on: Sequence[pulumi.Resource] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


class ClusterNodes(pulumi.ComponentResource):
    """IAM role plus an EKS managed node group. Output: ``node_group_name``."""

    def __init__(self, name: str, args: NodeGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("cilium-mesh:mesh:ClusterNodes", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(
            f"{name}-node",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "ec2.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            tags=dict(args.tags),
            opts=child,
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{arn.rsplit('/', 1)[1]}", role=self.role.name, policy_arn=arn, opts=child
            )
            for arn in NODE_POLICIES
        ]
        self.node_group = eks.ManagedNodeGroup(
            name,
            cluster=args.cluster,
            node_group_name=f"{args.cluster_name}-default",
            node_role=self.role,
            subnet_ids=list(args.subnet_ids),
            instance_types=list(args.instance_types),
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=args.min_size, desired_size=args.desired_size, max_size=args.max_size
            ),
            operating_system=eks.OperatingSystem.AL2023,
            enable_imd_sv2=True,
            taints=[aws.eks.NodeGroupTaintArgs(**AGENT_NOT_READY_TAINT)],
            # AL2023 would take max pods from the ENI formula (35 on t3.large) although pods get Cilium
            # pool addresses. pulumi-eks 4.4.0 (nodegroup.ts createMNGCustomLaunchTemplate) turns this into
            # a launch template with the full nodeadm user data plus this part, on the SSM-recommended AL2023
            # AMI for the cluster version. A custom AMI is what makes EKS leave maxPods alone: for its own
            # AMI it injects a NodeConfig with the ENI-based maxPods (eksctl #8037, containers-roadmap #138).
            nodeadm_extra_options=[
                eks.NodeadmOptionsArgs(
                    content=nodeadm_max_pods_config(args.max_pods), content_type=NODEADM_CONTENT_TYPE
                )
            ],
            tags=dict(args.tags),
            # The taint keeps application pods off, but aws-node and kube-proxy tolerate everything:
            # nodes must not appear before both are disabled.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.depends_on, *attachments]),
        )
        self.node_group_name = args.cluster_name + "-default"
        self.register_outputs({"nodeGroupName": self.node_group_name})
