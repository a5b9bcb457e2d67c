"""Minimal reproduction: pulumi's ``wait_for_rpcs`` is quadratic in the number of outstanding Outputs.

Usage: python benchmarks/wait_for_rpcs_repro.py [--fixed] [N ...]      (default N: 1000 2000 4000)

Needs only the ``pulumi`` package (no engine, no mocks, no provider). It creates N Outputs, which the SDK
tracks in ``SETTINGS.outputs``, that resolve one after another (one per event-loop iteration, as RPC
answers arrive in a real program), then times ``pulumi.runtime.stack.wait_for_rpcs()``, which every
program runs before exiting. Stock pulumi 3.272.0: doubling N quadruples the time, because each pass of
``asyncio.wait(pending, return_when=FIRST_COMPLETED)`` registers and removes a callback on every pending
task and the loop re-adds the unfinished ones. ``--fixed`` times this project's linear replacement
(``mesh/plan/sdk_speedups.py``: one done-callback per task, consumed in completion order) for comparison.
A benchmark: it prints figures and asserts nothing.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pulumi
from pulumi.runtime import settings, stack


def time_wait(n: int, wait: Callable[[], Awaitable[None]]) -> float:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    settings.reset_options()
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
    start = time.perf_counter()
    loop.run_until_complete(wait())
    elapsed = time.perf_counter() - start
    loop.close()
    return elapsed


def main(argv: list[str]) -> None:
    fixed = "--fixed" in argv
    sizes = [int(a) for a in argv if a != "--fixed"] or [1000, 2000, 4000]
    wait = stack.wait_for_rpcs
    if fixed:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from mesh.plan.sdk_speedups import linear_wait_for_rpcs

        wait = linear_wait_for_rpcs
    what = "linear replacement" if fixed else "stock wait_for_rpcs"
    print(f"pulumi {importlib.metadata.version('pulumi')}, {what}")
    print(f"{'outputs':>8} {'seconds':>8}")
    for n in sizes:
        print(f"{n:>8} {time_wait(n, wait):>8.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
