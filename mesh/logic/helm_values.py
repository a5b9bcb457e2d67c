"""Helm values that delete a chart default, carried through Pulumi (pure, no Pulumi imports).

Helm deletes a chart default when the user's values set the key to ``null`` ("Deleting a default key",
helm.sh/docs/chart_template_guide/values_files; ``chartutil.CoalesceValues``). The values builder marks such
keys with ``None``. Pulumi's Python SDK drops ``None`` map entries before they reach the provider
(pulumi/pulumi#12178), so an inline ``None`` would silently keep the default; the Kubernetes provider
keeps the nulls of ``valueYamlFiles`` since pulumi-kubernetes 4.30 (pulumi-kubernetes#4293, #4306). So a
release sends the deletions as a YAML values file and everything else as ``values``; the provider merges
the file first and ``values`` over it (Helm's ``mergeMaps``), exactly as :func:`merge_values` does for the
offline render.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import yaml


def split_deletions(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(kept, deletions)``: `values` without its ``None`` leaves, and a tree of only those leaves.

    Maps left empty by the split are dropped from `kept`; leaves other than maps are not copied (a Pulumi
    Output inside the values stays the same object).
    """
    kept: dict[str, Any] = {}
    deletions: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            deletions[key] = None
        elif isinstance(value, Mapping):
            inner_kept, inner_deleted = split_deletions(value)
            if inner_kept or not value:
                kept[key] = inner_kept
            if inner_deleted:
                deletions[key] = inner_deleted
        else:
            kept[key] = value
    return kept, deletions


def merge_values(files: Sequence[Mapping[str, Any]], values: Mapping[str, Any]) -> dict[str, Any]:
    """What Helm receives from ``valueYamlFiles`` then ``values``: later maps win key by key, nested maps
    merge (Helm ``pkg/cli/values`` ``mergeMaps``); a ``None`` leaf survives to delete the chart default."""
    merged: dict[str, Any] = {}
    for layer in (*files, values):
        merged = _merge(merged, layer)
    return merged


def release_values(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The values Helm receives from a recorded ``helm.v3.Release``: each ``valueYamlFiles`` asset (a
    ``{"text": ...}`` string asset), then ``values`` over them (mesh/logic/helm_values.py)."""
    files = []
    for asset in inputs.get("valueYamlFiles") or []:
        text = asset.get("text") if isinstance(asset, Mapping) else None
        if text is None:
            raise ValueError(f"a values file of the release is not a string asset: {asset!r}")
        files.append(yaml.safe_load(text) or {})
    return merge_values(files, inputs.get("values") or {})


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def deletions_yaml(deletions: Mapping[str, Any]) -> str:
    """The values file that carries `deletions` (``key: null`` leaves), with a comment saying why."""
    header = "# Chart defaults deleted for this release (mesh/logic/helm_values.py).\n"
    return header + yaml.safe_dump(dict(deletions), sort_keys=True)
