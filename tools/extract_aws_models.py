"""Extract the AWS API limits the stack's inputs must meet from botocore's service models.

    python tools/extract_aws_models.py DATA_DIR [--check]

DATA_DIR is botocore's ``data`` directory (make install-dev puts botocore, without its dependencies, into
venv/aws-models; its data is venv/aws-models/botocore/data). Writes mesh/logic/aws_models.json, or with
``--check`` exits 1 when that file differs from what the models say (a botocore pin bumped without
re-extracting). Only JSON is read; botocore's code is never imported.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "mesh" / "logic" / "aws_models.json"
PIN = ROOT / "requirements-aws-models.txt"


def load_model(data: Path, service: str) -> dict[str, Any]:
    """The newest ``service-2.json`` (or ``.json.gz``) of `service`."""
    versions = sorted(p for p in (data / service).iterdir() if p.is_dir())
    for name in ("service-2.json", "service-2.json.gz"):
        path = versions[-1] / name
        if path.exists():
            raw = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
            return json.loads(raw)
    raise FileNotFoundError(f"no service-2.json for {service} under {versions[-1]}")


def _shape(model: dict[str, Any], name: str, *keys: str) -> dict[str, Any]:
    shape = model["shapes"][name]
    return {k: shape[k] for k in keys if k in shape}


def _retention_days(logs: dict[str, Any]) -> list[int]:
    """The values PutRetentionPolicy documents (the model types them as a plain integer)."""
    member = logs["shapes"]["PutRetentionPolicyRequest"]["members"]["retentionInDays"]
    doc = member.get("documentation", "") + logs["shapes"][member["shape"]].get("documentation", "")
    match = re.search(r"Possible values are: ([\d, and]+)\.", doc)
    if match is None:
        raise ValueError("PutRetentionPolicy's documentation no longer lists the retention values")
    return [int(n) for n in re.findall(r"\d+", match.group(1))]


def extract(data: Path) -> dict[str, Any]:
    ec2, eks, logs, iam, route53 = (load_model(data, s) for s in ("ec2", "eks", "logs", "iam", "route53"))
    pin = next(line.split("==")[1] for line in PIN.read_text().splitlines() if line.startswith("botocore=="))
    endpoints = json.loads((data / "endpoints.json").read_text())
    regions = {p["partition"]: sorted(p["regions"]) for p in endpoints["partitions"]}
    return {
        "regions": regions,
        "source": f"botocore {pin} service models (tools/extract_aws_models.py)",
        "ec2": {"InstanceType": sorted(ec2["shapes"]["InstanceType"]["enum"])},
        "eks": {
            "AMITypes": eks["shapes"]["AMITypes"]["enum"],
            "AuthenticationMode": eks["shapes"]["AuthenticationMode"]["enum"],
            "CapacityTypes": eks["shapes"]["CapacityTypes"]["enum"],
            "LogType": eks["shapes"]["LogType"]["enum"],
            "TaintEffect": eks["shapes"]["TaintEffect"]["enum"],
            "ClusterName": _shape(eks, "ClusterName", "min", "max", "pattern"),
            "TagKey": _shape(eks, "TagKey", "min", "max", "pattern"),
            "TagValue": _shape(eks, "TagValue", "min", "max", "pattern"),
            "TagMap": _shape(eks, "TagMap", "min", "max"),
            "labelKey": _shape(eks, "labelKey", "min", "max"),
            "labelValue": _shape(eks, "labelValue", "min", "max"),
        },
        "logs": {
            "retentionInDays": _retention_days(logs),
            "LogGroupName": _shape(logs, "LogGroupName", "min", "max", "pattern"),
        },
        "route53": {"TagList": _shape(route53, "TagList", "min", "max")},
        "iam": {
            "roleNameType": _shape(iam, "roleNameType", "min", "max", "pattern"),
            "tagKeyType": _shape(iam, "tagKeyType", "min", "max", "pattern"),
            "tagValueType": _shape(iam, "tagValueType", "min", "max", "pattern"),
            "tagListType": _shape(iam, "tagListType", "min", "max"),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="botocore's data directory")
    parser.add_argument("--check", action="store_true", help="compare with mesh/logic/aws_models.json")
    args = parser.parse_args(argv)
    text = json.dumps(extract(args.data), indent=1, sort_keys=True) + "\n"
    if args.check:
        if SNAPSHOT.read_text() != text:
            print(
                f"{SNAPSHOT.relative_to(ROOT)} differs from the models in {args.data}: re-extract",
                file=sys.stderr,
            )
            return 1
        print(f"{SNAPSHOT.relative_to(ROOT)} matches {args.data}")
        return 0
    SNAPSHOT.write_text(text)
    print(f"wrote {SNAPSHOT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
