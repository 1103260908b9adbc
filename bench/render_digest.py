"""Every stack rendered under mocks, as one JSON file: compare it before and after a performance change.

    python bench/render_digest.py --out before.json      (on the old code)
    python bench/render_digest.py --compare before.json  (on the new code: exits 1 on any difference)

A speed-up must not change what the program registers: for each stack (local, staging, production,
cluster) every resource's type, name, provider and inputs (the Kubernetes manifests, secrets
unwrapped) are written out, sorted, and compared object by object.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import quiet  # noqa: E402

STACKS = ("local", "staging", "production", "cluster")


def rendered(stack: str) -> list[dict[str, Any]]:
    import harness

    with quiet():
        registered = harness.run_program(stack)
    return sorted(
        (
            {"type": item.type, "name": item.name, "provider": item.provider, "inputs": item.manifest}
            for item in registered
        ),
        key=lambda item: (item["type"], item["name"]),
    )


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    problems = []
    for stack in STACKS:
        old = {(item["type"], item["name"]): item for item in before[stack]}
        new = {(item["type"], item["name"]): item for item in after[stack]}
        problems += [f"{stack}: {key} is gone" for key in old.keys() - new.keys()]
        problems += [f"{stack}: {key} is new" for key in new.keys() - old.keys()]
        problems += [f"{stack}: {key} changed" for key in old.keys() & new.keys() if old[key] != new[key]]
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", help="write the renderings here")
    parser.add_argument("--compare", help="compare with the renderings in this file")
    options = parser.parse_args()
    current = {stack: rendered(stack) for stack in STACKS}
    if options.out:
        Path(options.out).write_text(json.dumps(current, indent=1, sort_keys=True, default=str))
    for stack in STACKS:
        print(f"{stack}: {len(current[stack])} resources", file=sys.stderr)
    if options.compare:
        problems = differences(json.loads(Path(options.compare).read_text()), json.loads(json.dumps(current, default=str)))
        print("\n".join(problems) or "identical: every stack registers the same resources with the same inputs")
        sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
