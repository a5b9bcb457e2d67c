"""The API server's own validation rules (mesh/logic/apiserver_rules.py): each rule fed a bad object.

Every test starts from an object the API server accepts (no violation) and breaks one field, so a rule
that stopped firing, or fired on the good object, fails here. Limits are tested on both sides.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from mesh.logic import apiserver_rules as rules
from mesh.logic.apiserver_rules import check


def fields(obj: dict[str, Any], *, patch: bool = False) -> list[tuple[str, str]]:
    """(field, message) of every violation."""
    return [(v.field, v.message) for v in check(obj, patch=patch)]


def service(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"type": "ClusterIP", "selector": {"app": "x"}, "ports": [{"port": 2379}]}
    base.update(spec)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "svc", "namespace": "ns"},
        "spec": base,
    }


def pod_spec(**extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": "agent",
                "image": "quay.io/cilium/cilium:v1.19.6",
                "ports": [{"name": "health", "containerPort": 4240}],
                "volumeMounts": [{"name": "run", "mountPath": "/var/run/cilium"}],
                "livenessProbe": {"httpGet": {"port": 9879, "path": "/healthz"}, "periodSeconds": 30},
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "1Gi"}},
                "env": [{"name": "K8S_NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
            }
        ],
        "volumes": [{"name": "run", "hostPath": {"path": "/var/run/cilium"}}],
        "tolerations": [{"operator": "Exists"}],
    }
    spec.update(extra)
    return spec


def daemonset(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "selector": {"matchLabels": {"k8s-app": "cilium"}},
        "template": {"metadata": {"labels": {"k8s-app": "cilium"}}, "spec": pod_spec()},
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}},
    }
    body.update(spec)
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "cilium", "namespace": "kube-system"},
        "spec": body,
    }


def deployment(**spec: Any) -> dict[str, Any]:
    obj = daemonset()
    obj["kind"] = "Deployment"
    del obj["spec"]["updateStrategy"]
    obj["spec"].update({"replicas": 2, **spec})
    return obj


def job_template(**spec: Any) -> dict[str, Any]:
    return {
        "backoffLimit": 6,
        "template": {
            "metadata": {"labels": {"k8s-app": "certgen"}},
            "spec": pod_spec(restartPolicy="OnFailure"),
        },
        **spec,
    }


def cronjob(name: str = "clustermesh-apiserver-generate-certs", **spec: Any) -> dict[str, Any]:
    body = {"schedule": "0 0 1 */4 *", "concurrencyPolicy": "Forbid", "jobTemplate": {"spec": job_template()}}
    body.update(spec)
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": "kube-system"},
        "spec": body,
    }


def with_container(obj: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["spec"]["template"]["spec"]["containers"][0].update(changes)
    return out


# --- good objects -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "obj",
    [
        service(),
        daemonset(),
        deployment(),
        cronjob(),
        {"kind": "Job", "metadata": {"name": "certgen"}, "spec": job_template()},
    ],
    ids=["service", "daemonset", "deployment", "cronjob", "job"],
)
def test_accepted_objects_have_no_violation(obj: dict[str, Any]) -> None:
    assert fields(obj) == []


# --- Service ------------------------------------------------------------------------------------------


def test_external_traffic_policy_is_refused_on_cluster_ip() -> None:
    """The deploy blocker: the chart's default on a ClusterIP Service (cilium#34028's class)."""
    violations = check(service(externalTrafficPolicy="Cluster"))
    assert [(v.obj, v.field, v.message, v.source) for v in violations] == [
        (
            "Service ns/svc",
            "spec.externalTrafficPolicy",
            'Invalid value: "Cluster": may only be set for externally-accessible services',
            "core/validation validateServiceExternalTrafficPolicy",
        )
    ]


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "LoadBalancer", "externalTrafficPolicy": "Cluster"},
        {"type": "NodePort", "externalTrafficPolicy": "Local"},
        {"type": "ClusterIP", "externalIPs": ["10.0.0.9"], "externalTrafficPolicy": "Local"},
        {"type": "ClusterIP"},
    ],
)
def test_external_traffic_policy_is_accepted_where_external(spec: dict[str, Any]) -> None:
    assert fields(service(**spec)) == []


def test_external_traffic_policy_value() -> None:
    assert fields(service(type="LoadBalancer", externalTrafficPolicy="Global")) == [
        ("spec.externalTrafficPolicy", 'Unsupported value: "Global": supported values: "Cluster", "Local"')
    ]


def test_health_check_node_port_needs_load_balancer_local() -> None:
    ok = service(type="LoadBalancer", externalTrafficPolicy="Local", healthCheckNodePort=32000)
    assert fields(ok) == []
    bad = service(type="LoadBalancer", externalTrafficPolicy="Cluster", healthCheckNodePort=32000)
    assert [f for f, _ in fields(bad)] == ["spec.healthCheckNodePort"]


@pytest.mark.parametrize(
    "key", ["loadBalancerSourceRanges", "loadBalancerClass", "allocateLoadBalancerNodePorts"]
)
def test_load_balancer_fields_only_on_load_balancers(key: str) -> None:
    value = {
        "loadBalancerSourceRanges": ["10.1.0.0/16"],
        "loadBalancerClass": "service.k8s.aws/nlb",
        "allocateLoadBalancerNodePorts": True,
    }[key]
    # validation.go spells the source-ranges path with a capital L.
    path = "spec.LoadBalancerSourceRanges" if key == "loadBalancerSourceRanges" else f"spec.{key}"
    assert fields(service(**{key: value})) == [
        (path, "Forbidden: may only be used when `type` is 'LoadBalancer'")
    ]
    assert fields(service(type="LoadBalancer", **{key: value})) == []


def test_load_balancer_source_ranges_are_cidrs() -> None:
    assert [f for f, _ in fields(service(type="LoadBalancer", loadBalancerSourceRanges=["10.1.0.0"]))] == [
        "spec.LoadBalancerSourceRanges[0]"
    ]


def test_node_port_forbidden_on_cluster_ip() -> None:
    assert fields(service(ports=[{"port": 2379, "nodePort": 32379}])) == [
        ("spec.ports[0].nodePort", "Forbidden: may not be used when `type` is 'ClusterIP'")
    ]
    assert fields(service(type="NodePort", ports=[{"port": 2379, "nodePort": 32379}])) == []


@pytest.mark.parametrize(("port", "ok"), [(0, False), (1, True), (65535, True), (65536, False)])
def test_service_port_range(port: int, ok: bool) -> None:
    assert (fields(service(ports=[{"port": port}])) == []) is ok


def test_service_ports_named_when_several_and_unique() -> None:
    assert fields(service(ports=[{"port": 1}, {"port": 2, "name": "b"}])) == [
        ("spec.ports[0].name", "Required value")
    ]
    dup = service(ports=[{"port": 1, "name": "a"}, {"port": 2, "name": "a"}])
    assert fields(dup) == [("spec.ports[1].name", 'Duplicate value: "a"')]
    same = service(ports=[{"port": 1, "name": "a"}, {"port": 1, "name": "b"}])
    assert [f for f, _ in fields(same)] == ["spec.ports[1]"]


def test_service_needs_ports_unless_headless_or_external_name() -> None:
    assert fields(service(ports=[])) == [("spec.ports", "Required value")]
    assert fields(service(ports=[], clusterIP="None")) == []
    assert fields(service(type="ExternalName", ports=[], externalName="db.example.com")) == []
    assert fields(service(type="ExternalName", ports=[])) == [("spec.externalName", "Required value")]


def test_service_protocol_target_port_and_type() -> None:
    assert [f for f, _ in fields(service(ports=[{"port": 1, "protocol": "ICMP"}]))] == [
        "spec.ports[0].protocol"
    ]
    assert [f for f, _ in fields(service(ports=[{"port": 1, "targetPort": "Bad_Name"}]))] == [
        "spec.ports[0].targetPort"
    ]
    assert fields(service(ports=[{"port": 1, "targetPort": "apiserv-metrics"}])) == []
    assert [f for f, _ in fields(service(type="Balanced"))] == ["spec.type"]


def test_session_affinity() -> None:
    timeout = {"clientIP": {"timeoutSeconds": rules.SESSION_AFFINITY_MAX_TIMEOUT}}
    assert fields(service(sessionAffinity="ClientIP", sessionAffinityConfig=timeout)) == []
    timeout["clientIP"]["timeoutSeconds"] += 1
    assert [f for f, _ in fields(service(sessionAffinity="ClientIP", sessionAffinityConfig=timeout))] == [
        "spec.sessionAffinityConfig.clientIP.timeoutSeconds"
    ]
    assert [f for f, _ in fields(service(sessionAffinity="None", sessionAffinityConfig=timeout))] == [
        "spec.sessionAffinityConfig"
    ]


def test_service_name_is_a_dns1035_label() -> None:
    svc = service()
    svc["metadata"]["name"] = "1st-service"
    assert [f for f, _ in fields(svc)] == ["metadata.name"]
    svc["metadata"]["name"] = "a" * 63
    assert fields(svc) == []
    svc["metadata"]["name"] = "a" * 64
    assert [f for f, _ in fields(svc)] == ["metadata.name"]


# --- ObjectMeta ---------------------------------------------------------------------------------------


def test_names_per_kind() -> None:
    cm = {"kind": "ConfigMap", "metadata": {"name": "cilium.config", "namespace": "kube-system"}}
    assert fields(cm) == []  # a DNS-1123 subdomain may hold dots
    cm["metadata"]["name"] = "Cilium-Config"
    assert [f for f, _ in fields(cm)] == ["metadata.name"]
    role = {"kind": "ClusterRole", "metadata": {"name": "system:cilium"}}
    assert fields(role) == []  # RBAC names are path segments
    role["metadata"]["name"] = "a/b"
    assert [f for f, _ in fields(role)] == ["metadata.name"]
    assert fields({"kind": "ConfigMap", "metadata": {"namespace": "x"}}) == [
        ("metadata.name", "Required value: name or generateName is required")
    ]
    assert [f for f, _ in fields({"kind": "Namespace", "metadata": {"name": "a.b"}})] == ["metadata.name"]
    assert [f for f, _ in fields({"kind": "ConfigMap", "metadata": {"name": "a", "namespace": "A"}})] == [
        "metadata.namespace"
    ]


@pytest.mark.parametrize(
    ("key", "value", "bad"),
    [
        ("app", "x" * 63, None),
        ("app", "x" * 64, "metadata.labels"),
        ("app", "-x", "metadata.labels"),  # reported on the map, not the key
        ("app", "", None),
        ("example.com/" + "k" * 63, "v", None),
        ("example.com/" + "k" * 64, "v", "metadata.labels"),
        ("Example.com/k", "v", "metadata.labels"),
        ("no such node", "true", "metadata.labels"),
        ("a/b/c", "v", "metadata.labels"),
    ],
)
def test_labels(key: str, value: str, bad: str | None) -> None:
    cm = {"kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n", "labels": {key: value}}}
    assert [f for f, _ in fields(cm)] == ([bad] if bad else [])


def test_annotation_keys_and_total_size() -> None:
    limit = rules.TOTAL_ANNOTATION_SIZE_LIMIT
    cm = {
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "n", "annotations": {"k": "v" * (limit - 1)}},
    }
    assert fields(cm) == []
    cm["metadata"]["annotations"]["k"] += "v"
    assert fields(cm) == [("metadata.annotations", f"Too long: must have at most {limit} bytes")]
    # Keys are checked lower-cased: upper case is accepted, spaces are not.
    assert (
        fields({"kind": "ConfigMap", "metadata": {"name": "c", "annotations": {"Example.com/X": ""}}}) == []
    )
    assert [
        f for f, _ in fields({"kind": "ConfigMap", "metadata": {"name": "c", "annotations": {"a b": ""}}})
    ] == ["metadata.annotations"]


def test_a_cluster_scoped_objects_namespace_is_cleared_not_refused() -> None:
    """EnsureObjectNamespaceMatchesRequestNamespace clears it before validation (charts often set it)."""
    assert fields({"kind": "ClusterRoleBinding", "metadata": {"name": "r", "namespace": "kube-system"}}) == []


def test_what_defaulting_fills_is_not_refused() -> None:
    assert fields(service(ports=[{"port": 2379, "targetPort": ""}])) == []  # targetPort defaults to port
    probe = {"tcpSocket": {"port": 1}, "successThreshold": 0}  # defaults to 1
    assert fields(with_container(daemonset(), livenessProbe=probe)) == []
    # progressDeadlineSeconds defaults to 600, which must exceed minReadySeconds.
    assert fields(deployment(minReadySeconds=599)) == []
    assert [f for f, _ in fields(deployment(minReadySeconds=600))] == ["spec.progressDeadlineSeconds"]


def test_init_containers_claim_host_ports_one_at_a_time() -> None:
    ds = daemonset()
    spec = ds["spec"]["template"]["spec"]
    spec["containers"][0]["ports"] = [{"containerPort": 4244, "hostPort": 4244}]
    spec["initContainers"] = [
        {"name": f"init-{n}", "image": "x", "ports": [{"containerPort": 4244, "hostPort": 4244}]}
        for n in (1, 2)
    ]
    assert fields(ds) == []
    spec["containers"].append(
        {"name": "second", "image": "x", "ports": [{"containerPort": 4244, "hostPort": 4244}]}
    )
    assert [f for f, _ in fields(ds)] == ["spec.template.spec.containers[1].ports[0].hostPort"]


def test_a_patch_may_touch_a_container_by_name_only() -> None:
    patch = {
        "kind": "DaemonSet",
        "metadata": {"name": "aws-node", "namespace": "kube-system"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "aws-node", "volumeMounts": [{"name": "stored-volume", "mountPath": "/x"}]}
                    ]
                }
            },
            "updateStrategy": {"rollingUpdate": {"maxSurge": 1}},
        },
    }
    assert fields(patch, patch=True) == []
    assert "spec.template.spec.containers[0].image" in [f for f, _ in fields(patch)]


def test_yaml_quirks_of_rendered_manifests() -> None:
    import datetime

    secret = {
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"a": _b64(b"x" * 100)[:40] + "\n" + _b64(b"x" * 100)[40:]},
    }
    assert fields(secret) == []  # Go's decoder skips line breaks
    both = {
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"a": _b64(b"x" * rules.MAX_SECRET_SIZE)},
        "stringData": {"a": "y"},
    }
    assert fields(both) == []  # stringData replaces data's value: counted once
    dated = {
        "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {"released": datetime.date(2026, 1, 27)}},
    }
    assert fields(dated) == []
    assert rules.parse_quantity("500n") == rules.Decimal("5e-7") and rules.parse_quantity("3u") is not None


# --- pod templates ------------------------------------------------------------------------------------


def test_volume_mount_must_name_a_volume() -> None:
    bad = copy.deepcopy(daemonset())
    bad["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0]["name"] = "missing"
    assert fields(bad) == [("spec.template.spec.containers[0].volumeMounts[0].name", 'Not found: "missing"')]


def test_volumes_unique_with_one_source() -> None:
    ds = daemonset()
    spec = ds["spec"]["template"]["spec"]
    spec["volumes"].append({"name": "run", "emptyDir": {}})
    spec["volumes"].append({"name": "two", "emptyDir": {}, "hostPath": {"path": "/x"}})
    spec["volumes"].append({"name": "none"})
    assert [f for f, _ in fields(ds)] == [
        "spec.template.spec.volumes[1].name",
        "spec.template.spec.volumes[2].emptyDir",  # the second source in validateVolumeSource's order
        "spec.template.spec.volumes[3]",
    ]


def test_container_names_unique_across_init_containers() -> None:
    ds = daemonset()
    ds["spec"]["template"]["spec"]["initContainers"] = [{"name": "agent", "image": "x"}]
    assert fields(ds) == [("spec.template.spec.initContainers[0].name", 'Duplicate value: "agent"')]


def test_container_needs_image_and_label_name() -> None:
    assert [f for f, _ in fields(with_container(daemonset(), image=""))] == [
        "spec.template.spec.containers[0].image"
    ]
    assert [f for f, _ in fields(with_container(daemonset(), name="Agent"))] == [
        "spec.template.spec.containers[0].name"
    ]


def test_mount_paths_unique_per_container() -> None:
    mounts = [{"name": "run", "mountPath": "/a"}, {"name": "run", "mountPath": "/a"}]
    assert [f for f, _ in fields(with_container(daemonset(), volumeMounts=mounts))] == [
        "spec.template.spec.containers[0].volumeMounts[1].mountPath"
    ]


@pytest.mark.parametrize(
    ("port", "bad"),
    [
        ({"containerPort": 0}, "containerPort"),
        ({"containerPort": 65536}, "containerPort"),
        ({"containerPort": 65535, "hostPort": 65535}, None),
        ({"containerPort": 80, "name": "a-very-long-name"}, "name"),  # 16 > 15 characters
        ({"containerPort": 80, "name": "health-metrics1"}, None),  # 15
        ({"containerPort": 80, "name": "8080"}, "name"),  # no letter
        ({"containerPort": 80, "name": "a--b"}, "name"),
        ({"containerPort": 80, "protocol": "HTTP"}, "protocol"),
    ],
)
def test_container_ports(port: dict[str, Any], bad: str | None) -> None:
    result = [f for f, _ in fields(with_container(daemonset(), ports=[port]))]
    assert result == ([f"spec.template.spec.containers[0].ports[0].{bad}"] if bad else [])


def test_host_network_needs_matching_host_port() -> None:
    ds = with_container(daemonset(), ports=[{"containerPort": 4240, "hostPort": 4241}])
    assert fields(ds) == []
    ds["spec"]["template"]["spec"]["hostNetwork"] = True
    assert [m for _, m in fields(ds)] == [
        "Invalid value: 4241: must match `containerPort` when `hostNetwork` is true"
    ]


def test_port_names_unique_in_the_pod() -> None:
    ports = [{"containerPort": 1, "name": "http"}, {"containerPort": 2, "name": "http"}]
    assert fields(with_container(daemonset(), ports=ports)) == [
        ("spec.template.spec.containers[0].ports[1].name", 'Duplicate value: "http"')
    ]


def test_probes() -> None:
    path = "spec.template.spec.containers[0].livenessProbe"
    no_handler = with_container(daemonset(), livenessProbe={"periodSeconds": 10})
    assert fields(no_handler) == [(path, "Required value: must specify a handler type")]
    two = with_container(daemonset(), livenessProbe={"exec": {"command": ["true"]}, "tcpSocket": {"port": 1}})
    assert fields(two) == [(f"{path}.tcpSocket", "Forbidden: may not specify more than 1 handler type")]
    success = with_container(daemonset(), livenessProbe={"tcpSocket": {"port": 1}, "successThreshold": 2})
    assert fields(success) == [(f"{path}.successThreshold", "Invalid value: 2: must be 1")]
    ready = with_container(daemonset(), readinessProbe={"tcpSocket": {"port": 1}, "successThreshold": 2})
    assert fields(ready) == []  # only readiness may need several successes
    negative = with_container(daemonset(), livenessProbe={"tcpSocket": {"port": 1}, "timeoutSeconds": -1})
    assert [f for f, _ in fields(negative)] == [f"{path}.timeoutSeconds"]
    port = with_container(daemonset(), livenessProbe={"httpGet": {"port": 70000}})
    assert [f for f, _ in fields(port)] == [f"{path}.httpGet.port"]


def test_requests_at_most_limits() -> None:
    res = {"requests": {"memory": "1025Mi"}, "limits": {"memory": "1Gi"}}
    assert [f for f, _ in fields(with_container(daemonset(), resources=res))] == [
        "spec.template.spec.containers[0].resources.requests[memory]"
    ]
    res["requests"]["memory"] = "1024Mi"
    assert fields(with_container(daemonset(), resources=res)) == []
    res["requests"]["cpu"] = "lots"
    assert [f for f, _ in fields(with_container(daemonset(), resources=res))] == [
        "spec.template.spec.containers[0].resources.cpu"
    ]


@pytest.mark.parametrize(
    ("quantity", "amount"),
    [("100m", "0.1"), ("1Gi", str(2**30)), ("1G", str(10**9)), ("1e3", "1000"), ("2", "2"), (1.5, "1.5")],
)
def test_parse_quantity(quantity: Any, amount: str) -> None:
    assert rules.parse_quantity(quantity) == rules.Decimal(amount)


def test_env_var_names_and_sources() -> None:
    path = "spec.template.spec.containers[0].env[0]"
    assert [f for f, _ in fields(with_container(daemonset(), env=[{"name": "A=B"}]))] == [f"{path}.name"]
    assert fields(with_container(daemonset(), env=[{"name": "1.weird-but-relaxed"}])) == []
    both = {"name": "X", "valueFrom": {"fieldRef": {}, "secretKeyRef": {}}}
    assert [f for f, _ in fields(with_container(daemonset(), env=[both]))] == [f"{path}.valueFrom"]


@pytest.mark.parametrize(
    ("toleration", "bad"),
    [
        ({"operator": "Exists"}, None),
        ({"key": "node.cilium.io/agent-not-ready", "operator": "Exists", "effect": "NoSchedule"}, None),
        ({"key": "k", "operator": "Exists", "value": "v"}, "operator"),
        ({"value": "v"}, "operator"),  # empty key needs Exists
        ({"key": "k", "operator": "Like"}, "operator"),
        ({"key": "k", "value": "v", "effect": "NoWay"}, "effect"),
        ({"key": "k", "value": "v", "effect": "NoSchedule", "tolerationSeconds": 5}, "effect"),
        ({"key": "k", "value": "v", "effect": "NoExecute", "tolerationSeconds": 5}, None),
        ({"key": "bad key", "operator": "Exists"}, "key"),
    ],
)
def test_tolerations(toleration: dict[str, Any], bad: str | None) -> None:
    ds = daemonset()
    ds["spec"]["template"]["spec"]["tolerations"] = [toleration]
    assert [f for f, _ in fields(ds)] == ([f"spec.template.spec.tolerations[0].{bad}"] if bad else [])


def test_pod_spec_enums_and_names() -> None:
    ds = daemonset()
    ds["spec"]["template"]["spec"].update(
        dnsPolicy="Custom", serviceAccountName="Cilium", nodeSelector={"a b": "c"}
    )
    assert sorted(f for f, _ in fields(ds)) == [
        "spec.template.spec.dnsPolicy",
        "spec.template.spec.nodeSelector",
        "spec.template.spec.serviceAccountName",
    ]


# --- apps ---------------------------------------------------------------------------------------------


def test_daemonset_selector_must_match_template() -> None:
    ds = daemonset(selector={"matchLabels": {"k8s-app": "other"}})
    assert fields(ds) == [
        (
            "spec.template.metadata.labels",
            'Invalid value: {"k8s-app": "cilium"}: `selector` does not match template `labels`',
        )
    ]
    assert [m for _, m in fields(daemonset(selector={}))] == [
        "Invalid value: {}: empty selector is invalid for daemonset"
    ]
    expr = {"matchExpressions": [{"key": "k8s-app", "operator": "In", "values": ["cilium", "x"]}]}
    assert fields(daemonset(selector=expr)) == []
    expr["matchExpressions"][0]["operator"] = "NotIn"
    assert [f for f, _ in fields(daemonset(selector=expr))] == ["spec.template.metadata.labels"]


@pytest.mark.parametrize(
    ("rolling", "bad"),
    [
        ({"maxUnavailable": 0}, "maxUnavailable"),  # maxSurge defaults to 0 for a DaemonSet
        ({"maxUnavailable": 0, "maxSurge": 1}, None),
        ({"maxUnavailable": "100%"}, None),
        ({"maxUnavailable": "101%"}, "maxUnavailable"),
        ({"maxUnavailable": -1}, "maxUnavailable"),
        ({"maxUnavailable": "ten"}, "maxUnavailable"),
    ],
)
def test_daemonset_rolling_update(rolling: dict[str, Any], bad: str | None) -> None:
    ds = daemonset(updateStrategy={"type": "RollingUpdate", "rollingUpdate": rolling})
    assert [f for f, _ in fields(ds)] == ([f"spec.updateStrategy.rollingUpdate.{bad}"] if bad else [])


def test_workload_restart_policy_is_always() -> None:
    ds = daemonset()
    ds["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    assert fields(ds) == [
        ("spec.template.spec.restartPolicy", 'Unsupported value: "OnFailure": supported values: "Always"')
    ]


def test_deployment_rules() -> None:
    assert (
        fields(deployment(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0}})) == []
    )
    both_zero = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}
    assert [f for f, _ in fields(deployment(strategy=both_zero))] == [
        "spec.strategy.rollingUpdate.maxUnavailable"
    ]
    recreate = {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}
    assert [f for f, _ in fields(deployment(strategy=recreate))] == ["spec.strategy.rollingUpdate"]
    assert [f for f, _ in fields(deployment(replicas=-1))] == ["spec.replicas"]
    assert fields(deployment(minReadySeconds=10, progressDeadlineSeconds=11)) == []
    assert [f for f, _ in fields(deployment(minReadySeconds=10, progressDeadlineSeconds=10))] == [
        "spec.progressDeadlineSeconds"
    ]


def test_patches_skip_required_fields_but_check_what_they_set() -> None:
    """The CNI takeover patch: a node selector only; selector and containers are the stored object's."""
    patch = {
        "kind": "DaemonSet",
        "metadata": {"name": "aws-node", "namespace": "kube-system"},
        "spec": {"template": {"spec": {"nodeSelector": {"no-such-node": "true"}}}},
    }
    assert fields(patch, patch=True) == []
    # As a whole object it would be refused: no selector (selects nothing) and no containers.
    assert [f for f, _ in fields(patch)] == ["spec.template.metadata.labels", "spec.template.spec.containers"]
    patch["spec"]["template"]["spec"]["nodeSelector"] = {"no such node": "true"}
    assert [f for f, _ in fields(patch, patch=True)] == ["spec.template.spec.nodeSelector"]
    scale = {
        "kind": "Deployment",
        "metadata": {"name": "coredns", "namespace": "kube-system"},
        "spec": {"replicas": -2},
    }
    assert [f for f, _ in fields(scale, patch=True)] == ["spec.replicas"]


# --- batch --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("length", "ok"), [(52, True), (53, False)])
def test_cronjob_name_length(length: int, ok: bool) -> None:
    assert (fields(cronjob(name="c" * length)) == []) is ok


@pytest.mark.parametrize(
    ("schedule", "ok"),
    [
        ("0 0 1 */4 *", True),
        ("*/5 * * * *", True),
        ("0 3 * JAN-MAR MON-FRI", True),
        ("@daily", True),
        ("@every 1h30m", True),
        ("0 0 1 */4", False),
        ("60 * * * *", False),
        ("* 24 * * *", False),
        ("* * 0 * *", False),
        ("* * * 13 *", False),
        ("* * * * 7", False),
        ("5-1 * * * *", False),
        ("*/0 * * * *", False),
        ("@fortnightly", False),
        ("TZ=UTC 0 0 * * *", False),
    ],
)
def test_cron_schedules(schedule: str, ok: bool) -> None:
    assert (rules.cron_schedule_problem(schedule) is None) is ok
    assert (fields(cronjob(schedule=schedule)) == []) is ok


def test_cronjob_and_job_fields() -> None:
    assert [f for f, _ in fields(cronjob(concurrencyPolicy="Sometimes"))] == ["spec.concurrencyPolicy"]
    assert [f for f, _ in fields(cronjob(successfulJobsHistoryLimit=-1))] == [
        "spec.successfulJobsHistoryLimit"
    ]
    job = {"kind": "Job", "metadata": {"name": "j"}, "spec": job_template(backoffLimit=-1)}
    assert [f for f, _ in fields(job)] == ["spec.backoffLimit"]
    job["spec"] = job_template(activeDeadlineSeconds=0)
    assert fields(job) == []  # a Job's deadline may be 0 (validateJobSpec: non-negative)
    job["spec"] = job_template(activeDeadlineSeconds=-1)
    assert [f for f, _ in fields(job)] == ["spec.activeDeadlineSeconds"]
    job["spec"] = job_template()
    job["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    assert fields(job) == [
        (
            "spec.template.spec.restartPolicy",
            'Required value: valid values: "OnFailure", "Never"',
        )
    ]
    job["spec"]["template"]["spec"]["restartPolicy"] = "Sometimes"
    # Refused twice, as the API server does: by the pod spec's rule and by the Job's.
    assert [m for _, m in fields(job)] == [
        'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
        'Unsupported value: "Sometimes": supported values: "OnFailure", "Never"',
    ]
    del job["spec"]["template"]["spec"]["restartPolicy"]  # defaults to Always: refused for a Job
    assert [f for f, _ in fields(job)] == ["spec.template.spec.restartPolicy"]


# --- Secret, ConfigMap, PDB ---------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_tls_secret_needs_both_keys() -> None:
    secret = {
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": "hubble-server-certs", "namespace": "k"},
        "data": {"tls.crt": _b64(b"c"), "tls.key": _b64(b"k"), "ca.crt": _b64(b"a")},
    }
    assert fields(secret) == []
    del secret["data"]["tls.key"]
    assert fields(secret) == [("data[tls.key]", "Required value")]


def test_secret_keys_size_and_base64() -> None:
    limit = rules.MAX_SECRET_SIZE
    secret = {
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "k"},
        "data": {"a": _b64(b"x" * limit)},
    }
    assert fields(secret) == []
    secret["data"]["b"] = _b64(b"y")
    assert fields(secret) == [("data", f"Too long: must have at most {limit} bytes")]
    bad = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"a b": _b64(b"x"), "..c": "!!"}}
    assert [f for f, _ in fields(bad)] == ["data[a b]", "data[..c]", "data[..c]"]
    token = {"kind": "Secret", "type": "kubernetes.io/service-account-token", "metadata": {"name": "t"}}
    assert [f for f, _ in fields(token)] == ["metadata.annotations[kubernetes.io/service-account.name]"]


def test_config_map_keys() -> None:
    cm = {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}, "binaryData": {"k": _b64(b"v")}}
    assert fields(cm) == [("data[k]", 'Invalid value: "k": duplicate of key present in binaryData')]
    assert [f for f, _ in fields({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"..": "v"}})] == [
        "data[..]"
    ]


def test_pod_disruption_budget() -> None:
    pdb = {
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "p", "namespace": "k"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"k8s-app": "cilium-operator"}}},
    }
    assert fields(pdb) == []
    pdb["spec"]["minAvailable"] = 1
    assert next(m for _, m in fields(pdb)).endswith("minAvailable and maxUnavailable cannot be both set")
    del pdb["spec"]["minAvailable"]
    pdb["spec"]["maxUnavailable"] = "101%"
    assert [f for f, _ in fields(pdb)] == ["spec.maxUnavailable"]
    pdb["spec"]["maxUnavailable"] = "100%"
    pdb["spec"]["unhealthyPodEvictionPolicy"] = "Never"
    assert [f for f, _ in fields(pdb)] == ["spec.unhealthyPodEvictionPolicy"]


# --- name helpers at their limits ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "good", "bad"),
    [
        (rules.is_dns1123_label, "a" * 63, "a" * 64),
        (rules.is_dns1123_subdomain, ".".join(["a" * 63] * 3) + "." + "a" * 61, "a" * 254),
        (rules.is_dns1035_label, "a1", "1a"),
        (rules.is_config_map_key, "a" * 253, "a" * 254),
        (rules.is_valid_port_name, "a" * 15, "a" * 16),
        (rules.is_valid_label_value, "a" * 63, "a" * 64),
    ],
)
def test_name_limits(rule: Any, good: str, bad: str) -> None:
    assert rule(good) is None
    assert rule(bad) is not None


def test_violation_line_names_object_field_rule() -> None:
    (violation,) = check(service(externalTrafficPolicy="Local"))
    assert violation.line() == (
        'Service ns/svc: spec.externalTrafficPolicy: Invalid value: "Local": may only be set for '
        "externally-accessible services [core/validation validateServiceExternalTrafficPolicy]"
    )


# --- limits the mutation sample found untested --------------------------------------------------------


def test_http_probe_scheme() -> None:
    path = "spec.template.spec.containers[0].livenessProbe.httpGet.scheme"
    for scheme, bad in (("HTTPS", False), ("HTTP", False), ("TCP", True)):
        probe = {"httpGet": {"port": 1, "scheme": scheme}}
        assert ([f for f, _ in fields(with_container(daemonset(), livenessProbe=probe))] == [path]) is bad


def test_selector_expressions_need_values_for_in_and_not_in() -> None:
    for operator in ("In", "NotIn"):
        expr = {"matchExpressions": [{"key": "k8s-app", "operator": operator}]}
        assert "spec.selector.matchExpressions[0].values" in [f for f, _ in fields(daemonset(selector=expr))]
    exists = {"matchExpressions": [{"key": "k8s-app", "operator": "Exists", "values": ["x"]}]}
    assert "spec.selector.matchExpressions[0].values" in [f for f, _ in fields(daemonset(selector=exists))]
    unknown = {"matchExpressions": [{"key": "k8s-app", "operator": "Near", "values": ["x"]}]}
    assert (
        "spec.selector.matchExpressions[0].operator",
        'Invalid value: "Near": not a valid selector operator',
    ) in (fields(daemonset(selector=unknown)))


def test_config_map_size_limit_on_both_sides() -> None:
    limit = rules.MAX_SECRET_SIZE
    cm = {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "x" * limit}}
    assert fields(cm) == []
    cm["data"]["b"] = "y"
    assert fields(cm) == [("", f"Too long: must have at most {limit} bytes")]


@pytest.mark.parametrize(
    ("text", "amount"), [("1Ti", 2**40), ("1Pi", 2**50), ("1Ei", 2**60), ("2T", 2 * 10**12)]
)
def test_large_quantity_suffixes(text: str, amount: int) -> None:
    assert rules.parse_quantity(text) == amount
