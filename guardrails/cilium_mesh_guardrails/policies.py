"""Guardrail rules as pure functions over Pulumi resource inputs (no Pulumi, no policy SDK).

Each check takes what a policy sees - a resource type token and its input properties as plain data - and
returns human-readable violation messages (empty list = compliant). The same functions run

* inside the CrossGuard pack (:mod:`.pack`) during ``pulumi preview/up --policy-pack guardrails``;
* offline on the plan of ``python -m mesh.plan`` (:mod:`guardrails.plan_check`), in CI and in tests.

Values not known yet during a preview arrive as Pulumi's *unknown* sentinels. A check never fails on them:
it skips what it cannot see. The engine runs the policies again during ``pulumi up`` with resolved inputs,
right before each resource is created, so an unknown value cannot slip through; it only moves the stop
from the preview to the update.
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Pulumi's wire sentinels for values a preview cannot know (pulumi_policy/proxy.py, pulumi/runtime/rpc.py).
UNKNOWN_SENTINELS = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",  # string (and the generic "computed" value)
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_RULE_LEGACY = "aws:ec2/securityGroupRule:SecurityGroupRule"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
K8S_SERVICE = "kubernetes:core/v1:Service"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
EKS_COMPONENT = "eks:index:Cluster"
EKS_CLUSTER = "aws:eks/cluster:Cluster"

# Tag that opts one EKS cluster into a public endpoint reachable from anywhere (value "true").
PUBLIC_ENDPOINT_OPT_IN_TAG = "cilium-mesh/public-endpoint-from-anywhere"
# Source ranges a mesh port may be opened to: private address space (RFC 1918, RFC 6598 shared space used
# by some VPCs, IPv6 ULA). Peer VPC CIDRs always lie in it; the internet never does.
PRIVATE_RANGES = tuple(
    ipaddress.ip_network(c)
    for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
# An EKS public endpoint range broader than this counts as "the world": 0.0.0.0/1 + 128.0.0.0/1 is the
# internet too, while a /8 is still a deliberate (if generous) choice.
BROADEST_PUBLIC_ENDPOINT_PREFIX = {4: 8, 6: 16}
# Kubernetes (and EKS) treat a missing loadBalancerSourceRanges / publicAccessCidrs as this.
WORLD_V4 = "0.0.0.0/0"

CILIUM_NAME_RE = re.compile(r"^([a-z0-9][-a-z0-9]*)?[a-z0-9]$")  # chart templates/validate.yaml
CILIUM_NAME_MAX = 32
CILIUM_MAX_CONNECTED_CLUSTERS = (255, 511)
SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"


@dataclass(frozen=True)
class MeshPort:
    """A port Cilium's inter-cluster datapath or mesh control plane listens on."""

    protocol: str  # "tcp" | "udp"
    port: int
    purpose: str

    def __str__(self) -> str:
        return f"{self.protocol}/{self.port} ({self.purpose})"


MESH_PORTS: tuple[MeshPort, ...] = (
    MeshPort("udp", 8472, "Cilium VXLAN overlay"),
    MeshPort("tcp", 4240, "Cilium health checks"),
    MeshPort("udp", 51871, "Cilium WireGuard"),
    MeshPort("tcp", 2379, "clustermesh-apiserver"),
    MeshPort("tcp", 32380, "mesh API node port behind the internal NLB"),
    MeshPort("tcp", 32379, "clustermesh-apiserver default node port"),
)
MESH_API_TCP_PORTS = frozenset(p.port for p in MESH_PORTS if p.protocol == "tcp" and p.port != 4240)


# --- small helpers ------------------------------------------------------------------------------------


def is_unknown(value: Any) -> bool:
    """True for a value a preview cannot know yet."""
    return isinstance(value, str) and value in UNKNOWN_SENTINELS


def dig(data: Any, path: str, default: Any = None) -> Any:
    """``data["a"]["b"]`` for ``path="a.b"``; ``default`` when a level is missing or not a mapping.

    An unknown level is returned as unknown (so callers can tell "absent" from "not known yet"). A flat
    ``{"a.b": v}`` key (Helm ``--set`` style) is accepted too.
    """
    if isinstance(data, Mapping) and path in data:
        return data[path]
    current = data
    for part in path.split("."):
        if is_unknown(current):
            return current
        if not isinstance(current, Mapping) or part not in current:
            return default
        current = current[part]
    return current


def _as_int(value: Any) -> int | None:
    """An int from ``8472``, ``8472.0`` (Pulumi numbers are floats) or ``"8472"``; else ``None``."""
    if isinstance(value, bool) or value is None or is_unknown(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _parse_network(cidr: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if not isinstance(cidr, str) or is_unknown(cidr):
        return None
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        return None  # AWS rejects a malformed CIDR itself; nothing to guard here


def _allowed(network: ipaddress.IPv4Network | ipaddress.IPv6Network, extra: Sequence[str]) -> bool:
    ranges = [*PRIVATE_RANGES, *(n for n in (_parse_network(c) for c in extra) if n is not None)]
    return any(network.version == r.version and network.subnet_of(r) for r in ranges)  # type: ignore[arg-type]


def _describe_source(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    if network.prefixlen == 0:
        return f"{network} (the whole internet)"
    return f"{network} (public address space)"


def _list(value: Any) -> list[Any]:
    """A list input as a list; absent or unknown as empty (callers check unknown before when it matters)."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return []


# --- mesh ports ---------------------------------------------------------------------------------------


_PROTOCOLS = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "-1": "all", "all": "all"}


@dataclass(frozen=True)
class _Ingress:
    protocol: Any
    from_port: Any
    to_port: Any
    sources: tuple[Any, ...]


def _covered_mesh_ports(protocol: Any, from_port: Any, to_port: Any) -> list[MeshPort] | None:
    """Mesh ports inside a rule's protocol/port range; ``None`` when that is not known yet."""
    if is_unknown(protocol) or is_unknown(from_port) or is_unknown(to_port):
        return None
    proto = _PROTOCOLS.get(str(protocol).strip().lower())
    if proto is None:
        return []  # icmp, esp, ... carry no mesh port
    if proto == "all":
        return list(MESH_PORTS)
    low, high = _as_int(from_port), _as_int(to_port)
    if low is None and high is None:
        low, high = 0, 65535  # no range given: AWS reads it as every port
    elif low is None or high is None:
        low = high = low if high is None else high
    if low == -1 or high == -1:
        low, high = 0, 65535  # -1 is AWS's "all ports"
    return [p for p in MESH_PORTS if p.protocol == proto and low <= p.port <= high]


def _security_group_ingress(resource_type: str, props: Mapping[str, Any]) -> list[_Ingress]:
    if resource_type == SG_INGRESS_RULE:
        sources = tuple(props[k] for k in ("cidrIpv4", "cidrIpv6") if props.get(k) is not None)
        return [_Ingress(props.get("ipProtocol"), props.get("fromPort"), props.get("toPort"), sources)]
    if resource_type == SG_RULE_LEGACY:
        if props.get("type") != "ingress":
            return []  # egress, or not known yet (then the update run checks it)
        sources = (*_list(props.get("cidrBlocks")), *_list(props.get("ipv6CidrBlocks")))
        return [_Ingress(props.get("protocol"), props.get("fromPort"), props.get("toPort"), tuple(sources))]
    if resource_type == SECURITY_GROUP:
        rules = []
        for rule in _list(props.get("ingress")):
            if not isinstance(rule, Mapping):
                continue
            sources = (*_list(rule.get("cidrBlocks")), *_list(rule.get("ipv6CidrBlocks")))
            rules.append(
                _Ingress(rule.get("protocol"), rule.get("fromPort"), rule.get("toPort"), tuple(sources))
            )
        return rules
    return []


def _ingress_violations(label: str, rules: Sequence[_Ingress], extra_allowed: Sequence[str]) -> list[str]:
    messages = []
    for rule in rules:
        ports = _covered_mesh_ports(rule.protocol, rule.from_port, rule.to_port)
        if not ports:
            continue
        for source in rule.sources:
            network = _parse_network(source)
            if network is None or _allowed(network, extra_allowed):
                continue
            opened = ", ".join(str(p) for p in ports)
            messages.append(
                f"{label} opens {opened} to {_describe_source(network)}; mesh ports may only be open to "
                "peer VPC CIDRs"
            )
    return messages


def _source_ranges(ranges: Any, annotations: Any) -> list[Any] | None:
    """Effective LB source ranges; ``None`` when not known yet. Absent means 0.0.0.0/0 (Kubernetes)."""
    if is_unknown(ranges):
        return None
    listed = _list(ranges)
    if listed:
        return listed
    if is_unknown(annotations):
        return None
    annotation = annotations.get(SOURCE_RANGES_ANNOTATION) if isinstance(annotations, Mapping) else None
    if is_unknown(annotation):
        return None
    if isinstance(annotation, str) and annotation.strip():
        return [part.strip() for part in annotation.split(",") if part.strip()]
    return []


def _load_balancer_violations(
    label: str, ranges: list[Any] | None, extra_allowed: Sequence[str]
) -> list[str]:
    if ranges is None:
        return []
    if not ranges:
        return [
            f"{label} is a LoadBalancer without loadBalancerSourceRanges, so Kubernetes opens it to "
            f"{WORLD_V4}; set loadBalancerSourceRanges to the peer VPC CIDRs"
        ]
    messages = []
    for source in ranges:
        network = _parse_network(source)
        if network is not None and not _allowed(network, extra_allowed):
            messages.append(
                f"{label} accepts clients from {_describe_source(network)}; the mesh API may only be "
                "reachable from peer VPC CIDRs"
            )
    return messages


def _is_mesh_api_service(metadata: Mapping[str, Any], spec: Mapping[str, Any]) -> bool:
    name = metadata.get("name")
    if isinstance(name, str) and name.startswith("clustermesh-apiserver"):
        return True
    selector = spec.get("selector")
    if isinstance(selector, Mapping) and selector.get("k8s-app") == "clustermesh-apiserver":
        return True
    for port in _list(spec.get("ports")):
        if isinstance(port, Mapping) and any(
            _as_int(port.get(k)) in MESH_API_TCP_PORTS for k in ("port", "targetPort", "nodePort")
        ):
            return True
    return False


def mesh_port_violations(
    resource_type: str, props: Mapping[str, Any], extra_allowed_cidrs: Sequence[str] = ()
) -> list[str]:
    """No mesh port (:data:`MESH_PORTS`: 8472/udp, 4240/tcp, 51871/udp, the mesh API 2379/32380/32379 tcp)
    may be reachable from outside private address space - in particular never from 0.0.0.0/0 or ::/0.

    Checked: ``aws.vpc.SecurityGroupIngressRule``, legacy ``aws.ec2.SecurityGroupRule`` (ingress) and
    inline ``aws.ec2.SecurityGroup`` ingress blocks (so the rule cannot be bypassed by switching resource
    type); the ``clustermesh-apiserver-lb`` Service (or any LoadBalancer Service on a mesh API port),
    whose missing ``loadBalancerSourceRanges`` means 0.0.0.0/0; and a Cilium Helm release that turns the
    chart's own clustermesh-apiserver Service into a LoadBalancer. ``extra_allowed_cidrs`` (default none)
    widens the allowed sources, e.g. for a VPC built on public address space.
    """
    label = resource_type.rsplit(":", 1)[-1]
    if resource_type in (SG_INGRESS_RULE, SG_RULE_LEGACY, SECURITY_GROUP):
        return _ingress_violations(
            f"{label} {props.get('description') or ''}".strip(),
            _security_group_ingress(resource_type, props),
            extra_allowed_cidrs,
        )
    if resource_type == K8S_SERVICE:
        metadata, spec = props.get("metadata"), props.get("spec")
        if not isinstance(metadata, Mapping) or not isinstance(spec, Mapping):
            return []
        if spec.get("type") != "LoadBalancer" or not _is_mesh_api_service(metadata, spec):
            return []
        where = f"{metadata.get('namespace') or 'default'}/{metadata.get('name')}"
        ranges = _source_ranges(spec.get("loadBalancerSourceRanges"), metadata.get("annotations"))
        return _load_balancer_violations(f"Service {where}", ranges, extra_allowed_cidrs)
    if is_cilium_release(resource_type, props):
        service = dig(props.get("values"), "clustermesh.apiserver.service")
        if not isinstance(service, Mapping) or service.get("type") != "LoadBalancer":
            return []
        ranges = _source_ranges(service.get("loadBalancerSourceRanges"), service.get("annotations"))
        return _load_balancer_violations(
            f"Cilium release {_release_label(props)}: clustermesh.apiserver.service",
            ranges,
            extra_allowed_cidrs,
        )
    return []


# --- Cilium releases ----------------------------------------------------------------------------------


def is_cilium_release(resource_type: str, props: Mapping[str, Any]) -> bool:
    """A Helm release of the Cilium chart (``cilium``, ``cilium/cilium``, ``.../cilium-1.16.3.tgz``)."""
    if resource_type != HELM_RELEASE:
        return False
    chart = props.get("chart")
    if not isinstance(chart, str) or is_unknown(chart):
        return False
    base = chart.rstrip("/").rsplit("/", 1)[-1]
    return re.fullmatch(r"cilium(-\d+\.\d+\.\d+.*\.tgz)?", base) is not None


def _release_label(props: Mapping[str, Any]) -> str:
    name = dig(props.get("values"), "cluster.name")
    if isinstance(name, str) and not is_unknown(name):
        return f"of cluster {name!r}"
    return repr(props.get("name") or "cilium")


def kube_proxy_replacement_violations(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """A Cilium release with ``kubeProxyReplacement`` on must also set ``k8sServiceHost`` (the API server
    host, without ``https://``) and ``k8sServicePort``: with kube-proxy gone, nothing else tells agents on
    new nodes where the API is (cilium#28807). ``auto`` is refused too: it needs the kubeadm
    ``cluster-info`` ConfigMap, which EKS does not have.
    """
    if not is_cilium_release(resource_type, props):
        return []
    values = props.get("values")
    if not isinstance(values, Mapping):
        return []  # not known during this preview
    kpr = values.get("kubeProxyReplacement")
    if is_unknown(kpr) or str(kpr).strip().lower() not in ("true", "strict"):
        return []
    label = f"Cilium release {_release_label(props)}"
    messages = []
    host = values.get("k8sServiceHost")
    if not is_unknown(host):
        if not isinstance(host, str) or not host.strip():
            messages.append(
                f"{label} enables kubeProxyReplacement but does not set k8sServiceHost: without kube-proxy, "
                "agents on new nodes cannot reach the API server (set it to the EKS endpoint host)"
            )
        elif host.strip() == "auto":
            messages.append(
                f"{label}: k8sServiceHost 'auto' needs the kubeadm cluster-info ConfigMap, which EKS "
                "does not have; set the EKS endpoint host"
            )
        elif "://" in host or "/" in host:
            messages.append(
                f"{label}: k8sServiceHost {host!r} must be a bare host name (no scheme or path), e.g. the "
                "EKS endpoint without https://"
            )
    port = values.get("k8sServicePort")
    if not is_unknown(port) and not (1 <= (_as_int(port) or 0) <= 65535):
        shown = "not set" if port in (None, "") else f"{port!r}"
        messages.append(
            f"{label} enables kubeProxyReplacement but k8sServicePort is {shown}; set the API server port "
            "(443 on EKS)"
        )
    return messages


def cilium_cluster_identity_violations(resources: Iterable[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """Across every Cilium release of a stack: ``cluster.name`` valid (1-32 chars, lower-case alphanumerics
    and ``-``, not ``default`` with an id), ``cluster.id`` unique and within 1..maxConnectedClusters when the
    clusters form a mesh, names unique, and ``clustermesh.maxConnectedClusters`` (255 or 511) the same
    everywhere (Cilium refuses to connect clusters that disagree).
    """
    releases = [props.get("values") for rtype, props in resources if is_cilium_release(rtype, props)]
    known = [v for v in releases if isinstance(v, Mapping)]
    meshed = len(releases) > 1
    messages: list[str] = []
    by_name: dict[str, int] = defaultdict(int)
    by_id: dict[int, list[str]] = defaultdict(list)
    limits: dict[str, int] = {}
    for values in known:
        name = dig(values, "cluster.name", "default")
        raw_id = dig(values, "cluster.id", 0)
        raw_limit = dig(values, "clustermesh.maxConnectedClusters", 255)
        name_known = not is_unknown(name)
        label = repr(name) if name_known else "(name not known yet)"
        limit = 255
        if not is_unknown(raw_limit):
            parsed_limit = _as_int(raw_limit)
            if parsed_limit in CILIUM_MAX_CONNECTED_CLUSTERS:
                limit = parsed_limit
                if name_known:
                    limits[str(name)] = parsed_limit
            else:
                messages.append(
                    f"Cilium cluster {label}: clustermesh.maxConnectedClusters {raw_limit!r} "
                    "must be 255 or 511"
                )
        if name_known:
            if not isinstance(name, str) or not 1 <= len(name) <= CILIUM_NAME_MAX:
                messages.append(f"Cilium cluster name {name!r} must be 1-{CILIUM_NAME_MAX} characters")
            elif not CILIUM_NAME_RE.match(name):
                messages.append(
                    f"Cilium cluster name {name!r} must consist of lower-case alphanumerics and '-', "
                    "starting and ending with an alphanumeric"
                )
            else:
                by_name[name] += 1
        if is_unknown(raw_id):
            continue
        cluster_id = _as_int(raw_id)
        # In a mesh every cluster needs an id; 0 means "not part of a mesh".
        low = 1 if meshed or _truthy(dig(values, "clustermesh.useAPIServer")) else 0
        if cluster_id is None or not low <= cluster_id <= limit:
            messages.append(
                f"Cilium cluster {label}: cluster.id {raw_id!r} must be an integer {low}-{limit} "
                f"(clustermesh.maxConnectedClusters {limit})"
            )
            continue
        if name == "default" and cluster_id != 0:
            messages.append(f"Cilium cluster name 'default' cannot be used with cluster.id {cluster_id}")
        by_id[cluster_id].append(str(name) if name_known else label)
    for name, count in sorted(by_name.items()):
        if count > 1:
            messages.append(f"Cilium cluster name {name!r} is used by {count} releases; names must be unique")
    for cluster_id, names in sorted(by_id.items()):
        if len(names) > 1:
            messages.append(
                f"Cilium cluster.id {cluster_id} is used by {', '.join(sorted(names))}; ids must be unique "
                "across connected clusters"
            )
    if len(set(limits.values())) > 1:
        listed = ", ".join(f"{n}: {v}" for n, v in sorted(limits.items()))
        messages.append(
            f"clustermesh.maxConnectedClusters differs between clusters ({listed}); "
            "connected clusters must agree"
        )
    return messages


# --- EKS endpoint -------------------------------------------------------------------------------------


def _opted_in(tags: Iterable[Any]) -> bool:
    return any(isinstance(t, Mapping) and _truthy(t.get(PUBLIC_ENDPOINT_OPT_IN_TAG)) for t in tags)


def _world_wide(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    return network.prefixlen < BROADEST_PUBLIC_ENDPOINT_PREFIX[network.version]


def eks_public_endpoint_violations(
    resource_type: str, props: Mapping[str, Any], allow_from_anywhere: bool = False
) -> list[str]:
    """An EKS API endpoint with public access must not be reachable from the world (0.0.0.0/0, or any range
    broader than /8) unless explicitly opted in: policy config ``allow_from_anywhere`` (default ``False``)
    or the tag :data:`PUBLIC_ENDPOINT_OPT_IN_TAG` = ``"true"`` on the cluster.

    Public access defaults to on for both ``eks:index:Cluster`` (pulumi-eks) and ``aws:eks/cluster:Cluster``,
    and AWS reads an empty or absent ``publicAccessCidrs`` as 0.0.0.0/0.
    """
    if resource_type == EKS_COMPONENT:
        public, cidrs = props.get("endpointPublicAccess", True), props.get("publicAccessCidrs")
        tags = (props.get("tags"), props.get("clusterTags"))
    elif resource_type == EKS_CLUSTER:
        vpc = props.get("vpcConfig")
        if not isinstance(vpc, Mapping):
            return []
        public, cidrs = vpc.get("endpointPublicAccess", True), vpc.get("publicAccessCidrs")
        tags = (props.get("tags"),)
    else:
        return []
    if is_unknown(public) or is_unknown(cidrs) or not (public is None or _truthy(public)):
        return []
    if allow_from_anywhere or _opted_in(tags):
        return []
    listed = _list(cidrs)
    implied = not listed
    networks = [_parse_network(c) for c in (listed or [WORLD_V4])]
    world = [str(n) for n in networks if n is not None and _world_wide(n)]
    if not world:
        return []
    name = props.get("name")
    label = f"EKS cluster {name!r}" if isinstance(name, str) and not is_unknown(name) else "EKS cluster"
    why = " (AWS reads an empty publicAccessCidrs as 0.0.0.0/0)" if implied else ""
    return [
        f"{label} has a public API endpoint open to {', '.join(world)}{why}; restrict publicAccessCidrs, "
        f"turn public access off, or opt in explicitly (tag {PUBLIC_ENDPOINT_OPT_IN_TAG}=true, "
        "or policy config allowPublicEndpointFromAnywhere: true)"
    ]


# --- EKS API ingress ----------------------------------------------------------------------------------

EKS_API_PORT = 443


def _covers_tcp_port(protocol: Any, from_port: Any, to_port: Any, port: int) -> bool | None:
    """Whether an ingress rule's protocol/port range includes tcp ``port``; ``None`` when not known yet."""
    if is_unknown(protocol) or is_unknown(from_port) or is_unknown(to_port):
        return None
    proto = _PROTOCOLS.get(str(protocol).strip().lower())
    if proto == "all":
        return True
    if proto != "tcp":
        return False
    low, high = _as_int(from_port), _as_int(to_port)
    if low is None and high is None:
        return True  # no range given: AWS reads it as every port
    if low is None or high is None:
        low = high = low if high is None else high
    if low == -1 or high == -1:
        return True
    return low <= port <= high


def eks_api_ingress_violations(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """No security group ingress may open tcp/443 - the EKS API on the cluster security group - to the world:
    0.0.0.0/0, ::/0 or any range broader than /8 (IPv6: /16). The VPN and runner networks of
    ``eks.privateAccessCidrs`` pass, whatever their address space; the public endpoint has its own policy.

    Checked on ``aws.vpc.SecurityGroupIngressRule``, legacy ``aws.ec2.SecurityGroupRule`` (ingress) and inline
    ``aws.ec2.SecurityGroup`` ingress blocks.
    """
    if resource_type not in (SG_INGRESS_RULE, SG_RULE_LEGACY, SECURITY_GROUP):
        return []
    label = f"{resource_type.rsplit(':', 1)[-1]} {props.get('description') or ''}".strip()
    messages = []
    for rule in _security_group_ingress(resource_type, props):
        if not _covers_tcp_port(rule.protocol, rule.from_port, rule.to_port, EKS_API_PORT):
            continue
        for source in rule.sources:
            network = _parse_network(source)
            if network is not None and _world_wide(network):
                messages.append(
                    f"{label} opens tcp/{EKS_API_PORT} (the EKS API) to {network}; allow only VPN and runner "
                    "networks (eks.privateAccessCidrs), never the internet"
                )
    return messages


# --- LoadBalancer node ports: one owner ---------------------------------------------------------------


def _load_balancer_node_ports(props: Mapping[str, Any]) -> list[int]:
    """The known tcp node ports of a ``type: LoadBalancer`` Service (unknown ones are skipped)."""
    spec = props.get("spec")
    if not isinstance(spec, Mapping) or spec.get("type") != "LoadBalancer":
        return []
    ports = []
    for port in _list(spec.get("ports")):
        if not isinstance(port, Mapping) or str(port.get("protocol") or "TCP").upper() != "TCP":
            continue
        node_port = _as_int(port.get("nodePort"))
        if node_port is not None:
            ports.append(node_port)
    return ports


def node_port_owner_violations(
    resources: Iterable[tuple[str, str, Mapping[str, Any]]],
) -> list[tuple[str, str]]:
    """Across the stack (``(urn, type, props)`` triples): no security group ingress of the stack may cover the
    tcp node port of a LoadBalancer Service of the stack. Returns ``(urn of the rule, message)`` pairs.

    That ingress has one owner, the Kubernetes service controller: for an NLB the in-tree AWS cloud provider
    (cloud-provider-aws ``aws_loadbalancer.go`` ``updateInstanceSecurityGroupsForNLB``) authorizes tcp on the
    node port from every ``loadBalancerSourceRanges`` CIDR, and the NLB health check, on the nodes' security
    group, and revokes them with the Service. A stack rule for the same port and CIDR is a second owner:
    whichever comes second fails with ``InvalidPermission.Duplicate``, and every later ``pulumi up`` with it.
    Keep the Service's ``loadBalancerSourceRanges`` peers-only instead (policy ``mesh-ports-not-public``).
    Checked on ``aws.vpc.SecurityGroupIngressRule``, legacy ``aws.ec2.SecurityGroupRule`` (ingress) and inline
    ``aws.ec2.SecurityGroup`` ingress blocks; unknown ports are skipped.
    """
    resources = list(resources)
    owners: dict[int, list[str]] = defaultdict(list)
    for _, resource_type, props in resources:
        if resource_type != K8S_SERVICE:
            continue
        metadata = props.get("metadata")
        name = metadata.get("name") if isinstance(metadata, Mapping) else None
        namespace = (metadata.get("namespace") if isinstance(metadata, Mapping) else None) or "default"
        for port in _load_balancer_node_ports(props):
            owners[port].append(f"{namespace}/{name}")
    messages: list[tuple[str, str]] = []
    for urn, resource_type, props in resources:
        if resource_type not in (SG_INGRESS_RULE, SG_RULE_LEGACY, SECURITY_GROUP):
            continue
        label = f"{resource_type.rsplit(':', 1)[-1]} {props.get('description') or ''}".strip()
        for rule in _security_group_ingress(resource_type, props):
            for port, services in sorted(owners.items()):
                if _covers_tcp_port(rule.protocol, rule.from_port, rule.to_port, port):
                    messages.append(
                        (
                            urn,
                            f"{label} opens tcp/{port}, the node port of LoadBalancer Service "
                            f"{', '.join(sorted(services))}; the Kubernetes service controller already owns "
                            "that ingress (from loadBalancerSourceRanges) and a second owner fails with "
                            "InvalidPermission.Duplicate: drop the rule",
                        )
                    )
    return messages
