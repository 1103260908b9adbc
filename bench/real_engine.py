"""The real Pulumi engine, offline: Keelson against a minimal program with as many bare resources.

Both run on throw-away copies made by tests/engine.py's Project (file backend, own PULUMI_HOME,
passphrase `keelson-example`, no cluster, the running virtualenv symlinked). The baseline is
generated into a temp dir with Keelson's Pulumi.yaml runtime settings; it registers a render-mode
Kubernetes provider and as many bare ConfigMaps as make its resource count equal Keelson's.

    preview --stack production   Keelson's provider has no cluster; the baseline's renders
                                 (the stack is created once; previews leave no state)
    up --stack local, cold       fresh state (stack removed and re-created, rendered/ deleted)
    up --stack local, warm       a second up, nothing changed

Previews skip the per-step checkpoints (PREVIEW_ENV), as tools/pulumi.sh runs them; updates keep
them. With --scale, the preview at 10, 50 and 100 apps instead: stack files generated from the staging
stack by bench/mocked.py's scaling_config (the same apps as the mocked scaling figure), each
previewed beside a minimal program with as many resources, so a reader sees what one more app, and
one more resource, costs a pull request's preview; then one preview of each program at 100 apps
with the CLI's default checkpoints, to show what skipping them saves.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, median, write_json  # noqa: E402

import yaml  # noqa: E402

from engine import Project  # noqa: E402  (tests/engine.py)

BASELINE_PROGRAM = '''"""Baseline for bench/real_engine.py: a render-mode provider and N bare ConfigMaps."""
import pulumi
import pulumi_kubernetes as k8s

count = pulumi.Config().require_int("configMaps")
provider = k8s.Provider("kubernetes", render_yaml_to_directory="rendered")
on_provider = pulumi.ResourceOptions(provider=provider)
for index in range(count):
    k8s.core.v1.ConfigMap(
        f"baseline-{index:04d}",
        metadata={"name": f"baseline-{index:04d}", "namespace": "default"},
        data={"index": str(index)},
        opts=on_provider,
    )
'''

BASELINE_FIXED = 2
"""Resources of the baseline besides its ConfigMaps: the Stack and the provider."""


PREVIEW_ENV = {"PULUMI_SKIP_CHECKPOINTS": "true"}
"""Previews run as tools/pulumi.sh and the pull-request workflow run them: without the checkpoints
the CLI (3.277) serializes after every step of a preview and then discards (README, "Deploying to a real cluster").
Updates keep the CLI's default."""
CLI_DEFAULT_ENV = {"PULUMI_SKIP_CHECKPOINTS": "false"}

SCALE_SIZES = (10, 50, 100)
SCALE_KEYS = ("keelson:apps", "keelson:namespace", "keelson:monitoring")
"""What scaling_config changes in the staging stack: the apps, the namespace quota, the SLOs' app."""


def scale_stacks() -> tuple[str, ...]:
    return tuple(f"scale-{size}" for size in SCALE_SIZES)


def baseline_project(workdir: Path) -> Project:
    """The minimal program, in a Project wired exactly like Keelson's copy (tests/engine.py); all
    of its stacks render, so none sees a kubeconfig."""
    source, copy = workdir / "source", workdir / "project"
    source.mkdir()
    copy.mkdir()
    runtime = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["runtime"]
    (source / "Pulumi.yaml").write_text(
        yaml.safe_dump({"name": "keelson-baseline", "description": "bench baseline", "runtime": runtime})
    )
    (source / "__main__.py").write_text(BASELINE_PROGRAM)
    return Project(copy, source=source, render_stacks=("local", "production", *scale_stacks()))


def write_scale_stack(project: Project, size: int) -> str:
    """Pulumi.scale-<size>.yaml in Keelson's copy: the staging stack file (its encrypted values and
    salt kept, so the example passphrase opens it) with 'size' apps; returns the stack name."""
    from mocked import SCALING_STACK, scaling_config

    stack_file = yaml.safe_load((ROOT / f"Pulumi.{SCALING_STACK}.yaml").read_text())
    generated = scaling_config(size)
    for key in SCALE_KEYS:
        assert "secure" not in json.dumps(stack_file["config"][key]), f"{key} holds a secret: keep it as written"
        stack_file["config"][key] = generated[key]
    name = f"scale-{size}"
    (project.workdir / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(stack_file, sort_keys=False))
    return name


def _init(project: Project, stack: str, resources: int | None) -> None:
    """Create 'stack'; for the baseline ('resources' given), sized to that many resources in all."""
    project.init_stack(stack)
    if resources is not None:
        project.pulumi("config", "set", "--stack", stack, "configMaps", str(resources - BASELINE_FIXED))


def _count(summary: str, *labels: str) -> int:
    total = 0
    for label in labels:
        match = re.search(rf"(\d+) {label}", summary)
        total += int(match.group(1)) if match else 0
    return total


def _timed(project: Project, *args: str, env: dict[str, str] | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    result = project.pulumi(*args, env=env)
    return time.perf_counter() - started, result.summary()


def _preview(project: Project, stack: str, env: dict[str, str] = PREVIEW_ENV) -> tuple[float, str]:
    """A timed `pulumi preview` of 'stack', run the way tools/pulumi.sh runs previews unless 'env' says otherwise."""
    return _timed(project, "preview", "--stack", stack, env=env)


def _fresh_stack(project: Project, stack: str, resources: int | None) -> None:
    """Forget the stack's state and rendered files (its config file stays), so the next up starts cold."""
    project.pulumi("stack", "rm", stack, "--force", "--yes", "--preserve-config", check=False)
    shutil.rmtree(project.workdir / "rendered", ignore_errors=True)
    _init(project, stack, resources)


FIGURES = ("preview_production", "up_local_cold", "up_local_warm")


def real_engine(repeats: int) -> dict[str, Any]:
    """Keelson and the baseline, alternated run by run so that a noisy spell hits both alike.

    One untimed round first (it also tells the baseline how many resources to register), then
    'repeats' rounds of: preview production; fresh local stack, cold up, warm up.
    """
    runs: dict[str, dict[str, list[float]]] = {"keelson": {f: [] for f in FIGURES}, "baseline": {f: [] for f in FIGURES}}
    counts: dict[str, dict[str, int]] = {"keelson": {}, "baseline": {}}
    with tempfile.TemporaryDirectory(prefix="keelson-bench-") as keelson_dir, tempfile.TemporaryDirectory(
        prefix="keelson-baseline-"
    ) as baseline_dir:
        projects = {"keelson": Project(Path(keelson_dir)), "baseline": baseline_project(Path(baseline_dir))}

        def size(name: str, stack: str) -> int | None:
            """Resources the baseline must register on 'stack': as many as Keelson did."""
            return None if name == "keelson" else counts["keelson"][stack]

        for name, project in projects.items():
            _init(project, "production", size(name, "production"))
            _, summary = _preview(project, "production")
            counts[name]["production"] = _count(summary, "to create")
            _init(project, "local", size(name, "local"))
            _, summary = _timed(project, "up", "--stack", "local", "--yes", "--skip-preview")
            counts[name]["local"] = _count(summary, "created")
        for _ in range(repeats):
            for name, project in projects.items():
                seconds, _ = _preview(project, "production")
                runs[name]["preview_production"].append(seconds)
        for _ in range(repeats):
            for name, project in projects.items():
                _fresh_stack(project, "local", size(name, "local"))
                seconds, summary = _timed(project, "up", "--stack", "local", "--yes", "--skip-preview")
                runs[name]["up_local_cold"].append(seconds)
                assert _count(summary, "created") == counts[name]["local"], summary
                seconds, summary = _timed(project, "up", "--stack", "local", "--yes", "--skip-preview")
                runs[name]["up_local_warm"].append(seconds)
                assert _count(summary, "unchanged") == counts[name]["local"], summary
    result: dict[str, Any] = {"repeats": repeats}
    for name in projects:
        result[name] = {
            figure: {
                "median": median(runs[name][figure]),
                "runs": runs[name][figure],
                "resources": counts[name]["production" if figure == "preview_production" else "local"],
            }
            for figure in FIGURES
        }
    result["ratios"] = {
        figure: result["keelson"][figure]["median"] / result["baseline"][figure]["median"] for figure in FIGURES
    }
    return result


def real_engine_scale(repeats: int) -> dict[str, Any]:
    """`pulumi preview` of Keelson with 10, 50 and 100 apps, each beside the minimal program with as
    many resources; sizes and programs take turns, round after round."""
    runs: dict[str, dict[int, list[float]]] = {"keelson": {}, "baseline": {}}
    counts: dict[int, int] = {}
    with tempfile.TemporaryDirectory(prefix="keelson-bench-") as keelson_dir, tempfile.TemporaryDirectory(
        prefix="keelson-baseline-"
    ) as baseline_dir:
        projects = {"keelson": Project(Path(keelson_dir)), "baseline": baseline_project(Path(baseline_dir))}
        for size in SCALE_SIZES:
            stack = write_scale_stack(projects["keelson"], size)
            _init(projects["keelson"], stack, None)
            _, summary = _preview(projects["keelson"], stack)
            counts[size] = _count(summary, "to create")
            _init(projects["baseline"], stack, counts[size])
            _preview(projects["baseline"], stack)
        for _ in range(repeats):
            for size in SCALE_SIZES:
                for name, project in projects.items():
                    seconds, summary = _preview(project, f"scale-{size}")
                    assert _count(summary, "to create") == counts[size], summary
                    runs[name].setdefault(size, []).append(seconds)
        # What the same previews cost with the CLI's default checkpoints: one run each, largest stack.
        largest = max(SCALE_SIZES)
        cli_default = {}
        for name, project in projects.items():
            seconds, summary = _preview(project, f"scale-{largest}", env=CLI_DEFAULT_ENV)
            assert _count(summary, "to create") == counts[largest], summary
            cli_default[name] = seconds
    result: dict[str, Any] = {"repeats": repeats, "sizes": list(SCALE_SIZES), "cli_default": {"size": largest, **cli_default}}
    for name in runs:
        result[name] = {
            str(size): {"median": median(values), "runs": values, "resources": counts[size]}
            for size, values in runs[name].items()
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale", action="store_true", help="preview 10, 50 and 100 apps instead")
    parser.add_argument("--out", help="write the JSON result here instead of printing it")
    options = parser.parse_args()
    write_json(options.out, (real_engine_scale if options.scale else real_engine)(options.repeats))


if __name__ == "__main__":
    main()
