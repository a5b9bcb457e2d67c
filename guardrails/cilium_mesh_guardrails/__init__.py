"""The cilium-mesh policies, shipped inside the pack: :mod:`.policies` holds the pure checks (no Pulumi, no
policy SDK), :mod:`.pack` the pulumi-policy wiring. Relative imports only, so the package works both as
``cilium_mesh_guardrails`` (the pack run or published on its own from ``guardrails/``) and as
``guardrails.cilium_mesh_guardrails`` (tests and :mod:`guardrails.plan_check` in this repository).
"""
