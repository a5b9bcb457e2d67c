"""The program's one clock: the day the date-sensitive rules are checked for.

The EKS calendar (:mod:`mesh.logic.eks_versions`) makes a plan's verdict depend on the day: a Kubernetes
version leaves standard support, then EKS stops creating it. Every reader of "today" (the offline plan,
``load_config`` under ``pulumi up``/``preview``, the freshness check) asks :func:`today`, nothing else.

``CILIUM_MESH_TODAY=YYYY-MM-DD`` pins it: the test suite and CI's offline plans pin it to a fixed day
(``tests/pinned-today``) so that no result depends on the day they run; anyone can ask "what will this plan
say on day X". Unset (the default), it is today's date in UTC, the time zone of the EKS calendar: at 23:30
in New York on the day a version leaves standard support, EKS already bills it as extended.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

ENV = "CILIUM_MESH_TODAY"


class ClockError(ValueError):
    """``CILIUM_MESH_TODAY`` is set to something that is not a date; the message names the variable."""


@dataclass(frozen=True)
class Today:
    """The day rules are checked for, and where it came from (``pinned``: from ``CILIUM_MESH_TODAY``)."""

    day: dt.date
    pinned: bool = False

    def describe(self) -> str:
        """``2026-11-26 (pinned by CILIUM_MESH_TODAY)`` or ``2026-12-08 (UTC)``, for the plan's header."""
        return f"{self.day} (pinned by {ENV})" if self.pinned else f"{self.day} (UTC)"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def today(environ: Mapping[str, str] | None = None, now: Callable[[], dt.datetime] = _utc_now) -> Today:
    """The day to check for: ``CILIUM_MESH_TODAY`` when set (``environ``, default ``os.environ``), else the
    UTC date of ``now()`` (default: the system clock). Raises :class:`ClockError` for a value that is not
    an ISO date (``YYYY-MM-DD``)."""
    env = os.environ if environ is None else environ
    value = env.get(ENV, "").strip()
    if value:
        try:
            return Today(dt.date.fromisoformat(value), pinned=True)
        except ValueError:
            raise ClockError(
                f"{ENV}: {value!r} is not a date; use YYYY-MM-DD (e.g. {ENV}=2026-11-26), or unset it to "
                "check against today's date"
            ) from None
    stamp = now()
    if stamp.tzinfo is None:  # a naive reading is taken as UTC, never as the machine's zone
        stamp = stamp.replace(tzinfo=dt.UTC)
    return Today(stamp.astimezone(dt.UTC).date())
