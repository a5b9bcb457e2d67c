"""Tests for mesh.demo: the global-service demo manifests, the cluster-aware policy, the MeshDemo wiring."""

from __future__ import annotations

import json
from typing import Any

import kubernetes_validate
import pulumi
import pulumi_kubernetes as k8s
import pytest

from mesh.components.demo import MeshDemo, MeshDemoArgs, cilium_policy, demo_manifests


def _by_kind_name(objs: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objs}


def _containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    return deployment["spec"]["template"]["spec"]["containers"]


def test_service_is_global_and_shared_on_port_80() -> None:
    service = _by_kind_name(demo_manifests("east"))[("Service", "rebel-base")]
    assert service["metadata"]["annotations"] == {
        "service.cilium.io/global": "true",
        "service.cilium.io/shared": "true",
    }
    assert service["metadata"]["namespace"] == "mesh-demo"
    assert service["spec"]["selector"] == {"name": "rebel-base"}
    ports = [(p["port"], p["targetPort"], p["protocol"]) for p in service["spec"]["ports"]]
    assert ports == [(80, 80, "TCP")]


@pytest.mark.parametrize("cluster", ["bb-apps-devstg-eks-training", "bb-apps-devstg-eks-demoapps"])
def test_reply_names_the_exact_cluster(cluster: str) -> None:
    config_map = _by_kind_name(demo_manifests(cluster))[("ConfigMap", "rebel-base-response")]
    message = config_map["data"]["message"]
    assert message.endswith("\n")
    assert json.loads(message) == {"Galaxy": "Alderaan", "Cluster": cluster}


def test_rebel_base_serves_the_configmap_as_nginx_index_on_80() -> None:
    objs = _by_kind_name(demo_manifests("east", namespace="demo-ns"))
    deployment = objs[("Deployment", "rebel-base")]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = _containers(deployment)
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["selector"]["matchLabels"] == {"name": "rebel-base"}
    assert container["image"] == "docker.io/nginx:1.15.8"
    assert container["ports"][0]["containerPort"] == 80
    assert container["readinessProbe"]["httpGet"]["port"] == 80
    (mount,) = container["volumeMounts"]
    (volume,) = pod["volumes"]
    assert (mount["name"], mount["mountPath"]) == (volume["name"], "/usr/share/nginx/html/")
    assert volume["configMap"] == {
        "name": "rebel-base-response",
        "items": [{"key": "message", "path": "index.html"}],
    }
    # Every namespaced object lands in the requested namespace, which is created first.
    assert next(iter(objs)) == ("Namespace", "demo-ns")
    assert {o["metadata"].get("namespace") for k, o in objs.items() if k[0] != "Namespace"} == {"demo-ns"}


def test_x_wing_is_the_upstream_curl_client() -> None:
    deployment = _by_kind_name(demo_manifests("east"))[("Deployment", "x-wing")]
    (container,) = _containers(deployment)
    assert deployment["spec"]["template"]["metadata"]["labels"] == {"name": "x-wing"}
    assert container["image"].startswith("quay.io/cilium/json-mock:v1.3.3@sha256:")
    assert container["readinessProbe"]["exec"]["command"][0] == "curl"


@pytest.mark.parametrize("cluster", ["east", "bb-apps-devstg-eks-demoapps"])
def test_every_builtin_manifest_passes_the_kubernetes_1_31_schema(cluster: str) -> None:
    objs = demo_manifests(cluster)
    assert [o["kind"] for o in objs] == ["Namespace", "ConfigMap", "Deployment", "Service", "Deployment"]
    for obj in objs:
        # strict: an unknown or misspelt field fails instead of being silently dropped by the API server.
        assert kubernetes_validate.validate(obj, "1.31", strict=True) == "1.31"


def test_policy_admits_x_wing_of_exactly_the_mesh_clusters_on_tcp_80() -> None:
    policy = cilium_policy("east", "mesh-demo", ("west", "south"))
    assert (policy["apiVersion"], policy["kind"]) == ("cilium.io/v2", "CiliumNetworkPolicy")
    assert policy["metadata"]["namespace"] == "mesh-demo"
    spec = policy["spec"]
    assert spec["endpointSelector"] == {"matchLabels": {"name": "rebel-base"}}
    (rule,) = spec["ingress"]
    assert rule["toPorts"] == [{"ports": [{"port": "80", "protocol": "TCP"}]}]
    labels = [sel["matchLabels"] for sel in rule["fromEndpoints"]]
    assert [sel["io.cilium.k8s.policy.cluster"] for sel in labels] == ["east", "west", "south"]
    assert {sel["name"] for sel in labels} == {"x-wing"}
    assert {sel["k8s:io.kubernetes.pod.namespace"] for sel in labels} == {"mesh-demo"}


def test_policy_names_each_cluster_once() -> None:
    policy = cilium_policy("west", "other-ns", ("east", "west", "east"))
    selectors = policy["spec"]["ingress"][0]["fromEndpoints"]
    assert [s["matchLabels"]["io.cilium.k8s.policy.cluster"] for s in selectors] == ["west", "east"]
    assert {s["matchLabels"]["k8s:io.kubernetes.pod.namespace"] for s in selectors} == {"other-ns"}


def test_invalid_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="cluster name 'East Cluster' is not a valid Kubernetes label value"):
        demo_manifests("East Cluster")
    with pytest.raises(ValueError, match="namespace 'Mesh_Demo' is not a valid DNS-1123 label"):
        cilium_policy("east", "Mesh_Demo", ())
    with pytest.raises(ValueError, match="cluster name '' is not a valid"):
        cilium_policy("east", "mesh-demo", ("",))


class _RecordingMocks(pulumi.runtime.Mocks):
    """Echo inputs as outputs and remember what each resource sent."""

    def __init__(self) -> None:
        self.resources: dict[str, pulumi.runtime.MockResourceArgs] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.resources[args.name] = args
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def test_mesh_demo_registers_global_service_and_cluster_aware_policy() -> None:
    mocks = _RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="cilium-mesh", stack="test", preview=False)
    seen: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        provider = k8s.Provider("east-k8s", kubeconfig="{}")
        cilium = pulumi.ComponentResource("test:index:CiliumStandIn", "east-cilium")
        demo = MeshDemo(
            "east-demo",
            MeshDemoArgs(
                cluster_name="east",
                peer_cluster_names=("west",),
                provider=provider,
                depends_on=(cilium,),
            ),
        )
        children = (demo.namespace, demo.config_map, demo.rebel_base, demo.service, demo.x_wing, demo.policy)
        # Wait for every child's registration, then keep the Service's resolved annotations.
        return pulumi.Output.all(demo.service.metadata.annotations, *(c.urn for c in children)).apply(
            lambda values: seen.update(annotations=values[0])
        )

    program()

    assert seen["annotations"] == {"service.cilium.io/global": "true", "service.cilium.io/shared": "true"}
    # What the Kubernetes provider receives for the policy. (The hand-written CustomResource class does not
    # map the ``apiVersion`` output back to ``.api_version``, so the recorded inputs are the reliable view.)
    policy = mocks.resources["east-demo-policy"]
    assert policy.typ == "kubernetes:cilium.io/v2:CiliumNetworkPolicy"
    assert (policy.inputs["apiVersion"], policy.inputs["kind"]) == ("cilium.io/v2", "CiliumNetworkPolicy")
    clusters = [
        s["matchLabels"]["io.cilium.k8s.policy.cluster"]
        for s in policy.inputs["spec"]["ingress"][0]["fromEndpoints"]
    ]
    assert clusters == ["east", "west"]
    config_map = mocks.resources["east-demo-rebel-base-response"]
    assert json.loads(config_map.inputs["data"]["message"])["Cluster"] == "east"
    # Every child goes to this cluster's API server (provider reference "<urn>::<id>"), not a default one.
    children = {name: r for name, r in mocks.resources.items() if name.startswith("east-demo-")}
    assert sorted(children) == [
        "east-demo-namespace",
        "east-demo-policy",
        "east-demo-rebel-base",
        "east-demo-rebel-base-response",
        "east-demo-rebel-base-service",
        "east-demo-x-wing",
    ]
    assert {r.provider.split("::")[3] for r in children.values() if r.provider} == {"east-k8s"}
    assert all(r.provider for r in children.values())
