"""Every package of the generated SDKs exports the same names with and without mesh/plan/sdk_imports.py.

Usage: python benchmarks/sdk_imports_check.py [PACKAGE ...]   (default: pulumi_aws pulumi_kubernetes
pulumi_eks pulumi_tls, every subpackage)

Run it after upgrading an SDK (the pin in mesh/plan/sdk_pin.py makes you look): it lists every package in
two fresh interpreters, stock and with the plan's imports, and prints the packages whose public names or
values differ (each value named by module and qualified name). tests/test_sdk_imports.py checks three
packages on every run; this checks all of them (a few minutes). Exit 1 when anything differs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ("pulumi_aws", "pulumi_kubernetes", "pulumi_eks", "pulumi_tls")

LIST = """
import importlib, json, pkgutil, sys, types
import mesh.plan
def describe(value):
    if isinstance(value, types.ModuleType):
        return "module " + value.__spec__.name
    name = getattr(value, "__qualname__", None)
    return f"{getattr(value, '__module__', '?')}.{name}" if name else repr(value)[:80]
result = {}
for top in sys.argv[1:]:
    root = importlib.import_module(top)
    names = [top] + [m.name for m in pkgutil.walk_packages(root.__path__, top + ".") if m.ispkg]
    for name in names:
        package = importlib.import_module(name)
        lazy = getattr(package, "_MESH_LAZY_EXPORTS", None)  # also runs a lazily imported package
        public = {n for n in vars(package) if not n.startswith("_")}
        if lazy:
            public |= {n for n in (*lazy, *package._MESH_LAZY_MODULES) if not n.startswith("_")}
        result[name] = {n: describe(getattr(package, n)) for n in sorted(public)}
print(json.dumps(result))
"""


def namespaces(packages: list[str], stock: bool, cache: str) -> dict[str, dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if k != "CILIUM_MESH_STOCK_SDK_IMPORTS"}
    env["XDG_CACHE_HOME"] = cache
    if stock:
        env["CILIUM_MESH_STOCK_SDK_IMPORTS"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", LIST, *packages], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def main(argv: list[str]) -> int:
    packages = argv or list(DEFAULT)
    with tempfile.TemporaryDirectory() as cache:
        stock = namespaces(packages, stock=True, cache=cache)
        plan = namespaces(packages, stock=False, cache=cache)
    differ = sorted(name for name in stock.keys() | plan.keys() if stock.get(name) != plan.get(name))
    for name in differ:
        a, b = stock.get(name, {}), plan.get(name, {})
        changed = sorted(n for n in a.keys() | b.keys() if a.get(n) != b.get(n))
        print(
            f"{name}: {len(changed)} names differ, e.g. "
            + ", ".join(f"{n}: {a.get(n)!r} -> {b.get(n)!r}" for n in changed[:3])
        )
    print(f"{len(stock)} packages compared, {len(differ)} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
