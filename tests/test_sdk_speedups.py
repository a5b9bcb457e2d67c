"""The harness's SDK work-arounds (mesh/plan/sdk_speedups.py) change what a plan costs, never what it says."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pulumi
import pytest
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import settings as sdk_settings
from pulumi.runtime import stack as sdk_stack

from mesh.plan import sdk_speedups
from mesh.plan.cli import evaluate_config, plan_document, read_stack_files
from mesh.plan.harness import ResourceMocks, run_program
from mesh.plan.synthetic import synthetic_config


def _plan_text(project: str, stack: str, config: dict[str, Any], keys: list[str], speedups: bool) -> str:
    _, run = evaluate_config(project, stack, config, secret_keys=keys, speedups=speedups)
    document = plan_document(run, show_secrets=True)
    document["warnings"] = run.warnings
    return json.dumps(document, indent=2, sort_keys=True)


@pytest.mark.parametrize("stack", ["devstg", "three-with-demo"])
def test_plan_json_is_byte_identical_with_and_without_the_speedups(stack: str) -> None:
    if stack == "devstg":
        project, config, keys = read_stack_files("devstg")
    else:
        project, config, keys = "cilium-mesh", synthetic_config(3, demo=True), []
    stock = _plan_text(project, stack, config, keys, speedups=False)
    fast = _plan_text(project, stack, config, keys, speedups=True)
    assert '"resources"' in stock and stock.count('"urn"') > 90
    assert fast == stock


def test_the_speedups_are_written_for_the_installed_sdk() -> None:
    """An SDK upgrade lands here first: re-read stack.py/resource.py/log.py of the new SDK, then re-pin."""
    assert sdk_speedups.installed_sdk_version() == sdk_speedups.PINNED_SDK_VERSION


def test_another_sdk_version_gets_the_stock_sdk() -> None:
    stock = (sdk_stack.wait_for_rpcs, sdk_resource._get_stack_trace, pulumi.log.debug)
    with sdk_speedups.sdk_speedups(version="3.999.0") as applied:
        assert applied is False
        assert (sdk_stack.wait_for_rpcs, sdk_resource._get_stack_trace, pulumi.log.debug) == stock
    with sdk_speedups.sdk_speedups() as applied:
        assert applied is True
        assert sdk_stack.wait_for_rpcs is sdk_speedups.linear_wait_for_rpcs
    assert (sdk_stack.wait_for_rpcs, sdk_resource._get_stack_trace, pulumi.log.debug) == stock


def _chain_of_outputs(loop: asyncio.AbstractEventLoop, n: int) -> list[asyncio.Future[int]]:
    """``n`` tracked Outputs that resolve one per loop iteration, the last one last (the slow case)."""
    futures: list[asyncio.Future[int]] = [loop.create_future() for _ in range(n)]
    known: asyncio.Future[bool] = loop.create_future()
    known.set_result(True)
    for future in futures:
        pulumi.Output(set(), future, known)

    def resolve(i: int) -> None:
        futures[i].set_result(i)
        if i + 1 < n:
            loop.call_soon(resolve, i + 1)

    loop.call_soon(resolve, 0)
    return futures


def test_linear_wait_returns_only_when_every_output_is_done() -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # Outputs schedule their tasks on the current loop
    try:
        sdk_settings.reset_options()
        futures = _chain_of_outputs(loop, 300)
        loop.run_until_complete(sdk_speedups.linear_wait_for_rpcs())
        assert [f.result() for f in futures] == list(range(300))
        assert not sdk_settings.SETTINGS.outputs
    finally:
        loop.close()
        asyncio.set_event_loop(asyncio.new_event_loop())
        sdk_settings.reset_options()


class _Echo(ResourceMocks):
    pass


@pytest.mark.parametrize("speedups", [False, True])
def test_a_failing_output_still_fails_the_run(speedups: bool) -> None:
    def program() -> None:
        pulumi.Output.from_input(1).apply(lambda _: {}["missing-key"])

    with pytest.raises(KeyError, match="missing-key"):
        run_program(program, project="p", stack="s", config={}, mocks=_Echo(), speedups=speedups)


def test_inline_rpc_loop_answers_at_once_and_passes_errors_on() -> None:
    loop = sdk_speedups.InlineRpcLoop()
    try:
        done = loop.run_in_executor(None, lambda a, b: a + b, 2, 3)
        assert done.done() and done.result() == 5
        failed = loop.run_in_executor(None, lambda: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            loop.run_until_complete(failed)
    finally:
        loop.close()
