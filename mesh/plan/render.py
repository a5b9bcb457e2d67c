"""Offline rendering of the Cilium chart (helm-python-sdk): render, parse, write.

Archives come from :func:`mesh.charts.fetch.resolve_chart`: ``$CILIUM_CHARTS_DIR``, the user cache, or the
chart repository (downloaded, checked against ``cilium-charts.lock``, cached). They are never copied into
the repository.

Rendering needs no cluster. Note that the chart generates certificates at render time
(`tls.auto.method=helm`): rendered Secrets differ on every render even for equal values.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from helm_python import Chart

from mesh.charts.fetch import resolve_chart

RELEASE_NAME = "cilium"
RELEASE_NAMESPACE = "kube-system"
REDACTED = "[secret]"


def render_cilium(values: Mapping[str, Any], version: str, repository: str | None = None) -> dict[str, str]:
    """Validate `values` against the chart's schema, then render release "cilium" in kube-system.

    The archive is resolved by :func:`mesh.charts.fetch.resolve_chart` (`repository`: the release's chart
    repository, default the official one; ``$CILIUM_CHART_REPO`` overrides it). Returns {template path:
    rendered text}. Raises :class:`mesh.charts.fetch.ChartError` when the archive cannot be had,
    `helm_python.HelmValuesError` on schema violations and `helm_python.HelmRenderError` when a
    template fails (e.g. the chart's own validate.yaml rejects a combination).
    """
    chart = _load_chart(str(resolve_chart(version, repository)))
    plain = dict(values)
    chart.validate_schema(plain)
    return chart.render(plain, name=RELEASE_NAME, namespace=RELEASE_NAMESPACE)


def rendered_documents(manifests: Mapping[str, str]) -> list[dict[str, Any]]:
    """Kubernetes objects from rendered manifests, in template-path order.

    Only ``.yaml``/``.yml`` templates are parsed (NOTES.txt and warnings are text); empty documents
    are skipped.
    """
    documents: list[dict[str, Any]] = []
    for template in sorted(manifests):
        if not template.endswith((".yaml", ".yml")):
            continue
        documents += _documents(manifests[template])
    return documents


def write_manifests(
    manifests: Mapping[str, str], directory: Path, *, redact_secrets: bool = True
) -> list[Path]:
    """Write each non-empty rendered template below `directory` (keeping the template path).

    With `redact_secrets` (default) the values of every Secret's `data`/`stringData` are replaced by
    "[secret]": rendered Secrets hold the shared CA key and client keys. Returns the written paths.
    """
    root = directory.resolve()
    written: list[Path] = []
    for template in sorted(manifests):
        text = manifests[template]
        if not text.strip():
            continue
        target = (root / template).resolve()
        if not target.is_relative_to(root):
            raise ValueError(f"template path {template!r} escapes {root}")
        if redact_secrets and template.endswith((".yaml", ".yml")):
            if not _has_document(text):
                continue
            # Only a template that may hold a Secret is parsed and re-written; every other one is written
            # exactly as Helm rendered it.
            if "Secret" in text:
                documents = [_redacted(doc) for doc in _documents(text)]
                text = yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False)
            else:
                text = _without_empty_documents(text)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        written.append(target)
    return written


# libyaml (C) parser and emitter: the same documents as the pure-Python SafeLoader/SafeDumper, ~4x faster.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _documents(text: str) -> list[dict[str, Any]]:
    """The non-empty mapping documents of one rendered template."""
    return [d for d in yaml.load_all(text, Loader=_Loader) if isinstance(d, dict) and d]


def _has_document(text: str) -> bool:
    """Whether a rendered template holds anything but blank lines, comments and separators."""
    lines = (line.strip() for line in text.splitlines())
    return any(line and not line.startswith("#") and line != "---" for line in lines)


def _without_empty_documents(text: str) -> str:
    """Helm's text minus documents that hold nothing (a template ending in ``---``)."""
    parts = re.split(r"^---[ \t]*$\n?", text, flags=re.MULTILINE)
    return "".join(f"---\n{part}" for part in parts if _has_document(part))


def _redacted(document: dict[str, Any]) -> dict[str, Any]:
    if document.get("kind") != "Secret":
        return document
    cleaned = dict(document)
    for key in ("data", "stringData"):
        if isinstance(cleaned.get(key), dict):
            cleaned[key] = dict.fromkeys(cleaned[key], REDACTED)
    return cleaned


@functools.cache
def _load_chart(path: str) -> Chart:
    # Loaded charts are immutable and thread-safe; loading once per process saves ~0.1 s per render.
    return Chart.load(path)
