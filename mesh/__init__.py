"""Cilium on EKS and the Cluster Mesh.

- :mod:`mesh.logic`: pure logic (config models and rules, Cilium values, chart and Kubernetes
  compatibility). Imports no Pulumi.
- :mod:`mesh.components`: the Pulumi components and the program's wiring (:mod:`mesh.components.program`).
- :mod:`mesh.plan`: the offline plan (``python -m mesh.plan``): mock runtime harness, placeholders, chart
  renders.
- :mod:`mesh.verify`: ``python -m mesh.verify``, checks of a live mesh.

Dependencies point one way: ``logic`` <- ``components`` <- ``plan``; ``verify`` uses ``logic`` only.
"""
