"""Where the project caches what it downloads or derives: one root per user, as the XDG Base Directory spec
says (``$XDG_CACHE_HOME``, ignored when empty or relative; default ``~/.cache``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def cache_root(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/cilium-mesh``, or ``~/.cache/cilium-mesh`` (``$HOME``'s) when the variable is unset,
    empty or relative. ``env`` defaults to the process environment."""
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path(env.get("HOME") or Path.home()) / ".cache"
    return root / "cilium-mesh"
