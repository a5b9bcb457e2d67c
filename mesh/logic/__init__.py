"""Pure logic: stack config models and validation, Cilium Helm values, chart-version and Kubernetes-version
compatibility, the verify commands, the Helm repository index.

May import: the standard library, pydantic, PyYAML, :mod:`network.logic`. Never Pulumi: everything here is
tested directly, without the mock runtime.
"""
