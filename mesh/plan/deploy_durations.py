"""Typical create durations per Pulumi resource type, each with where the figure comes from (pure).

The deploy model (:mod:`mesh.plan.deploy_model`) adds these up along the plan's dependency graph. They are
typical wall-clock times of a first ``pulumi up`` in one AWS region, not guarantees: AWS control planes
vary by region and day. When a figure moves, change it here, with its source.

Local component resources (this program's ``cilium-mesh:*`` types) and providers take no time of their
own: they only group or configure. Remote components (pulumi-eks) are modelled as one step each, because
their construction returns only once all of their children exist (pulumi ``rpc.py`` ``_add_dependency``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class TypicalDuration:
    """Seconds a create usually takes, and the public source of that figure."""

    seconds: float
    source: str


# A plain control-plane API call that returns a finished object (tags, rules, roles): a few seconds.
API_CALL = TypicalDuration(
    3,
    "one synchronous AWS/Kubernetes API call; terraform apply logs show 0-5 s for security group rules, "
    "route table associations and IAM attachments (hashicorp-education/learn-terraform-variables #6, "
    "terraform-aws-eks #2203)",
)

DURATIONS: dict[str, TypicalDuration] = {
    # --- network ---------------------------------------------------------------------------------------
    "aws:ec2/vpc:Vpc": TypicalDuration(
        5, "CreateVpc, then the DNS support/hostnames attributes (terraform-aws-eks #2203 apply log)"
    ),
    "aws:ec2/subnet:Subnet": TypicalDuration(
        10, "terraform-aws-eks #2203 apply log: aws_subnet 'Creation complete after 10s'"
    ),
    "aws:ec2/internetGateway:InternetGateway": TypicalDuration(3, "CreateInternetGateway + attach: API call"),
    "aws:ec2/eip:Eip": TypicalDuration(2, "AllocateAddress: API call"),
    "aws:ec2/natGateway:NatGateway": TypicalDuration(
        120,
        "waits for state 'available': over 1 min in terraform-aws-vpc #999's log, 'up to 5 min' in "
        "kubernetes/kops #944",
    ),
    "aws:ec2/routeTable:RouteTable": TypicalDuration(2, "CreateRouteTable: API call"),
    "aws:ec2/route:Route": TypicalDuration(2, "CreateRoute: API call"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": TypicalDuration(
        1, "terraform-aws-eks #2203 apply log: 'Creation complete after 1s'"
    ),
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": TypicalDuration(
        10, "same-account auto-accept: the provider waits for status 'active' (seconds)"
    ),
    "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter": TypicalDuration(
        10, "AcceptVpcPeeringConnection, waits for 'active' (seconds)"
    ),
    "aws:ec2/securityGroup:SecurityGroup": API_CALL,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": API_CALL,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": API_CALL,
    "aws:ec2/securityGroupRule:SecurityGroupRule": API_CALL,
    # --- DNS (Route53 waits until a change is INSYNC on every Route53 server) ------------------------------
    "aws:route53/zone:Zone": TypicalDuration(
        45,
        "CreateHostedZone waits for INSYNC (hashicorp/terraform-provider-aws #1742); about 40 s per change "
        "(saltstack/salt #44947)",
    ),
    "aws:route53/zoneAssociation:ZoneAssociation": TypicalDuration(
        45, "AssociateVPCWithHostedZone waits for INSYNC like any Route53 change (saltstack/salt #44947)"
    ),
    "aws:route53/record:Record": TypicalDuration(
        40,
        "ChangeResourceRecordSets waits for INSYNC (hashicorp/terraform-provider-aws #22523); about 40 s "
        "(saltstack/salt #44947)",
    ),
    # --- identity and keys -----------------------------------------------------------------------------
    "aws:kms/key:Key": TypicalDuration(
        15, "CreateKey, then the provider waits for the key to propagate (seconds)"
    ),
    "aws:kms/alias:Alias": API_CALL,
    "aws:iam/role:Role": TypicalDuration(3, "CreateRole: API call (IAM is eventually consistent)"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": API_CALL,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": API_CALL,
    "aws:cloudwatch/logGroup:LogGroup": API_CALL,
    "aws:eks/accessEntry:AccessEntry": API_CALL,
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": API_CALL,
    "tls:index/privateKey:PrivateKey": TypicalDuration(0.5, "generated locally by the tls provider"),
    "tls:index/selfSignedCert:SelfSignedCert": TypicalDuration(0.5, "signed locally by the tls provider"),
    "tls:index/locallySignedCert:LocallySignedCert": TypicalDuration(
        0.5, "signed locally by the tls provider"
    ),
    # --- EKS -------------------------------------------------------------------------------------------
    "eks:index:Cluster": TypicalDuration(
        630,
        "pulumi-eks remote component: IAM role, then the control plane, then the OIDC provider. The "
        "control plane: 'Creation complete after 10m6s' (terraform-aws-eks #3218 log), '9 minutes or less "
        "on average' (AWS, March 2021, quoted in aws-samples/eks-workshop #1101; aws/containers-roadmap "
        "#1227)",
    ),
    "aws:eks/cluster:Cluster": TypicalDuration(600, "the control plane alone: see eks:index:Cluster"),
    "eks:index:ManagedNodeGroup": TypicalDuration(
        240,
        "launch template + CreateNodegroup, ACTIVE once the nodes are Ready: about 4-5 min after the "
        "control plane ('14 minutes ... for both control plane and worker nodes', aws/containers-roadmap "
        "#1227)",
    ),
    "aws:eks/nodeGroup:NodeGroup": TypicalDuration(240, "see eks:index:ManagedNodeGroup"),
    "aws:ec2/launchTemplate:LaunchTemplate": API_CALL,
    # --- Kubernetes (server-side apply through the cluster's provider) -------------------------------------
    "kubernetes:helm.sh/v3:Release": TypicalDuration(
        300,
        "atomic install waits like `helm --wait` until the Cilium DaemonSet, operator and "
        "clustermesh-apiserver are ready; installed next to a new node group this includes the nodes "
        "joining (~3-4 min, see eks:index:ManagedNodeGroup) and the agent image pull",
    ),
    "kubernetes:core/v1:Service": TypicalDuration(
        45,
        "LoadBalancer Service awaited for its hostname: the in-tree controller sets it once "
        "CreateLoadBalancer, target groups and listeners return (cloud-provider-aws aws_loadbalancer.go), "
        "before the NLB is active",
    ),
    "kubernetes:apps/v1:DaemonSetPatch": TypicalDuration(
        10, "server-side apply plus rollout await; a DaemonSet that schedules no pod is ready at once"
    ),
    "kubernetes:apps/v1:DeploymentPatch": TypicalDuration(
        60, "server-side apply plus rollout await: CoreDNS pods restart onto Cilium IPs"
    ),
    "kubernetes:apps/v1:Deployment": TypicalDuration(
        45, "create plus readiness await: image pull and start of a small demo pod"
    ),
    "kubernetes:core/v1:Namespace": TypicalDuration(1, "server-side apply: API call"),
    "kubernetes:core/v1:ConfigMap": TypicalDuration(1, "server-side apply: API call"),
    "kubernetes:core/v1:Secret": TypicalDuration(1, "server-side apply: API call"),
    "kubernetes:cilium.io/v2:CiliumNetworkPolicy": TypicalDuration(1, "server-side apply: API call"),
}

NO_TIME = TypicalDuration(0, "groups or configures only: no cloud operation")


def typical_duration(
    type_: str, project: str, table: Mapping[str, TypicalDuration] = DURATIONS
) -> TypicalDuration | None:
    """The typical create duration of ``type_`` in ``table`` (default :data:`DURATIONS`); None if absent.

    Components of ``project`` (types ``<project>:<module>:<Name>``) and providers (``pulumi:providers:*``)
    take no time of their own.
    """
    if type_ in table:
        return table[type_]
    if type_.startswith(f"{project}:") or type_.startswith("pulumi:providers:"):
        return NO_TIME
    return None
