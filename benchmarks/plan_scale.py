"""Plan synthetic stacks of 2, 4, 8 and 16 clusters offline and print how time and size grow.

Usage: python benchmarks/plan_scale.py [N ...]      (default: 2 4 8 16)

Also prints the cost of importing the Pulumi SDKs alone and of planning devstg, in fresh interpreters,
so start-up overhead is visible next to the SDKs' own import time. A benchmark, not a test: it prints
figures and asserts nothing.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The SDK modules the program uses (pulumi_aws and pulumi_kubernetes load submodules lazily).
IMPORT_SDKS = (
    "import pulumi, pulumi_eks, pulumi_tls, pulumi_aws.ec2, pulumi_aws.eks, pulumi_aws.iam, pulumi_aws.kms, "
    "pulumi_aws.vpc, pulumi_kubernetes.apps.v1, pulumi_kubernetes.core.v1, pulumi_kubernetes.helm.v3"
)
PLAN_DEVSTG = "from mesh.plan.cli import evaluate; evaluate('devstg')"


def fresh_interpreter_seconds(code: str, repeat: int = 3) -> float:
    """Best wall time of ``code`` in a new interpreter (process start included)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def main(sizes: list[int]) -> None:
    from mesh.plan.cli import evaluate_config
    from mesh.plan.synthetic import synthetic_config

    sdk = fresh_interpreter_seconds(IMPORT_SDKS)
    devstg = fresh_interpreter_seconds(PLAN_DEVSTG)
    print(f"import Pulumi SDKs (fresh interpreter): {sdk:6.2f} s")
    print(
        f"plan devstg        (fresh interpreter): {devstg:6.2f} s  (+{devstg - sdk:.2f} s over the imports)"
    )
    print()
    header = ("clusters", "resources", "peerings", "rules", "wall s", "ms/resource", "max RSS MiB")
    print("{:>8} {:>10} {:>9} {:>6} {:>8} {:>12} {:>12}".format(*header))
    evaluate_config("cilium-mesh", "warmup", synthetic_config(2))  # imports and first-run caches
    for n in sizes:
        start = time.perf_counter()
        _, run = evaluate_config("cilium-mesh", f"bench{n}", synthetic_config(n))
        wall = time.perf_counter() - start
        count = len(run.registrations)
        peerings = len(run.by_type("aws:ec2/vpcPeeringConnection:VpcPeeringConnection"))
        rules = len(run.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        per = 1000 * wall / count
        print(f"{n:>8} {count:>10} {peerings:>9} {rules:>6} {wall:>8.2f} {per:>12.2f} {rss:>12.0f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [2, 4, 8, 16])
