"""The modelled deploy time of a plan, as the text plan, the plan JSON and a Markdown summary show it.

The model is :mod:`mesh.plan.deploy_model` (pure); this module only feeds it a run and formats its answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from mesh.plan.deploy_model import DeployEstimate, Step, estimate
from mesh.plan.harness import ProgramRun, ResourceRef, Secret

# Rows of the Markdown gantt chart besides the critical path: the longest other steps.
GANTT_OTHER_ROWS = 12


def _referenced(value: Any) -> set[str]:
    """URNs of the resources passed as inputs (resource references)."""
    if isinstance(value, ResourceRef):
        return {value.urn}
    if isinstance(value, Mapping):
        return set().union(*(_referenced(v) for v in value.values()))
    if isinstance(value, (list, tuple)):
        return set().union(*(_referenced(v) for v in value))
    if isinstance(value, Secret):
        return _referenced(value.value)
    return set()


def estimate_run(run: ProgramRun) -> DeployEstimate:
    """The modelled first deploy of ``run`` (what ``--json`` writes under ``deploy``).

    A resource passed as an input to a remote component (pulumi-eks ``cluster=``, ``node_role=``) is left
    out of the request's dependencies by the SDK, yet serializing the reference awaits that resource
    (pulumi ``rpc.py`` ``serialize_property``): it counts as a dependency here.
    """
    resources = [
        {
            "urn": r.urn,
            "type": r.type,
            "name": r.name,
            "parent": r.parent,
            "provider": r.provider,
            "dependencies": sorted(set(r.dependencies) | _referenced(r.inputs)),
            "propertyDependencies": r.property_dependencies,
        }
        for r in run.registrations
    ]
    return estimate(resources, run.project)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def _span(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 60 else _minutes(seconds)


def _end(step: Step) -> int:
    """Gantt end second: at least one second after the start, so short steps still draw."""
    return max(round(step.finish), int(step.start) + 1)


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60):02d}:{int(seconds % 60):02d}"


def text_lines(model: DeployEstimate) -> list[str]:
    """The text plan's section: the estimate, then each step of the critical path."""
    lines = [
        f"Modelled first deploy: {_minutes(model.critical_path_seconds)} "
        "(typical create times per resource type along the longest chain of waits; "
        "mesh/plan/deploy_durations.py names each source)",
        "  critical path (start  duration  resource):",
    ]
    lines += [f"    {_clock(s.start)}  {_span(s.seconds):>8}  {s.type} {s.name}" for s in model.critical_path]
    if model.unknown_types:
        lines.append(f"  no duration known for (counted as 0 s): {', '.join(model.unknown_types)}")
    return lines


def _gantt_label(step: Step) -> str:
    # Mermaid ends a task name at ':' and treats '#' and ';' specially.
    short = step.type.split(":")[-1]
    return f"{short} {step.name}".replace(":", " ").replace("#", " ").replace(";", " ")


def markdown(model: DeployEstimate, project: str, stack: str) -> str:
    """A summary for a pull-request comment: the estimate, the critical path and a mermaid gantt chart."""
    path_urns = {s.urn for s in model.critical_path}
    others = sorted(
        (s for s in model.steps.values() if s.urn not in path_urns and s.seconds > 0),
        key=lambda s: (-s.seconds, s.start, s.urn),
    )[:GANTT_OTHER_ROWS]
    counts = Counter(s.type for s in model.steps.values())
    out = [
        f"### Modelled first deploy of `{project}/{stack}`: {_minutes(model.critical_path_seconds)}",
        "",
        f"{len(model.steps)} resources ({len(counts)} types). Each resource starts when everything it waits "
        "for (dependencies, parent, provider) is created and takes the typical create time of its type "
        "(`mesh/plan/deploy_durations.py`, with sources). Concurrency is unbounded, as `pulumi up` by "
        "default.",
        "",
        "| start | duration | resource on the critical path |",
        "|---:|---:|---|",
    ]
    out += [f"| {_clock(s.start)} | {_span(s.seconds)} | `{s.type}` {s.name} |" for s in model.critical_path]
    out += [
        "",
        "```mermaid",
        "gantt",
        f"  title {stack}: modelled first deploy, {_minutes(model.critical_path_seconds)}",
        "  dateFormat X",
        "  axisFormat %M:%S",
        "  section critical path",
    ]
    out += [f"  {_gantt_label(s)} :crit, {int(s.start)}, {_end(s)}" for s in model.critical_path]
    if others:
        out.append("  section longest other steps")
        out += [f"  {_gantt_label(s)} :{int(s.start)}, {_end(s)}" for s in others]
    out.append("```")
    if model.unknown_types:
        out += ["", f"No duration known for (counted as 0 s): {', '.join(model.unknown_types)}."]
    return "\n".join(out) + "\n"


def deploy_document(run: ProgramRun) -> dict[str, Any]:
    """The plan JSON's ``deploy`` entry: ``{"criticalPathSeconds", "criticalPath": [urn, ...]}``."""
    return estimate_run(run).document()
