"""The generated SDK packages export the same public names and values whether imported stock or as the plan
imports them (mesh/plan/sdk_imports.py: postponed annotations, lazy re-exports). Each side runs in a fresh
interpreter. benchmarks/sdk_imports_check.py compares all 344 packages; these two (the largest, with its
data-source functions named like their modules, and the root) run on every test run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mesh.plan import sdk_imports

ROOT = Path(__file__).resolve().parents[1]


LIST_NAMESPACE = """
import importlib, json, sys, types
import mesh.plan
package = importlib.import_module(sys.argv[1])
lazy = getattr(package, "_MESH_LAZY_EXPORTS", None)  # also runs a lazily imported package
if lazy:
    names = {n for n in {*lazy, *package._MESH_LAZY_MODULES, *vars(package)} if not n.startswith("_")}
    items = {n: getattr(package, n) for n in names}
else:  # stock: read the namespace without loading the lazily imported subpackages in it
    items = {n: v for n, v in vars(package).items() if not n.startswith("_")}
def describe(value):
    if isinstance(value, types.ModuleType):
        return "module " + value.__spec__.name
    return f"{value.__module__}.{value.__qualname__}" if hasattr(value, "__qualname__") else repr(value)
print(json.dumps({n: describe(v) for n, v in items.items()}))
"""


@pytest.mark.parametrize("package", ["pulumi_aws.ec2", "pulumi_aws"])
def test_sdk_packages_export_the_same_names_lazily(package: str) -> None:
    def namespace(stock: bool) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != sdk_imports.OPT_OUT_ENV}
        if stock:
            env[sdk_imports.OPT_OUT_ENV] = "1"
        done = subprocess.run(
            [sys.executable, "-c", LIST_NAMESPACE, package], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    lazy, stock = namespace(stock=False), namespace(stock=True)
    assert len(lazy) > 50
    # Every public name, star-exported or a re-exporting module, resolves to the same object.
    assert lazy == stock
