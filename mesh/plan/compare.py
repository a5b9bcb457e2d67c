"""What changes between two offline plans: ``python -m mesh.plan STACK --compare BASE_PLAN.json``.

Compares two plan documents (the ``--json`` contract) and, optionally, two ``--render-dir`` folders:

* resources added, removed, updated or replaced, by type and name (``replaced`` when a changed input is one
  that forces replacement: :mod:`mesh.plan.replacements`), keyed by URN as the Pulumi engine keys them;
* per cluster, the Cilium Helm values that change: dotted key, ``old -> new``, secrets masked;
* per cluster, the unified diff of the rendered manifests.

It reads only plan files, so it needs no credentials: a pull request from a fork can run it. Secret values
print as ``[secret]`` whatever the plans hold (``--show-secrets`` plans included).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mesh.plan.replacements import forces_replacement, replaced_by_dependency
from mesh.plan.steps import CLUSTER_COMPONENT, MESH_COMPONENT, MESH_OWNER

RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"
SECRET_TEXT = "[secret]"
# Cilium values that are secret even in a plan written with --show-secrets (the mesh CA key).
SECRET_VALUE_KEYS = ("tls.ca.key",)
_MAX_SHOWN = 100  # characters of one value in a change line
STACK_OWNER = "stack"


@dataclass(frozen=True)
class ValueChange:
    """One changed leaf: dotted key, old and new value (``None`` = absent)."""

    key: str
    old: Any
    new: Any

    def line(self) -> str:
        return f"{self.key}: {_show(self.old, self.key)} -> {_show(self.new, self.key)}"


@dataclass(frozen=True)
class ResourceChange:
    """A resource that is added, removed, updated or replaced, with the inputs that change."""

    action: str  # "add" | "remove" | "update" | "replace"
    type: str
    name: str
    changes: tuple[ValueChange, ...] = ()
    replace_keys: tuple[str, ...] = ()
    owner: str = STACK_OWNER  # the cluster it belongs to, "mesh", or the stack itself
    urn: str = ""


@dataclass(frozen=True)
class PlanDiff:
    """Everything that differs between a base and a head plan."""

    resources: tuple[ResourceChange, ...] = ()
    cilium: Mapping[str, tuple[ValueChange, ...]] = field(default_factory=dict)
    rendered: Mapping[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.resources or any(self.cilium.values()) or any(self.rendered.values()))

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("add", "update", "replace", "remove"), 0)
        for change in self.resources:
            counts[change.action] += 1
        return counts


def _is_secret(key: str, value: Any) -> bool:
    return value == SECRET_TEXT or any(key == k or key.endswith(f".{k}") for k in SECRET_VALUE_KEYS)


def _show(value: Any, key: str) -> str:
    if value is None:
        return "(absent)"
    if _is_secret(key, value):
        return SECRET_TEXT
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaves of a JSON value by dotted key; list items as ``key[i]`` when they are objects."""
    if isinstance(value, Mapping):
        if not value and prefix:
            return {prefix: {}}
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and any(isinstance(v, (Mapping, list)) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def value_changes(old: Any, new: Any, prefix: str = "") -> tuple[ValueChange, ...]:
    """Changed leaves between two JSON values, in the order of ``new`` then keys only in ``old``."""
    a, b = flatten(old, prefix), flatten(new, prefix)
    keys = [*b, *(k for k in a if k not in b)]
    return tuple(ValueChange(k, a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k))


def _resources(doc: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {r["urn"]: r for r in doc.get("resources") or []}


def _values(resource: Mapping[str, Any]) -> Any:
    return (resource.get("inputs") or {}).get("values") or {}


def _put_release(
    cilium: dict[str, tuple[ValueChange, ...]], resource: Mapping[str, Any], old: Any, new: Any
) -> None:
    """Record one release's value changes under its cluster name (``cluster.name``, else its name)."""
    values = _values(resource)
    name = (values.get("cluster") or {}).get("name") if isinstance(values, Mapping) else None
    key = name if isinstance(name, str) else str(resource.get("name"))
    if key in cilium:  # two releases for one cluster: tell them apart by resource name
        key = f"{key} ({resource.get('name')})"
    cilium[key] = value_changes(old, new)


def _owner(resource: Mapping[str, Any], by_urn: Mapping[str, Mapping[str, Any]]) -> str:
    """The cluster a resource belongs to (its ``cilium-mesh:index:Cluster`` ancestor), ``"mesh"`` for the
    mesh-wide component's, else ``"stack"``."""
    node: Mapping[str, Any] | None = resource
    while node is not None:
        if node.get("type") == CLUSTER_COMPONENT:
            return str(node.get("name"))
        if node.get("type") == MESH_COMPONENT:
            return MESH_OWNER
        node = by_urn.get(node.get("parent") or "")
    return STACK_OWNER


def _cascade(
    changes: list[ResourceChange], old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]]
) -> list[ResourceChange]:
    """Add the replacements that follow from others (:func:`mesh.plan.replacements.replaced_by_dependency`
    and a replaced provider), until nothing more changes."""
    at = {c.urn: i for i, c in enumerate(changes)}
    replaced = {c.urn for c in changes if c.action == "replace"}
    grew = True
    while grew:
        grew = False
        for urn, resource in new.items():
            if urn not in old or urn in replaced:
                continue
            reasons = []
            for prop, deps in (resource.get("propertyDependencies") or {}).items():
                hit = next((d for d in deps if d in replaced), None)
                if hit is not None and replaced_by_dependency(resource["type"], prop):
                    reasons.append(f"{prop} (from replaced {new[hit]['name']})")
            provider = str(resource.get("provider") or "").rpartition("::")[0]
            if provider in replaced:
                reasons.append(f"provider {new[provider]['name']} replaced")
            if not reasons:
                continue
            replaced.add(urn)
            grew = True
            if urn in at:
                prior = changes[at[urn]]
                changes[at[urn]] = replace(
                    prior, action="replace", replace_keys=(*prior.replace_keys, *reasons)
                )
            else:
                owner = _owner(resource, new)
                changes.append(
                    ResourceChange(
                        "replace", resource["type"], resource["name"], (), tuple(reasons), owner, urn
                    )
                )
                at[urn] = len(changes) - 1
    return changes


def _rank(order: Sequence[str]) -> Callable[[str], tuple[int, int, str]]:
    """Sort key of owners: the mesh, then clusters in config ``order``, then others by name."""

    def key(owner: str) -> tuple[int, int, str]:
        if owner == MESH_OWNER:
            return 0, 0, ""
        if owner in order:
            return 1, order.index(owner), ""
        return 2, 0, owner

    return key


def compare_documents(
    base: Mapping[str, Any], head: Mapping[str, Any], cluster_order: Sequence[str] = ()
) -> PlanDiff:
    """Resource and Cilium value changes from ``base`` to ``head`` (plan documents), grouped by owner: the
    mesh, then the clusters in ``cluster_order`` (config order; default none: by name), each in the plans'
    resource order."""
    old, new = _resources(base), _resources(head)
    changes: list[ResourceChange] = []
    cilium: dict[str, tuple[ValueChange, ...]] = {}
    for urn, resource in new.items():
        rtype, name, owner = resource["type"], resource["name"], _owner(resource, new)
        if urn not in old:
            changes.append(ResourceChange("add", rtype, name, owner=owner, urn=urn))
            continue
        diff = value_changes(old[urn].get("inputs") or {}, resource.get("inputs") or {})
        if rtype == RELEASE_TYPE:
            _put_release(cilium, resource, _values(old[urn]), _values(resource))
        if not diff:
            continue
        replace = tuple(dict.fromkeys(c.key for c in diff if forces_replacement(rtype, c.key)))
        action = "replace" if replace else "update"
        changes.append(ResourceChange(action, rtype, name, diff, replace, owner=owner, urn=urn))
    for urn, resource in old.items():
        if urn not in new:
            changes.append(
                ResourceChange(
                    "remove", resource["type"], resource["name"], owner=_owner(resource, old), urn=urn
                )
            )
            if resource["type"] == RELEASE_TYPE:
                _put_release(cilium, resource, _values(resource), {})
    for urn, resource in new.items():
        if urn not in old and resource["type"] == RELEASE_TYPE:
            _put_release(cilium, resource, {}, _values(resource))
    changes = _cascade(changes, old, new)
    rank = _rank(list(cluster_order))
    changes.sort(key=lambda c: rank(c.owner))  # stable: each owner keeps the plans' order
    ordered = {k: cilium[k] for k in sorted(cilium, key=lambda k: rank(k.split(" (")[0]))}
    return PlanDiff(resources=tuple(changes), cilium=ordered)


def _files(root: Path) -> dict[str, Path]:
    return (
        {str(p.relative_to(root)): p for p in sorted(root.rglob("*")) if p.is_file()} if root.is_dir() else {}
    )


def rendered_diffs(base_dir: Path, head_dir: Path) -> dict[str, str]:
    """Per cluster (one ``--render-dir`` folder per release), the unified diff of its rendered files."""
    clusters = sorted({p.name for d in (base_dir, head_dir) if d.is_dir() for p in d.iterdir() if p.is_dir()})
    out: dict[str, str] = {}
    for cluster in clusters:
        a, b = _files(base_dir / cluster), _files(head_dir / cluster)
        chunks: list[str] = []
        for rel in sorted(set(a) | set(b)):
            old = a[rel].read_text().splitlines(keepends=True) if rel in a else []
            new = b[rel].read_text().splitlines(keepends=True) if rel in b else []
            chunks += difflib.unified_diff(
                old,
                new,
                fromfile=f"base/{cluster}/{rel}" if rel in a else "/dev/null",
                tofile=f"head/{cluster}/{rel}" if rel in b else "/dev/null",
            )
        out[cluster] = "".join(c if c.endswith("\n") else c + "\n" for c in chunks)
    return out


def compare(
    base: Mapping[str, Any],
    head: Mapping[str, Any],
    *,
    cluster_order: Sequence[str] = (),
    base_render_dir: Path | None = None,
    head_render_dir: Path | None = None,
) -> PlanDiff:
    """:func:`compare_documents`, plus the rendered-manifest diffs when both folders are given."""
    diff = compare_documents(base, head, cluster_order)
    if base_render_dir is not None and head_render_dir is not None:
        rendered = rendered_diffs(base_render_dir, head_render_dir)
        rank = _rank(list(cluster_order))
        diff = PlanDiff(diff.resources, diff.cilium, {k: rendered[k] for k in sorted(rendered, key=rank)})
    return diff


_HEADINGS = {"add": "+ add", "remove": "- remove", "update": "~ update", "replace": "+- replace"}


def _resource_lines(change: ResourceChange) -> Iterator[str]:
    yield f"    {_HEADINGS[change.action]:<10} {change.type}  {change.name}"
    if change.replace_keys:
        yield f"        replaced because of: {', '.join(change.replace_keys)}"
    if change.type == RELEASE_TYPE:
        others = [c for c in change.changes if not c.key.startswith("values.")]
        shown = others
        n_values = len(change.changes) - len(others)
        if n_values:
            yield f"        values: {n_values} change(s), listed under 'Cilium values' below"
    else:
        shown = list(change.changes)
    for c in shown:
        yield f"        {c.line()}"


def render_text(diff: PlanDiff, *, base_label: str = "base", head_label: str = "head") -> str:
    """A reviewer's text: counts, resource changes, Cilium value changes, rendered-manifest diffs."""
    counts = diff.counts()
    lines = [
        f"Plan changes from {base_label} to {head_label}: "
        + ", ".join(f"{n} to {a}" for a, n in counts.items())
    ]
    if diff.empty:
        lines.append("No changes.")
        return "\n".join(lines)
    if diff.resources:
        lines += ["", "Resources (the mesh, then each cluster in config order)"]
        owner = None
        for change in diff.resources:
            if change.owner != owner:
                owner = change.owner
                lines.append(f"  {owner}")
            lines += _resource_lines(change)
    changed = {c: v for c, v in diff.cilium.items() if v}
    if changed:
        lines += ["", "Cilium values (per cluster; secrets masked)"]
        for cluster, values in changed.items():
            lines.append(f"  {cluster}")
            lines += [f"      {v.line()}" for v in values]
    rendered = {c: d for c, d in diff.rendered.items() if d}
    if rendered:
        lines += ["", "Rendered manifests (per cluster)"]
        for cluster, text in rendered.items():
            lines += [f"  {cluster}", text.rstrip("\n")]
    return "\n".join(lines)


def load_plan(path: Path) -> dict[str, Any]:
    """A plan document from ``path``; ``ValueError`` naming the file when it is not one."""
    try:
        doc = json.loads(path.read_text())
    except OSError as err:
        raise ValueError(f"{path}: cannot read: {err.strerror or err}") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not JSON: {err.msg} at line {err.lineno}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("resources"), list):
        raise ValueError(f"{path}: not a plan document (python -m mesh.plan STACK --json PATH writes one)")
    return doc


def changed_clusters(diff: PlanDiff) -> Sequence[str]:
    """Clusters whose Cilium values or rendered manifests change."""
    return [
        c for c in dict.fromkeys([*diff.cilium, *diff.rendered]) if diff.cilium.get(c) or diff.rendered.get(c)
    ]
