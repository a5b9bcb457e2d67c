"""How the offline plan and the modelled deploy grow with the number of clusters (``make bench``).

Usage: python benchmarks/plan_scale.py [--repeat R] [N ...]      (default: 2 4 8 16 32, R = 3)

For each N it plans a synthetic stack of N clusters (mesh/plan/synthetic.py) in a fresh interpreter and
prints: clusters, resources, plan seconds (the whole process: start-up, imports, evaluation), ms per
resource, the process's peak RSS in MiB, and the modelled first-deploy minutes (mesh/plan/deploy_model.py).
Then the issue-13 ratios, medians of R fresh runs measured in the same run: ``python -m mesh.plan devstg``
and a 16-cluster plan against the floor, a fresh interpreter importing the SDK modules the program uses.
A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The floor: the SDK modules the program uses. pulumi_aws loads its submodules lazily, so this imports
# pulumi_aws' package and registers the submodules without executing them.
FLOOR = (
    "import pulumi, pulumi_aws.ec2, pulumi_aws.eks, pulumi_aws.iam, pulumi_aws.kms, pulumi_eks, pulumi_tls, "
    "pulumi_kubernetes.helm.v3, pulumi_kubernetes.apps.v1, pulumi_kubernetes.core.v1"
)
# The same modules, loaded (first attribute access runs the lazy submodules): code the plan cannot skip.
FLOOR_LOADED = FLOOR + (
    "; pulumi_aws.ec2.Vpc, pulumi_aws.eks.NodeGroup, pulumi_aws.iam.Role, pulumi_aws.kms.Key"
)
PLAN_DEVSTG = [sys.executable, "-m", "mesh.plan", "devstg"]

# One synthetic plan in a process run like ``python -m mesh.plan`` runs (mesh/plan/__main__.py): the cyclic
# collector off, and os._exit once the figures are printed.
ONE_SIZE = """
import gc
gc.disable()
import json, os, resource, sys, time
from mesh.plan.cli import evaluate_config
from mesh.plan.deploy_report import estimate_run
from mesh.plan.synthetic import synthetic_config
n = int(sys.argv[1])
_, run = evaluate_config("cilium-mesh", f"bench{n}", synthetic_config(n))
print(json.dumps({
    "resources": len(run.registrations),
    "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "deploy_minutes": estimate_run(run).critical_path_seconds / 60,
}))
sys.stdout.flush()
os._exit(0)
"""


def timed(cmd: list[str]) -> tuple[float, str]:
    """Wall seconds of ``cmd`` in a fresh process, and its stdout."""
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, done.stdout


def machine() -> str:
    cpu = "?"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), Python "
        f"{platform.python_version()}, load average {load:.1f} at start"
    )


def main(argv: list[str]) -> None:
    repeat = 3
    if "--repeat" in argv:
        i = argv.index("--repeat")
        repeat = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2 :]
    sizes = [int(a) for a in argv] or [2, 4, 8, 16, 32]
    print(f"machine: {machine()}")
    print()
    header = ("clusters", "resources", "plan s", "ms/resource", "peak MiB", "deploy min")
    print("{:>8} {:>10} {:>8} {:>12} {:>9} {:>11}".format(*header))
    sixteen: list[float] = []
    for n in sizes:
        seconds, out = timed([sys.executable, "-c", ONE_SIZE, str(n)])
        if n == 16:
            sixteen.append(seconds)
        row = json.loads(out)
        per = 1000 * seconds / row["resources"]
        print(
            f"{n:>8} {row['resources']:>10} {seconds:>8.2f} {per:>12.2f} {row['rss_mib']:>9.0f} "
            f"{row['deploy_minutes']:>11.1f}"
        )
    floor, loaded, devstg = [], [], []
    for _ in range(repeat):
        floor.append(timed([sys.executable, "-c", FLOOR])[0])
        loaded.append(timed([sys.executable, "-c", FLOOR_LOADED])[0])
        devstg.append(timed(PLAN_DEVSTG)[0])
        if len(sixteen) < repeat:
            sixteen.append(timed([sys.executable, "-c", ONE_SIZE, "16"])[0])
    f, fl = statistics.median(floor), statistics.median(loaded)
    d, s = statistics.median(devstg), statistics.median(sixteen)
    print()
    print(f"medians of {repeat} fresh processes, same run:")
    print(f"  floor, importing the SDK modules:  {f:.2f} s")
    print(f"  floor, the same modules loaded:    {fl:.2f} s (pulumi_aws submodules are lazy)")
    print(f"  python -m mesh.plan devstg:        {d:.2f} s = {d / f:.1f}x the floor, {d / fl:.1f}x loaded")
    print(f"  16-cluster plan:                   {s:.2f} s = {s / f:.1f}x the floor, {s / fl:.1f}x loaded")


if __name__ == "__main__":
    main(sys.argv[1:])
