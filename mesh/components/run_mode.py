"""Whether the program runs for real or under the offline plan's mock harness (no Pulumi imports here).

The mock harness (mesh/plan/harness.py) enters :func:`offline` around the program; a real `pulumi
preview/up` never does. Only :mod:`mesh.components.live_checks` reads it: offline, facts only AWS knows are
not asked (the plan says so once).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

OFFLINE_NOTE = (
    "AWS facts (the account's availability zones and zone ids, instance type offerings, the credentials' "
    "account) are not asked offline: the plan checks the botocore models and tables only; `pulumi preview` "
    "and `up` ask AWS first (mesh/components/live_checks.py)"
)
"""What the offline plan prints once in place of those checks."""

_offline = False


@contextmanager
def offline(value: bool = True) -> Iterator[None]:
    """Within the block the program is offline (`value`, default True); the previous mode comes back after."""
    global _offline
    previous, _offline = _offline, value
    try:
        yield
    finally:
        _offline = previous


def is_offline() -> bool:
    """True inside :func:`offline` (default: a real run)."""
    return _offline
