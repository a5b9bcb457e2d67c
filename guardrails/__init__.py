"""CrossGuard policy pack for cilium-mesh (``pulumi preview --policy-pack guardrails``).

:mod:`guardrails.policies` holds the pure checks, :mod:`guardrails.pack` the pulumi-policy wiring,
:mod:`guardrails.plan_check` runs the pack on the offline plan, and ``__main__.py`` is what the Pulumi CLI
starts.
"""
