"""Entry point the Pulumi CLI starts for ``--policy-pack guardrails``; the policies live in ``pack.py``."""

from __future__ import annotations

import sys
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack

# The CLI runs this directory by path (runpy), so make the repository root importable for `guardrails.*`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from guardrails.pack import POLICY_PACK_NAME, build_policies

PolicyPack(
    name=POLICY_PACK_NAME,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=build_policies(),
)
