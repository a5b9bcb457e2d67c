"""The Pulumi SDK the plan's work-arounds were written against (:mod:`mesh.plan.sdk_speedups` replaces some of
its code, :mod:`mesh.plan.sdk_imports` relies on how ``pulumi/_types.py`` reads annotations).

On any other version they turn themselves off, and ``tests/test_sdk_speedups.py`` goes red until someone
re-reads that SDK code and moves the pin (and runs ``benchmarks/sdk_imports_check.py``, which compares every
package of the provider SDKs, stock and as the plan imports them). Imports nothing heavy: :mod:`mesh.plan`
reads it before Pulumi is imported.
"""

from __future__ import annotations

import functools
import importlib.metadata

PINNED_SDK_VERSION = "3.272.0"


@functools.cache
def installed_sdk_version() -> str:
    """The installed ``pulumi`` package's version (read from its metadata, without importing it)."""
    return importlib.metadata.version("pulumi")
