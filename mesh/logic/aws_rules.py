"""What AWS refuses, checked on the stack's inputs before any resource (pure; no AWS call).

Two kinds of source, each rule naming its own:

* **botocore's service models** (enums, patterns, lengths of the API parameters), extracted into
  ``mesh/logic/aws_models.json`` by ``tools/extract_aws_models.py`` from the botocore pinned in
  ``requirements-aws-models.txt``: EC2 ``InstanceType``, EKS ``TagKey``/``TagValue``/``TagMap``,
  ``LogType``, CloudWatch Logs retention values, the regions of each partition (``endpoints.json``).
* **AWS documentation** for what the models cannot express, cited per rule: EKS subnets in two AZs, the EKS
  service CIDR, one CPU architecture per managed node group, the managed node group update surge, tag
  naming, special-purpose address ranges (RFC 6890, IANA) that a pod or VPC range must not use.

Every function returns problem strings (``key: message``) and never raises, so the config edge can list
every problem at once.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_MODELS_PATH = Path(__file__).with_name("aws_models.json")


@functools.cache
def models() -> dict[str, Any]:
    """The extracted service-model facts (``mesh/logic/aws_models.json``)."""
    return json.loads(_MODELS_PATH.read_text())


def instance_types() -> frozenset[str]:
    """EC2 ``InstanceType`` enum (botocore ec2 model)."""
    return frozenset(models()["ec2"]["InstanceType"])


def partition_regions(partition: str = "aws") -> tuple[str, ...]:
    """Regions of `partition` (botocore ``endpoints.json``)."""
    return tuple(models()["regions"].get(partition, ()))


MAX_NODE_GROUP_INSTANCE_TYPES = 20
"""EKS CreateNodegroup ``instanceTypes``: "you can specify 0-20 instance types" (botocore eks model docs)."""

MIN_AVAILABILITY_ZONES = 2
"""EKS: "subnets in at least two different Availability Zones" (EKS user guide, "VPC and subnet
requirements" / CreateCluster ``subnetIds``)."""

SERVICE_CIDR_RANGES = tuple(IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
SERVICE_CIDR_PREFIXES = range(12, 25)
"""EKS ``serviceIpv4Cidr``: "within one of the following ranges: 10.0.0.0/8, 172.16.0.0/12, or
192.168.0.0/16", "a minimum size of /24 and a maximum size of /12", and not overlapping the VPC (EKS API
``KubernetesNetworkConfigRequest``; EKS user guide "Create a cluster")."""

SPECIAL_RANGES: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), why)
    for net, why in (
        ("0.0.0.0/8", '"this network" (RFC 6890)'),
        ("127.0.0.0/8", "loopback (RFC 6890)"),
        ("169.254.0.0/16", "link-local: the instance metadata service and the Amazon DNS server live there"),
        ("192.0.0.0/24", "IETF protocol assignments (RFC 6890)"),
        ("224.0.0.0/4", "multicast (RFC 5771)"),
        ("240.0.0.0/4", "reserved (RFC 1112), including the broadcast address"),
    )
)
"""Address ranges with a meaning of their own (IANA IPv4 Special-Purpose Address Registry): a pod or VPC
range inside one breaks routing or hides the node's link-local services."""

MAX_TAGS_PER_RESOURCE = 50
"""EKS ``TagMap`` max 50, IAM ``tagListType`` max 50; EC2 "maximum tags per resource: 50" (Tagging your
Amazon EC2 resources, "Tag restrictions")."""

PROGRAM_TAGS = 3
"""Most tags the program puts on one resource besides the user's ``tags`` and the common ones (a subnet:
``Name``, ``kubernetes.io/role/internal-elb``, ``kubernetes.io/cluster/<name>``); tests/test_aws_rules.py
keeps it equal to what the plan registers."""

_RESERVED_TAG_PREFIX = "aws:"
"""Reserved for AWS use, any case ("Tag naming limits and requirements", AWS general reference)."""

_TAG_EXTRA_CHARACTERS = set("_.:/=+-@")
_EXTRA_TEXT = "_ . : / = + - @"


def _tag_text_ok(text: str) -> bool:
    """``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*`` (IAM ``tagKeyType``/``tagValueType`` pattern)."""
    return all(unicodedata.category(ch)[0] in "LZN" or ch in _TAG_EXTRA_CHARACTERS for ch in text)


def tag_problems(
    tags: Mapping[str, Any], common: int, key: str = "tags", *, hosted_zone: bool = True
) -> list[str]:
    """User `tags` AWS would refuse on some resource, given `common` tags the program always adds;
    `hosted_zone` (default True): the stack has the mesh's Route 53 zone, whose limit is lower."""
    problems: list[str] = []
    eks = models()["eks"]
    key_max, value_max = eks["TagKey"]["max"], eks["TagValue"]["max"]
    for name, value in tags.items():
        where = f"{key}.{name}"
        if not 1 <= len(name) <= key_max:
            problems.append(f"{where}: a tag key must be 1-{key_max} characters (EKS/EC2/IAM TagKey)")
        if name.lower().startswith(_RESERVED_TAG_PREFIX):
            problems.append(
                f"{where}: the prefix 'aws:' is reserved for AWS (Tag naming limits and requirements)"
            )
        if not _tag_text_ok(name):
            problems.append(
                f"{where}: a tag key may hold letters, digits, spaces and {_EXTRA_TEXT} only (IAM tagKeyType)"
            )
        if not isinstance(value, str):
            problems.append(f"{where}: tag values are strings, got {value!r} (quote it)")
            continue
        if len(value) > value_max:
            problems.append(
                f"{where}: a tag value must be at most {value_max} characters (TagValue), got {len(value)}"
            )
        if not _tag_text_ok(value):
            problems.append(
                f"{where}: a tag value may hold letters, digits, spaces and {_EXTRA_TEXT} only (tagValueType)"
            )
    room = MAX_TAGS_PER_RESOURCE - common - PROGRAM_TAGS
    zone_room = route53_max_tags() - common
    if len(tags) > room:
        problems.append(
            f"{key}: {len(tags)} tags; with the {common} common and up to {PROGRAM_TAGS} program tags a "
            f"resource would carry more than AWS's {MAX_TAGS_PER_RESOURCE} (at most {room} here)"
        )
    elif hosted_zone and len(tags) > zone_room:
        problems.append(
            f"{key}: {len(tags)} tags; the mesh's Route 53 hosted zone takes {route53_max_tags()} tags "
            f"(Route 53 TagList), {common} of them common: at most {zone_room} here"
        )
    return problems


def route53_max_tags() -> int:
    """Route 53 ``TagList`` max: a hosted zone carries at most 10 tags (botocore route53 model)."""
    return int(models()["route53"]["TagList"]["max"])


# Graviton: the families whose attribute letters after the generation contain ``g`` (m7g, c6gn, r8gd, x2gd,
# im4gn, is4gen, i4g, g5g, hpc7g...; "Amazon EC2 instance type naming conventions": "g - AWS Graviton
# processors").
_FAMILY = re.compile(r"^(a1|[a-z]+\d+[a-z]*g[a-z]*)$")
"""Instance families with AWS Graviton (arm64) processors: ``a1`` and the families whose attribute letters
after the generation contain ``g`` (m7g, c6gn, r8gd, x2gd, im4gn, is4gen, i4g, g5g, hpc7g...; "AWS Graviton
Processor" page and "Amazon EC2 instance type naming conventions": "g - AWS Graviton processors")."""

_FAMILY = re.compile(r"^([a-z]+)(\d+)([a-z-]*)$")


def architecture(instance_type: str) -> str:
    """``arm64`` or ``x86_64`` from the instance type's family (EC2 naming conventions)."""
    family = instance_type.split(".", 1)[0]
    if family == "a1" or "-gb" in family:  # a1: first Graviton; p6e-gb200: NVIDIA Grace (Arm) superchips
        return "arm64"
    match = _FAMILY.match(family)
    if match is None:
        return "x86_64"
    return "arm64" if "g" in match.group(3) else "x86_64"


def instance_type_problems(types: Sequence[str], key: str) -> list[str]:
    """Unknown instance types, too many, or a mix of architectures in one managed node group."""
    problems: list[str] = []
    known = instance_types()
    for j, name in enumerate(types):
        if name not in known:
            problems.append(
                f"{key}[{j}]: {name!r} is not an EC2 instance type (EC2 InstanceType, botocore model)"
            )
    if len(types) > MAX_NODE_GROUP_INSTANCE_TYPES:
        problems.append(
            f"{key}: {len(types)} types; a managed node group takes at most {MAX_NODE_GROUP_INSTANCE_TYPES}"
        )
    kinds = {architecture(t) for t in types if t in known}
    if len(kinds) > 1:
        by_kind = ", ".join(
            f"{kind}: {', '.join(t for t in types if architecture(t) == kind)}" for kind in sorted(kinds)
        )
        problems.append(
            f"{key}: one managed node group runs one AMI, so one CPU architecture ({by_kind}); "
            "use one node group per architecture"
        )
    return problems


def region_problem(region: str) -> str | None:
    """A region name no partition of the installed models knows (botocore ``endpoints.json``)."""
    if any(region in regions for regions in models()["regions"].values()):
        return None
    return (
        f"{region!r} is not a region of any AWS partition (endpoints.json of {models()['source']}; a region "
        "opened since: bump requirements-aws-models.txt, then `make aws-models`)"
    )


def az_count_problem(count: int) -> str | None:
    if count < MIN_AVAILABILITY_ZONES:
        return f"{count}: EKS needs subnets in at least {MIN_AVAILABILITY_ZONES} Availability Zones"
    return None


def service_cidr_problem(cidr: str) -> str | None:
    """Why EKS refuses `cidr` as ``serviceIpv4Cidr`` (its overlap with the VPCs is a cross-check)."""
    net = IPv4Network(cidr)
    if not any(net.subnet_of(r) for r in SERVICE_CIDR_RANGES):
        return f"{cidr} must be within 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (EKS serviceIpv4Cidr)"
    if net.prefixlen not in SERVICE_CIDR_PREFIXES:
        return f"{cidr} must be between /12 and /24 (EKS serviceIpv4Cidr), got /{net.prefixlen}"
    return None


def special_range_problem(cidr: str) -> str | None:
    """A range that overlaps an IANA special-purpose range."""
    net = IPv4Network(cidr)
    for special, why in SPECIAL_RANGES:
        if net.overlaps(special):
            return f"{cidr} overlaps {special}, {why}"
    return None


def update_surge(az_count: int, max_unavailable: int = 1) -> int:
    """Nodes a managed node group update adds on top of its size: "the larger of either up to twice the
    number of Availability Zones ... or the maximum unavailable of upgrade" (EKS user guide, "Managed node
    update behavior", scale-up phase)."""
    return max(2 * az_count, max_unavailable)


def chart_repository_problem(url: str) -> str | None:
    """Helm takes an ``https://``/``http://`` repository with a host, or an ``oci://`` registry."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http", "oci") or not parts.hostname:
        return f"{url!r} is not a chart repository URL (https://host/path, or oci://registry/path)"
    if any(ch.isspace() for ch in url):
        return f"{url!r} contains whitespace"
    return None


# --- facts only AWS knows, asked in a real run (mesh/components/live_checks.py) --------------------

EKS_UNSUPPORTED_ZONE_IDS = frozenset({"use1-az3", "usw1-az2", "cac1-az3"})
"""Zone ids where EKS creates no control plane: "in us-east-1 ... use1-az3, us-west-1 ... usw1-az2 and
ca-central-1 ... cac1-az3" (EKS user guide, "View Amazon EKS networking requirements for VPC and subnets",
subnet requirements). AZ names map to zone ids per account, so only AWS can say which name is which."""


def zone_problems(wanted: Sequence[str], zones: Sequence[tuple[str, str]], region: str) -> list[str]:
    """Configured AZ names against the account's available zones ``(name, zone id)`` of `region`."""
    known = dict(zones)
    key = "network.availabilityZones"
    problems = [
        f"{key}: {az} is not an availability zone of {region} in this account "
        f"(available: {', '.join(sorted(known))})"
        for az in wanted
        if az not in known
    ]
    for az in wanted:
        if known.get(az) in EKS_UNSUPPORTED_ZONE_IDS:
            problems.append(
                f"{key}: {az} is zone {known[az]} in this account, where EKS does not create control planes; "
                "pick other zones (network.availabilityZones)"
            )
    return problems


def offering_problems(
    groups: Mapping[str, Sequence[str]], offered: set[tuple[str, str]], zones: Sequence[str]
) -> list[str]:
    """Each node group's instance types must be offered in every zone its subnets use
    (``DescribeInstanceTypeOfferings`` with location type availability-zone)."""
    problems: list[str] = []
    for key, types in groups.items():
        for name in types:
            missing = [az for az in zones if (name, az) not in offered]
            if missing:
                problems.append(f"{key}: {name} is not offered in {', '.join(missing)}")
    return problems


def eks_version_problems(wanted: Mapping[str, str], offered: Mapping[str, str]) -> list[str]:
    """Kubernetes versions (config key -> version) against what EKS offers in the region, version ->
    ``versionStatus`` (``DescribeClusterVersions``: STANDARD_SUPPORT, EXTENDED_SUPPORT, UNSUPPORTED)."""
    problems: list[str] = []
    for key, version in wanted.items():
        status = offered.get(version)
        if status is None:
            problems.append(
                f"{key}: EKS does not offer Kubernetes {version} in this region (DescribeClusterVersions)"
            )
        elif status == "UNSUPPORTED":
            problems.append(
                f"{key}: Kubernetes {version} is UNSUPPORTED by EKS now (DescribeClusterVersions)"
            )
    return problems
