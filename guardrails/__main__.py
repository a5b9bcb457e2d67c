"""Entry point the Pulumi CLI starts for ``--policy-pack guardrails`` (and for the published pack).

The CLI runs this directory by path (``runpy.run_path``), which puts the directory first on ``sys.path``:
the policies are imported from the package shipped beside this file, never from the repository around it,
so ``pulumi policy publish`` from ``guardrails/`` uploads everything the pack needs.
"""

from __future__ import annotations

from cilium_mesh_guardrails.pack import POLICY_PACK_NAME, build_policies
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name=POLICY_PACK_NAME,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=build_policies(),
)
