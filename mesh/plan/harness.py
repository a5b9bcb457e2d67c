"""Run the real Pulumi program offline under Pulumi's mock runtime and capture the resource graph.

Why not the stock ``MockMonitor`` as is: it deserializes requests with the SDK's async machinery on a gRPC
worker thread, which hangs or fails ("attached to a different loop") when a resource is an input of a remote
component (pulumi-eks ``cluster=``). :class:`PlanMonitor` decodes and encodes the protobuf structs itself,
with plain data and no event loop, records every RegisterResource request (inputs, parent, provider,
``dependencies``, ``propertyDependencies``, options) and runs the program inside a stack this harness owns,
so ``pulumi.export`` values are captured too.

Provider-computed values (ids, endpoints, load-balancer hostnames) come from :mod:`mesh.placeholders`.
"""

from __future__ import annotations

import asyncio
import gc
import os
import runpy
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.proto import provider_pb2, resource_pb2
from pulumi.runtime.stack import run_in_stack

from mesh.components import run_mode
from mesh.plan import sdk_speedups

SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
OUTPUT_VALUE_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"


@dataclass(frozen=True)
class Secret:
    """A value the program marked secret."""

    value: Any


@dataclass(frozen=True)
class ResourceRef:
    """A reference to another resource, as Pulumi sends it (a URN and, for custom resources, an id)."""

    urn: str
    id: str | None = None


class Unknown:
    """A value not known during a preview."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN_VALUE = Unknown()


def decode(value: Any) -> Any:
    """Turn a JSON-decoded protobuf ``Value`` into plain Python with :class:`Secret`/:class:`ResourceRef`."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return UNKNOWN_VALUE if value == UNKNOWN else value
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            return Secret(decode(value.get("value")))
        if sig == RESOURCE_SIG:
            return ResourceRef(value["urn"], value.get("id") or None)
        if sig == OUTPUT_VALUE_SIG:
            inner = decode(value["value"]) if "value" in value else UNKNOWN_VALUE
            return Secret(inner) if value.get("secret") else inner
        if sig in (ASSET_SIG, ARCHIVE_SIG):
            return {k: decode(v) for k, v in value.items() if k != SIG_KEY}
        return {k: decode(v) for k, v in value.items()}
    return value


def decode_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    return decode(json_format.MessageToDict(struct))


def encode(value: Any) -> Any:
    """Inverse of :func:`decode`, ready for ``Struct.update``."""
    if isinstance(value, Secret):
        return {SIG_KEY: SECRET_SIG, "value": encode(value.value)}
    if isinstance(value, ResourceRef):
        ref: dict[str, Any] = {SIG_KEY: RESOURCE_SIG, "urn": value.urn}
        if value.id is not None:
            ref["id"] = value.id
        return ref
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return value


def encode_struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(encode(value))
    return struct


def reveal(value: Any) -> Any:
    """Strip :class:`Secret` wrappers (for mocks, which compute outputs from plain inputs)."""
    if isinstance(value, Secret):
        return reveal(value.value)
    if isinstance(value, Mapping):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def to_json(value: Any, *, show_secrets: bool = False) -> Any:
    """JSON-ready form: secrets become ``"[secret]"`` unless ``show_secrets``; refs become their URN."""
    if isinstance(value, Secret):
        return to_json(value.value, show_secrets=True) if show_secrets else "[secret]"
    if isinstance(value, ResourceRef):
        return value.urn
    if isinstance(value, Unknown):
        return "[unknown]"
    if isinstance(value, Mapping):
        return {k: to_json(v, show_secrets=show_secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v, show_secrets=show_secrets) for v in value]
    return value


@dataclass
class Registration:
    """One RegisterResource request and what the mocks answered."""

    urn: str
    type: str
    name: str
    parent: str
    provider: str
    custom: bool
    remote: bool
    inputs: dict[str, Any]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    options: dict[str, Any]
    id: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewResource:
    """What a :class:`ResourceMocks` sees: plain inputs plus a way to register hidden children."""

    type: str
    name: str
    inputs: dict[str, Any]
    custom: bool
    parent: str
    urn: str
    register_child: Callable[[str, str, dict[str, Any]], ResourceRef]


class InvokeFailure(Exception):
    """Raised by a :class:`ResourceMocks` ``call`` to answer an invoke the way a failing provider does."""


class ResourceMocks:
    """Computes ids and outputs for registered resources; subclass per program."""

    def new_resource(self, res: NewResource) -> tuple[str, dict[str, Any]]:
        return (f"{res.name}-id" if res.custom else ""), dict(res.inputs)

    def call(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError(f"no mock for invoke {token}")


class PlanMonitor(pulumi_mocks.MockMonitor):
    """A thread-safe mock monitor that never touches an event loop (see module docstring)."""

    def __init__(
        self,
        mocks: ResourceMocks,
        project: str,
        stack: str,
        stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__(_NoMocks())
        self.plan_mocks = mocks
        self.project = project
        self.stack = stack
        self.stack_outputs = dict(stack_outputs or {})
        self.reads: list[tuple[str, str]] = []
        self.registrations: dict[str, Registration] = {}
        self.outputs: dict[str, dict[str, Any]] = {}
        self.root_urn = ""
        self._lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        if parent:
            parent_type = parent.split("::")[2].split("$")[-1]
            type_ = f"{parent_type}${type_}"
        return f"urn:pulumi:{self.stack}::{self.project}::{type_}::{name}"

    def _register_child(self, parent: str, type_: str, name: str, state: dict[str, Any]) -> ResourceRef:
        urn = self.make_urn(parent, type_, name)
        id_ = f"{name}-id"
        with self._lock:
            self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, id_, state)
        return ResourceRef(urn, id_)

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            self.root_urn = urn
            return resource_pb2.RegisterResourceResponse(urn=urn)
        inputs = decode_struct(request.object)
        reg = Registration(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent,
            provider=request.provider,
            custom=bool(request.custom),
            remote=bool(request.remote),
            inputs=inputs,
            dependencies=sorted(request.dependencies),
            property_dependencies={
                k: sorted(v.urns) for k, v in sorted(request.propertyDependencies.items())
            },
            options=_options(request),
        )
        res = NewResource(
            type=request.type,
            name=request.name,
            inputs=reveal(inputs),
            custom=reg.custom,
            parent=request.parent,
            urn=urn,
            register_child=lambda t, n, s: self._register_child(urn, t, n, s),
        )
        id_, state = self.plan_mocks.new_resource(res)
        reg.id, reg.outputs = id_, state
        with self._lock:
            self.registrations[urn] = reg
            self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, id_, state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=encode_struct(state))

    def RegisterResourceOutputs(self, request: Any) -> Any:
        with self._lock:
            self.outputs[request.urn] = decode_struct(request.outputs)
        return super().RegisterResourceOutputs(request)

    def ReadResource(self, request: Any) -> Any:
        if request.type != STACK_REFERENCE_TYPE:
            raise NotImplementedError(f"the plan does not read existing resources ({request.type})")
        # Like the engine's builtin provider (builtins.go readStackReference): the named stack's outputs,
        # an empty map for a stack that has none yet.
        urn = self.make_urn(request.parent, request.type, request.name)
        name = request.id
        outputs = self.stack_outputs.get(name, {})
        with self._lock:
            self.reads.append((request.type, name))
        state = {"name": name, "outputs": dict(outputs), "secretOutputNames": []}
        return resource_pb2.ReadResourceResponse(urn=urn, properties=encode_struct(state))

    def Invoke(self, request: Any) -> Any:
        args = reveal(decode_struct(request.args))
        if request.tok == "pulumi:pulumi:getResource":
            with self._lock:
                found = self.resources.get(args["urn"])
            if found is None:
                raise KeyError(f"unknown resource {args['urn']}")
            ret = {"urn": found.urn, "id": found.id, "state": found.state}
        else:
            try:
                ret = self.plan_mocks.call(request.tok, args)
            except InvokeFailure as failure:
                # What a provider error looks like to the SDK: it raises "invoke of <tok> failed: ...".
                return resource_pb2.ResourceInvokeResponse(
                    failures=[provider_pb2.CheckFailure(property="", reason=str(failure))]
                )
        return resource_pb2.ResourceInvokeResponse(**{"return": encode_struct(ret)})


class _NoMocks(pulumi_mocks.Mocks):
    def new_resource(self, args: Any) -> tuple[str, dict]:  # pragma: no cover - never called
        raise AssertionError("PlanMonitor handles registrations itself")

    def call(self, args: Any) -> tuple[dict, None]:  # pragma: no cover - never called
        raise AssertionError("PlanMonitor handles invokes itself")


def _options(request: Any) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if request.protect:
        opts["protect"] = True
    if getattr(request, "retainOnDelete", False):
        opts["retainOnDelete"] = True
    if request.deletedWith:
        opts["deletedWith"] = request.deletedWith
    if list(request.ignoreChanges):
        opts["ignoreChanges"] = list(request.ignoreChanges)
    if list(request.replaceOnChanges):
        opts["replaceOnChanges"] = list(request.replaceOnChanges)
    if request.deleteBeforeReplace:
        opts["deleteBeforeReplace"] = True
    timeouts = request.customTimeouts
    if timeouts.create or timeouts.update or timeouts.delete:
        opts["customTimeouts"] = {
            k: v
            for k, v in (
                ("create", timeouts.create),
                ("update", timeouts.update),
                ("delete", timeouts.delete),
            )
            if v
        }
    return opts


@dataclass
class ProgramRun:
    """The captured graph of one offline evaluation."""

    project: str
    stack: str
    registrations: list[Registration]
    outputs: dict[str, Any]
    warnings: list[str]
    infos: list[str] = field(default_factory=list)
    """``pulumi.log.info`` messages (the program's transition notes)."""

    def by_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def get(self, type_: str, name: str) -> Registration:
        for r in self.registrations:
            if r.type == type_ and r.name == name:
                return r
        raise KeyError(f"no {type_} named {name}")

    def urn_of(self, type_: str, name: str) -> str:
        return self.get(type_, name).urn

    def depends_on(self, dependent: Registration, dependency: Registration) -> bool:
        """True when ``dependent`` waits for ``dependency`` directly or through its ancestors' deps.

        Pulumi waits for a component's children when a resource depends on the component, so an edge to
        any ancestor component of ``dependency`` counts, as does an edge through any chain of resources.
        """
        by_urn = {r.urn: r for r in self.registrations}
        targets = {dependency.urn}
        parent = dependency.parent
        while parent and parent in by_urn:
            targets.add(parent)
            parent = by_urn[parent].parent
        seen: set[str] = set()
        todo = [dependent.urn]
        while todo:
            urn = todo.pop()
            if urn in seen or urn not in by_urn:
                continue
            seen.add(urn)
            reg = by_urn[urn]
            deps = set(reg.dependencies)
            for urns in reg.property_dependencies.values():
                deps.update(urns)
            if deps & targets:
                return True
            todo.extend(deps)
        return False


class _WarningLog:
    def __init__(self) -> None:
        self.messages: list[str] = []
        self.infos: list[str] = []

    def Log(self, request: Any) -> None:
        from pulumi.runtime.proto import engine_pb2

        if request.severity in (engine_pb2.WARNING, engine_pb2.ERROR):
            self.messages.append(request.message)
        elif request.severity == engine_pb2.INFO:
            self.infos.append(request.message)


_RUN_LOCK = threading.Lock()


@contextmanager
def _program_env(project_dir: Path) -> Iterator[None]:
    old_cwd, old_path = os.getcwd(), list(sys.path)
    os.chdir(project_dir)
    sys.path.insert(0, str(project_dir))
    try:
        yield
    finally:
        os.chdir(old_cwd)
        sys.path[:] = old_path


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a program runs, as it was afterwards.

    A run allocates thousands of long-lived objects (Outputs, futures, registrations) and little cyclic
    garbage, so the collector's passes only rescan them: about a third of a 16-cluster run.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def run_program(
    program: Path | Callable[[], None],
    *,
    project: str,
    stack: str,
    config: Mapping[str, str],
    mocks: ResourceMocks,
    project_dir: Path | None = None,
    secret_keys: list[str] | None = None,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
    speedups: bool = True,
    live_checks: bool = False,
) -> ProgramRun:
    """Evaluate ``program`` (a ``__main__.py`` path or a callable) offline and return its graph.

    ``config`` maps full keys (``cilium-mesh:clusters``) to strings, as the Pulumi CLI passes them.
    ``stack_outputs`` answers StackReferences: fully qualified stack name -> that stack's outputs (a stack
    not listed has none). Runs are serialized: Pulumi's runtime state is process-global. ``speedups``
    (default on) applies :mod:`mesh.plan.sdk_speedups`, which change the cost of a run, never its result.
    ``live_checks`` (default off: offline) lets :mod:`mesh.components.live_checks` ask its invokes, which
    ``mocks.call`` must then answer.
    """
    with _RUN_LOCK:
        monitor = PlanMonitor(mocks, project, stack, stack_outputs)
        engine = _WarningLog()
        pulumi_settings.reset_options(project=project, stack=stack, preview=True)
        settings = pulumi_mocks.MockSettings(
            monitor=monitor,
            monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
            engine=engine,
            project=project,
            stack=stack,
            dry_run=True,
            organization="organization",
            callbacks=None,
            root_directory=str(project_dir or Path.cwd()),
        )
        pulumi_settings.configure(settings)
        set_all_config(dict(config), secret_keys or [])

        if isinstance(program, Path):
            path = program

            def body() -> None:
                runpy.run_path(str(path), run_name="__main__")
        else:
            body = program

        try:
            previous = asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:
            previous = None
        loop = sdk_speedups.new_event_loop(speedups)
        try:
            asyncio.set_event_loop(loop)
            with (
                run_mode.offline(not live_checks),
                sdk_speedups.sdk_speedups(speedups),
                _program_env(project_dir or Path.cwd()),
                _collector_paused(),
            ):
                loop.run_until_complete(run_in_stack(body))
        finally:
            # A program that failed leaves tasks waiting for what will never come: end them quietly
            # rather than let the closed loop report each one as "destroyed but pending".
            leftovers = asyncio.all_tasks(loop)
            for task in leftovers:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            # Give the caller its loop back (other mock-runtime tests in the process rely on one).
            asyncio.set_event_loop(
                previous if previous and not previous.is_closed() else asyncio.new_event_loop()
            )
            pulumi_settings.reset_options()
            set_all_config({}, [])
        outputs = monitor.outputs.get(monitor.root_urn, {})
        return ProgramRun(
            project=project,
            stack=stack,
            # Registration order depends on thread timing; URN order is stable across runs.
            registrations=sorted(monitor.registrations.values(), key=lambda r: r.urn),
            outputs=outputs,
            warnings=engine.messages,
            infos=engine.infos,
        )


__all__ = [
    "InvokeFailure",
    "NewResource",
    "ProgramRun",
    "Registration",
    "ResourceMocks",
    "ResourceRef",
    "Secret",
    "run_program",
    "to_json",
]
