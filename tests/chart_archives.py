"""How tests get chart archives: through the project's resolver (:mod:`mesh.charts.fetch`), never by path.

A test that needs an archive calls :func:`need_chart`. When the archive cannot be had, the test skips
locally, with a reason that ``tests/conftest.py`` folds into ONE summary line, and FAILS under ``CI=true``:
CI must render every chart, so a missing archive there is a broken build, not a quiet skip.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import NoReturn

import pytest

from mesh.charts.fetch import ChartSources, ChartUnavailable, load_index, resolve_chart

SKIP_PREFIX = "Cilium chart archive unavailable"
HOW_TO_FIX = (
    "run `make charts CHARTS_ARGS=--locked` with the chart repository reachable (or CILIUM_CHART_REPO set "
    "to a mirror), or set CILIUM_CHARTS_DIR to a directory holding the archives (e.g. ../shared/charts)"
)


def closed_port_url() -> str:
    """A loopback URL nothing listens on (a port just released): connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/charts"


def in_ci() -> bool:
    """``CI`` set to a true value, as GitHub Actions and most CI systems do (``CI=true``)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def need_chart(version: str) -> Path:
    """The verified ``cilium-<version>.tgz``. When the repository cannot be reached and nothing is cached, the
    test skips locally and fails under CI; any other problem (a version not locked, a digest mismatch) is
    an error everywhere, never a skip."""
    try:
        return resolve_chart(version)
    except ChartUnavailable as err:
        unavailable(err)


def need_index() -> Path:
    """The repository's ``index.yaml`` as :func:`mesh.charts.fetch.load_index` finds it (downloaded and
    cached when needed); skips or fails like :func:`need_chart`."""
    sources = ChartSources.from_env()
    try:
        if sources.local_index_file() is None:
            load_index(sources=sources)
    except ChartUnavailable as err:
        unavailable(err)
    found = sources.local_index_file()
    assert found is not None
    return found


def unavailable(err: ChartUnavailable) -> NoReturn:
    if in_ci():
        pytest.fail(f"{SKIP_PREFIX}: {err} (CI=true: chart tests must not skip)", pytrace=False)
    pytest.skip(f"{SKIP_PREFIX}: {err.reason}")
