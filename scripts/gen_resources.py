#!/usr/bin/env python3
"""Generate src/k8s_mcp_server/parse/data/resources.json from a real API server's discovery.

Facts generated, judgement by hand: the resource names, short names, scope and categories come from
`kubectl api-resources -o wide` of the project's test cluster (scripts/cluster.sh, kube-apiserver
v1.20.2, with the pinned kubectl); built-ins that newer servers add are a reviewed list in
parse/overlay/resources.yaml. tests/parse/test_resources_cluster.py regenerates this file from the
running cluster and fails when the checked-in copy differs.

    .venv/bin/python scripts/gen_resources.py --kubeconfig KUBECONFIG [--kubectl PATH] [--check]

What discovery cannot show: resources of API groups the server does not serve (CRDs, newer
built-ins): the parser keeps an unknown name as typed (lower-cased), so policies still match it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "src" / "k8s_mcp_server" / "parse" / "data" / "resources.json"
COLUMNS = ("NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND", "VERBS", "CATEGORIES")


def _columns(header: str) -> list[tuple[str, int, int | None]]:
    starts = [(name, header.index(name)) for name in COLUMNS if name in header]
    return [
        (name, start, starts[i + 1][1] if i + 1 < len(starts) else None)
        for i, (name, start) in enumerate(starts)
    ]


def parse_api_resources(text: str) -> list[dict[str, Any]]:
    """Rows of `kubectl api-resources -o wide`, read by the header's column offsets."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("NAME"):
        raise ValueError("not the output of kubectl api-resources -o wide")
    columns = _columns(lines[0])
    by_name: dict[str, dict[str, Any]] = {}
    for line in lines[1:]:
        row = {name: line[start:end].strip() for name, start, end in columns}
        name = row["NAME"]
        entry = by_name.setdefault(
            name,
            {
                "name": name,
                "short_names": [],
                "kind": row["KIND"],
                "namespaced": row["NAMESPACED"] == "true",
                "groups": [],
                "categories": [],
            },
        )
        group = row["APIVERSION"].rpartition("/")[0]
        entry["groups"] = sorted({*entry["groups"], group})
        entry["short_names"] = sorted({*entry["short_names"], *filter(None, row["SHORTNAMES"].split(","))})
        entry["categories"] = sorted(
            {*entry["categories"], *filter(None, row.get("CATEGORIES", "").split(","))}
        )
    return sorted(by_name.values(), key=lambda e: e["name"])


def generate(kubectl: str, kubeconfig: str) -> dict[str, Any]:
    version = subprocess.run(  # noqa: S603 (argv of our own, no shell)
        [kubectl, "--kubeconfig", kubeconfig, "version", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    server = json.loads(version.stdout).get("serverVersion", {}).get("gitVersion", "unknown")
    listing = subprocess.run(  # noqa: S603
        [kubectl, "--kubeconfig", kubeconfig, "api-resources", "-o", "wide"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {
        "source": f"kubectl api-resources -o wide, kube-apiserver {server}",
        "generator": "scripts/gen_resources.py",
        "resources": parse_api_resources(listing.stdout),
    }


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--kubectl", default="kubectl")
    parser.add_argument("--check", action="store_true", help="exit 1 if the checked-in file differs")
    args = parser.parse_args()
    text = render(generate(args.kubectl, args.kubeconfig))
    if args.check:
        same = OUT.read_text() == text
        print(
            "resources.json is up to date" if same else "resources.json differs from the server's discovery"
        )
        return 0 if same else 1
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
