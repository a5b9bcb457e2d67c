"""Cilium chart archives and the repository index: resolved from ``$CILIUM_CHARTS_DIR``, the user cache or
the chart repository (:mod:`mesh.charts.fetch`), verified against ``cilium-charts.lock``
(:mod:`mesh.charts.lock`, pure), and the ``python -m mesh.charts`` command (:mod:`mesh.charts.cli`).

May import: the standard library, PyYAML, :mod:`mesh.logic`; :mod:`mesh.charts.cli` also reads the stacks
through :mod:`mesh.plan.cli`'s config edge. Never Pulumi resources: this is tooling, not infrastructure.
"""
