"""What the Kubernetes API servers would refuse, found in the plan (the rules: mesh/logic/apiserver_rules.py).

Two kinds of objects reach an API server: the program's own (Services, the demo, the CNI patches) and the
manifests of each Helm release. :func:`program_violations` checks the first from the recorded
registrations; :func:`manifest_violations` the second, from the offline render of `--render-dir`.
A patch is checked as a patch: the fields it sets, merged into an object the API server already holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mesh.logic.apiserver_rules import Violation, check
from mesh.plan.harness import ProgramRun, Unknown, reveal

_NOT_OBJECTS = ("kubernetes:helm.sh/", "pulumi:providers:")


class AdmissionError(ValueError):
    """Objects an API server would refuse; ``violations`` lists every broken rule."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        lines = "\n".join(f"  {v.line()}" for v in violations)
        super().__init__(f"the Kubernetes API server would refuse {len(violations)} field(s):\n{lines}")


def program_violations(run: ProgramRun) -> list[Violation]:
    """Every rule broken by a Kubernetes object the program registers (Helm releases excluded)."""
    found: list[Violation] = []
    for reg in run.registrations:
        if not reg.type.startswith("kubernetes:") or reg.type.startswith(_NOT_OBJECTS):
            continue
        obj = _known(reveal(reg.inputs))
        found += [_named(v, reg.name) for v in check(obj, patch=reg.type.endswith("Patch"))]
    return found


def manifest_violations(release: str, documents: Iterable[Mapping[str, Any]]) -> list[Violation]:
    """Every rule broken by the rendered manifests of `release` (a Pulumi resource name)."""
    return [_named(v, release) for doc in documents for v in check(doc)]


def _named(violation: Violation, owner: str) -> Violation:
    return Violation(f"{violation.obj} ({owner})", violation.field, violation.message, violation.source)


def _known(value: Any) -> Any:
    """Unknown values (computed at deploy time) are left out: nothing can be said about them offline."""
    if isinstance(value, Mapping):
        return {k: _known(v) for k, v in value.items() if not isinstance(v, Unknown)}
    if isinstance(value, list):
        return [_known(v) for v in value if not isinstance(v, Unknown)]
    return value
