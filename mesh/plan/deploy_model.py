"""How long a first ``pulumi up`` of a plan takes, modelled on its graph (pure: plan data in, numbers out).

Each resource starts when everything it waits for has finished and takes its typical duration
(:mod:`mesh.plan.deploy_durations`). What a resource waits for under the real engine (pulumi 3.27x SDK,
``runtime/resource.py`` ``prepare_resource``):

- its ``dependencies`` and ``propertyDependencies``: the SDK awaits each input Output and each
  ``depends_on`` URN, and a URN resolves only when the engine has created that resource. A ``depends_on``
  on a local component is expanded to the component's children (``rpc.py`` ``_add_dependency``), so the
  plan already lists them;
- its ``parent``: the SDK awaits the parent's URN, and a local component registers only after its own
  ``depends_on``, so a component's children wait for what the component waits for;
- its ``provider``: the SDK awaits the provider's URN and id (``_create_provider_ref``), and a provider is
  configured only once its inputs (a kubeconfig from a cluster) exist.

URNs that are not in the plan (children hidden inside remote components, the stack) add no wait: the
remote component itself stands for them. Concurrency is unbounded, as ``pulumi up --parallel`` defaults
to (Pulumi CLI docs: "Defaults to unbounded").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mesh.plan.deploy_durations import DURATIONS, TypicalDuration, typical_duration


@dataclass(frozen=True)
class Step:
    """One resource in the modelled deploy: when it starts and finishes, in seconds from the start."""

    urn: str
    type: str
    name: str
    start: float
    finish: float

    @property
    def seconds(self) -> float:
        return self.finish - self.start


@dataclass(frozen=True)
class DeployEstimate:
    """The modelled first deploy of a plan.

    ``critical_path`` holds the resources that take time on the longest chain of waits, in order;
    ``unknown_types`` the types the duration table has no figure for (counted as taking no time).
    """

    critical_path_seconds: float
    critical_path: tuple[Step, ...]
    steps: Mapping[str, Step]
    unknown_types: tuple[str, ...]

    def document(self) -> dict[str, Any]:
        """The plan JSON's ``deploy`` entry."""
        return {
            "criticalPathSeconds": round(self.critical_path_seconds, 1),
            "criticalPath": [s.urn for s in self.critical_path],
        }


def waits_for(resource: Mapping[str, Any]) -> set[str]:
    """URNs ``resource`` waits for: dependencies, property dependencies, parent and provider."""
    urns = set(resource.get("dependencies") or ())
    for deps in (resource.get("propertyDependencies") or {}).values():
        urns.update(deps)
    if resource.get("parent"):
        urns.add(resource["parent"])
    provider = resource.get("provider") or ""
    if provider:
        # A provider reference is "<urn>::<id>".
        urns.add(provider.rsplit("::", 1)[0])
    urns.discard(resource["urn"])
    return urns


def estimate(
    resources: Sequence[Mapping[str, Any]],
    project: str,
    durations: Mapping[str, TypicalDuration] = DURATIONS,
) -> DeployEstimate:
    """Model a first deploy of ``resources`` (the plan JSON's ``resources`` entries).

    Raises ``ValueError`` naming a resource on a dependency cycle (the engine would refuse it too).
    """
    by_urn = {r["urn"]: r for r in resources}
    preds = {urn: sorted(u for u in waits_for(r) if u in by_urn) for urn, r in by_urn.items()}
    unknown: set[str] = set()
    cost: dict[str, float] = {}
    for urn, r in by_urn.items():
        found = typical_duration(r["type"], project, durations)
        if found is None:
            unknown.add(r["type"])
        cost[urn] = found.seconds if found else 0.0

    finish: dict[str, float] = {}
    start: dict[str, float] = {}
    for urn in _topological(by_urn, preds):
        start[urn] = max((finish[p] for p in preds[urn]), default=0.0)
        finish[urn] = start[urn] + cost[urn]

    steps = {
        urn: Step(urn, by_urn[urn]["type"], by_urn[urn].get("name", ""), start[urn], finish[urn])
        for urn in by_urn
    }
    if not steps:
        return DeployEstimate(0.0, (), {}, ())
    # Walk back from the last finish along the predecessor that finishes last (ties: smallest URN).
    last = max(sorted(steps), key=lambda u: finish[u])
    chain: list[Step] = []
    urn: str | None = last
    while urn is not None:
        chain.append(steps[urn])
        latest = max((finish[p] for p in preds[urn]), default=None)
        urn = min((p for p in preds[urn] if finish[p] == latest), default=None)
    path = tuple(s for s in reversed(chain) if s.seconds > 0)
    return DeployEstimate(finish[last], path, steps, tuple(sorted(unknown)))


def _topological(by_urn: Mapping[str, Any], preds: Mapping[str, Iterable[str]]) -> list[str]:
    """URNs with every predecessor first; iterative, so deep chains cannot hit the recursion limit."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    for root in sorted(by_urn):
        if state.get(root) == 2:
            continue
        stack: list[tuple[str, list[str]]] = [(root, list(preds[root]))]
        state[root] = 1
        while stack:
            urn, todo = stack[-1]
            if todo:
                nxt = todo.pop()
                if state.get(nxt) == 1:
                    raise ValueError(f"dependency cycle through {nxt}")
                if state.get(nxt) != 2:
                    state[nxt] = 1
                    stack.append((nxt, list(preds[nxt])))
                continue
            stack.pop()
            state[urn] = 2
            order.append(urn)
    return order
