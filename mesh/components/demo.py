"""The optional Cluster Mesh demo: Cilium's "Load-balancing with Global Services" example in every cluster.

Upstream: ``examples/kubernetes/clustermesh/global-service-example/cluster{1,2}.yaml`` in cilium/cilium and
the docs pages "Load-balancing & Service Discovery" and "Network Policy" (Cluster Mesh). Each cluster runs

* ``rebel-base``: nginx serving ``{"Galaxy": "Alderaan", "Cluster": "<cluster name>"}`` from a ConfigMap,
  behind a Service annotated ``service.cilium.io/global: "true"`` (and ``shared: "true"``), so the same
  Service name in every cluster load-balances across the backends of all clusters;
* ``x-wing``: a client with curl (``kubectl exec deploy/x-wing -- curl rebel-base``);
* a ``CiliumNetworkPolicy`` that admits TCP/80 into rebel-base only from x-wing pods of the named mesh
  clusters, selected with the ``io.cilium.k8s.policy.cluster`` label (cluster-aware policy).

The manifests are plain dicts built by pure functions (:func:`demo_manifests`, :func:`cilium_policy`);
:class:`MeshDemo` only feeds them to typed pulumi_kubernetes resources.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

DEFAULT_NAMESPACE = "mesh-demo"
GLOBAL_SERVICE_NAME = "rebel-base"
RESPONSE_CONFIGMAP_NAME = "rebel-base-response"
CLIENT_NAME = "x-wing"
POLICY_NAME = "rebel-base-from-x-wing"
SERVICE_PORT = 80
REPLICAS = 2
# Images exactly as in the upstream example (the x-wing image is pinned by digest upstream too).
REBEL_BASE_IMAGE = "docker.io/nginx:1.15.8"
X_WING_IMAGE = (
    "quay.io/cilium/json-mock:v1.3.3@sha256:f26044a2b8085fcaa8146b6b8bb73556134d7ec3d5782c6a04a058c945924ca0"
)
GLOBAL_SERVICE_ANNOTATIONS = {
    "service.cilium.io/global": "true",
    # Cilium's default, stated so a reader sees that local backends are offered to the other clusters.
    "service.cilium.io/shared": "true",
}
# Label Cilium gives every endpoint: the cluster it runs in (its ``cluster.name``).
CLUSTER_LABEL = "io.cilium.k8s.policy.cluster"
# A namespaced CiliumNetworkPolicy silently adds this label (= the policy's namespace) to selectors that
# lack it; we set it explicitly so the selector reads the same as what Cilium enforces.
NAMESPACE_LABEL = "k8s:io.kubernetes.pod.namespace"
PART_OF = {"app.kubernetes.io/part-of": "cilium-mesh-demo"}

# Kubernetes label value (the cluster name is matched as one) and DNS-1123 label (a namespace name).
_LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _check_cluster_name(cluster_name: str) -> str:
    if not cluster_name or len(cluster_name) > 63 or not _LABEL_VALUE_RE.match(cluster_name):
        raise ValueError(f"cluster name {cluster_name!r} is not a valid Kubernetes label value")
    return cluster_name


def _check_namespace(namespace: str) -> str:
    if len(namespace) > 63 or not _DNS_LABEL_RE.match(namespace):
        raise ValueError(f"namespace {namespace!r} is not a valid DNS-1123 label")
    return namespace


def _metadata(name: str, namespace: str | None, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(PART_OF)}
    if namespace is not None:
        meta["namespace"] = namespace
    meta.update(extra)
    return meta


def response_message(cluster_name: str) -> str:
    """rebel-base's reply body, e.g. ``{"Galaxy": "Alderaan", "Cluster": "east"}`` plus a newline.

    The verify command tells clusters apart by ``Cluster``, so it is the exact cluster name.
    """
    return json.dumps({"Galaxy": "Alderaan", "Cluster": _check_cluster_name(cluster_name)}) + "\n"


def _http_probe() -> dict[str, Any]:
    return {"httpGet": {"path": "/", "port": SERVICE_PORT}}


def _curl_probe() -> dict[str, Any]:
    return {"exec": {"command": ["curl", "-sS", "-o", "/dev/null", "localhost"]}}


def _deployment(name: str, namespace: str, container: dict[str, Any], **pod_spec: Any) -> dict[str, Any]:
    # Pods carry only the upstream ``name`` label: it is what the Service and the policy select on.
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(name, namespace),
        "spec": {
            "replicas": REPLICAS,
            "selector": {"matchLabels": {"name": name}},
            "template": {
                "metadata": {"labels": {"name": name}},
                "spec": {"containers": [container], **pod_spec},
            },
        },
    }


def demo_manifests(cluster_name: str, namespace: str = DEFAULT_NAMESPACE) -> list[dict[str, Any]]:
    """The built-in-kind objects for one cluster, in apply order: Namespace, ConfigMap
    ``rebel-base-response``, Deployment ``rebel-base``, Service ``rebel-base`` (global, port 80), Deployment
    ``x-wing``.

    Default namespace: ``mesh-demo``. A global service must have the same name and namespace in every
    cluster, so use the same ``namespace`` everywhere.
    """
    _check_namespace(namespace)
    rebel_base = {
        "name": GLOBAL_SERVICE_NAME,
        "image": REBEL_BASE_IMAGE,
        "ports": [{"name": "http", "containerPort": SERVICE_PORT, "protocol": "TCP"}],
        # nginx's default site serves this directory: the ConfigMap's ``message`` becomes index.html.
        "volumeMounts": [{"name": "html", "mountPath": "/usr/share/nginx/html/"}],
        "livenessProbe": {**_http_probe(), "periodSeconds": 1},
        "readinessProbe": _http_probe(),
    }
    html_volume = {
        "name": "html",
        "configMap": {
            "name": RESPONSE_CONFIGMAP_NAME,
            "items": [{"key": "message", "path": "index.html"}],
        },
    }
    x_wing = {
        "name": f"{CLIENT_NAME}-container",
        "image": X_WING_IMAGE,
        "livenessProbe": _curl_probe(),
        "readinessProbe": _curl_probe(),
    }
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": _metadata(namespace, None)},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _metadata(RESPONSE_CONFIGMAP_NAME, namespace),
            "data": {"message": response_message(cluster_name)},
        },
        _deployment(GLOBAL_SERVICE_NAME, namespace, rebel_base, volumes=[html_volume]),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _metadata(
                GLOBAL_SERVICE_NAME, namespace, annotations=dict(GLOBAL_SERVICE_ANNOTATIONS)
            ),
            "spec": {
                "type": "ClusterIP",
                "selector": {"name": GLOBAL_SERVICE_NAME},
                "ports": [
                    {"name": "http", "port": SERVICE_PORT, "targetPort": SERVICE_PORT, "protocol": "TCP"}
                ],
            },
        },
        _deployment(CLIENT_NAME, namespace, x_wing),
    ]


def mesh_cluster_names(cluster_name: str, peer_cluster_names: Iterable[str]) -> tuple[str, ...]:
    """The cluster itself first, then its peers in the given order, without duplicates."""
    names = [_check_cluster_name(cluster_name)]
    for peer in peer_cluster_names:
        if _check_cluster_name(peer) not in names:
            names.append(peer)
    return tuple(names)


def cilium_policy(
    cluster_name: str, namespace: str = DEFAULT_NAMESPACE, peer_cluster_names: Sequence[str] = ()
) -> dict[str, Any]:
    """A ``cilium.io/v2`` CiliumNetworkPolicy ``rebel-base-from-x-wing`` in ``namespace``.

    It selects rebel-base and allows ingress on TCP/80 only from x-wing pods of ``cluster_name`` and
    ``peer_cluster_names``: one ``fromEndpoints`` selector per cluster, keyed by
    ``io.cilium.k8s.policy.cluster``.
    Naming every cluster keeps the meaning independent of Cilium's ``policy-default-local-cluster`` setting
    (all clusters up to 1.18, local only later). Everything else into rebel-base (other pods, x-wing of
    a cluster not listed) is dropped; kubelet probes from the node still pass (Cilium allows local host).
    """
    _check_namespace(namespace)
    selectors = [
        {"matchLabels": {"name": CLIENT_NAME, CLUSTER_LABEL: name, NAMESPACE_LABEL: namespace}}
        for name in mesh_cluster_names(cluster_name, peer_cluster_names)
    ]
    return {
        "apiVersion": "cilium.io/v2",
        "kind": "CiliumNetworkPolicy",
        "metadata": _metadata(POLICY_NAME, namespace),
        "spec": {
            "description": "Allow x-wing pods of the mesh clusters to reach rebel-base on TCP/80 only",
            "endpointSelector": {"matchLabels": {"name": GLOBAL_SERVICE_NAME}},
            "ingress": [
                {
                    "fromEndpoints": selectors,
                    # The CRD types ports as strings.
                    "toPorts": [{"ports": [{"port": str(SERVICE_PORT), "protocol": "TCP"}]}],
                }
            ],
        },
    }


@dataclass(frozen=True)
class MeshDemoArgs:
    """Inputs of :class:`MeshDemo`. ``depends_on``: the Cilium release (its operator registers the
    CiliumNetworkPolicy CRD, and pods need a running agent). Default namespace: ``mesh-demo``."""

    cluster_name: str
    peer_cluster_names: tuple[str, ...]
    provider: k8s.Provider
    depends_on: tuple[pulumi.Resource, ...]
    namespace: str = DEFAULT_NAMESPACE


class MeshDemo(pulumi.ComponentResource):
    """The demo in one cluster. Children: ``<name>-namespace``, ``<name>-rebel-base-response``,
    ``<name>-rebel-base``, ``<name>-rebel-base-service``, ``<name>-x-wing``, ``<name>-policy``."""

    def __init__(self, name: str, args: MeshDemoArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("cilium-mesh:mesh:MeshDemo", name, None, opts)
        ns_obj, config_map, rebel_base, service, x_wing = demo_manifests(args.cluster_name, args.namespace)
        policy = cilium_policy(args.cluster_name, args.namespace, args.peer_cluster_names)

        def options(*after: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(
                parent=self, provider=args.provider, depends_on=[*args.depends_on, *after]
            )

        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata=ns_obj["metadata"], opts=options()
        )
        # Namespaced objects name their namespace by a plain string: the dependency must be explicit.
        self.config_map = k8s.core.v1.ConfigMap(
            f"{name}-{RESPONSE_CONFIGMAP_NAME}",
            metadata=config_map["metadata"],
            data=config_map["data"],
            opts=options(self.namespace),
        )
        # After the ConfigMap: its pods cannot start (nor the rollout finish) without the mounted volume.
        self.rebel_base = k8s.apps.v1.Deployment(
            f"{name}-{GLOBAL_SERVICE_NAME}",
            metadata=rebel_base["metadata"],
            spec=rebel_base["spec"],
            opts=options(self.namespace, self.config_map),
        )
        self.service = k8s.core.v1.Service(
            f"{name}-{GLOBAL_SERVICE_NAME}-service",
            metadata=service["metadata"],
            spec=service["spec"],
            opts=options(self.namespace),
        )
        self.x_wing = k8s.apps.v1.Deployment(
            f"{name}-{CLIENT_NAME}",
            metadata=x_wing["metadata"],
            spec=x_wing["spec"],
            opts=options(self.namespace),
        )
        self.policy = k8s.apiextensions.CustomResource(
            f"{name}-policy",
            api_version=policy["apiVersion"],
            kind=policy["kind"],
            metadata=policy["metadata"],
            spec=policy["spec"],
            opts=options(self.namespace),
        )
        self.register_outputs(
            {
                "namespace": args.namespace,
                "globalService": GLOBAL_SERVICE_NAME,
                "client": CLIENT_NAME,
                "policy": POLICY_NAME,
                "allowedClusters": list(mesh_cluster_names(args.cluster_name, args.peer_cluster_names)),
            }
        )
