"""Keelson's benchmarks: one command, one table.

    python bench/run.py            every figure, full repeats; writes bench/RESULTS.md
    python bench/run.py --quick    fewer repeats, prints only (a smoke run, not figures to quote)
    python bench/run.py --readme   also puts the table into README.md between its bench markers

Every figure is a median of several runs, each benchmark runs in fresh interpreters (bench/mocked.py,
bench/real_engine.py, bench/footprint.py), and a comparison is a ratio of two medians measured in
the same run. The machines are noisy: before each section the runner waits (up to --wait seconds in
all) while a pytest or Go build runs, and the header names any section that ran beside one.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH, ROOT, machine, median, noisy_processes, run_worker  # noqa: E402
from engine import toolchain_bin_dir  # noqa: E402  (tests/engine.py, on the path common sets)

README_MARKERS = ("<!-- bench:start -->", "<!-- bench:end -->")
"""README.md shows the latest table between these lines (written by --readme)."""
KEPT_SECTIONS = ("## Cold set-up", "## Notes")
"""bench/RESULTS.md keeps these sections across runs: the cold set-up table (bench/cold_setup.py
writes it) and the notes written by hand (profiles, before/after)."""

SCALING_SIZES = (1, 10, 50, 100)
OVERHEAD_TARGET = 1.3
SCALING_TARGET = 11.0
EVALUATION_STACKS = ("staging", "production")

ENGINE_TARGET = 1.2
FULL = {
    "processes": 5, "warm": 3, "overhead": 7, "scaling_rounds": 3, "scaling_runs": 2, "engine": 5, "engine_profile": 3,
    "engine_scale": 3,
}
QUICK = {
    "processes": 2, "warm": 1, "overhead": 3, "scaling_rounds": 1, "scaling_runs": 2, "engine": 1, "engine_profile": 1,
    "engine_scale": 1,
}
"""Repeats: evaluation processes and warm runs in each; alternated overhead pairs; scaling rounds
(every size once per round, each in a fresh process) and timed runs per process; real-engine runs;
profiled real-engine previews; real-engine rounds at 10, 50 and 100 apps."""


def seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def mib(value: float) -> str:
    return f"{value / 2**20:.0f} MiB"


def verdict(ok: bool) -> str:
    return "ok" if ok else "**MISSED**"


class Runner:
    """Runs the sections, waiting out noisy neighbours, and collects the rows of the table."""

    def __init__(self, repeats: dict[str, int], wait: float):
        self.repeats = repeats
        self.deadline = time.monotonic() + wait
        self.noise: list[str] = []
        self.rows: list[tuple[str, str, str, str, str]] = []

    def section(self, name: str) -> None:
        print(f"[bench] {name}", file=sys.stderr, flush=True)
        busy = noisy_processes()
        while busy and time.monotonic() < self.deadline:
            print(f"[bench]   waiting for: {busy[0][:100]}", file=sys.stderr, flush=True)
            time.sleep(10)
            busy = noisy_processes()
        if busy:
            self.noise.append(f"{name} (beside `{busy[0].split(' ', 1)[-1][:60]}`)")

    def row(self, number: str, figure: str, value: str, detail: str, target: str = "") -> None:
        self.rows.append((number, figure, value, detail, target))

    # 1 -----------------------------------------------------------------------------------------
    def evaluation(self) -> None:
        for stack in EVALUATION_STACKS:
            self.section(f"1. evaluation under mocks: {stack}")
            results = [
                run_worker("mocked.py", "evaluation", "--stack", stack, "--warm", str(self.repeats["warm"]))
                for _ in range(self.repeats["processes"])
            ]
            resources = results[0]["resources"]
            warm = [run for result in results for run in result["warm_to_last_registration"]]
            total = [run for result in results for run in result["warm_total"]]
            cold = [result["cold_to_last_registration"] for result in results]
            self.row(
                "1",
                f"mocks: `{stack}` program, start → last registration",
                seconds(median(warm)),
                f"{resources} resources, {median(warm) / resources * 1000:.2f} ms/resource; all outputs resolved "
                f"at {seconds(median(total))}; {len(warm)} warm runs in {len(results)} processes; in a cold process "
                f"(imports included) {seconds(median(cold))}",
            )

    # 2 -----------------------------------------------------------------------------------------
    def overhead(self) -> None:
        self.section("2. component overhead")
        result = run_worker("mocked.py", "overhead", "--copies", "10", "--repeats", str(self.repeats["overhead"]))
        self.row(
            "2",
            "HardenedApp vs bare `pulumi_kubernetes` calls",
            f"{result['ratio']:.2f}×",
            f"{result['apps']} production apps, {result['resources']} resources: {seconds(result['component'])} "
            f"(Args validation + component) vs {seconds(result['bare'])} (the captured inputs replayed); "
            f"{'identical' if result['identical_manifests'] else 'DIFFERENT'} manifests; "
            f"{len(result['component_runs'])} alternated runs each, paired ratio {result['paired_ratio']:.2f}×",
            f"≤ {OVERHEAD_TARGET}×: {verdict(result['ratio'] <= OVERHEAD_TARGET)}",
        )

    # 3 -----------------------------------------------------------------------------------------
    def scaling(self) -> None:
        """Sizes take turns, round after round, so a noisy spell does not land on one size only."""
        results: dict[int, dict[str, Any]] = {}
        for round_number in range(self.repeats["scaling_rounds"]):
            self.section(f"3. scaling: round {round_number + 1} of {self.repeats['scaling_rounds']}")
            for size in SCALING_SIZES:
                arguments = ["scaling", "--apps", str(size), "--repeats", str(self.repeats["scaling_runs"])]
                result = run_worker("mocked.py", *arguments, *(["--trace"] if round_number == 0 else []))
                merged = results.setdefault(size, {**result, "runs": [], "full_gc_counts": [], "full_gc_seconds": []})
                for key in ("runs", "full_gc_counts", "full_gc_seconds"):
                    merged[key] += result[key]
                merged["max_rss_bytes"] = max(merged["max_rss_bytes"], result["max_rss_bytes"])
        for result in results.values():
            result["time"] = median(result["runs"])
        previous = None
        for size, result in results.items():
            detail = (
                f"{result['resources']} resources, {result['time'] / result['resources'] * 1000:.2f} ms/resource; "
                f"peak traced {mib(result['traced_peak_bytes'])}, max RSS {mib(result['max_rss_bytes'])}; "
                f"{median(result['full_gc_counts']):g} full GCs taking {seconds(median(result['full_gc_seconds']))}"
            )
            target = ""
            if previous is not None:
                growth, allowed = result["time"] / results[previous]["time"], size / previous
                detail += f"; ×{growth:.2f} time for ×{allowed:g} apps"
                target = f"step ≤ ×{allowed:g}: {verdict(growth <= allowed)}"
            self.row("3", f"scaling: {size} HardenedApp{'s' if size > 1 else ''}", seconds(result["time"]), detail, target)
            previous = size
        ratio = results[100]["time"] / results[10]["time"]
        marginal = (results[100]["time"] - results[50]["time"]) / 50, (results[50]["time"] - results[10]["time"]) / 40
        self.row(
            "3",
            "scaling: time(100 apps) / time(10 apps)",
            f"{ratio:.2f}",
            f"marginal cost per app {seconds(marginal[1])} (10→50), {seconds(marginal[0])} (50→100); "
            f"medians of {len(results[100]['runs'])} runs per size, in {self.repeats['scaling_rounds']} "
            f"alternating round{'s' if self.repeats['scaling_rounds'] > 1 else ''} of one process per size",
            f"≤ {SCALING_TARGET:g}: {verdict(ratio <= SCALING_TARGET)}",
        )

    # 4 -----------------------------------------------------------------------------------------
    def engine(self) -> None:
        self.section("4. real engine")
        result = run_worker("real_engine.py", "--repeats", str(self.repeats["engine"]))
        labels = {
            "preview_production": "engine: `pulumi preview --stack production`",
            "up_local_cold": "engine: `pulumi up --stack local`, cold (fresh state)",
            "up_local_warm": "engine: `pulumi up --stack local`, warm (no changes)",
        }
        for figure, label in labels.items():
            keelson, baseline = result["keelson"][figure], result["baseline"][figure]
            self.row(
                "4",
                label,
                seconds(keelson["median"]),
                f"{keelson['resources']} resources; minimal program with {baseline['resources']} "
                f"(bare ConfigMaps, render-mode provider): {seconds(baseline['median'])}; "
                f"{result['repeats']} alternated run{'s' if result['repeats'] > 1 else ''} each",
                f"{result['ratios'][figure]:.2f}× the minimal program, ≤ {ENGINE_TARGET}×: "
                f"{verdict(result['ratios'][figure] <= ENGINE_TARGET)}",
            )

    def engine_profile(self) -> None:
        """The production preview split into phases (bench/engine_profile.py), Keelson beside the minimal program."""
        self.section("4. real engine: where the time goes")
        result = run_worker("engine_profile.py", "--repeats", str(self.repeats["engine_profile"]))
        keelson, baseline = result["keelson"], result["baseline"]
        extra = keelson["total"]["median"] - baseline["total"]["median"]
        for key, label in result["labels"].items():
            ours, bare = keelson[key]["median"], baseline[key]["median"]
            self.row(
                "4",
                f"breakdown of the production preview: {label}",
                seconds(ours),
                f"minimal program {seconds(bare)}; {'+' if ours >= bare else '−'}{seconds(abs(ours - bare))}",
            )
        self.row(
            "4",
            "breakdown of the production preview: whole preview; Python CPU",
            f"{seconds(keelson['total']['median'])}; {seconds(keelson['python_cpu']['median'])}",
            f"minimal program {seconds(baseline['total']['median'])}; {seconds(baseline['python_cpu']['median'])} "
            f"(+{seconds(extra)} in all); {result['resources']['keelson']} resources each; medians of "
            f"{result['repeats']} alternated profiled run{'s' if result['repeats'] > 1 else ''} (bench/engine_profile.py)",
        )

    def engine_scale(self) -> None:
        """`pulumi preview` at 10, 50 and 100 apps beside the minimal program with as many resources."""
        self.section("4. real engine at scale")
        result = run_worker("real_engine.py", "--scale", "--repeats", str(self.repeats["engine_scale"]), timeout=3600)
        keelson, baseline = result["keelson"], result["baseline"]
        for size in result["sizes"]:
            ours, bare = keelson[str(size)], baseline[str(size)]
            resources = ours["resources"]
            self.row(
                "4",
                f"engine at scale: `pulumi preview`, {size} apps",
                seconds(ours["median"]),
                f"{resources} resources, {ours['median'] / resources * 1000:.1f} ms/resource; minimal program with "
                f"{resources}: {seconds(bare['median'])}, {bare['median'] / resources * 1000:.1f} ms/resource "
                f"({ours['median'] / bare['median']:.2f}×)",
            )
        small, large = str(min(result["sizes"])), str(max(result["sizes"]))
        ratio = keelson[large]["median"] / keelson[small]["median"]

        def marginal(runs: dict[str, Any]) -> float:
            """Seconds per resource between the smallest and the largest stack."""
            return (runs[large]["median"] - runs[small]["median"]) / (runs[large]["resources"] - runs[small]["resources"])

        per_app = (keelson[large]["median"] - keelson[small]["median"]) / (int(large) - int(small))
        self.row(
            "4",
            f"engine at scale: time({large} apps) / time({small} apps)",
            f"{ratio:.2f}",
            f"each resource past the {small}-app stack costs {marginal(keelson) * 1000:.1f} ms (minimal program: "
            f"{marginal(baseline) * 1000:.1f} ms), each app {seconds(per_app)}; generated stack files (staging with N apps); medians of {result['repeats']} alternated "
            f"round{'s' if result['repeats'] > 1 else ''}",
            f"≤ {SCALING_TARGET:g}: {verdict(ratio <= SCALING_TARGET)}",
        )
        default = result["cli_default"]
        skipped = str(default["size"])
        self.row(
            "4",
            f"engine at scale: `pulumi preview`, {skipped} apps, the CLI's default per-step checkpoints",
            seconds(default["keelson"]),
            f"{keelson[skipped]['resources']} resources; {default['keelson'] / keelson[skipped]['median']:.1f}× the "
            f"preview above that skips them (PULUMI_SKIP_CHECKPOINTS=true, as tools/pulumi.sh previews); minimal "
            f"program {seconds(default['baseline'])}, {default['baseline'] / baseline[skipped]['median']:.1f}× its own; "
            "one run each",
        )

    # 5 -----------------------------------------------------------------------------------------
    def footprint(self) -> None:
        self.section("5. footprint")
        for stack in run_worker("footprint.py"):
            name, components = stack["stack"], stack["components"]

            def amounts(value: dict[str, Any]) -> str:
                return (
                    f"{value['requests']['cpu']}/{value['requests']['memory']} → "
                    f"{value['limits']['cpu']}/{value['limits']['memory']}, {value['pods']} pods"
                )

            labels = {"appsAtPeak": "apps at autoscaling peak +1 surge pod each"}
            self.row(
                "5",
                f"footprint `{name}`: CPU/memory requests → limits",
                amounts(components["total"]),
                "; ".join(
                    f"{labels.get(component, component)} {amounts(value)}"
                    for component, value in components.items()
                    if component != "total"
                ),
            )
            notes = []
            for quota in stack["quotas"]:
                peak, hard = quota["peak"], quota["hard"]
                note = (
                    f"{quota['namespace']} {'ok' if quota['ok'] else 'VIOLATION ' + '; '.join(quota['violations'])} "
                    f"({peak['requests.cpu']}/{hard['requests.cpu']} CPU, {peak['requests.memory']}/"
                    f"{hard['requests.memory']}, {peak['pods']}/{hard['pods']} pods"
                )
                if quota["daemonset_nodes_fitting"] is not None:
                    note += f"; DaemonSet fits {quota['daemonset_nodes_fitting']} nodes"
                notes.append(note + ")")
            limit_ranges = stack["limit_ranges"]
            notes.append(
                f"LimitRange ratios {'ok' if limit_ranges['ok'] else 'VIOLATED'} for {limit_ranges['checked']} containers "
                "(workloads, ACME solver pods)"
                + ("" if limit_ranges["ok"] else ": " + "; ".join(limit_ranges["violations"]))
            )
            fits = limit_ranges["ok"] and all(quota["ok"] for quota in stack["quotas"])
            self.row(
                "5",
                f"`{name}`: every namespace's peak fits its ResourceQuota, every container its LimitRange",
                "ok" if fits else "**violation**",
                "; ".join(notes),
            )

    def table(self, command: str, about: dict[str, str]) -> str:
        versions = f"pulumi CLI {cli_version()} (the engine section's) · " + " · ".join(
            f"{name} {metadata.version(name)}" for name in ("pulumi", "pulumi-kubernetes", "pydantic")
        )
        lines = [
            f"Machine: {about['nproc']} CPUs ({about['cpu']}), Python {about['python']}, {about['date']}, "
            f"load average at start {about['load']}; {versions}.",
            f"Command: `{command}`. Every figure is a median; ratios compare medians taken in the same run. "
            f"Noisy neighbours (pytest, go build): {', '.join(self.noise) if self.noise else 'none seen'}.",
            "",
            "| # | figure | median | detail | target |",
            "|---|---|---|---|---|",
        ]
        lines += [f"| {' | '.join(cells)} |" for cells in self.rows]
        return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats; prints the table, writes nothing")
    parser.add_argument("--skip-engine", action="store_true", help="leave out the real-engine section (4)")
    parser.add_argument("--readme", action="store_true", help="also write the table into README.md's bench markers")
    parser.add_argument("--wait", type=float, default=600, help="seconds to wait in all for pytest/go build to end")
    options = parser.parse_args()
    if options.readme and options.quick:
        parser.error("--readme keeps only full runs: drop --quick")
    if options.readme:
        readme_with(ROOT / "README.md", "")  # fail now, not after the run, if the markers are missing
    flags = [flag for flag, given in (("--quick", options.quick), ("--skip-engine", options.skip_engine)) if given]
    command = " ".join(["python bench/run.py", *flags])
    runner = Runner(QUICK if options.quick else FULL, options.wait)
    runner.section("start")
    about = machine()
    runner.evaluation()
    runner.overhead()
    runner.scaling()
    if not options.skip_engine:
        runner.engine()
        runner.engine_profile()
        runner.engine_scale()
    runner.footprint()
    table = runner.table(command, about)
    print(table)
    if not options.quick:
        results = BENCH / "RESULTS.md"
        kept = kept_sections(results.read_text()) if results.exists() else ""
        results.write_text(
            "# Benchmark results\n\nWritten by `python bench/run.py` (see bench/run.py for what each figure "
            "measures).\n\n" + table + "\n" + ("\n" + kept if kept else "")
        )
    if options.readme:
        (ROOT / "README.md").write_text(readme_with(ROOT / "README.md", table))


def cli_version() -> str:
    """The version of the CLI the engine section runs (tests/engine.py picks it: PATH or the toolchain)."""
    pulumi = toolchain_bin_dir() / "pulumi"
    return subprocess.run([str(pulumi), "version"], capture_output=True, text=True, check=True).stdout.strip().lstrip("v")


def kept_sections(text: str) -> str:
    """The part of RESULTS.md from the first of KEPT_SECTIONS on, which a new table must not erase."""
    starts = [text.find(f"\n{heading}\n") for heading in KEPT_SECTIONS]
    starts = [start + 1 for start in starts if start != -1]
    return text[min(starts) :] if starts else ""


def readme_with(readme: Path, table: str) -> str:
    """README.md's text with 'table' between the bench markers."""
    text = readme.read_text()
    start, end = README_MARKERS
    if start not in text or end not in text:
        raise SystemExit(f"{readme} has no '{start}' ... '{end}' block for the benchmark table")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{table}\n{end}{tail}"


if __name__ == "__main__":
    main()
