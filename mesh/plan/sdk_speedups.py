"""Work-arounds for costs of the Pulumi Python SDK that only the offline plan pays, pinned to one SDK.

The harness (:func:`mesh.plan.harness.run_program`) applies them for the duration of one evaluation and
restores the SDK afterwards. ``tests/test_sdk_speedups.py`` proves the plan JSON is byte-identical with
and without them; they are applied only on :data:`mesh.plan.sdk_pin.PINNED_SDK_VERSION`: an SDK upgrade
turns them off (and a test red) until someone re-reads the SDK code they replace.

1. ``wait_for_rpcs`` (``pulumi/runtime/stack.py``) waits for the program's outstanding Outputs with
   ``asyncio.wait(pending, FIRST_COMPLETED)`` in a loop and puts the unfinished ones back each time: every
   pass adds and removes a callback on every pending task, so N Outputs that finish one after another
   cost O(N^2) (``benchmarks/wait_for_rpcs_repro.py`` reproduces it without this project).
   :func:`linear_wait_for_rpcs` does the same waits in completion order with one callback per task:
   O(N). Same semantics: RPCs first, then every tracked Output, the first failure re-raised, repeated
   until nothing new was scheduled.
2. ``_get_stack_trace`` (``pulumi/runtime/resource.py``) walks the Python stack and reads source lines
   for every resource, for the engine's source positions. The mock monitor ignores them.
3. ``pulumi.log.debug`` builds an engine ``LogRequest`` for every SDK debug line; the harness's engine
   drops debug messages anyway.
4. ``typing.get_type_hints`` on the SDK's postponed annotations (:mod:`mesh.plan.sdk_imports`) compiles
   each annotation string it meets; :func:`mesh.plan.sdk_imports.forward_refs_compiled_once` compiles
   each distinct one once.
5. Monitor calls run inline on the event loop (:class:`InlineRpcLoop`) instead of on the default thread
   pool: the harness's monitor answers synchronously from memory, so the thread hand-off (a
   ``concurrent.futures.Future``, a lock and a GIL switch per RPC) buys nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pulumi.log
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import settings as sdk_settings
from pulumi.runtime import stack as sdk_stack
from pulumi.runtime.proto import source_pb2

from mesh.plan.sdk_imports import forward_refs_compiled_once
from mesh.plan.sdk_pin import PINNED_SDK_VERSION, installed_sdk_version


async def linear_wait_for_rpcs(await_all_outstanding_tasks: bool = True) -> None:
    """``pulumi.runtime.stack.wait_for_rpcs`` of pulumi 3.272.0 with a linear wait for the Outputs."""
    rpc_manager = sdk_settings._get_rpc_manager()
    while True:
        # Unchanged from the SDK: pump the loop, then await each queued RPC in turn.
        while len(rpc_manager.rpcs) > 0:
            await asyncio.sleep(0)
            try:
                await rpc_manager.rpcs.pop()
            except Exception as exn:
                if rpc_manager.unhandled_exception is not None:
                    cause = rpc_manager.unhandled_exception.with_traceback(rpc_manager.exception_traceback)
                    raise exn from cause
                raise
        if rpc_manager.unhandled_exception is not None:
            raise rpc_manager.unhandled_exception.with_traceback(rpc_manager.exception_traceback)

        if await_all_outstanding_tasks:
            while True:
                with sdk_settings.SETTINGS.lock:
                    if len(sdk_settings.SETTINGS.outputs) == 0:
                        break
                    pending: list[asyncio.Task[Any]] = list(sdk_settings.SETTINGS.outputs)
                    sdk_settings.SETTINGS.outputs.clear()
                # One done-callback per task, consumed in completion order: what FIRST_COMPLETED gives,
                # without re-registering every pending task on every pass.
                finished: asyncio.Queue[asyncio.Task[Any]] = asyncio.Queue()
                for task in pending:
                    task.add_done_callback(finished.put_nowait)
                for _ in pending:
                    await (await finished.get())  # re-raises the task's exception, as the SDK does

        if len(rpc_manager.rpcs) == 0:
            break


def _no_stack_trace() -> source_pb2.StackTrace:
    return source_pb2.StackTrace()


def _no_debug_log(*_args: Any, **_kwargs: Any) -> None:
    return None


class InlineRpcLoop(asyncio.SelectorEventLoop):
    """An event loop whose ``run_in_executor`` runs the call at once, on the loop's thread.

    Only for callables that never wait for the loop themselves (the harness's in-memory monitor).
    """

    def run_in_executor(self, executor: Any, func: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        future = self.create_future()
        try:
            future.set_result(func(*args))
        except BaseException as exc:  # handed to the awaiting coroutine, as a thread pool would
            future.set_exception(exc)
        return future


def new_event_loop(enabled: bool) -> asyncio.AbstractEventLoop:
    """The loop a harness run uses: :class:`InlineRpcLoop` when speed-ups apply, else the default."""
    if enabled and installed_sdk_version() == PINNED_SDK_VERSION:
        return InlineRpcLoop()
    return asyncio.new_event_loop()


@contextmanager
def sdk_speedups(enabled: bool = True, version: str | None = None) -> Iterator[bool]:
    """Apply work-arounds 1-4 while the block runs; yields whether they were applied.

    Not applied when ``enabled`` is false or the SDK (``version``, default the installed one) is not
    :data:`PINNED_SDK_VERSION`.
    """
    if not enabled or (version or installed_sdk_version()) != PINNED_SDK_VERSION:
        yield False
        return
    saved = (sdk_stack.wait_for_rpcs, sdk_resource._get_stack_trace, pulumi.log.debug)
    sdk_stack.wait_for_rpcs = linear_wait_for_rpcs
    sdk_resource._get_stack_trace = _no_stack_trace
    pulumi.log.debug = _no_debug_log
    try:
        with forward_refs_compiled_once():
            yield True
    finally:
        sdk_stack.wait_for_rpcs, sdk_resource._get_stack_trace, pulumi.log.debug = saved
