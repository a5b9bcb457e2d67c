"""Every difference between Cilium Helm chart versions that the values builder must know about.

`mesh.cilium_values.build_values` produces *canonical* values: the value layout shared by the
1.16, 1.17 and 1.18 charts. `adapt_values` turns them into the values for one chart version.
Nothing else in the project branches on the chart version.

What was compared (values.yaml, values.schema.json and templates/validate.yaml of the charts
1.16.3, 1.16.19, 1.17.18 and 1.18.12, plus upstream pull requests for later lines):

* Identical in 1.16.3 - 1.18.12 for every key the builder sets: `cluster.*`, `eni.enabled`,
  `routingMode`, `tunnelProtocol`, `ipam.*`, `k8sServiceHost/Port`, `operator.replicas`,
  `encryption.*`, `etcd.*`, `tls.ca.*`, `clustermesh.config.clusters[{name, address, port}]`,
  `clustermesh.apiserver.{replicas,service.type,tls.*,kvstoremesh.enabled}`,
  `clustermesh.maxConnectedClusters` (255 or 511), `clustermesh.enableEndpointSliceSynchronization`
  (present everywhere, not used here).
* `kubeProxyReplacement`: 1.16/1.17 have no schema entry (commented out in values.yaml), 1.18 declares
  `[string, boolean]`; every chart >= 1.15 accepts only "true"/"false" (1.14's "strict"/"partial"
  fail the render), so the canonical boolean `True` is valid everywhere we support.
* `enableIPv4Masquerade`: default `true` in 1.16/1.17, `null` (derived: off in ENI mode) in 1.18.
  The builder always sets it explicitly, so no adaptation is needed.
* `tls.ca`: the shared CA lives at top-level `tls.ca` since 1.15; `clustermesh.apiserver.tls.ca`
  fails the render ("removed in v1.15").
* 1.18 validate.yaml allows `clustermesh.useAPIServer=true` with `identityAllocationMode=kvstore`
  when KVStoreMesh is on (cilium#39523); 1.16/1.17 reject it. The builder rejects kvstore + mesh
  for every version, so this only matters for tests that probe the chart.
* 1.18 adds `clustermesh.apiserver.kvstoremesh.kvstoreMode` (default "internal") and deprecates
  `clustermesh.apiserver.kvstoremesh.enabled`; 1.19 removes the option and always runs KVStoreMesh
  with the clustermesh-apiserver (cilium#39785). `adapt_values` drops the key for >= 1.19.
* Agents reach the local KVStoreMesh with `clustermesh-apiserver-remote-cert` in 1.16.3 and with
  `clustermesh-apiserver-local-cert` in 1.16.19+ (cilium#33137, backported). Both are generated from
  the shared CA by the chart, so nothing to adapt; tests derive the mapping from the rendered pods.
* Every line 1.16.3 - 1.20.0 renders `clustermesh.apiserver.service.externalTrafficPolicy` whenever the value
  is set, whatever the Service type, and values.yaml sets it to `Cluster`. On the ClusterIP Service the
  builder asks for, the API server refuses that: "may only be set for externally-accessible services"
  (Kubernetes validation.go `validateServiceExternalTrafficPolicy`; the same class as cilium#34028), and the
  atomic release rolls back. `adapt_values` deletes the default (`None`, Helm's "delete a default key")
  whenever the Service is not NodePort/LoadBalancer; mesh/logic/helm_values.py carries the null to Helm.
* `clustermesh.policyDefaultLocalCluster` defaults to `false` up to 1.18 and `true` from 1.19 (values.yaml of
  1.18.12 and 1.19.6; rendered as `policy-default-local-cluster` in cilium-config). The chart's own
  `upgradeCompatibility` does not cover it, so a 1.18 -> 1.19 upgrade would silently narrow every policy that
  names no cluster to local endpoints. `adapt_values` keeps the behaviour the cluster was installed with:
  with `upgradeCompatibility` below 1.19 on a chart >= 1.19 it sends `false` (see
  `policy_default_local_cluster_note` for what an operator does to adopt the new default).
* The other defaults 1.19.6's values.yaml changes from 1.18.12 (image digests aside), each decided:
  `clustermesh.apiserver.tls.authMode` legacy -> migration: kept, it is the chart's documented
  no-disruption step ("enables the creation of the per-cluster usernames, while still using the common one
  for authentication"), so 1.18 and 1.19 clusters keep authenticating each other during a rollout;
  `authentication.enabled` true -> false (mutual authentication): no policy of this program requires it;
  `certgen.ttlSecondsAfterFinished` 1800 -> null: the 1.19 certgen Job is named by a checksum and kept.
  Removed keys (`clustermesh.apiserver.tls.client.{cert,key}`, `nodePort.enabled`, `svcSourceRangeCheck`,
  `customCalls.enabled`, `l2podAnnouncements.interface`) are not sent by the builder.
* Charts older than 1.16 are rejected: `kubeProxyReplacement`, `tls.ca` and the name rules differ.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MIN_SUPPORTED_MINOR = (1, 16)
"""Oldest chart line the builder supports (the runbook's line)."""

CERT_RENEWAL_SCHEDULE = "0 0 1 */4 *"
"""When the certgen CronJob re-issues the mesh certificates: midnight on the first day of every fourth month
(values.yaml's example for `clustermesh.apiserver.tls.auto.schedule`), far inside their 1095-day validity."""

_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$")


@dataclass(frozen=True, order=True)
class ChartVersion:
    """A Cilium chart version such as ``1.18.12`` (a leading ``v`` and pre-release suffix are accepted)."""

    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> ChartVersion:
        match = _VERSION_RE.match(text.strip())
        if match is None:
            raise ValueError(f"chart version {text!r} is not of the form MAJOR.MINOR.PATCH (e.g. 1.18.12)")
        major, minor, patch = (int(part) for part in match.groups())
        return cls(major, minor, patch)

    @property
    def line(self) -> str:
        """The release line, e.g. ``"1.18"``."""
        return f"{self.major}.{self.minor}"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


@dataclass(frozen=True)
class ChartCapabilities:
    """What one chart version accepts, as far as the values builder is concerned."""

    version: ChartVersion
    kvstoremesh_toggle: bool
    """`clustermesh.apiserver.kvstoremesh.enabled` exists (1.16-1.18). From 1.19 KVStoreMesh always runs."""
    kvstoremesh_toggle_deprecated: bool
    """1.18 deprecates `kvstoremesh.enabled` (values.yaml: "deprecated - KVStoreMesh will always be enabled
    once the option is removed"; default true): sent only to turn KVStoreMesh off."""
    certgen_job_waitable: bool
    """The ``cronJob`` TLS method works under a waiting Helm release (1.19+). In 1.16-1.18 the one-shot
    certgen Job is a ``post-install`` hook: Helm runs it only after ``--wait``, which never ends because
    the clustermesh-apiserver needs the certificate the Job creates (cilium#42045, fixed in 1.19 by
    cilium#42298: a plain Job named by a checksum of its spec)."""
    kvstore_identity_with_apiserver: bool
    """Chart accepts `useAPIServer=true` + `identityAllocationMode=kvstore` if KVStoreMesh runs (1.18+)."""
    policy_default_local_cluster: bool
    """The chart's default of `clustermesh.policyDefaultLocalCluster` (false up to 1.18, true from 1.19)."""


def capabilities(version: str) -> ChartCapabilities:
    """Capabilities of the chart `version`; raises ValueError for charts older than 1.16."""
    parsed = ChartVersion.parse(version)
    if (parsed.major, parsed.minor) < MIN_SUPPORTED_MINOR:
        minimum = ".".join(str(part) for part in MIN_SUPPORTED_MINOR)
        raise ValueError(
            f"Cilium chart {parsed} is not supported: the values builder targets charts >= {minimum} "
            "(older charts use other kubeProxyReplacement values and CA settings)"
        )
    line = (parsed.major, parsed.minor)
    return ChartCapabilities(
        version=parsed,
        kvstoremesh_toggle=line < (1, 19),
        kvstoremesh_toggle_deprecated=line == (1, 18),
        certgen_job_waitable=line >= (1, 19),
        kvstore_identity_with_apiserver=line >= (1, 18),
        policy_default_local_cluster=line >= (1, 19),
    )


POLICY_DEFAULT_LOCAL_CLUSTER_SINCE = (1, 19)


def _minor_tuple(text: Any) -> tuple[int, int] | None:
    parts = str(text).split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        return None
    return int(parts[0]), int(parts[1])


def keeps_policy_default(version: str, upgrade_compatibility: str | None) -> bool:
    """Whether a cluster first installed on `upgrade_compatibility` keeps `policyDefaultLocalCluster: false`
    on chart `version` (installed before 1.19, now on 1.19 or later)."""
    installed = _minor_tuple(upgrade_compatibility) if upgrade_compatibility else None
    return (
        capabilities(version).policy_default_local_cluster
        and installed is not None
        and installed < POLICY_DEFAULT_LOCAL_CLUSTER_SINCE
    )


def policy_default_local_cluster_note(
    name: str, version: str, upgrade_compatibility: str | None
) -> str | None:
    """What the plan tells an operator when a cluster keeps the pre-1.19 policy default."""
    if not keeps_policy_default(version, upgrade_compatibility):
        return None
    return (
        f"{name}: keeps clustermesh.policyDefaultLocalCluster=false (installed on {upgrade_compatibility}; "
        f"Cilium {version} defaults to true, which would make policies that name no cluster select local "
        "endpoints only). To adopt it: add io.cilium.k8s.policy.cluster to every policy that must reach "
        "other clusters, then set it in values once all clusters run 1.19"
    )


def adapt_values(values: Mapping[str, Any], version: str) -> dict[str, Any]:
    """Return a deep copy of canonical `values` adjusted for chart `version`.

    Raises ValueError when the values ask for something the chart can no longer do
    (e.g. KVStoreMesh disabled on a chart that always runs it).
    """
    caps = capabilities(version)
    adapted = copy.deepcopy(dict(values))
    apiserver = adapted.get("clustermesh", {}).get("apiserver", {})
    kvstoremesh = apiserver.get("kvstoremesh")
    if (
        caps.kvstoremesh_toggle_deprecated
        and isinstance(kvstoremesh, dict)
        and kvstoremesh.get("enabled") is True
    ):
        # 1.18: true is the default of a deprecated option; send it only when it changes something.
        del kvstoremesh["enabled"]
        if not kvstoremesh:
            del apiserver["kvstoremesh"]
    auto = apiserver.get("tls", {}).get("auto")
    if caps.certgen_job_waitable and isinstance(auto, dict) and auto.get("method") == "helm":
        # Certificates that renew: the chart's CronJob re-issues them from the `cilium-ca` Secret (the
        # shared tls.ca) on a schedule, as cilium-cli configures it; the `helm` method mints them only when
        # Helm renders, so a quiet mesh would expire after certValidityDuration (1095 days).
        auto.update(method="cronJob", schedule=CERT_RENEWAL_SCHEDULE)
    if not caps.kvstoremesh_toggle and isinstance(kvstoremesh, dict) and "enabled" in kvstoremesh:
        if kvstoremesh["enabled"] is not True:
            raise ValueError(
                f"Cilium chart {caps.version} always runs KVStoreMesh with the clustermesh-apiserver; "
                "kvstoremesh=False is only possible on charts 1.16-1.18"
            )
        # The option was removed in 1.19; leaving it would be dead configuration.
        del kvstoremesh["enabled"]
        if not kvstoremesh:
            del apiserver["kvstoremesh"]
    clustermesh = adapted.get("clustermesh")
    if (
        isinstance(clustermesh, dict)
        and "policyDefaultLocalCluster" not in clustermesh
        and keeps_policy_default(version, adapted.get("upgradeCompatibility"))
    ):
        # The behaviour the cluster was installed with (false up to 1.18), not the 1.19 chart's default.
        clustermesh["policyDefaultLocalCluster"] = False
    service = apiserver.get("service")
    if isinstance(service, dict) and service.get("type") not in EXTERNALLY_ACCESSIBLE_SERVICE_TYPES:
        # The chart default (externalTrafficPolicy: Cluster) is refused on a ClusterIP Service.
        service.setdefault("externalTrafficPolicy", None)
    return adapted


EXTERNALLY_ACCESSIBLE_SERVICE_TYPES = ("NodePort", "LoadBalancer")
"""Service types on which the API server accepts `externalTrafficPolicy` (validation.go)."""
