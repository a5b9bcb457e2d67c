"""Run the policy pack offline on the plan of ``python -m mesh.plan`` (no Pulumi CLI, no cloud).

The policies are invoked exactly as the Pulumi engine invokes them - the same ``Policy.validate`` with
properties wrapped in pulumi-policy's unknown-checking proxy - so a stack that passes here passes the
``pulumi preview --policy-pack guardrails`` of CI, and a mutation that fires here fires there.

Usage::

    python -m guardrails.plan_check out/plan/devstg.json [more.json ...] [--config policy-config.json]

Exit status 1 and one line per violation when any policy fires; 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from guardrails.cilium_mesh_guardrails.pack import build_policies
from guardrails.cilium_mesh_guardrails.policies import UNKNOWN

# How mesh.plan writes values it cannot show: computed during a preview, or secret.
PLAN_PLACEHOLDERS = frozenset({"[unknown]", "[secret]"})


@dataclass(frozen=True)
class Violation:
    """One policy violation: the policy's name, the resource's URN (``None`` for the stack) and why."""

    policy: str
    urn: str | None
    message: str

    def __str__(self) -> str:
        return f"[{self.policy}] {self.urn or '(stack)'}: {self.message}"


def _engine_value(value: Any) -> Any:
    """Plan JSON -> what the engine sends: placeholders become Pulumi's unknown sentinel."""
    if isinstance(value, str) and value in PLAN_PLACEHOLDERS:
        return UNKNOWN
    if isinstance(value, Mapping):
        return {k: _engine_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_engine_value(v) for v in value]
    return value


def _options(resource: Mapping[str, Any]) -> PolicyResourceOptions:
    opts = resource.get("options") or {}
    return PolicyResourceOptions(
        protect=bool(opts.get("protect")),
        ignore_changes=list(opts.get("ignoreChanges") or []),
        delete_before_replace=opts.get("deleteBeforeReplace"),
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.get("parent") or None,
    )


def _collector(violations: list[Violation], policy: str, fixed_urn: str | None = None) -> ReportViolation:
    def report(message: str, urn: str | None = None) -> None:
        violations.append(Violation(policy, fixed_urn if fixed_urn is not None else urn, message))

    return report


def check_resources(
    resources: Sequence[Mapping[str, Any]], config: Mapping[str, Mapping[str, Any]] | None = None
) -> list[Violation]:
    """Run every policy of the pack on plan resources (``{"urn", "type", "name", "inputs", ...}``).

    ``config`` is the ``--policy-pack-config`` document: policy name -> {key: value} (default: none, i.e.
    the strict defaults). Resource policies run per resource, the stack policy once on all of them.
    """
    config = config or {}
    violations: list[Violation] = []
    for policy in build_policies():
        policy_config = dict(config.get(policy.name) or {})
        if isinstance(policy, ResourceValidationPolicy):
            for resource in resources:
                urn = resource.get("urn") or ""
                args = ResourceValidationArgs(
                    resource["type"],
                    unknown_checking_proxy(_engine_value(resource.get("inputs") or {})),
                    urn,
                    resource.get("name") or "",
                    _options(resource),
                    None,
                    policy_config,
                )
                try:
                    # A resource policy's violation always belongs to the resource (the engine ignores urn).
                    policy.validate(args, _collector(violations, policy.name, urn))
                except UnknownValueError:
                    continue  # what the engine does too: the policy is skipped for this resource
        elif isinstance(policy, StackValidationPolicy):
            stack = [
                PolicyResource(
                    r["type"],
                    unknown_checking_proxy(_engine_value(r.get("inputs") or {})),
                    r.get("urn") or "",
                    r.get("name") or "",
                    _options(r),
                    None,
                    None,
                    [],
                    {},
                )
                for r in resources
            ]
            try:
                policy.validate(
                    StackValidationArgs(stack, policy_config), _collector(violations, policy.name)
                )
            except UnknownValueError:
                continue
    return violations


def check_plan(
    plan: Mapping[str, Any], config: Mapping[str, Mapping[str, Any]] | None = None
) -> list[Violation]:
    """:func:`check_resources` on ``plan["resources"]`` (the dict of ``mesh.plan.plan_stack``)."""
    return check_resources(plan["resources"], config)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m guardrails.plan_check", description=__doc__.split("\n")[0]
    )
    parser.add_argument("plans", nargs="+", type=Path, help="plan JSON files written by mesh.plan --json")
    parser.add_argument("--config", type=Path, help="policy pack config JSON (as --policy-pack-config)")
    args = parser.parse_args(argv)
    config = json.loads(args.config.read_text()) if args.config else None
    failed = 0
    for path in args.plans:
        plan = json.loads(path.read_text())
        violations = check_plan(plan, config)
        for violation in violations:
            print(f"{path}: {violation}")
        count = len(plan["resources"])
        print(f"{path}: stack {plan.get('stack')}: {len(violations)} violation(s) in {count} resources")
        failed += bool(violations)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
