"""Cold set-up: how long a fresh machine takes to build each tool `make up` and `make test` need.

    python bench/cold_setup.py                  every tool, one after the other, in make test's order
    python bench/cold_setup.py --only up        the part `make up` needs (virtualenv + Pulumi toolchain)
    python bench/cold_setup.py --results        also write the table into bench/RESULTS.md

Each run starts from nothing: an empty Go module cache, Go build cache, pip cache and Keelson tool
cache, all in a temporary directory (deleted afterwards unless --keep), so nothing this machine
has built before is reused. The tools are built in the order `make test` builds them, sharing those
caches the way one machine does: a tool after the first finds the modules and compiled packages
the earlier ones left (which is why the order is fixed and each figure is the tool's share of one
cold `make test`, not its time alone). One run, not a median: a cold build takes most of an hour
on 2 cores, and its time is dominated by compiling, which is steady across runs.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH, ROOT, machine  # noqa: E402

STEPS: tuple[tuple[str, list[str], bool], ...] = (
    ("virtualenv (requirements.txt)", [sys.executable, "-m", "venv", "{tmp}/venv"], True),
    ("", ["{tmp}/venv/bin/pip", "install", "--quiet", "--disable-pip-version-check", "-r", "requirements.txt"], True),
    ("Pulumi toolchain (tools/bootstrap-pulumi.sh)", ["tools/bootstrap-pulumi.sh"], True),
    ("Pulumi language hosts for the consumers (yaml, nodejs)", ["tools/bootstrap-pulumi.sh", "--with-consumer-hosts"], False),
    ("checkov's virtualenv (requirements-checkov.txt)", [sys.executable, "-m", "venv", "{tmp}/venv-checkov"], False),
    ("", ["{tmp}/venv-checkov/bin/pip", "install", "--quiet", "--disable-pip-version-check", "-r", "requirements-checkov.txt"], False),
    ("the policy pack's virtualenv (policy/requirements.txt)", [sys.executable, "-m", "venv", "{tmp}/venv-policy"], False),
    ("", ["{tmp}/venv-policy/bin/pip", "install", "--quiet", "--disable-pip-version-check", "-r", "policy/requirements.txt"], False),
    ("Prometheus tools (promtool, prometheus, amtool, alertmanager)", ["tools/bootstrap-prometheus-tools.sh"], False),
    ("Loki", ["tools/bootstrap-loki.sh"], False),
    ("node_exporter", ["tools/bootstrap-node-exporter.sh"], False),
    ("kube-state-metrics", ["tools/bootstrap-kube-state-metrics.sh"], False),
    ("prometheus-config-reloader", ["tools/bootstrap-config-reloader.sh"], False),
    ("actionlint", ["tools/bootstrap-actionlint.sh"], False),
    ("kube-score", ["tools/bootstrap-kube-score.sh"], False),
    ("Pod Security checker (tools/psa-check)", ["tools/bootstrap-psa-check.sh"], False),
    ("Kubernetes control plane (etcd, kube-apiserver, controllers, kwok)", ["tools/bootstrap-kubernetes.sh"], False),
)
"""(label, command, part of `make up`); an empty label continues the step above. `{tmp}` is the run's dir."""

RESULTS_HEADING = "## Cold set-up"


def cold_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GOMODCACHE=str(tmp / "gomod"),
        GOCACHE=str(tmp / "gocache"),
        GOPATH=str(tmp / "gopath"),
        PIP_CACHE_DIR=str(tmp / "pip"),
        KEELSON_TOOLCHAIN_CACHE=str(tmp / "toolchain"),
        XDG_CACHE_HOME=str(tmp / "xdg"),
    )
    return env


def timings_of(stderr: str) -> list[str]:
    """The per-component lines the bootstraps print ('time: <component>: built in Ns')."""
    return [match.group(1) for match in re.finditer(r"time: (.+: built in \d+s)", stderr)]


def run(only_up: bool, keep: bool) -> list[tuple[str, float, list[str]]]:
    tmp = Path(tempfile.mkdtemp(prefix="keelson-cold-"))
    env = cold_env(tmp)
    rows: list[tuple[str, float, list[str]]] = []
    try:
        for label, command, for_up in STEPS:
            if only_up and not for_up:
                continue
            argv = [part.format(tmp=tmp) for part in command]
            print(f"[cold-setup] {label or '  ' + ' '.join(argv[:2])}", file=sys.stderr, flush=True)
            start = time.perf_counter()
            completed = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            if completed.returncode != 0:
                sys.exit(f"{' '.join(argv)} failed (exit {completed.returncode}):\n{completed.stderr[-3000:]}")
            if label:
                rows.append((label, elapsed, timings_of(completed.stderr)))
            else:
                previous_label, previous, parts = rows[-1]
                rows[-1] = (previous_label, previous + elapsed, parts)
    finally:
        if keep:
            print(f"[cold-setup] caches kept in {tmp}", file=sys.stderr)
        else:
            subprocess.run(["chmod", "-R", "u+w", str(tmp)], check=False)
            shutil.rmtree(tmp, ignore_errors=True)
    return rows


def table(rows: list[tuple[str, float, list[str]]], only_up: bool, info: dict[str, str]) -> str:
    """The results table; 'info' is machine() taken when the run started."""
    lines = [
        RESULTS_HEADING,
        "",
        f"Written by `python bench/cold_setup.py{' --only up' if only_up else ''}` on {info['nproc']} CPUs ({info['cpu']}), "
        f"started {info['date']}, load average at start {info['load']}: empty Go module, Go build, pip and tool caches, "
        "tools built one after the other in `make test`'s order (each row is that tool's share of one cold run).",
        "",
        "| step | wall time | components (the Pulumi bootstrap's own timings) |",
        "|---|---|---|",
    ]
    total = 0.0
    up = 0.0
    for (label, elapsed, parts), (_, _, for_up) in zip(rows, [step for step in STEPS if step[0]]):
        total += elapsed
        up += elapsed if for_up else 0.0
        lines.append(f"| {label} | {elapsed / 60:.1f} min ({elapsed:.0f} s) | {'; '.join(parts) or '-'} |")
    lines.append(f"| **`make up` set-up (virtualenv + toolchain)** | **{up / 60:.1f} min** | target ≤ 12 min: "
                 f"{'ok' if up <= 12 * 60 else '**MISSED**'} |")
    if not only_up:
        lines.append(f"| **`make test` set-up (every tool)** | **{total / 60:.1f} min** | CI's limit: 90 min for set-up and tests |")
    return "\n".join(lines) + "\n"


def write_results(text: str) -> None:
    path = BENCH / "RESULTS.md"
    current = path.read_text()
    if RESULTS_HEADING in current:
        start = current.index(RESULTS_HEADING)
        following = current.find("\n## ", start + len(RESULTS_HEADING))
        current = current[:start] + text + ("\n" + current[following + 1 :] if following != -1 else "")
    else:
        notes = current.find("## Notes")
        current = current[:notes] + text + "\n" + current[notes:] if notes != -1 else current + "\n" + text
    path.write_text(current)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["up"], help="only the part `make up` needs")
    parser.add_argument("--results", action="store_true", help="write the table into bench/RESULTS.md")
    parser.add_argument("--keep", action="store_true", help="keep the temporary caches")
    options = parser.parse_args()
    info = machine()
    rows = run(options.only == "up", options.keep)
    text = table(rows, options.only == "up", info)
    print(text)
    if options.results:
        write_results(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
