"""Shared fixtures: offline evaluations of the real program, computed once per session."""

from __future__ import annotations

import pytest

from mesh.logic.config import StackConfig
from mesh.plan.cli import evaluate, evaluate_config
from mesh.plan.harness import ProgramRun
from mesh.plan.synthetic import synthetic_config


@pytest.fixture(scope="session")
def devstg() -> tuple[StackConfig, ProgramRun]:
    return evaluate("devstg")


@pytest.fixture(scope="session")
def three() -> tuple[StackConfig, ProgramRun]:
    """A synthetic stack of three clusters with the demo on."""
    return evaluate_config("cilium-mesh", "three", synthetic_config(3, demo=True))
