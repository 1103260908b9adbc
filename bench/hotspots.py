"""Profile a benchmark with pyinstrument and say where the time goes: ours or the SDK's.

    python bench/hotspots.py scaling --apps 100      the whole program with 100 HardenedApps
    python bench/hotspots.py overhead                 the HardenedApp path of the overhead benchmark
    python bench/hotspots.py gc                       scaling with CPython's cyclic GC as is, off, and tuned

The first two print the heaviest functions by self time, each tagged with who owns it, and the
share of each owner: 'keelson' (components/, settings.py, __main__.py), 'pulumi' (the pulumi SDK),
'pulumi_kubernetes', 'pydantic', 'PyYAML' (called by our components to write the Prometheus,
Alertmanager, Loki and Fluent Bit configs), 'other'; standard-library time (asyncio, typing...) is
charged to the library that called it.
Time spent in the cyclic garbage collector is charged by pyinstrument to whichever frame happened
to allocate, so `gc` measures it directly (gc.callbacks) instead.
pyinstrument is a development tool, not a dependency of the program (pip install pyinstrument).
"""

from __future__ import annotations

import argparse
import collections
import gc
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, program_body, quiet, timed_run  # noqa: E402

OWNERS = (
    ("keelson", tuple(str(ROOT / name) for name in ("components", "settings.py", "__main__.py", "bench", "tests"))),
    ("pulumi_kubernetes", ("/pulumi_kubernetes/",)),
    ("pulumi_random", ("/pulumi_random/",)),
    ("pulumi", ("/pulumi/",)),
    ("pydantic", ("/pydantic/", "/pydantic_core/")),
    ("grpc/protobuf", ("/grpc/", "/google/protobuf/")),
    ("PyYAML", ("/yaml/",)),
)


def owner(file_path: str | None) -> str:
    if not file_path:
        return "python"
    for name, markers in OWNERS:
        if any(marker in file_path for marker in markers):
            return name
    if "site-packages" in file_path:
        return "other"
    return "python"


def self_times(frame: Any, into: dict[tuple[str, str, str], float], caller: str = "python") -> None:
    """Sum self time per (owner, function, file:line) over the whole call tree. Standard-library
    frames (asyncio, typing, copy...) are charged to the library that called them, 'caller'."""
    who = owner(frame.file_path)
    if who == "python":
        who = caller
    for child in frame.children:
        if not child.is_synthetic:
            self_times(child, into, who)
    own = frame.total_self_time
    if own:
        position = f"{frame.file_path_short}:{frame.line_no}" if frame.file_path_short else "<native>"
        into[(who, frame.function or "?", position)] += own


def profile(body: Callable[[], Any], top: int) -> str:
    from pyinstrument import Profiler

    gc.collect()
    profiler = Profiler(interval=0.0005, async_mode="disabled")
    with quiet():
        profiler.start()
        body()
        profiler.stop()
    session = profiler.last_session
    times: dict[tuple[str, str, str], float] = collections.defaultdict(float)
    self_times(session.root_frame(), times)
    total = sum(times.values())
    by_owner: dict[str, float] = collections.defaultdict(float)
    for (who, _, _), seconds in times.items():
        by_owner[who] += seconds
    lines = [
        f"profiled {session.duration:.2f} s ({total:.2f} s sampled)",
        "self time by owner (standard-library time charged to the library that called it):",
    ]
    ranked = sorted(by_owner.items(), key=lambda item: -item[1])
    lines += [f"  {who:18} {seconds:6.2f} s  {seconds / total:6.1%}" for who, seconds in ranked]
    lines.append(f"top {top} functions by self time:")
    for (who, function, position), seconds in sorted(times.items(), key=lambda item: -item[1])[:top]:
        lines.append(f"  {seconds:6.3f} s {seconds / total:6.1%}  [{who}] {function}  {position}")
    return "\n".join(lines)


GC_SETTINGS = {"default": None, "off": "off", "gen0 threshold 10000": (10_000, 10, 10)}
"""How the `gc` subcommand runs the program: CPython's defaults (700, 10, 10), no cyclic GC, and a
young generation large enough that the SDK's short-lived asyncio objects die before promotion."""


def gc_study(sizes: list[int], repeats: int) -> str:
    """Median time per GC setting and app count, with the full (generation 2) collections counted."""
    import harness
    from common import median
    from mocked import SCALING_STACK, scaling_config

    secrets = harness.stack_secret_keys(SCALING_STACK)
    default = gc.get_threshold()
    lines = [f"{'apps':>5} {'resources':>9}  " + "  ".join(f"{label:>30}" for label in GC_SETTINGS)]
    for size in sizes:
        config = scaling_config(size)
        with quiet():
            resources = len(timed_run(program_body(), config, secrets, SCALING_STACK).registered)
        cells = []
        for setting in GC_SETTINGS.values():
            times, full, full_time = [], [], []
            for _ in range(repeats):
                events: list[tuple[str, int, float]] = []

                def record(phase: str, info: dict[str, int]) -> None:
                    events.append((phase, info["generation"], time.perf_counter()))

                gc.collect()
                if setting == "off":
                    gc.disable()
                elif setting is not None:
                    gc.set_threshold(*setting)
                gc.callbacks.append(record)
                with quiet():
                    times.append(timed_run(program_body(), config, secrets, SCALING_STACK).total)
                gc.callbacks.remove(record)
                gc.enable()
                gc.set_threshold(*default)
                starts = [at for phase, generation, at in events if phase == "start" and generation == 2]
                stops = [at for phase, generation, at in events if phase == "stop" and generation == 2]
                full.append(len(stops))
                full_time.append(sum(stop - start for start, stop in zip(starts, stops)))
            cells.append(
                f"{median(times):6.2f} s {median(times) / resources * 1000:4.2f} ms/res "
                f"{int(median(full)):2d} full {median(full_time):4.2f} s"
            )
        lines.append(f"{size:>5} {resources:>9}  " + "  ".join(f"{cell:>30}" for cell in cells))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("benchmark", choices=["scaling", "overhead", "gc"])
    parser.add_argument("--apps", type=int, default=100)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=3, help="runs per GC setting and size (gc)")
    options = parser.parse_args()
    if options.benchmark == "gc":
        print(gc_study([10, 50, 100], options.repeats))
        return
    if options.benchmark == "scaling":
        import harness
        from mocked import SCALING_STACK, scaling_config

        config, secrets = scaling_config(options.apps), harness.stack_secret_keys(SCALING_STACK)
        with quiet():
            timed_run(program_body(), config, secrets, SCALING_STACK)  # imports and caches out of the profile

        def body() -> None:
            timed_run(program_body(), config, secrets, SCALING_STACK)
    else:
        from mocked import _app_args, _component_body

        component = _component_body(_app_args(options.copies))
        with quiet():
            timed_run(component)

        def body() -> None:
            timed_run(component)

    print(profile(body, options.top))


if __name__ == "__main__":
    main()
