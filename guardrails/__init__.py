"""CrossGuard policy pack for cilium-mesh (``pulumi preview --policy-pack guardrails``).

The pack is this directory, publishable on its own (``pulumi policy publish`` from here): ``__main__.py`` is
what the Pulumi CLI starts, :mod:`guardrails.cilium_mesh_guardrails` the policies it ships
(``requirements.txt`` its dependencies, ``.gitignore`` what publishing leaves out). In this repository,
:mod:`guardrails.plan_check` runs the same policies on the offline plan.
"""
