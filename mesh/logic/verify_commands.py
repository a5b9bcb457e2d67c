"""The commands that verify a deployed mesh by hand, exported as a stack output (pure)."""

from __future__ import annotations

from collections.abc import Sequence


def verify_commands(stack: str, cluster_names: Sequence[str], *, demo: bool, region: str = "") -> list[str]:
    """Kubeconfig contexts named after the clusters, then the cilium-cli checks.

    ``cilium clustermesh status --wait`` per cluster (apiserver ready, every agent connected to every
    peer), one ``cilium connectivity test --multi-cluster`` per unordered pair (both directions are
    exercised by the test), and the project's own ``python -m mesh.verify``.
    """
    region_flag = f" --region {region}" if region else ""
    cmds = [f"aws eks update-kubeconfig --name {n} --alias {n}{region_flag}" for n in cluster_names]
    cmds += [f"cilium clustermesh status --context {n} --wait" for n in cluster_names]
    names = list(cluster_names)
    cmds += [
        f"cilium connectivity test --context {a} --multi-cluster {b}"
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    ]
    cmds.append(f"python -m mesh.verify {stack}" + (" --global-service" if demo else ""))
    return cmds
