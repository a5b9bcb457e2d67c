"""Stack configuration, read and validated once, at the edge of the program.

Every key lives in the ``cilium-mesh`` namespace (plus ``aws:region``). The raw values are parsed into
frozen pydantic models; cross-field rules (overlaps, unique ids, sizes) run afterwards on whatever parsed,
so one run reports every problem it can find, each prefixed by its key path::

    clusters[1].podCidr: 10.50.0.0/16 overlaps clusters[0].podCidr 10.50.0.0/16

The Pulumi-side reader is :func:`mesh.components.program.load_config`; ``python -m mesh.plan`` reads stack
files itself. Both end in :func:`parse_stack_config`.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date
from ipaddress import IPv4Network
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from mesh.logic import aws_rules
from mesh.logic.access_entries import (
    ACCESS_POLICIES,
    RESERVED_GROUP_PREFIXES,
    entry_key,
    partition_for_region,
    principal_problem,
)
from mesh.logic.chart_index import version_key
from mesh.logic.eks_versions import kubernetes_version_problem, number_hint
from mesh.logic.max_pods import DEFAULT_MAX_PODS, max_pods_problem
from mesh.logic.mesh_dns import DEFAULT_MESH_DOMAIN, domain_problem
from network.logic.api_access import private_access_problems
from network.logic.cidr import find_overlaps, parse_network, plan_subnets
from network.logic.external_peering import ACCOUNT_ID_RE, NAME_RE, REGION_RE, ROUTE_TABLE_ID_RE, VPC_ID_RE
from network.logic.quotas import (
    DEFAULT_INBOUND_RULES_PER_SECURITY_GROUP,
    DEFAULT_PEERINGS_PER_VPC,
    DEFAULT_QUOTAS,
    DEFAULT_ROUTES_PER_ROUTE_TABLE,
    MAX_INBOUND_RULES_PER_SECURITY_GROUP,
    MAX_PEERINGS_PER_VPC,
    MAX_ROUTES_PER_ROUTE_TABLE,
    MeshShape,
    QuotaUse,
    external_vpc_problems,
    quota_problems,
    quota_uses,
)
from network.logic.rules import mesh_rule_table

NAMESPACE = "cilium-mesh"

# AWS region names (us-east-1, us-gov-west-1, cn-north-1, ap-southeast-5, eu-isoe-west-1...).
AWS_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
# Cilium's own rule for cluster.name (chart validate.yaml and cilium-cli).
CLUSTER_NAME_RE = re.compile(r"^([a-z0-9][-a-z0-9]*)?[a-z0-9]$")
# What Cilium ids may be for a given clustermesh.maxConnectedClusters.
MAX_CONNECTED_CLUSTERS = (255, 511)
EKS_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
# The retentions CloudWatch Logs accepts (PutRetentionPolicy, retentionInDays); "never expire" is refused on
# purpose: the control-plane log group must not grow forever.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653
)  # fmt: skip


class ConfigError(Exception):
    """Raised with every problem found in the stack config, one line each."""

    def __init__(self, problems: Sequence[str], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source  # the file the config came from (default None: not a file, e.g. under Pulumi)
        where = f" in {source}" if source else ""
        super().__init__(f"invalid stack config{where}:\n" + "\n".join(f"  - {p}" for p in self.problems))


def _cidr(value: str) -> str:
    return str(parse_network(value))


Cidr = Annotated[str, AfterValidator(_cidr)]


def _version_not_number(value: Any) -> Any:
    # YAML reads an unquoted 1.30 as the float 1.3: say so instead of "Input should be a valid string".
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(number_hint(value))
    return value


def _minor_version(value: str) -> str:
    if not re.fullmatch(r"1\.\d+", value):
        raise ValueError(f'{value!r} must be a Kubernetes minor version such as "1.34" (no patch)')
    return value


def _chart_version_not_number(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(f'YAML read {value!r} as a number: a chart version is X.Y.Z, e.g. version: "1.16.3"')
    return value


KubernetesVersion = Annotated[str, BeforeValidator(_version_not_number), AfterValidator(_minor_version)]


class _Model(BaseModel):
    """Frozen, camelCase in YAML, unknown keys are errors (a typo such as ``podCIDR`` must not vanish)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True, strict=False
    )


class NodeGroupConfig(_Model):
    """Managed node group sizing. Defaults: ``t3.large``, min 1, desired 2, max 3, max pods 110 per node
    (checked against the per-node pod CIDR, see :mod:`mesh.logic.max_pods`)."""

    instance_types: tuple[str, ...] = ("t3.large",)
    min_size: int = Field(1, ge=0)
    desired_size: int = Field(2, ge=1)
    max_size: int = Field(3, ge=1)
    max_pods: int = Field(DEFAULT_MAX_PODS, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> NodeGroupConfig:
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(
                f"sizes must satisfy minSize <= desiredSize <= maxSize, "
                f"got {self.min_size} <= {self.desired_size} <= {self.max_size}"
            )
        return self

    @field_validator("instance_types")
    @classmethod
    def _some_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one instance type is required")
        return value


class ClusterConfig(_Model):
    """One EKS cluster and its Cilium identity.

    ``kubernetesVersion`` and ``nodeGroup`` default to the stack-wide ``eks.kubernetesVersion`` and
    ``nodeGroup`` (resolved by :func:`parse_stack_config`).
    """

    name: str
    id: int
    vpc_cidr: Cidr
    pod_cidr: Cidr
    kubernetes_version: KubernetesVersion | None = None
    node_group: NodeGroupConfig | None = None

    @field_validator("name")
    @classmethod
    def _cilium_name(cls, value: str) -> str:
        if not 1 <= len(value) <= 32:
            raise ValueError(f"{value!r} must be 1-32 characters (Cilium cluster.name)")
        if not CLUSTER_NAME_RE.match(value):
            raise ValueError(f"{value!r} must match {CLUSTER_NAME_RE.pattern} (Cilium cluster.name)")
        if value == "default":
            raise ValueError("'default' is reserved by Cilium for a cluster outside a mesh")
        return value

    @field_validator("id")
    @classmethod
    def _cilium_id(cls, value: int) -> int:
        if not 1 <= value <= 511:
            raise ValueError(f"{value} must be an integer 1-511 (Cilium cluster.id; 0 means no mesh)")
        return value

    @field_validator("vpc_cidr")
    @classmethod
    def _aws_vpc_size(cls, value: str) -> str:
        prefix = IPv4Network(value).prefixlen
        if not 16 <= prefix <= 28:
            raise ValueError(f"{value} must be between /16 and /28 (AWS VPC limits)")
        return value


class ClustermeshConfig(_Model):
    """Cluster Mesh settings. Defaults: enabled, 255 max connected clusters, KVStoreMesh on,
    one clustermesh-apiserver replica, API load balancer port 2379 and node port 32380, mesh domain
    ``mesh.cilium.io`` (the private hosted zone peers resolve ``<cluster>.<domain>`` in)."""

    enabled: bool = True
    max_connected_clusters: Literal[255, 511] = 255
    kvstoremesh: bool = True
    apiserver_replicas: int = Field(1, ge=1, le=5)
    port: int = Field(2379, ge=1, le=65535)
    node_port: int = Field(32380, ge=30000, le=32767)
    domain: str = DEFAULT_MESH_DOMAIN

    @field_validator("domain")
    @classmethod
    def _dns_domain(cls, value: str) -> str:
        problem = domain_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class RolloutConfig(_Model):
    """How an upgrade (or a change to every cluster's values) rolls across the mesh.

    ``canary``: the cluster that goes first, alone (default: the first cluster in ``clusters``).
    ``maxParallel``: after the canary, at most this many clusters at a time (default: all at once).
    ``allowUnverifiedUpgrade``: in a real run, upgrade even when the chart repository's index cannot be
    read, so "latest patch first" and "is it published" cannot be checked (default false: refused).
    """

    canary: str | None = None
    max_parallel: int | None = Field(None, ge=1)
    allow_unverified_upgrade: bool = False


class CiliumConfig(_Model):
    """Cilium release settings. Defaults: pod mask /24 per node, WireGuard off, no external etcd, upgrades
    canary-first (``rollout``)."""

    version: Annotated[str, BeforeValidator(_chart_version_not_number)] = Field(pattern=r"^\d+\.\d+\.\d+$")
    pod_cidr_mask_size: int = Field(24, ge=16, le=28)
    wireguard: bool = False
    clustermesh: ClustermeshConfig = ClustermeshConfig()
    etcd_endpoints: tuple[str, ...] = ()
    repository: str = "https://helm.cilium.io/"
    timeout_seconds: int = Field(900, ge=60)
    rollout: RolloutConfig = RolloutConfig()

    @property
    def minor(self) -> str:
        """``1.16`` for ``1.16.3``."""
        return ".".join(self.version.split(".")[:2])


class ExternalPeeringConfig(_Model):
    """An existing VPC outside the stack (a VPN or CI runner VPC) that every mesh VPC peers with and routes
    ``cidr`` to. ``ownerAccountId`` defaults to the stack's own account, ``region`` to ``aws:region``;
    ``routeTableIds`` (default none) are that VPC's route tables that get a route back to every mesh VPC,
    only for a VPC of the stack's own account and region (``ownerAccountId`` and ``region`` omitted)."""

    name: str
    vpc_id: str
    cidr: Cidr
    owner_account_id: str | None = None
    region: str | None = None
    route_table_ids: tuple[str, ...] = ()

    @field_validator("route_table_ids")
    @classmethod
    def _route_tables(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for rtb in value:
            if not ROUTE_TABLE_ID_RE.match(rtb):
                raise ValueError(f"{rtb!r} is not a route table id (rtb- and 8 or 17 hex digits)")
        if len(set(value)) != len(value):
            raise ValueError("a route table is listed more than once")
        return value

    @model_validator(mode="after")
    def _own_route_tables_only(self) -> ExternalPeeringConfig:
        if self.route_table_ids and (self.owner_account_id is not None or self.region is not None):
            raise ValueError(
                "routeTableIds works only for a VPC of this stack's account and region (omit ownerAccountId "
                "and region): the stack cannot write another account's or region's route tables; the owner "
                "adds the routes back (see the externalPeerings output)"
            )
        return self

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_RE.match(value):
            raise ValueError(
                f"{value!r} must be 1-32 characters of [a-z0-9-], not starting or ending with '-'"
            )
        return value

    @field_validator("vpc_id")
    @classmethod
    def _vpc_id(cls, value: str) -> str:
        if not VPC_ID_RE.match(value):
            raise ValueError(f"{value!r} is not a VPC id (vpc- and 8 or 17 hex digits)")
        return value

    @field_validator("cidr")
    @classmethod
    def _vpc_block(cls, value: str) -> str:
        if not 16 <= IPv4Network(value).prefixlen <= 28:
            raise ValueError(f"{value} must be between /16 and /28 (a VPC CIDR block)")
        return value

    @field_validator("owner_account_id", mode="before")
    @classmethod
    def _account(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            # YAML reads an unquoted 012345678901 as a number and drops the leading zero.
            raise ValueError(f"{value} must be a quoted 12-digit string, e.g. '{value:012d}'")
        if isinstance(value, str) and not ACCOUNT_ID_RE.match(value):
            raise ValueError(f"{value!r} is not a 12-digit AWS account id")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not REGION_RE.match(value):
            raise ValueError(f"{value!r} is not an AWS region name (e.g. us-east-1)")
        return value


class NetworkQuotasConfig(_Model):
    """The account's AWS quotas the mesh uses up (:mod:`network.logic.quotas`). Defaults: AWS's, per VPC 50
    peerings (at most 125), 500 routes per route table (at most 1,000), 60 inbound rules per security group
    (at most 1,000); per region 5 VPCs, 5 Elastic IPs, 50 Network Load Balancers; 5 NAT gateways per AZ.
    Set a key only after raising that quota in Service Quotas."""

    peerings_per_vpc: int = Field(DEFAULT_PEERINGS_PER_VPC, ge=1, le=MAX_PEERINGS_PER_VPC)
    routes_per_route_table: int = Field(DEFAULT_ROUTES_PER_ROUTE_TABLE, ge=1, le=MAX_ROUTES_PER_ROUTE_TABLE)
    inbound_rules_per_security_group: int = Field(
        DEFAULT_INBOUND_RULES_PER_SECURITY_GROUP, ge=1, le=MAX_INBOUND_RULES_PER_SECURITY_GROUP
    )
    vpcs_per_region: int = Field(DEFAULT_QUOTAS["vpcsPerRegion"], ge=1)
    elastic_ips_per_region: int = Field(DEFAULT_QUOTAS["elasticIpsPerRegion"], ge=1)
    nat_gateways_per_az: int = Field(DEFAULT_QUOTAS["natGatewaysPerAz"], ge=1)
    network_load_balancers_per_region: int = Field(DEFAULT_QUOTAS["networkLoadBalancersPerRegion"], ge=1)


class NetworkConfig(_Model):
    """VPC layout. Defaults: 2 AZs named ``<region>a``, ``<region>b``..., one shared NAT gateway, no
    external peerings, AWS's default VPC quotas."""

    az_count: int = Field(2, ge=1, le=6)
    availability_zones: tuple[str, ...] | None = None
    nat_gateways: Literal["single", "perAz"] = "single"
    external_peerings: tuple[ExternalPeeringConfig, ...] = ()
    quotas: NetworkQuotasConfig = NetworkQuotasConfig()


class AccessEntryConfig(_Model):
    """One IAM role or user with access to every cluster: EKS access policies associated cluster-wide
    (default none) and Kubernetes RBAC groups (default none); at least one of the two."""

    principal_arn: str
    access_policies: tuple[Literal[ACCESS_POLICIES], ...] = ()  # type: ignore[valid-type]
    kubernetes_groups: tuple[str, ...] = ()

    @field_validator("principal_arn")
    @classmethod
    def _iam_principal(cls, value: str) -> str:
        problem = principal_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("access_policies")
    @classmethod
    def _unique_policies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        repeated = sorted({p for p in value if value.count(p) > 1})
        if repeated:
            raise ValueError(f"{', '.join(repeated)} listed more than once")
        return value

    @field_validator("kubernetes_groups")
    @classmethod
    def _user_groups(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for group in value:
            if not group.strip():
                raise ValueError("group names must not be empty")
            if group.startswith(RESERVED_GROUP_PREFIXES):
                # CreateAccessEntry: "The kubernetes group name system:masters is invalid, it cannot start
                # with system:" (terraform-aws-eks #2915); EKS reserves these prefixes. Cluster-admin is
                # AmazonEKSClusterAdminPolicy.
                raise ValueError(
                    f"{group!r}: EKS refuses groups starting with {', '.join(RESERVED_GROUP_PREFIXES)}; use "
                    "accessPolicies (AmazonEKSClusterAdminPolicy for cluster-admin)"
                )
        return value

    @model_validator(mode="after")
    def _grants_something(self) -> AccessEntryConfig:
        if not self.access_policies and not self.kubernetes_groups:
            raise ValueError("an entry needs accessPolicies or kubernetesGroups, else it grants nothing")
        return self


class EksConfig(_Model):
    """Cluster-wide EKS settings. Defaults: Kubernetes 1.34, service CIDR 172.20.0.0/16, private endpoint
    only and reachable from nothing outside the cluster (``privateAccessCidrs`` empty), API authentication
    mode, every control-plane log type kept 30 days (``logRetentionDays``), no access entries besides the
    creator's."""

    kubernetes_version: KubernetesVersion = "1.34"
    service_cidr: Cidr = "172.20.0.0/16"
    public_access_cidrs: tuple[Cidr, ...] = ()
    allow_public_access_from_anywhere: bool = False
    authentication_mode: Literal["API", "API_AND_CONFIG_MAP"] = "API"
    enabled_log_types: tuple[Literal[EKS_LOG_TYPES], ...] = EKS_LOG_TYPES  # type: ignore[valid-type]
    log_retention_days: int = 30
    private_access_cidrs: tuple[Cidr, ...] = ()
    access_entries: tuple[AccessEntryConfig, ...] = ()

    @field_validator("log_retention_days")
    @classmethod
    def _cloudwatch_retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            allowed = ", ".join(map(str, LOG_RETENTION_DAYS))
            raise ValueError(f"{value} is not a CloudWatch Logs retention; use one of {allowed}")
        return value

    @model_validator(mode="after")
    def _config_map_needs_a_reachable_endpoint(self) -> EksConfig:
        # pulumi-eks (nodejs/eks/cluster/cluster.ts, the `nodeAccess` ConfigMap) writes kube-system/aws-auth
        # through its own Kubernetes provider inside the construct for any mode but API. That call waits for
        # none of this stack's API-path resources (tcp/443 rules, external peering routes), which need the
        # construct's cluster security group and so cannot exist yet: a private-only endpoint never answers.
        if self.authentication_mode != "API" and not self.public_access_cidrs:
            raise ValueError(
                f"authenticationMode {self.authentication_mode} with a private-only endpoint "
                "(publicAccessCidrs empty) cannot deploy: pulumi-eks writes kube-system/aws-auth inside the "
                "cluster construct, before any route or security group rule to the private endpoint exists. "
                "Use authenticationMode: API with eks.accessEntries, or give publicAccessCidrs for the "
                "deploy host"
            )
        return self

    @model_validator(mode="after")
    def _world_needs_opt_in(self) -> EksConfig:
        if "0.0.0.0/0" in self.public_access_cidrs and not self.allow_public_access_from_anywhere:
            raise ValueError(
                "publicAccessCidrs contains 0.0.0.0/0: set allowPublicAccessFromAnywhere: true to mean it"
            )
        return self


class CorednsConfig(_Model):
    """CoreDNS replicas after the takeover. Default 2, as in the runbook."""

    replicas: int = Field(2, ge=1, le=10)


class StackConfig(_Model):
    """The whole, validated stack config.

    AWS credentials are deliberately not part of it (``aws:profile`` is never read): they come from the
    environment, so the resources' inputs are the same on every machine.
    """

    project: str
    stack: str
    region: str
    account: str
    clusters: tuple[ClusterConfig, ...]
    cilium: CiliumConfig
    network: NetworkConfig = NetworkConfig()
    eks: EksConfig = EksConfig()
    node_group: NodeGroupConfig = NodeGroupConfig()
    coredns: CorednsConfig = CorednsConfig()
    demo: bool = False
    protect: bool = False
    tags: Mapping[str, str] = Field(default_factory=dict)

    @property
    def availability_zones(self) -> tuple[str, ...]:
        """Configured AZs, else the first ``azCount`` letters of the region (``us-east-1a``...)."""
        if self.network.availability_zones:
            return self.network.availability_zones
        return tuple(f"{self.region}{chr(ord('a') + i)}" for i in range(self.network.az_count))

    @property
    def mesh_enabled(self) -> bool:
        return self.cilium.clustermesh.enabled and len(self.clusters) > 1

    def kubernetes_version(self, cluster: ClusterConfig) -> str:
        return cluster.kubernetes_version or self.eks.kubernetes_version

    def node_group_for(self, cluster: ClusterConfig) -> NodeGroupConfig:
        return cluster.node_group or self.node_group

    def common_tags(self) -> dict[str, str]:
        """Tags on every AWS resource: project, stack, account, ``managed-by`` (``COMMON_TAG_KEYS``), then
        user tags."""
        return {
            "project": self.project,
            "stack": self.stack,
            "account": self.account,
            "managed-by": "pulumi",
            **dict(self.tags),
        }


COMMON_TAG_KEYS = ("project", "stack", "account", "managed-by")
"""The tags :meth:`StackConfig.common_tags` puts on every AWS resource before the user's."""

# Keys the program reads (without namespace) and whether each is required.
KEYS: dict[str, bool] = {
    "account": True,
    "clusters": True,
    "cilium": True,
    "network": False,
    "eks": False,
    "nodeGroup": False,
    "coredns": False,
    "demo": False,
    "protect": False,
    "tags": False,
}

_T = TypeVar("_T")


def _loc(loc: Sequence[Any]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _yaml_kind(value: Any) -> str:
    """How a YAML reader would name ``value``'s type, for messages."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    return {dict: "a mapping", list: "a list"}.get(type(value), type(value).__name__)


def _pydantic_problems(prefix: str, err: ValidationError) -> list[str]:
    problems = []
    for e in err.errors():
        # Drop pydantic's synthetic loc parts (e.g. "function-after[...]") and keep the message short.
        loc = [p for p in e["loc"] if not (isinstance(p, str) and "[" in p)]
        path = _loc([prefix, *loc]) if prefix else _loc(loc)
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check spelling; keys are camelCase)"
        elif e["type"] == "missing":
            msg = "required key is missing"
        elif e["type"] in ("model_type", "dict_type"):
            msg = f"must be a mapping of keys, not {_yaml_kind(e['input'])}"
        elif e["type"] in ("string_type", "list_type", "tuple_type", "int_type", "bool_type"):
            expected = e["type"].removesuffix("_type").replace("tuple", "list").replace("int", "integer")
            msg = f"must be a {expected}, not {_yaml_kind(e['input'])}"
        problems.append(f"{path}: {msg}")
    return problems


def _parse(prefix: str, model: Callable[..., _T], raw: Any, problems: list[str]) -> _T | None:
    try:
        return model.model_validate(raw)  # type: ignore[attr-defined]
    except ValidationError as err:
        problems.extend(_pydantic_problems(prefix, err))
        return None


class _ClusterFields(BaseModel):
    """The cross-checked fields of one cluster entry; ``None`` where a field is missing or invalid."""

    model_config = ConfigDict(frozen=True)
    name: str | None = None
    id: int | None = None
    vpc_cidr: str | None = None
    pod_cidr: str | None = None


def _salvage(item: Any) -> _ClusterFields:
    """The individually valid fields of a cluster entry that failed validation, so that cross-field
    checks (duplicates, overlaps) still see them; what is invalid was already reported."""
    fields: dict[str, Any] = {}
    if isinstance(item, Mapping):
        for key, attr in (("name", "name"), ("id", "id"), ("vpcCidr", "vpc_cidr"), ("podCidr", "pod_cidr")):
            probe = {"name": "probe", "id": 1, "vpcCidr": "10.0.0.0/16", "podCidr": "10.1.0.0/16"}
            probe[key] = item.get(key)
            try:
                fields[attr] = getattr(ClusterConfig.model_validate(probe), attr)
            except ValidationError:
                continue
    return _ClusterFields(**fields)


def _mesh_cidrs(
    clusters: Sequence[tuple[int, ClusterConfig | _ClusterFields]], eks: EksConfig | None
) -> dict[str, IPv4Network]:
    """Every VPC and pod CIDR that parsed, plus the service CIDR, keyed by config path in config order."""
    named: dict[str, IPv4Network] = {}
    for i, c in clusters:
        if c.vpc_cidr is not None:
            named[f"clusters[{i}].vpcCidr"] = IPv4Network(c.vpc_cidr)
        if c.pod_cidr is not None:
            named[f"clusters[{i}].podCidr"] = IPv4Network(c.pod_cidr)
    if eks is not None:
        named["eks.serviceCidr"] = IPv4Network(eks.service_cidr)
    return named


def _cross_checks(
    clusters: Sequence[tuple[int, ClusterConfig | _ClusterFields]],
    eks: EksConfig | None,
    cilium: CiliumConfig | None,
) -> list[str]:
    problems: list[str] = []
    seen_names: dict[str, int] = {}
    seen_ids: dict[int, int] = {}
    for i, c in clusters:
        if c.name is None:
            pass
        elif c.name in seen_names:
            problems.append(f"clusters[{i}].name: {c.name} duplicates clusters[{seen_names[c.name]}].name")
        else:
            seen_names[c.name] = i
        if c.id is None:
            pass
        elif c.id in seen_ids:
            problems.append(f"clusters[{i}].id: {c.id} duplicates clusters[{seen_ids[c.id]}].id")
        else:
            seen_ids[c.id] = i
    # Every VPC and pod CIDR, plus the service CIDR: nothing may overlap anything else.
    named = _mesh_cidrs(clusters, eks)
    for a, b in find_overlaps(named):
        # Report on the later key, naming the earlier one, as a reader scans top-down.
        first, second = sorted((a, b), key=list(named).index)
        problems.append(f"{second}: {named[second]} overlaps {first} {named[first]}")
    if cilium is not None:
        mask = cilium.pod_cidr_mask_size
        for i, c in clusters:
            if c.pod_cidr is not None and IPv4Network(c.pod_cidr).prefixlen > mask:
                problems.append(
                    f"clusters[{i}].podCidr: {c.pod_cidr} is smaller than the per-node mask "
                    f"/{mask} (cilium.podCidrMaskSize)"
                )
        mesh = cilium.clustermesh
        limit = mesh.max_connected_clusters
        for i, c in clusters:
            if c.id is not None and c.id > limit:
                problems.append(
                    f"clusters[{i}].id: {c.id} exceeds cilium.clustermesh.maxConnectedClusters {limit}"
                )
        canary = cilium.rollout.canary
        names = [c.name for _, c in clusters if c.name is not None]
        if canary is not None and names and canary not in names:
            problems.append(
                f"cilium.rollout.canary: {canary} is not a cluster of this stack "
                f"(clusters: {', '.join(names)})"
            )
        if cilium.etcd_endpoints and mesh.enabled:
            problems.append(
                "cilium.etcdEndpoints: an external etcd kvstore (identityAllocationMode=kvstore) cannot be "
                "combined with the clustermesh-apiserver (cilium.clustermesh.enabled: true); "
                "set clustermesh.enabled: false or remove etcdEndpoints"
            )
    return problems


def _valid_items(model: Callable[..., _T], raw: Any) -> list[tuple[int, _T]]:
    """The entries of a config list that are valid on their own, with their indexes: when one entry breaks
    its section, the cross checks still see the others (the broken one was reported already)."""
    items: list[tuple[int, _T]] = []
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        try:
            items.append((i, model.model_validate(item)))  # type: ignore[attr-defined]
        except ValidationError:
            continue
    return items


def _valid_cidrs(raw: Any) -> list[str | None]:
    """A raw CIDR list with ``None`` for every entry that is not a valid CIDR string (reported already)."""
    cidrs: list[str | None] = []
    for item in raw if isinstance(raw, list) else []:
        try:
            cidrs.append(str(parse_network(item)))
        except ValueError:
            cidrs.append(None)
    return cidrs


def _eks_access_checks(
    eks: EksConfig | None,
    raw_eks: Any,
    clusters: Sequence[tuple[int, ClusterConfig | _ClusterFields]],
    region: str | None,
) -> list[str]:
    """``eks.privateAccessCidrs`` and ``eks.accessEntries`` against the rest of the stack (from the raw
    section when another key broke it)."""
    if eks is not None:
        cidrs: list[str | None] = list(eks.private_access_cidrs)
        entries = list(enumerate(eks.access_entries))
        service_cidr: str | None = eks.service_cidr
    else:
        raw = raw_eks if isinstance(raw_eks, Mapping) else {}
        cidrs = _valid_cidrs(raw.get("privateAccessCidrs"))
        entries = _valid_items(AccessEntryConfig, raw.get("accessEntries"))
        service_cidr = None
    unreachable = {f"clusters[{i}].podCidr": c.pod_cidr for i, c in clusters if c.pod_cidr is not None}
    if service_cidr is not None:
        unreachable["eks.serviceCidr"] = service_cidr
    problems = [f"eks.privateAccessCidrs{p}" for p in private_access_problems(cidrs, unreachable)]
    partition = partition_for_region(region) if region else None
    seen: dict[str, int] = {}
    for i, entry in entries:
        key = f"eks.accessEntries[{i}].principalArn"
        problem = principal_problem(entry.principal_arn, partition)
        if problem:
            problems.append(f"{key}: {problem}")
            continue
        principal = entry_key(entry.principal_arn)
        if principal in seen:
            # EKS allows one access entry per principal (CreateAccessEntry).
            problems.append(f"{key}: {entry.principal_arn} duplicates eks.accessEntries[{seen[principal]}]")
        else:
            seen[principal] = i
    return problems


def _external_peering_checks(
    network: NetworkConfig | None,
    raw_network: Any,
    clusters: Sequence[tuple[int, ClusterConfig | _ClusterFields]],
    eks: EksConfig | None,
    region: str | None,
) -> list[str]:
    """``network.externalPeerings``: unique names and VPCs, a CIDR overlapping nothing of the mesh (AWS
    refuses to peer overlapping VPCs; a route to it would shadow the mesh's own), the stack's partition."""
    if network is not None:
        peerings = list(enumerate(network.external_peerings))
    else:
        raw = raw_network if isinstance(raw_network, Mapping) else {}
        peerings = _valid_items(ExternalPeeringConfig, raw.get("externalPeerings"))
    problems: list[str] = []
    taken = _mesh_cidrs(clusters, eks)
    names: dict[str, int] = {}
    vpcs: dict[str, int] = {}
    for i, peering in peerings:
        key = f"network.externalPeerings[{i}]"
        if peering.name in names:
            problems.append(
                f"{key}.name: {peering.name} duplicates network.externalPeerings[{names[peering.name]}]"
            )
        names.setdefault(peering.name, i)
        if peering.vpc_id in vpcs:
            problems.append(
                f"{key}.vpcId: {peering.vpc_id} duplicates network.externalPeerings[{vpcs[peering.vpc_id]}]"
            )
        vpcs.setdefault(peering.vpc_id, i)
        cidr = IPv4Network(peering.cidr)
        for other, network_ in taken.items():
            if cidr.overlaps(network_):
                problems.append(f"{key}.cidr: {cidr} overlaps {other} {network_}")
        taken[f"{key}.cidr"] = cidr
        if (
            peering.region is not None
            and region
            and partition_for_region(peering.region) != partition_for_region(region)
        ):
            problems.append(f"{key}.region: {peering.region} is in another AWS partition than {region}")
    return problems


def _mesh_shape(
    clusters: int, network: NetworkConfig, eks: EksConfig | None, cilium: CiliumConfig | None, az_count: int
) -> MeshShape:
    mesh_on = (cilium.clustermesh.enabled if cilium is not None else True) and clusters > 1
    return MeshShape(
        clusters=clusters,
        external_peerings=len(network.external_peerings),
        az_count=az_count,
        mesh_rules_per_peer=len(mesh_rule_table(wireguard=cilium.wireguard if cilium is not None else False)),
        mesh_endpoint=mesh_on,
        private_access_cidrs=len(eks.private_access_cidrs) if eks is not None else 0,
        nat_gateways_per_vpc=az_count if network.nat_gateways == "perAz" else 1,
    )


def quota_usage(cfg: StackConfig) -> list[tuple[QuotaUse, int]]:
    """Each AWS quota the stack uses (:mod:`network.logic.quotas`) with the account's value from
    ``network.quotas``, for the plan to show the headroom."""
    shape = _mesh_shape(len(cfg.clusters), cfg.network, cfg.eks, cfg.cilium, len(cfg.availability_zones))
    quotas = cfg.network.quotas.model_dump(by_alias=True)
    return [(use, quotas[use.key]) for use in quota_uses(shape)]


def _quota_checks(
    clusters: int,
    network: NetworkConfig | None,
    eks: EksConfig | None,
    cilium: CiliumConfig | None,
    az_count: int,
) -> list[str]:
    """The peerings, routes, security-group rules and regional resources the stack needs fit
    ``network.quotas``."""
    network = network or NetworkConfig()
    shape = _mesh_shape(clusters, network, eks, cilium, az_count)
    quotas = network.quotas.model_dump(by_alias=True)
    problems = quota_problems(shape, quotas)
    for ext in network.external_peerings:
        problems.extend(external_vpc_problems(clusters, ext.name, len(ext.route_table_ids)))
    return problems


def _max_pods_checks(
    clusters: Sequence[tuple[int, ClusterConfig | _ClusterFields]],
    stack_group: NodeGroupConfig | None,
    cilium: CiliumConfig | None,
) -> list[str]:
    """``maxPods`` of every node group in use must fit the per-node pod CIDR (``cilium.podCidrMaskSize``)."""
    if cilium is None:
        return []
    mask = cilium.pod_cidr_mask_size
    groups: dict[str, NodeGroupConfig] = {}
    for i, c in clusters:
        own = getattr(c, "node_group", None)
        if own is not None:
            groups[f"clusters[{i}].nodeGroup.maxPods"] = own
        elif stack_group is not None:
            groups["nodeGroup.maxPods"] = stack_group  # the stack-wide default is in use
    problems = []
    for key, group in groups.items():
        problem = max_pods_problem(group.max_pods, mask)
        if problem:
            problems.append(f"{key}: {problem}")
    return problems


def _aws_checks(
    raw: Mapping[str, Any],
    clusters: Sequence[tuple[int, ClusterConfig | _ClusterFields]],
    sections: Mapping[str, Any],
    stack_group: NodeGroupConfig | None,
    az_count: int,
) -> list[str]:
    """What AWS would refuse minutes into a deploy (mesh/logic/aws_rules.py, each rule citing its source)."""
    problems: list[str] = []
    network = sections.get("network")
    if network is not None:
        key = "network.availabilityZones" if network.availability_zones is not None else "network.azCount"
        if (problem := aws_rules.az_count_problem(az_count)) is not None:
            problems.append(f"{key}: {problem}")
    eks = sections.get("eks")
    if eks is not None and (problem := aws_rules.service_cidr_problem(eks.service_cidr)) is not None:
        problems.append(f"eks.serviceCidr: {problem}")
    cilium = sections.get("cilium")
    if cilium is not None and (problem := aws_rules.chart_repository_problem(cilium.repository)) is not None:
        problems.append(f"cilium.repository: {problem}")
    groups: dict[str, NodeGroupConfig] = {}
    for i, c in clusters:
        for field in ("vpcCidr", "podCidr"):
            cidr = c.vpc_cidr if field == "vpcCidr" else c.pod_cidr
            if cidr is not None and (problem := aws_rules.special_range_problem(cidr)) is not None:
                problems.append(f"clusters[{i}].{field}: {problem}")
        own = getattr(c, "node_group", None)
        group = own if own is not None else stack_group
        if own is not None:
            groups[f"clusters[{i}].nodeGroup.instanceTypes"] = own
        elif stack_group is not None:
            groups["nodeGroup.instanceTypes"] = stack_group
        if cilium is not None and group is not None and c.pod_cidr is not None:
            # Every node, the update's extra ones included, takes one per-node block of the pod CIDR.
            blocks = 2 ** max(0, cilium.pod_cidr_mask_size - IPv4Network(c.pod_cidr).prefixlen)
            peak = group.max_size + aws_rules.update_surge(az_count)
            if blocks < peak:
                problems.append(
                    f"clusters[{i}].podCidr: {c.pod_cidr} holds {blocks} per-node "
                    f"/{cilium.pod_cidr_mask_size} blocks, but the node group can reach {peak} nodes "
                    f"(maxSize {group.max_size} plus "
                    f"{aws_rules.update_surge(az_count)} during a managed node group update)"
                )
    for key, group in groups.items():
        problems.extend(aws_rules.instance_type_problems(group.instance_types, key))
    tags = raw.get("tags")
    if isinstance(tags, Mapping):
        mesh = cilium is None or cilium.clustermesh.enabled
        zone = mesh and len(clusters) > 1  # the mesh's private hosted zone exists only in a mesh
        problems.extend(aws_rules.tag_problems(tags, common=len(COMMON_TAG_KEYS), hosted_zone=zone))
    return problems


def _eks_offers(
    clusters: Sequence[tuple[int, ClusterConfig | _ClusterFields]], eks: EksConfig | None, today: date
) -> list[str]:
    """Each cluster's effective Kubernetes version is one EKS creates today, reported where it is set."""
    problems: dict[str, str] = {}
    for i, c in clusters:
        own = c.kubernetes_version if isinstance(c, ClusterConfig) else None
        if own is not None:
            key, version = f"clusters[{i}].kubernetesVersion", own
        elif eks is not None:
            key, version = "eks.kubernetesVersion", eks.kubernetes_version
        else:
            continue
        problem = kubernetes_version_problem(version, today)
        if problem is not None:
            problems.setdefault(key, f"{key}: {problem}")
    return list(problems.values())


def _published(cilium: CiliumConfig, published: Collection[str]) -> list[str]:
    if cilium.version in published:
        return []
    same_minor = sorted((v for v in published if v.startswith(f"{cilium.minor}.")), key=_release_key)
    latest = f"; latest {cilium.minor} release: {same_minor[-1]}" if same_minor else ""
    return [
        f"cilium.version: {cilium.version} is not published in the chart repository index "
        f"({cilium.repository}){latest}"
    ]


def _release_key(version: str) -> tuple[int, ...]:
    try:
        return version_key(version)
    except ValueError:  # pre-releases sort first
        return (-1,)


def parse_stack_config(
    raw: Mapping[str, Any],
    *,
    project: str = NAMESPACE,
    stack: str = "dev",
    region: str | None = None,
    today: date | None = None,
    published_versions: Collection[str] | None = None,
) -> StackConfig:
    """Validate raw config values (keys without namespace, values already decoded from YAML/JSON).

    Raises :class:`ConfigError` listing every problem. ``region`` is ``aws:region`` (required).
    ``today`` (default ``None``: not checked) checks each cluster's Kubernetes version against what EKS
    offers that day (:mod:`mesh.logic.eks_versions`); ``published_versions`` (default ``None``: no index
    available) checks ``cilium.version`` against the chart repository index.
    """
    problems: list[str] = []
    for key in raw:
        if key not in KEYS:
            hint = difflib.get_close_matches(key, list(KEYS), n=1, cutoff=0.6)
            also = f", did you mean {NAMESPACE}:{hint[0]}?" if hint else ""
            problems.append(f"{key}: unknown key {NAMESPACE}:{key}{also} (known: {', '.join(KEYS)})")
    for key, required in KEYS.items():
        if required and raw.get(key) is None:
            problems.append(f"{key}: required key {NAMESPACE}:{key} is missing")
    if not region:
        problems.append("aws:region: required key is missing")
    elif not isinstance(region, str) or not AWS_REGION_RE.match(region):
        problems.append(f"aws:region: {region!r} is not an AWS region name such as us-east-1")
        region = None
    elif (region_problem := aws_rules.region_problem(region)) is not None:
        problems.append(f"aws:region: {region_problem}")
        region = None

    clusters_raw = raw.get("clusters")
    parsed_clusters: list[tuple[int, ClusterConfig | _ClusterFields]] = []
    if clusters_raw is not None:
        if not isinstance(clusters_raw, list) or not clusters_raw:
            problems.append("clusters: must be a non-empty list of clusters")
        else:
            for i, item in enumerate(clusters_raw):
                c = _parse(f"clusters[{i}]", ClusterConfig, item, problems)
                parsed_clusters.append((i, c if c is not None else _salvage(item)))

    sections: dict[str, Any] = {}
    for key, model in (
        ("cilium", CiliumConfig),
        ("network", NetworkConfig),
        ("eks", EksConfig),
        ("nodeGroup", NodeGroupConfig),
        ("coredns", CorednsConfig),
    ):
        if raw.get(key) is not None:
            sections[key] = _parse(key, model, raw[key], problems)
    eks = sections.get("eks", EksConfig() if "eks" not in raw else None)
    problems.extend(_cross_checks(parsed_clusters, eks, sections.get("cilium")))
    problems.extend(_eks_access_checks(eks, raw.get("eks"), parsed_clusters, region))
    problems.extend(
        _external_peering_checks(sections.get("network"), raw.get("network"), parsed_clusters, eks, region)
    )
    stack_group = sections.get("nodeGroup", NodeGroupConfig())
    problems.extend(_max_pods_checks(parsed_clusters, stack_group, sections.get("cilium")))
    if today is not None:
        problems.extend(_eks_offers(parsed_clusters, eks, today))
    cilium = sections.get("cilium")
    if published_versions is not None and cilium is not None:
        problems.extend(_published(cilium, published_versions))

    network = sections.get("network")
    az_count = 2
    if network is not None:
        az_count = len(network.availability_zones or ()) or network.az_count
    for i, c in parsed_clusters:
        if c.vpc_cidr is None:
            continue
        try:
            plan_subnets(c.vpc_cidr, [f"az{n}" for n in range(az_count)])
        except ValueError as err:
            problems.append(f"clusters[{i}].vpcCidr: {err}")
    if network is not None and network.availability_zones is not None:
        azs = network.availability_zones
        if len(set(azs)) != len(azs) or not azs:
            problems.append("network.availabilityZones: must be a non-empty list of distinct AZ names")
        elif region and not all(az.startswith(region) for az in azs):
            problems.append(f"network.availabilityZones: every AZ must be in region {region}")

    problems.extend(_aws_checks(raw, parsed_clusters, sections, stack_group, az_count))

    # Counted whenever the sections it reads parsed, so it is reported with every other problem.
    if parsed_clusters and all(
        raw.get(k) is None or sections.get(k) is not None for k in ("network", "eks", "cilium")
    ):
        problems.extend(_quota_checks(len(parsed_clusters), network, eks, cilium, az_count))

    if problems:
        raise ConfigError(problems)
    try:
        return StackConfig.model_validate(
            {
                "project": project,
                "stack": stack,
                "region": region,
                **{k: v for k, v in raw.items() if v is not None},
            }
        )
    except ValidationError as err:  # scalar keys (demo, protect, tags, account)
        raise ConfigError(_pydantic_problems("", err)) from None


def code_default_warnings(cfg: StackConfig) -> list[str]:
    """Versions a stack leaves to the code's default: a later release of this program that moves the
    default would upgrade the clusters by itself, so every stack should pin them."""
    pinned_stack_wide = "kubernetes_version" in cfg.eks.model_fields_set
    unpinned = [c.name for c in cfg.clusters if c.kubernetes_version is None and not pinned_stack_wide]
    if not unpinned:
        return []
    return [
        f"eks.kubernetesVersion is not set: {', '.join(unpinned)} run the code default "
        f"{EksConfig.model_fields['kubernetes_version'].default} (mesh/logic/config.py); pin it in the stack "
        "file, as a new default would upgrade these clusters on the next `pulumi up`"
    ]


def decode_config_value(value: Any) -> Any:
    """Pulumi hands structured config to programs as JSON strings; scalars as plain strings."""
    if not isinstance(value, str) or not value or not (value[:1] in "{[" or value in ("true", "false")):
        return value  # keep "123456789012" a string, not an int
    try:
        return json.loads(value)
    except ValueError:
        return value
