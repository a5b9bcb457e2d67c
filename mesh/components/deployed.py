"""What the last ``pulumi up`` left: this stack's own outputs, read through a StackReference to itself.

The engine serves a StackReference from the backend's latest checkpoint of the named stack
(pulumi/pulumi pkg/resource/deploy/builtins.go ``readStackReference`` -> ``GetStackOutputs``): the root
stack resource's outputs, or an empty map when the stack has no checkpoint yet (a first deploy). During an
update the root stack keeps its previous outputs until the program registers new ones at the end, so the
program sees what the last *successful* update exported.

StackReference outputs are Outputs; the transition rules must run before any resource is registered, so
the value is awaited synchronously with the SDK's own helper (``pulumi.runtime.sync_await._sync_await``,
what the SDK's synchronous invokes use inside the running program). The offline plan answers the read from
``--deployed PATH`` (:mod:`mesh.plan.harness`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.runtime.sync_await import _sync_await

REFERENCE_NAME = "deployed-state"


def self_reference_name() -> str:
    """``<org>/<project>/<stack>`` of the running stack; with a self-managed backend the org is
    ``organization`` (what ``pulumi.get_organization()`` returns there)."""
    return f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"


def read_deployed_outputs() -> Mapping[str, Any]:
    """The stack's last outputs as plain data (secrets unwrapped, never re-exported); ``{}`` on a first
    deploy."""
    ref = pulumi.StackReference(REFERENCE_NAME, stack_name=self_reference_name())
    outputs = _sync_await(ref.outputs.future())
    return outputs or {}
