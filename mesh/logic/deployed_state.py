"""What is deployed, read from the stack's own outputs. Pure: no Pulumi, no I/O.

The program exports, per cluster, under ``clusters.<name>``: ``name``, ``id``, ``podCidr``, ``vpcCidr``,
``ciliumVersion`` (the chart version of the last successful release), ``maxConnectedClusters`` (the value
the chart got: the configured one in a mesh, the chart default 255 without), ``ciliumInstalledMinor``
(the minor first installed: the chart's ``upgradeCompatibility``), ``valuesDigest`` (fingerprint of the
config-derived Cilium values), ``meshPeers``, ``availabilityZones``, ``kubernetesVersion``, ``serviceCidr``,
``podCidrMaskSize`` and ``meshDomain`` (outputs written before a key existed read as None: that rule is
skipped once). The top-level ``stackIdentity`` (``{project, stack}``) says whose outputs they are.

Accepted documents: what ``pulumi stack output --json --show-secrets`` prints (``{"clusters": {...}, ...}``),
an earlier ``python -m mesh.plan --json`` document (its ``outputs``), or ``{}`` (nothing deployed).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from mesh.logic.transitions import DeployedCluster

HIDDEN = "[secret]"


class DeployedStateError(ValueError):
    """The outputs document cannot be read; ``problems`` lists why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("deployed state: " + "; ".join(problems))


def stack_outputs(document: Any) -> Mapping[str, Any]:
    """The stack outputs inside ``document`` (a plan JSON's ``outputs`` or the outputs themselves)."""
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise DeployedStateError([f"expected a JSON object of stack outputs, got {type(document).__name__}"])
    if "resources" in document and isinstance(document.get("outputs"), Mapping):
        return document["outputs"]
    return document


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value and value != HIDDEN else None


def parse_deployed(document: Any) -> dict[str, DeployedCluster]:
    """Clusters recorded in the outputs ``document`` (empty for a first deploy).

    Raises :class:`DeployedStateError` when the outputs exist but cannot be read (e.g. printed without
    ``--show-secrets``).
    """
    outputs = stack_outputs(document)
    clusters = outputs.get("clusters")
    if clusters is None:
        return {}
    if clusters == HIDDEN:
        raise DeployedStateError(
            [
                "outputs.clusters is hidden ('[secret]'): export the outputs with "
                "`pulumi stack output --json --show-secrets`"
            ]
        )
    if not isinstance(clusters, Mapping):
        raise DeployedStateError(
            [f"outputs.clusters must be an object keyed by cluster name, got {clusters!r}"]
        )
    found: dict[str, DeployedCluster] = {}
    problems: list[str] = []
    for key, entry in clusters.items():
        if not isinstance(entry, Mapping):
            problems.append(f"outputs.clusters.{key}: expected an object, got {entry!r}")
            continue
        peers = entry.get("meshPeers")
        azs = entry.get("availabilityZones")
        found[str(key)] = DeployedCluster(
            name=_str(entry.get("name")) or str(key),
            id=_int(entry.get("id")),
            pod_cidr=_str(entry.get("podCidr")),
            vpc_cidr=_str(entry.get("vpcCidr")),
            chart_version=_str(entry.get("ciliumVersion")),
            max_connected_clusters=_int(entry.get("maxConnectedClusters")),
            installed_minor=_str(entry.get("ciliumInstalledMinor")),
            values_digest=_str(entry.get("valuesDigest")),
            mesh_peers=tuple(str(p) for p in peers) if isinstance(peers, list) else None,
            availability_zones=tuple(str(a) for a in azs) if isinstance(azs, list) else None,
            kubernetes_version=_str(entry.get("kubernetesVersion")),
            service_cidr=_str(entry.get("serviceCidr")),
            pod_cidr_mask_size=_int(entry.get("podCidrMaskSize")),
            mesh_domain=_str(entry.get("meshDomain")),
        )
    if problems:
        raise DeployedStateError(problems)
    return found


def identity_problem(document: Any, project: str, stack: str) -> str | None:
    """Why `document` is not this stack's own outputs (another project's or stack's), or None.

    Outputs written before ``stackIdentity`` existed cannot say; they pass (the program adds it on the
    next `up`). Planning against another stack's outputs would read as "destroy every cluster".
    """
    identity = stack_outputs(document).get("stackIdentity")
    if not isinstance(identity, Mapping):
        return None
    theirs = (identity.get("project"), identity.get("stack"))
    if theirs != (project, stack):
        return (
            f"the deployed outputs are those of {theirs[0]}/{theirs[1]}, not of {project}/{stack}: pass this "
            "stack's own outputs (`pulumi stack output --json --show-secrets` of this stack)"
        )
    return None


def values_digest(config_values: Mapping[str, Any]) -> str:
    """A short, stable fingerprint of the config-derived inputs of one cluster's Cilium values."""
    text = json.dumps(config_values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
