"""The Kubernetes API server's own validation for the kinds this program sends (pure; no cluster).

OpenAPI schemas (kubernetes-validate) only check shapes. The API server also runs hand-written, cross-field
validation before it stores an object, and a Helm release whose manifest breaks one rule is rolled back as a
whole. This module ports the rules for every kind the Cilium chart renders and the program creates or
patches, each function naming the Go function it follows:

* ``core``   kubernetes/kubernetes ``pkg/apis/core/validation/validation.go``
* ``apps``   ``pkg/apis/apps/validation/validation.go``
* ``batch``  ``pkg/apis/batch/validation/validation.go``
* ``policy`` ``pkg/apis/policy/validation/validation.go``
* ``meta``   ``staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go``,
  ``.../pkg/apis/meta/v1/validation/validation.go`` and ``.../pkg/util/validation/validation.go``

Messages follow the API server's ``field.Error`` wording (``spec.x: Invalid value: "v": detail``), so a
violation reads as the error the deploy would have ended with. Values are checked as sent: the API server
validates after defaulting, and a default never clears a field that was set.

A *patch* (``DaemonSetPatch``, ``DeploymentPatch``) is merged into an object the API server already stored;
:func:`check` with ``patch=True`` applies every rule to the fields the patch sets and skips "required"
rules, which the stored object satisfies.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

CORE = "core/validation"
APPS = "apps/validation"
BATCH = "batch/validation"
POLICY = "policy/validation"
META = "apimachinery validation"


@dataclass(frozen=True)
class Violation:
    """One rule the API server would enforce, broken by one object."""

    obj: str
    """``Kind namespace/name`` of the object."""
    field: str
    """Field path as the API server reports it, e.g. ``spec.externalTrafficPolicy``."""
    message: str
    """``Invalid value: "Cluster": may only be set for externally-accessible services`` and the like."""
    source: str
    """The Go function, e.g. ``core/validation validateServiceExternalTrafficPolicy``."""

    def line(self) -> str:
        return f"{self.obj}: {self.field}: {self.message} [{self.source}]"


class _Errors:
    """Collects the violations of one object."""

    def __init__(self, obj: str) -> None:
        self.obj = obj
        self.items: list[Violation] = []

    def add(self, path: str, message: str, source: str) -> None:
        self.items.append(Violation(self.obj, path, message, source))

    def invalid(self, path: str, value: Any, detail: str, source: str) -> None:
        self.add(path, f"Invalid value: {_show(value)}: {detail}", source)

    def required(self, path: str, detail: str, source: str) -> None:
        self.add(path, f"Required value{': ' + detail if detail else ''}", source)

    def forbidden(self, path: str, detail: str, source: str) -> None:
        self.add(path, f"Forbidden: {detail}", source)

    def unsupported(self, path: str, value: Any, allowed: Sequence[str], source: str) -> None:
        supported = ", ".join(json.dumps(a) for a in allowed)
        self.add(path, f"Unsupported value: {_show(value)}: supported values: {supported}", source)

    def duplicate(self, path: str, value: Any, source: str) -> None:
        self.add(path, f"Duplicate value: {_show(value)}", source)

    def not_found(self, path: str, value: Any, source: str) -> None:
        self.add(path, f"Not found: {_show(value)}", source)


def _show(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


# --- apimachinery/pkg/util/validation -----------------------------------------------------------------

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_CONFIG_MAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_PORT_NAME_CHARS = re.compile(r"^[-a-z0-9]+$")
_PORT_NAME_LETTER = re.compile(r"[a-z]")
_PERCENT = re.compile(r"^[0-9]+%$")

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
DNS1035_LABEL_MAX = 63
QUALIFIED_NAME_MAX = 63
LABEL_VALUE_MAX = 63
CONFIG_MAP_KEY_MAX = 253
PORT_NAME_MAX = 15
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
"""``TotalAnnotationSizeLimitB`` (apimachinery objectmeta.go): keys and values of all annotations together."""
MAX_SECRET_SIZE = 1024 * 1024
"""``core.MaxSecretSize``: the decoded data of one Secret (and of one ConfigMap, ``MaxConfigMapSize``)."""
CRONJOB_NAME_MAX = 52
"""batch validation ``ValidateCronJobCreate``: the controller appends an 11-character suffix for its Jobs."""
SESSION_AFFINITY_MAX_TIMEOUT = 86400
"""``core.MaxClientIPServiceAffinitySeconds``."""


def is_dns1123_label(value: str) -> str | None:
    """``IsDNS1123Label``: the problem, or None."""
    if len(value) > DNS1123_LABEL_MAX:
        return f"must be no more than {DNS1123_LABEL_MAX} characters"
    if not _DNS1123_LABEL.match(value):
        if _DNS1123_SUBDOMAIN.match(value):
            return "must not contain dots"
        return (
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
            "and must start and end with an alphanumeric character"
        )
    return None


def is_dns1123_subdomain(value: str) -> str | None:
    """``IsDNS1123Subdomain``."""
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        return f"must be no more than {DNS1123_SUBDOMAIN_MAX} characters"
    if not _DNS1123_SUBDOMAIN.match(value):
        return (
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
            "and must start and end with an alphanumeric character"
        )
    return None


def is_dns1035_label(value: str) -> str | None:
    """``IsDNS1035Label``."""
    if len(value) > DNS1035_LABEL_MAX:
        return f"must be no more than {DNS1035_LABEL_MAX} characters"
    if not _DNS1035_LABEL.match(value):
        return (
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
            "alphabetic character, and end with an alphanumeric character"
        )
    return None


def is_qualified_name(value: str) -> str | None:
    """``IsQualifiedName``: ``[prefix/]name``, prefix a DNS-1123 subdomain, name at most 63 characters."""
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            return "prefix part must be non-empty"
        problem = is_dns1123_subdomain(prefix)
        if problem is not None:
            return f"prefix part {problem}"
    else:
        return (
            "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and "
            "end with an alphanumeric character, with an optional DNS subdomain prefix and '/'"
        )
    if not name:
        return "name part must be non-empty"
    if len(name) > QUALIFIED_NAME_MAX:
        return f"name part must be no more than {QUALIFIED_NAME_MAX} characters"
    if not _QUALIFIED_NAME.match(name):
        return (
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
            "with an alphanumeric character"
        )
    return None


def is_valid_label_value(value: str) -> str | None:
    """``IsValidLabelValue``: empty, or at most 63 alphanumerics, '-', '_', '.' with alphanumeric ends."""
    if len(value) > LABEL_VALUE_MAX:
        return f"must be no more than {LABEL_VALUE_MAX} characters"
    if not _LABEL_VALUE.match(value):
        return (
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
            "and must start and end with an alphanumeric character"
        )
    return None


def is_valid_port_name(value: str) -> str | None:
    """``IsValidPortName`` (an IANA_SVC_NAME, RFC 6335)."""
    if not 1 <= len(value) <= PORT_NAME_MAX:
        return f"must be no more than {PORT_NAME_MAX} characters"
    if not _PORT_NAME_CHARS.match(value):
        return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
    if not _PORT_NAME_LETTER.search(value):
        return "must contain at least one letter (a-z)"
    if "--" in value:
        return "must not contain consecutive hyphens"
    if value.startswith("-") or value.endswith("-"):
        return "must not begin or end with a hyphen"
    return None


def is_config_map_key(value: str) -> str | None:
    """``IsConfigMapKey``: a file name (Secret and ConfigMap data keys)."""
    if len(value) > CONFIG_MAP_KEY_MAX:
        return f"must be no more than {CONFIG_MAP_KEY_MAX} characters"
    if not _CONFIG_MAP_KEY.match(value):
        return "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
    if value in (".", ".."):
        return f"must not be {value!r}"
    if value.startswith(".."):
        return "must not start with '..'"
    return None


def is_env_var_name(value: str) -> str | None:
    """``IsRelaxedEnvVarName`` (RelaxedEnvironmentVariableValidation, on by default from Kubernetes 1.32,
    the oldest minor EKS offers here): printable ASCII except '='."""
    if not value:
        return "environment variable name must not be empty"
    if any(not 32 <= ord(ch) <= 126 or ch == "=" for ch in value):
        return (
            "a valid environment variable name must consist only of printable ASCII characters other than '='"
        )
    return None


def is_path_segment_name(value: str) -> str | None:
    """``path.IsValidPathSegmentName`` (RBAC object names)."""
    if value in (".", ".."):
        return f"may not be {value!r}"
    for bad in ("/", "%"):
        if bad in value:
            return f"may not contain {bad!r}"
    return None


# --- ObjectMeta ---------------------------------------------------------------------------------------

_RBAC_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})
_CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "APIService",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "PriorityClass",
        "CiliumClusterwideNetworkPolicy",
        "IngressClass",
        "GatewayClass",
    }
)


def _name_rule(kind: str) -> tuple[Any, str]:
    """The name function the API server uses for `kind` and its Go name."""
    if kind == "Service":
        return is_dns1035_label, f"{CORE} ValidateServiceName"
    if kind == "Namespace":
        return is_dns1123_label, f"{CORE} ValidateNamespaceName"
    if kind in _RBAC_KINDS:
        return is_path_segment_name, "rbac/validation ValidateRBACName"
    if kind == "PodDisruptionBudget":
        # ValidatePodDisruptionBudget checks the spec only; the registry checks the name as a path segment.
        return is_path_segment_name, "registry/generic BeforeCreate ValidatePathSegmentName"
    return is_dns1123_subdomain, f"{META} NameIsDNSSubdomain"


def validate_labels(labels: Any, path: str, errs: _Errors) -> None:
    """meta/v1 validation ``ValidateLabels`` (also used for selectors and node selectors)."""
    if labels is None:
        return
    if not isinstance(labels, Mapping):
        errs.invalid(path, labels, "must be a map of string keys to string values", f"{META} ValidateLabels")
        return
    for key, value in labels.items():
        problem = is_qualified_name(str(key))
        if problem is not None:
            errs.invalid(path, key, problem, f"{META} ValidateLabelName")
        if isinstance(value, date):  # an unquoted YAML date: the API server receives its text
            value = value.isoformat()
        if not isinstance(value, str):
            errs.invalid(path, value, "label values must be strings", f"{META} ValidateLabels")
            continue
        problem = is_valid_label_value(value)
        if problem is not None:
            # The API server reports label problems on the map, not on the key.
            errs.invalid(path, value, problem, f"{META} ValidateLabels")


def validate_annotations(annotations: Any, path: str, errs: _Errors) -> None:
    """objectmeta.go ``ValidateAnnotations``: qualified (lower-cased) keys, 256 KiB in total."""
    if annotations is None:
        return
    if not isinstance(annotations, Mapping):
        errs.invalid(path, annotations, "must be a map", f"{META} ValidateAnnotations")
        return
    total = 0
    for key, value in annotations.items():
        problem = is_qualified_name(str(key).lower())
        if problem is not None:
            errs.invalid(path, key, problem, f"{META} ValidateAnnotations")
        if not isinstance(value, str):
            errs.invalid(
                f"{path}.{key}", value, "annotation values must be strings", f"{META} ValidateAnnotations"
            )
            continue
        total += len(str(key)) + len(value)
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        errs.add(
            path,
            f"Too long: must have at most {TOTAL_ANNOTATION_SIZE_LIMIT} bytes",
            f"{META} ValidateAnnotationsSize",
        )


def validate_object_meta(meta: Any, kind: str, errs: _Errors, *, patch: bool = False) -> None:
    """objectmeta.go ``ValidateObjectMetaAccessor`` with the name function of `kind`."""
    if not isinstance(meta, Mapping):
        if not patch:
            errs.required("metadata", "", f"{META} ValidateObjectMeta")
        return
    name = meta.get("name")
    if not name and not meta.get("generateName"):
        errs.required("metadata.name", "name or generateName is required", f"{META} ValidateObjectMeta")
    elif isinstance(name, str) and name:
        rule, source = _name_rule(kind)
        problem = rule(name)
        if problem is not None:
            errs.invalid("metadata.name", name, problem, source)
        if kind == "CronJob" and len(name) > CRONJOB_NAME_MAX:
            errs.invalid(
                "metadata.name",
                name,
                f"must be no more than {CRONJOB_NAME_MAX} characters",
                f"{BATCH} ValidateCronJobCreate",
            )
    namespace = meta.get("namespace")
    # A cluster-scoped object's namespace is cleared before validation
    # (EnsureObjectNamespaceMatchesRequestNamespace), so only a namespaced one is checked.
    if namespace and kind not in _CLUSTER_SCOPED:
        problem = is_dns1123_label(str(namespace))
        if problem is not None:
            errs.invalid("metadata.namespace", namespace, problem, f"{META} ValidateObjectMeta")
    validate_labels(meta.get("labels"), "metadata.labels", errs)
    validate_annotations(meta.get("annotations"), "metadata.annotations", errs)


# --- Int-or-string, quantities -----------------------------------------------------------------------


def _int_or_percent(value: Any, path: str, errs: _Errors, source: str, *, cap: bool = True) -> float | None:
    """``ValidatePositiveIntOrPercent`` and ``IsNotMoreThan100Percent``; returns the amount (percent as a
    fraction of 100, ints as themselves) or None when invalid."""
    if isinstance(value, bool):
        errs.invalid(path, value, "must be an integer or percentage (e.g '5%')", source)
        return None
    if isinstance(value, int):
        if value < 0:
            errs.invalid(path, value, "must be greater than or equal to 0", source)
            return None
        return float(value)
    if isinstance(value, str) and _PERCENT.match(value):
        percent = int(value[:-1])
        if cap and percent > 100:
            errs.invalid(path, value, "must not be greater than 100%", source)
            return None
        return float(percent)
    errs.invalid(
        path, value, "a valid percent string must be a numeric string followed by an ending '%'", source
    )
    return None


def _nonnegative(spec: Mapping[str, Any], key: str, path: str, errs: _Errors, source: str) -> None:
    """``ValidateNonnegativeField``."""
    value = spec.get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        errs.invalid(f"{path}.{key}", value, "must be an integer", source)
    elif value < 0:
        errs.invalid(f"{path}.{key}", value, "must be greater than or equal to 0", source)


_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE]|)$")
_SUFFIX = {
    "": 1, "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("0.001"),
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}  # fmt: skip


def parse_quantity(value: Any) -> Decimal | None:
    """A ``resource.Quantity`` as a number (apimachinery ``ParseQuantity``), or None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value.strip())
    if match is None:
        return None
    number, suffix = match.groups()
    try:
        amount = Decimal(number)
    except InvalidOperation:
        return None
    if suffix not in _SUFFIX:  # an exponent (1e3); "Ei" and "E" are binary and decimal suffixes
        return amount * Decimal(10) ** int(suffix[1:])
    return amount * Decimal(_SUFFIX[suffix])


# --- Services ----------------------------------------------------------------------------------------

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
PROTOCOLS = ("SCTP", "TCP", "UDP")
TRAFFIC_POLICIES = ("Cluster", "Local")
SESSION_AFFINITIES = ("ClientIP", "None")


def _port_or_name(value: Any, path: str, errs: _Errors, source: str) -> None:
    """``ValidatePortNumOrName``: an int 1-65535 or an IANA_SVC_NAME."""
    if isinstance(value, bool):
        errs.invalid(path, value, "must be a port number or name", source)
    elif isinstance(value, int):
        if not 1 <= value <= 65535:
            errs.invalid(path, value, "must be between 1 and 65535, inclusive", source)
    elif isinstance(value, str):
        problem = is_valid_port_name(value)
        if problem is not None:
            errs.invalid(path, value, problem, source)
    else:
        errs.invalid(path, value, "must be a port number or name", source)


def validate_service(svc: Mapping[str, Any], errs: _Errors) -> None:
    """core ``ValidateService`` (type-dependent fields, ports, traffic policies, session affinity)."""
    spec = svc.get("spec") or {}
    src = f"{CORE} ValidateService"
    svc_type = spec.get("type") or "ClusterIP"  # the API server's default
    if svc_type not in SERVICE_TYPES:
        errs.unsupported("spec.type", svc_type, SERVICE_TYPES, src)
        return
    # isHeadlessService reads clusterIPs; on create the API server fills clusterIPs from clusterIP.
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    headless = cluster_ips == ["None"]
    ports = spec.get("ports") or []
    if not ports and not headless and svc_type != "ExternalName":
        errs.required("spec.ports", "", src)
    names: set[str] = set()
    pairs: set[tuple[Any, str]] = set()
    node_ports: set[tuple[str, Any]] = set()
    for i, port in enumerate(ports):
        path = f"spec.ports[{i}]"
        name = port.get("name") or ""
        if len(ports) > 1 and not name:
            errs.required(f"{path}.name", "", f"{CORE} validateServicePort")
        elif name:
            problem = is_dns1123_label(name)
            if problem is not None:
                errs.invalid(f"{path}.name", name, problem, f"{CORE} validateServicePort")
            if name in names:
                errs.duplicate(f"{path}.name", name, f"{CORE} validateServicePort")
            names.add(name)
        number = port.get("port")
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 65535:
            errs.invalid(
                f"{path}.port",
                number,
                "must be between 1 and 65535, inclusive",
                f"{CORE} validateServicePort",
            )
        protocol = port.get("protocol") or "TCP"
        if protocol not in PROTOCOLS:
            errs.unsupported(f"{path}.protocol", protocol, PROTOCOLS, f"{CORE} validateServicePort")
        if (number, protocol) in pairs:
            errs.duplicate(path, {"port": number, "protocol": protocol}, src)
        pairs.add((number, protocol))
        if port.get("targetPort") not in (None, 0, ""):  # defaulting sets an empty targetPort to port
            _port_or_name(port["targetPort"], f"{path}.targetPort", errs, f"{CORE} validateServicePort")
        node_port = port.get("nodePort")
        if node_port not in (None, 0):
            if svc_type == "ClusterIP":
                errs.forbidden(f"{path}.nodePort", "may not be used when `type` is 'ClusterIP'", src)
            elif (protocol, node_port) in node_ports:
                errs.duplicate(f"{path}.nodePort", node_port, src)
            node_ports.add((protocol, node_port))
    if svc_type == "ExternalName":
        external = spec.get("externalName") or ""
        if not external:
            errs.required("spec.externalName", "", src)
        elif is_dns1123_subdomain(external.rstrip(".")) is not None:
            errs.invalid("spec.externalName", external, "must be a valid DNS name", src)
        if spec.get("clusterIPs"):
            errs.forbidden("spec.clusterIPs", "may not be set for ExternalName services", src)
    elif headless and svc_type in ("LoadBalancer", "NodePort"):
        errs.invalid("spec.clusterIPs[0]", "None", f"may not be set to 'None' for {svc_type} services", src)
    for i, ip in enumerate(spec.get("externalIPs") or []):
        problem = _special_ip_problem(ip)
        if problem is not None:
            errs.invalid(f"spec.externalIPs[{i}]", ip, problem, f"{CORE} ValidateNonSpecialIP")
    ranges = spec.get("loadBalancerSourceRanges") or []
    # The source spells this path with a capital L (validation.go, ValidateService).
    if ranges and svc_type != "LoadBalancer":
        errs.forbidden("spec.LoadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'", src)
    for i, cidr in enumerate(ranges):
        if not _is_cidr(str(cidr).strip()):
            errs.invalid(
                f"spec.LoadBalancerSourceRanges[{i}]",
                cidr,
                "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                src,
            )
    if svc_type != "LoadBalancer":
        for key in ("loadBalancerClass", "allocateLoadBalancerNodePorts"):
            if spec.get(key) not in (None, ""):
                errs.forbidden(f"spec.{key}", "may only be used when `type` is 'LoadBalancer'", src)
    selector = spec.get("selector")
    if selector is not None:
        validate_labels(selector, "spec.selector", errs)
    _validate_traffic_policies(spec, svc_type, errs)
    _validate_session_affinity(spec, errs)


def _validate_traffic_policies(spec: Mapping[str, Any], svc_type: str, errs: _Errors) -> None:
    external = spec.get("externalTrafficPolicy")
    externally_accessible = svc_type in ("NodePort", "LoadBalancer") or bool(spec.get("externalIPs"))
    src = f"{CORE} validateServiceExternalTrafficPolicy"
    if external not in (None, ""):
        if not externally_accessible:
            errs.invalid(
                "spec.externalTrafficPolicy",
                external,
                "may only be set for externally-accessible services",
                src,
            )
        elif external not in TRAFFIC_POLICIES:
            errs.unsupported("spec.externalTrafficPolicy", external, TRAFFIC_POLICIES, src)
    if spec.get("healthCheckNodePort") not in (None, 0) and not (
        svc_type == "LoadBalancer" and external == "Local"
    ):
        errs.invalid(
            "spec.healthCheckNodePort",
            spec["healthCheckNodePort"],
            "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
            src,
        )
    internal = spec.get("internalTrafficPolicy")
    if internal is not None and internal not in TRAFFIC_POLICIES:
        errs.unsupported(
            "spec.internalTrafficPolicy",
            internal,
            TRAFFIC_POLICIES,
            f"{CORE} validateServiceInternalTrafficFieldsValue",
        )


def _validate_session_affinity(spec: Mapping[str, Any], errs: _Errors) -> None:
    src = f"{CORE} ValidateService"
    affinity = spec.get("sessionAffinity") or "None"
    if affinity not in SESSION_AFFINITIES:
        errs.unsupported("spec.sessionAffinity", affinity, SESSION_AFFINITIES, src)
        return
    config = spec.get("sessionAffinityConfig")
    if affinity == "ClientIP":
        timeout = ((config or {}).get("clientIP") or {}).get("timeoutSeconds")
        if timeout is not None and (
            isinstance(timeout, bool)
            or not isinstance(timeout, int)
            or not 0 < timeout <= SESSION_AFFINITY_MAX_TIMEOUT
        ):
            errs.invalid(
                "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                timeout,
                f"must be greater than 0 and less than {SESSION_AFFINITY_MAX_TIMEOUT}",
                f"{CORE} validateClientIPAffinityConfig",
            )
    elif config:
        errs.forbidden(
            "spec.sessionAffinityConfig",
            "must not be set when session affinity is None",
            f"{CORE} validateSessionAffinityConfig",
        )


def _special_ip_problem(text: Any) -> str | None:
    """``ValidateNonSpecialIP``: an external IP must be a routable unicast address."""
    import ipaddress

    try:
        ip = ipaddress.ip_address(str(text))
    except ValueError:
        return "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
    if ip.is_unspecified:
        return f"may not be unspecified ({ip})"
    if ip.is_loopback:
        return "may not be in the loopback range (127.0.0.0/8, ::1/128)"
    if ip.is_link_local:
        return "may not be in the link-local range (169.254.0.0/16, fe80::/10)"
    if ip in ipaddress.ip_network("224.0.0.0/24") or ip in ipaddress.ip_network("ff02::/16"):
        return "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"
    return None


def _is_cidr(text: Any) -> bool:
    import ipaddress

    try:
        ipaddress.ip_network(str(text), strict=False)
    except ValueError:
        return False
    return "/" in str(text)


# --- Pod templates -----------------------------------------------------------------------------------

RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
TOLERATION_OPERATORS = ("Equal", "Exists")
_PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
_VOLUME_SOURCES = (
    "hostPath", "emptyDir", "gcePersistentDisk", "secret", "configMap", "projected", "persistentVolumeClaim",
    "downwardAPI",
    "csi", "ephemeral", "nfs", "image", "awsElasticBlockStore", "gitRepo", "iscsi", "glusterfs", "rbd",
    "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume", "quobyte", "azureDisk",
    "photonPersistentDisk", "portworxVolume", "scaleIO", "storageos",
)  # fmt: skip


def validate_pod_spec(spec: Any, path: str, errs: _Errors, *, patch: bool = False) -> None:
    """core ``ValidatePodSpec``: containers, volumes and mounts, ports, probes, tolerations, selectors."""
    if not isinstance(spec, Mapping):
        if not patch:
            errs.required(path, "", f"{CORE} ValidatePodSpec")
        return
    volumes = _validate_volumes(spec.get("volumes") or [], f"{path}.volumes", errs)
    containers = spec.get("containers") or []
    if not containers and not patch:
        errs.required(f"{path}.containers", "", f"{CORE} validateContainers")
    # Regular containers first: an init container reusing a name is the duplicate (validateInitContainers).
    seen: set[str] = set()
    host_ports: set[str] = set()
    for group in ("containers", "initContainers"):
        for i, ctr in enumerate(spec.get(group) or []):
            _validate_container(
                ctr,
                f"{path}.{group}[{i}]",
                errs,
                volumes,
                seen,
                host_network=bool(spec.get("hostNetwork")),
                init=group == "initContainers",
                patch=patch,
            )
            # Init containers run one by one: each is checked on its own (AccumulateUniqueHostPorts per one).
            taken = host_ports if group == "containers" else set()
            for j, port in enumerate(ctr.get("ports") or []):
                if port.get("hostPort") in (None, 0):
                    continue
                key = f"{port.get('protocol') or 'TCP'}/{port.get('hostIP') or ''}/{port['hostPort']}"
                if key in taken:
                    errs.duplicate(
                        f"{path}.{group}[{i}].ports[{j}].hostPort", key, f"{CORE} AccumulateUniqueHostPorts"
                    )
                taken.add(key)
    policy = spec.get("restartPolicy")
    if policy is not None and policy not in RESTART_POLICIES:
        errs.unsupported(f"{path}.restartPolicy", policy, RESTART_POLICIES, f"{CORE} validateRestartPolicy")
    dns = spec.get("dnsPolicy")
    if dns is not None and dns not in DNS_POLICIES:
        errs.unsupported(f"{path}.dnsPolicy", dns, DNS_POLICIES, f"{CORE} validateDNSPolicy")
    if dns == "None" and not spec.get("dnsConfig"):
        errs.required(
            f"{path}.dnsConfig",
            "must provide `dnsConfig` when `dnsPolicy` is None",
            f"{CORE} validateDNSPolicy",
        )
    validate_labels(spec.get("nodeSelector"), f"{path}.nodeSelector", errs)
    for key in ("serviceAccountName", "priorityClassName"):
        value = spec.get(key)
        if value:
            problem = is_dns1123_subdomain(str(value))
            if problem is not None:
                errs.invalid(f"{path}.{key}", value, problem, f"{CORE} ValidatePodSpec")
    if spec.get("activeDeadlineSeconds") is not None:
        value = spec["activeDeadlineSeconds"]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            errs.invalid(
                f"{path}.activeDeadlineSeconds",
                value,
                "must be between 1 and 2147483647, inclusive",
                f"{CORE} ValidatePodSpec",
            )
    for i, toleration in enumerate(spec.get("tolerations") or []):
        validate_toleration(toleration, f"{path}.tolerations[{i}]", errs)


def _validate_volumes(volumes: Sequence[Any], path: str, errs: _Errors) -> set[str]:
    """core ``ValidateVolumes``: unique DNS-1123 label names, exactly one source each."""
    names: set[str] = set()
    for i, volume in enumerate(volumes):
        name = volume.get("name") or ""
        if not name:
            errs.required(f"{path}[{i}].name", "", f"{CORE} ValidateVolumes")
        else:
            problem = is_dns1123_label(name)
            if problem is not None:
                errs.invalid(f"{path}[{i}].name", name, problem, f"{CORE} ValidateVolumes")
            if name in names:
                errs.duplicate(f"{path}[{i}].name", name, f"{CORE} ValidateVolumes")
            names.add(name)
        sources = [key for key in _VOLUME_SOURCES if volume.get(key) is not None]
        if not sources:
            errs.required(f"{path}[{i}]", "must specify a volume type", f"{CORE} validateVolumeSource")
        elif len(sources) > 1:
            errs.forbidden(
                f"{path}[{i}].{sources[1]}",
                "may not specify more than 1 volume type",
                f"{CORE} validateVolumeSource",
            )
        host_path = volume.get("hostPath")
        if isinstance(host_path, Mapping) and not host_path.get("path"):
            errs.required(f"{path}[{i}].hostPath.path", "", f"{CORE} validateHostPathVolumeSource")
    return names


def _validate_container(
    ctr: Mapping[str, Any],
    path: str,
    errs: _Errors,
    volumes: set[str],
    seen: set[str],
    *,
    host_network: bool,
    init: bool,
    patch: bool = False,
) -> None:
    """core ``validateContainers`` / ``validateInitContainers`` for one container."""
    src = f"{CORE} validateContainers"
    name = ctr.get("name") or ""
    if not name:
        errs.required(f"{path}.name", "", src)
    else:
        problem = is_dns1123_label(name)
        if problem is not None:
            errs.invalid(f"{path}.name", name, problem, src)
        if name in seen:
            errs.duplicate(f"{path}.name", name, src)
        seen.add(name)
    if not ctr.get("image") and not patch:
        errs.required(f"{path}.image", "", src)
    if not init and ctr.get("restartPolicy") is not None:
        errs.forbidden(f"{path}.restartPolicy", "may not be set for non-init containers", src)
    mount_paths: set[str] = set()
    for j, mount in enumerate(ctr.get("volumeMounts") or []):
        mpath = f"{path}.volumeMounts[{j}]"
        vname = mount.get("name") or ""
        if not vname:
            errs.required(f"{mpath}.name", "", f"{CORE} ValidateVolumeMounts")
        elif vname not in volumes and not patch:  # a patch's mounts may name the stored object's volumes
            errs.not_found(f"{mpath}.name", vname, f"{CORE} ValidateVolumeMounts")
        mount_path = mount.get("mountPath") or ""
        if not mount_path:
            errs.required(f"{mpath}.mountPath", "", f"{CORE} ValidateVolumeMounts")
        elif mount_path in mount_paths:
            errs.invalid(f"{mpath}.mountPath", mount_path, "must be unique", f"{CORE} ValidateVolumeMounts")
        mount_paths.add(mount_path)
        sub_path = mount.get("subPath") or ""
        if sub_path.startswith("/") or ".." in sub_path.split("/"):
            errs.invalid(
                f"{mpath}.subPath",
                sub_path,
                "must be a relative path without '..'",
                f"{CORE} validateLocalDescendingPath",
            )
    port_names: set[str] = set()  # unique per container
    for j, port in enumerate(ctr.get("ports") or []):
        _validate_container_port(port, f"{path}.ports[{j}]", errs, port_names, host_network=host_network)
    for j, env in enumerate(ctr.get("env") or []):
        env_name = env.get("name") or ""
        problem = is_env_var_name(env_name)
        if not env_name:
            errs.required(f"{path}.env[{j}].name", "", f"{CORE} ValidateEnv")
        elif problem is not None:
            errs.invalid(f"{path}.env[{j}].name", env_name, problem, f"{CORE} ValidateEnv")
        value_from = env.get("valueFrom")
        if value_from is not None:
            chosen = [
                k
                for k in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef", "fileKeyRef")
                if value_from.get(k) is not None
            ]
            if len(chosen) != 1:
                errs.invalid(
                    f"{path}.env[{j}].valueFrom",
                    "",
                    "may not have more than one field specified at a time" if chosen else _ONE_OF_VALUE_FROM,
                    f"{CORE} validateEnvVarValueFrom",
                )
            elif env.get("value"):
                errs.invalid(
                    f"{path}.env[{j}].valueFrom",
                    "",
                    "may not be specified when `value` is not empty",
                    f"{CORE} validateEnvVarValueFrom",
                )
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = ctr.get(probe_name)
        if probe is not None:
            if init and ctr.get("restartPolicy") != "Always":
                errs.forbidden(
                    f"{path}.{probe_name}",
                    "may not be set for init containers without restartPolicy=Always",
                    f"{CORE} validateInitContainers",
                )
                continue
            validate_probe(probe, f"{path}.{probe_name}", errs, single_success=probe_name != "readinessProbe")
    _validate_resources(ctr.get("resources") or {}, f"{path}.resources", errs)


_ONE_OF_VALUE_FROM = (
    "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"
)


def _validate_container_port(
    port: Mapping[str, Any], path: str, errs: _Errors, names: set[str], *, host_network: bool
) -> None:
    """core ``validateContainerPorts`` and ``validateHostNetwork``."""
    src = f"{CORE} validateContainerPorts"
    name = port.get("name")
    if name:
        problem = is_valid_port_name(name)
        if problem is not None:
            errs.invalid(f"{path}.name", name, problem, src)
        if name in names:
            errs.duplicate(f"{path}.name", name, src)
        names.add(name)
    container_port = port.get("containerPort")
    if container_port in (None, 0):
        errs.required(f"{path}.containerPort", "", src)
    elif (
        isinstance(container_port, bool)
        or not isinstance(container_port, int)
        or not 1 <= container_port <= 65535
    ):
        errs.invalid(f"{path}.containerPort", container_port, "must be between 1 and 65535, inclusive", src)
    host_port = port.get("hostPort")
    if host_port not in (None, 0):
        if isinstance(host_port, bool) or not isinstance(host_port, int) or not 1 <= host_port <= 65535:
            errs.invalid(f"{path}.hostPort", host_port, "must be between 1 and 65535, inclusive", src)
        elif host_network and host_port != container_port:
            errs.invalid(
                f"{path}.hostPort",
                host_port,
                "must match `containerPort` when `hostNetwork` is true",
                f"{CORE} validateHostNetwork",
            )
    protocol = port.get("protocol") or "TCP"
    if protocol not in PROTOCOLS:
        errs.unsupported(f"{path}.protocol", protocol, PROTOCOLS, src)


def validate_probe(probe: Mapping[str, Any], path: str, errs: _Errors, *, single_success: bool) -> None:
    """core ``validateProbe`` and ``validateHandler``: one handler, non-negative timings."""
    handlers = [key for key in _PROBE_HANDLERS if probe.get(key) is not None]
    if not handlers:
        errs.required(path, "must specify a handler type", f"{CORE} validateHandler")
    elif len(handlers) > 1:
        errs.forbidden(
            f"{path}.{handlers[1]}", "may not specify more than 1 handler type", f"{CORE} validateHandler"
        )
    for key in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        _nonnegative(probe, key, path, errs, f"{CORE} validateProbe")
    grace = probe.get("terminationGracePeriodSeconds")
    if grace is not None:
        if not single_success:
            errs.invalid(
                f"{path}.terminationGracePeriodSeconds",
                grace,
                "must not be set for readinessProbes",
                f"{CORE} validateReadinessProbe",
            )
        elif isinstance(grace, bool) or not isinstance(grace, int) or grace <= 0:
            errs.invalid(
                f"{path}.terminationGracePeriodSeconds",
                grace,
                "must be greater than 0",
                f"{CORE} validateProbe",
            )
    # Defaulting turns 0 into 1.
    if single_success and probe.get("successThreshold") not in (None, 0, 1):
        errs.invalid(
            f"{path}.successThreshold", probe["successThreshold"], "must be 1", f"{CORE} validateProbe"
        )
    http = probe.get("httpGet")
    if isinstance(http, Mapping):
        if http.get("port") is None:
            errs.required(f"{path}.httpGet.port", "", f"{CORE} validateHTTPGetAction")
        else:
            _port_or_name(http["port"], f"{path}.httpGet.port", errs, f"{CORE} validateHTTPGetAction")
        scheme = http.get("scheme")
        if scheme is not None and scheme not in ("HTTP", "HTTPS"):
            errs.unsupported(
                f"{path}.httpGet.scheme", scheme, ("HTTP", "HTTPS"), f"{CORE} validateHTTPGetAction"
            )
    tcp = probe.get("tcpSocket")
    if isinstance(tcp, Mapping):
        _port_or_name(tcp.get("port"), f"{path}.tcpSocket.port", errs, f"{CORE} validateTCPSocketAction")
    exec_ = probe.get("exec")
    if isinstance(exec_, Mapping) and not exec_.get("command"):
        errs.required(f"{path}.exec.command", "", f"{CORE} validateExecAction")


def _validate_resources(resources: Mapping[str, Any], path: str, errs: _Errors) -> None:
    """core ``ValidateResourceRequirements``: each request at most its limit."""
    limits = resources.get("limits") or {}
    requests = resources.get("requests") or {}
    for name, value in (*limits.items(), *requests.items()):
        if parse_quantity(value) is None:
            errs.invalid(
                f"{path}.{name}", value, "must be a valid quantity", f"{CORE} ValidateResourceQuantityValue"
            )
    for name, request in requests.items():
        if name not in limits:
            continue
        low, high = parse_quantity(request), parse_quantity(limits[name])
        if low is not None and high is not None and low > high:
            errs.invalid(
                f"{path}.requests[{name}]",
                request,
                f"must be less than or equal to {name} limit of {limits[name]}",
                f"{CORE} ValidateResourceRequirements",
            )


def validate_toleration(toleration: Mapping[str, Any], path: str, errs: _Errors) -> None:
    """core ``validateTolerations``."""
    src = f"{CORE} validateTolerations"
    key = toleration.get("key") or ""
    operator = toleration.get("operator") or "Equal"
    value = toleration.get("value") or ""
    if key:
        problem = is_qualified_name(key)
        if problem is not None:
            errs.invalid(f"{path}.key", key, problem, src)
    elif operator != "Exists":
        errs.invalid(
            f"{path}.operator",
            operator,
            'operator must be Exists when `key` is empty, which means "match all values and all keys"',
            src,
        )
    if operator not in TOLERATION_OPERATORS:
        errs.unsupported(f"{path}.operator", operator, TOLERATION_OPERATORS, src)
    elif operator == "Exists" and value:
        errs.invalid(f"{path}.operator", toleration, "value must be empty when `operator` is 'Exists'", src)
    elif operator == "Equal":
        problem = is_valid_label_value(value)
        if problem is not None:
            errs.invalid(f"{path}.operator", value, problem, src)
    effect = toleration.get("effect") or ""
    if effect and effect not in TAINT_EFFECTS:
        errs.unsupported(f"{path}.effect", effect, TAINT_EFFECTS, src)
    if toleration.get("tolerationSeconds") is not None and effect != "NoExecute":
        errs.invalid(
            f"{path}.effect", effect, "effect must be 'NoExecute' when `tolerationSeconds` is set", src
        )


def validate_pod_template(
    template: Any, path: str, errs: _Errors, *, patch: bool = False, owner: str = "", source: str = ""
) -> None:
    """core ``ValidatePodTemplateSpec``, plus the owner's template rules: a DaemonSet's or Deployment's pods
    restart ``Always`` and take no ``activeDeadlineSeconds`` (``ValidatePodTemplateSpecForReplicaSet``,
    ``ValidateDaemonSetSpec``); a Job's restart ``OnFailure`` or ``Never`` (batch ``validateJobSpec``)."""
    if not isinstance(template, Mapping):
        if not patch:
            errs.required(path, "", f"{CORE} ValidatePodTemplateSpec")
        return
    meta = template.get("metadata") or {}
    # ValidatePodTemplateSpec reports on fldPath.Child("labels"): spec.template.labels.
    validate_labels(meta.get("labels"), f"{path}.labels", errs)
    validate_annotations(meta.get("annotations"), f"{path}.annotations", errs)
    spec = template.get("spec")
    validate_pod_spec(spec, f"{path}.spec", errs, patch=patch)
    if not isinstance(spec, Mapping):
        return
    policy = spec.get("restartPolicy")
    if owner == "Job":
        if policy in (None, "", "Always"):
            errs.required(f"{path}.spec.restartPolicy", 'valid values: "OnFailure", "Never"', source)
        elif policy not in ("OnFailure", "Never"):
            errs.unsupported(f"{path}.spec.restartPolicy", policy, ("OnFailure", "Never"), source)
    elif owner in ("DaemonSet", "ReplicaSet"):
        if policy not in (None, "Always"):  # defaulting fills Always
            errs.unsupported(f"{path}.spec.restartPolicy", policy, ("Always",), source)
        if spec.get("activeDeadlineSeconds") is not None:
            errs.forbidden(
                f"{path}.spec.activeDeadlineSeconds",
                f"activeDeadlineSeconds in {owner} is not Supported",
                source,
            )


# --- Selectors ---------------------------------------------------------------------------------------

SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def validate_label_selector(selector: Any, path: str, errs: _Errors) -> None:
    """meta/v1 validation ``ValidateLabelSelector``."""
    if not isinstance(selector, Mapping):
        return
    validate_labels(selector.get("matchLabels"), f"{path}.matchLabels", errs)
    for i, expr in enumerate(selector.get("matchExpressions") or []):
        epath = f"{path}.matchExpressions[{i}]"
        operator = expr.get("operator")
        values = expr.get("values") or []
        if operator in ("In", "NotIn") and not values:
            errs.required(
                f"{epath}.values",
                "must be specified when `operator` is 'In' or 'NotIn'",
                f"{META} ValidateLabelSelectorRequirement",
            )
        elif operator in ("Exists", "DoesNotExist") and values:
            errs.forbidden(
                f"{epath}.values",
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                f"{META} ValidateLabelSelectorRequirement",
            )
        elif operator not in SELECTOR_OPERATORS:
            errs.invalid(
                f"{epath}.operator",
                operator,
                "not a valid selector operator",
                f"{META} ValidateLabelSelectorRequirement",
            )
        for j, value in enumerate(values):
            problem = is_valid_label_value(str(value))
            if problem is not None:
                errs.invalid(
                    f"{epath}.values[{j}]", value, problem, f"{META} ValidateLabelSelectorRequirement"
                )
        problem = is_qualified_name(str(expr.get("key") or ""))
        if problem is not None:
            errs.invalid(f"{epath}.key", expr.get("key"), problem, f"{META} ValidateLabelName")


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """Whether `labels` satisfy `selector` (``metav1.LabelSelectorAsSelector`` + ``Matches``)."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, operator, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _validate_workload_selector(spec: Mapping[str, Any], kind: str, errs: _Errors, source: str) -> None:
    """The selector rules of ``ValidateDaemonSetSpec`` / ``ValidateDeploymentSpec``: a Deployment needs one
    (Required); a DaemonSet's missing selector selects nothing, so it never matches its template."""
    selector = spec.get("selector")
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if selector is None:
        if kind == "Deployment":
            errs.required("spec.selector", "", source)
        else:
            errs.invalid(
                "spec.template.metadata.labels", labels, "`selector` does not match template `labels`", source
            )
        return
    if not isinstance(selector, Mapping) or not (
        selector.get("matchLabels") or selector.get("matchExpressions")
    ):
        errs.invalid("spec.selector", selector, f"empty selector is invalid for {kind.lower()}", source)
        return
    validate_label_selector(selector, "spec.selector", errs)
    if not selector_matches(selector, labels):
        errs.invalid(
            "spec.template.metadata.labels", labels, "`selector` does not match template `labels`", source
        )


# --- apps --------------------------------------------------------------------------------------------


def _rolling_amounts(
    rolling: Mapping[str, Any], path: str, errs: _Errors, source: str, *, surge_cap: bool
) -> tuple[float | None, float | None]:
    """``ValidatePositiveIntOrPercent`` of maxUnavailable and maxSurge (None when absent or invalid)."""
    unavailable = surge = None
    if rolling.get("maxUnavailable") is not None:
        unavailable = _int_or_percent(rolling["maxUnavailable"], f"{path}.maxUnavailable", errs, source)
    if rolling.get("maxSurge") is not None:
        surge = _int_or_percent(rolling["maxSurge"], f"{path}.maxSurge", errs, source, cap=surge_cap)
    return unavailable, surge


def validate_daemonset(ds: Mapping[str, Any], errs: _Errors, *, patch: bool = False) -> None:
    """apps ``ValidateDaemonSetSpec`` with ``ValidateDaemonSetUpdateStrategy`` and
    ``ValidateRollingUpdateDaemonSet``."""
    src = f"{APPS} ValidateDaemonSetSpec"
    spec = ds.get("spec") or {}
    if not patch:
        _validate_workload_selector(spec, "DaemonSet", errs, src)
    validate_pod_template(
        spec.get("template"), "spec.template", errs, patch=patch, owner="DaemonSet", source=src
    )
    _nonnegative(spec, "minReadySeconds", "spec", errs, src)
    _nonnegative(spec, "revisionHistoryLimit", "spec", errs, src)
    strategy = spec.get("updateStrategy") or {}
    kind = strategy.get("type")
    if kind is not None and kind not in ("RollingUpdate", "OnDelete"):
        errs.unsupported(
            "spec.updateStrategy",
            kind,
            ("RollingUpdate", "OnDelete"),
            f"{APPS} ValidateDaemonSetUpdateStrategy",
        )
    rolling = strategy.get("rollingUpdate")
    # A patch merges into the stored strategy: its absent half is not the default but whatever is stored.
    partial = patch and isinstance(rolling, Mapping) and not {"maxUnavailable", "maxSurge"} <= set(rolling)
    if isinstance(rolling, Mapping) and not partial:
        path, rsrc = "spec.updateStrategy.rollingUpdate", f"{APPS} ValidateRollingUpdateDaemonSet"
        unavailable, surge = _rolling_amounts(rolling, path, errs, rsrc, surge_cap=True)
        # Defaulting (SetDefaults_DaemonSet): maxUnavailable 1, maxSurge 0.
        unavailable = 1.0 if rolling.get("maxUnavailable") is None else unavailable
        surge = 0.0 if rolling.get("maxSurge") is None else surge
        if unavailable == 0 and surge == 0:
            errs.required(f"{path}.maxUnavailable", "cannot be 0 when maxSurge is 0", rsrc)
        elif unavailable and surge:
            errs.invalid(
                f"{path}.maxSurge",
                rolling.get("maxSurge"),
                "may not be set when maxUnavailable is non-zero",
                rsrc,
            )


def validate_deployment(deploy: Mapping[str, Any], errs: _Errors, *, patch: bool = False) -> None:
    """apps ``ValidateDeploymentSpec`` with ``ValidateDeploymentStrategy`` and
    ``ValidateRollingUpdateDeployment``."""
    src = f"{APPS} ValidateDeploymentSpec"
    spec = deploy.get("spec") or {}
    _nonnegative(spec, "replicas", "spec", errs, src)
    if not patch:
        _validate_workload_selector(spec, "Deployment", errs, src)
    validate_pod_template(
        spec.get("template"), "spec.template", errs, patch=patch, owner="ReplicaSet", source=src
    )
    _nonnegative(spec, "minReadySeconds", "spec", errs, src)
    _nonnegative(spec, "revisionHistoryLimit", "spec", errs, src)
    strategy = spec.get("strategy") or {}
    kind = strategy.get("type")
    ssrc = f"{APPS} ValidateDeploymentStrategy"
    if kind is not None and kind not in ("Recreate", "RollingUpdate"):
        errs.unsupported("spec.strategy", kind, ("Recreate", "RollingUpdate"), ssrc)
    if kind == "Recreate" and strategy.get("rollingUpdate") is not None:
        errs.forbidden(
            "spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'", ssrc
        )
    rolling = strategy.get("rollingUpdate")
    partial = patch and isinstance(rolling, Mapping) and not {"maxUnavailable", "maxSurge"} <= set(rolling)
    if isinstance(rolling, Mapping) and kind != "Recreate" and not partial:
        path, rsrc = "spec.strategy.rollingUpdate", f"{APPS} ValidateRollingUpdateDeployment"
        unavailable, surge = _rolling_amounts(rolling, path, errs, rsrc, surge_cap=False)
        # Defaulting (SetDefaults_Deployment): 25% each.
        unavailable = 25.0 if rolling.get("maxUnavailable") is None else unavailable
        surge = 25.0 if rolling.get("maxSurge") is None else surge
        if unavailable == 0 and surge == 0:
            errs.invalid(
                f"{path}.maxUnavailable",
                rolling.get("maxUnavailable"),
                "may not be 0 when `maxSurge` is 0",
                rsrc,
            )
    # SetDefaults_Deployment: progressDeadlineSeconds 600 when unset (not for a patch: the stored value).
    deadline = spec.get("progressDeadlineSeconds", None if patch else 600)
    if deadline is not None:
        _nonnegative(spec, "progressDeadlineSeconds", "spec", errs, src)
        ready = spec.get("minReadySeconds") or 0
        if isinstance(deadline, int) and isinstance(ready, int) and deadline <= ready:
            errs.invalid(
                "spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds", src
            )


# --- batch -------------------------------------------------------------------------------------------

CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")


def validate_job_spec(spec: Any, path: str, errs: _Errors) -> None:
    """batch ``validateJobSpec``: non-negative counts and deadlines, restart policy OnFailure or Never."""
    src = f"{BATCH} validateJobSpec"
    if not isinstance(spec, Mapping):
        errs.required(path, "", src)
        return
    # activeDeadlineSeconds may be 0 here (the pod-spec field of the same name may not).
    for key in (
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
    ):
        _nonnegative(spec, key, path, errs, src)
    validate_pod_template(spec.get("template"), f"{path}.template", errs, owner="Job", source=src)


def validate_cronjob(cron: Mapping[str, Any], errs: _Errors) -> None:
    """batch ``ValidateCronJobSpec``: the schedule parses, known concurrency policy, valid job template."""
    src = f"{BATCH} ValidateCronJobSpec"
    spec = cron.get("spec") or {}
    schedule = spec.get("schedule")
    if not schedule:
        errs.required("spec.schedule", "", src)
    else:
        problem = cron_schedule_problem(str(schedule))
        if problem is not None:
            errs.invalid("spec.schedule", schedule, problem, f"{BATCH} validateScheduleFormat")
    policy = spec.get("concurrencyPolicy")
    if policy is not None and policy not in CONCURRENCY_POLICIES:
        errs.unsupported("spec.concurrencyPolicy", policy, CONCURRENCY_POLICIES, src)
    for key in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        _nonnegative(spec, key, "spec", errs, src)
    template = spec.get("jobTemplate") or {}
    meta = template.get("metadata") or {}
    validate_labels(meta.get("labels"), "spec.jobTemplate.metadata.labels", errs)
    job = template.get("spec")
    validate_job_spec(job, "spec.jobTemplate.spec", errs)
    if isinstance(job, Mapping):
        tsrc = f"{BATCH} ValidateJobTemplateSpec"
        if job.get("selector") is not None:
            errs.invalid(
                "spec.jobTemplate.spec.selector", job["selector"], "`selector` will be auto-generated", tsrc
            )
        if job.get("manualSelector") is True:
            errs.unsupported("spec.jobTemplate.spec.manualSelector", True, ("nil", "false"), tsrc)


_CRON_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 6),
)
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_CRON_NAMES = {
    "month": {m: i + 1 for i, m in enumerate(_MONTHS)},
    "day of week": {d: i for i, d in enumerate(_WEEKDAYS)},
}
_CRON_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def cron_schedule_problem(schedule: str) -> str | None:
    """Why robfig/cron's standard parser (what the CronJob controller uses) rejects `schedule`, or None."""
    text = schedule.strip()
    if text.startswith(("TZ=", "CRON_TZ=")):
        return "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
    if text.startswith("@"):
        if text in _CRON_DESCRIPTORS or re.match(
            r"^@every \d+(\.\d+)?(ns|us|µs|ms|s|m|h)(\d+(ns|us|µs|ms|s|m|h))*$", text
        ):
            return None
        return f"unrecognized descriptor: {text}"
    fields = text.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: [{text}]"
    for value, (name, low, high) in zip(fields, _CRON_FIELDS, strict=True):
        for part in value.split(","):
            problem = _cron_part_problem(part, name, low, high)
            if problem is not None:
                return problem
    return None


def _cron_part_problem(part: str, name: str, low: int, high: int) -> str | None:
    names = _CRON_NAMES.get(name, {})

    def number(token: str) -> int | None:
        if token.upper() in names:
            return names[token.upper()]
        return int(token) if token.isdigit() else None

    range_part, _, step = part.partition("/")
    if step and (not step.isdigit() or int(step) == 0):
        return f"invalid step {step!r} in {name} field"
    if range_part in ("*", "?"):
        return None
    start_text, dash, end_text = range_part.partition("-")
    start = number(start_text)
    end = number(end_text) if dash else start
    if start is None or end is None:
        return f"failed to parse int from {range_part!r} in {name} field"
    if not low <= start <= high or not low <= end <= high:
        return f"{name} value out of range ({low}-{high}): {range_part}"
    if start > end:
        return f"beginning of range ({start}) beyond end of range ({end}): {range_part}"
    return None


# --- Secrets, ConfigMaps, PDBs -----------------------------------------------------------------------

_SECRET_REQUIRED_KEYS = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}


def _data_size(secret: Mapping[str, Any], errs: _Errors, *, base64_data: bool) -> int:
    size = 0
    for key, value in (secret.get("data") or {}).items():
        problem = is_config_map_key(str(key))
        if problem is not None:
            errs.invalid(f"data[{key}]", key, problem, f"{CORE} ValidateSecret")
        if value is None:
            continue
        if base64_data:
            try:
                size += len(base64.b64decode(_no_breaks(value), validate=True))
            except (binascii.Error, ValueError):
                errs.invalid(f"data[{key}]", "<value>", "illegal base64 data", "json decoding of []byte")
        else:
            size += len(str(value).encode())
    return size


def _no_breaks(value: Any) -> str:
    """Go's base64 decoder (encoding/json for []byte) skips \r and \n."""
    return str(value).replace("\r", "").replace("\n", "")


def validate_secret(secret: Mapping[str, Any], errs: _Errors) -> None:
    """core ``ValidateSecret``: keys are file names, 1 MiB at most, the keys each type requires."""
    size = _data_size(secret, errs, base64_data=True)
    string_data = secret.get("stringData") or {}
    for key, value in string_data.items():
        problem = is_config_map_key(str(key))
        if problem is not None:
            errs.invalid(f"stringData[{key}]", key, problem, f"{CORE} ValidateSecret")
        if key not in (secret.get("data") or {}):  # stringData replaces data's value of the same key
            size += len(str(value).encode())
    if size > MAX_SECRET_SIZE:
        errs.add("data", f"Too long: must have at most {MAX_SECRET_SIZE} bytes", f"{CORE} ValidateSecret")
    kind = secret.get("type") or "Opaque"
    keys = set(secret.get("data") or {}) | set(string_data)
    for key in _SECRET_REQUIRED_KEYS.get(kind, ()):
        if key not in keys:
            errs.required(f"data[{key}]", "", f"{CORE} ValidateSecret")
    if kind == "kubernetes.io/service-account-token":
        annotations = (secret.get("metadata") or {}).get("annotations") or {}
        if not annotations.get("kubernetes.io/service-account.name"):
            errs.required(
                "metadata.annotations[kubernetes.io/service-account.name]", "", f"{CORE} ValidateSecret"
            )
    if kind == "kubernetes.io/basic-auth" and not keys & {"username", "password"}:
        errs.required("data[username]", "", f"{CORE} ValidateSecret")
        errs.required("data[password]", "", f"{CORE} ValidateSecret")


def validate_config_map(cm: Mapping[str, Any], errs: _Errors) -> None:
    """core ``ValidateConfigMap``: file-name keys, none in both data and binaryData, 1 MiB at most."""
    size = 0
    data = cm.get("data") or {}
    for key, value in data.items():
        problem = is_config_map_key(str(key))
        if problem is not None:
            errs.invalid(f"data[{key}]", key, problem, f"{CORE} ValidateConfigMap")
        size += len(str(value).encode())
    for key, value in (cm.get("binaryData") or {}).items():
        problem = is_config_map_key(str(key))
        if problem is not None:
            errs.invalid(f"binaryData[{key}]", key, problem, f"{CORE} ValidateConfigMap")
        if key in data:
            errs.invalid(
                f"data[{key}]", key, "duplicate of key present in binaryData", f"{CORE} ValidateConfigMap"
            )
        try:
            size += len(base64.b64decode(_no_breaks(value), validate=True))
        except (binascii.Error, ValueError):
            errs.invalid(f"binaryData[{key}]", "<value>", "illegal base64 data", "json decoding of []byte")
    if size > MAX_SECRET_SIZE:
        errs.add("", f"Too long: must have at most {MAX_SECRET_SIZE} bytes", f"{CORE} ValidateConfigMap")


UNHEALTHY_POD_EVICTION_POLICIES = ("IfHealthyBudget", "AlwaysAllow")


def validate_pdb(pdb: Mapping[str, Any], errs: _Errors) -> None:
    """policy ``ValidatePodDisruptionBudgetSpec``."""
    src = f"{POLICY} ValidatePodDisruptionBudgetSpec"
    spec = pdb.get("spec") or {}
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        errs.invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set", src)
    for key in ("minAvailable", "maxUnavailable"):
        if spec.get(key) is not None:
            _int_or_percent(spec[key], f"spec.{key}", errs, src)
    validate_label_selector(spec.get("selector"), "spec.selector", errs)
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in UNHEALTHY_POD_EVICTION_POLICIES:
        errs.unsupported("spec.unhealthyPodEvictionPolicy", policy, UNHEALTHY_POD_EVICTION_POLICIES, src)


# --- Entry points ------------------------------------------------------------------------------------

_BY_KIND = {
    "Service": validate_service,
    "Secret": validate_secret,
    "ConfigMap": validate_config_map,
    "PodDisruptionBudget": validate_pdb,
    "CronJob": validate_cronjob,
}


def object_ref(obj: Mapping[str, Any]) -> str:
    """``Kind namespace/name`` (or ``Kind name``) of `obj` for messages."""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    name = meta.get("name") or meta.get("generateName") or "<unnamed>"
    namespace = meta.get("namespace")
    return f"{obj.get('kind', '<no kind>')} {namespace}/{name}" if namespace else f"{obj.get('kind')} {name}"


def check(obj: Mapping[str, Any], *, patch: bool = False) -> list[Violation]:
    """Every API-server rule `obj` breaks (empty when it would be accepted).

    ``patch``: `obj` is a patch merged into an existing object; "required" rules are the stored object's.
    Kinds without rules of their own here (RBAC, CRDs' custom resources, webhooks) get the ObjectMeta rules.
    """
    kind = str(obj.get("kind") or "")
    errs = _Errors(object_ref(obj))
    validate_object_meta(obj.get("metadata"), kind, errs, patch=patch)
    if kind == "DaemonSet":
        validate_daemonset(obj, errs, patch=patch)
    elif kind == "Deployment":
        validate_deployment(obj, errs, patch=patch)
    elif kind == "Job":
        validate_job_spec(obj.get("spec"), "spec", errs)
    elif kind == "Pod":
        validate_pod_spec(obj.get("spec"), "spec", errs, patch=patch)
    elif kind in _BY_KIND:
        _BY_KIND[kind](obj, errs)
    return errs.items


def check_all(objects: Iterable[Mapping[str, Any]]) -> list[Violation]:
    """:func:`check` over `objects`, in order."""
    return [violation for obj in objects for violation in check(obj)]
