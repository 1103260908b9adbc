"""Where a `pulumi preview --stack production` spends its time, Keelson beside the minimal program.

The real engine on the same throw-away copies as bench/real_engine.py, with a sitecustomize module
put on the program's PYTHONPATH (neither program is changed) that notes, in the Python process the
language host starts, when the interpreter started, when the program started and built its first
resource, when its last line ran and when the process began to shut down, with the CPU seconds used
by then. The phases:

    engine and language host   CLI start, stack and config, language host, plugins, until Python runs
    SDK import                 the language host's Python script imports pulumi, the event loop
    program imports, settings  from the program's first line to its first resource
    building resources         to the program's last line (the SDK queues every registration)
    registrations finishing    the SDK sends them and waits for the engine's answers
    shutdown                   interpreter shutdown, then the engine's wrap-up, until the CLI exits
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import median, write_json  # noqa: E402
from real_engine import BASELINE_FIXED, PREVIEW_ENV, _count, _init, baseline_project  # noqa: E402

from engine import Project  # noqa: E402  (tests/engine.py)

MARKS_ENV = "KEELSON_BENCH_MARKS"

SITECUSTOMIZE = f'''
import atexit, json, os, sys, time

_out = os.environ.get("{MARKS_ENV}")
if _out and any(arg.endswith("pulumi-language-python-exec") for arg in sys.argv):
    _marks = {{"python_start": time.time()}}

    def _mark(name):
        _marks.setdefault(name, time.time())

    def _write():
        _marks["shutdown_start"] = time.time()
        _marks["cpu"] = time.process_time()
        with open(_out, "a") as marks_file:
            marks_file.write(json.dumps(_marks) + "\\n")

    import runpy
    _run_path = runpy.run_path

    def run_path(*args, **kwargs):
        import pulumi.resource
        _mark("program_start")
        atexit.register(_write)
        resource_init = pulumi.resource.Resource.__init__

        def first_resource(self, *a, **k):
            _mark("first_resource")
            return resource_init(self, *a, **k)

        pulumi.resource.Resource.__init__ = first_resource
        try:
            return _run_path(*args, **kwargs)
        finally:
            _mark("program_end")

    runpy.run_path = run_path
'''

PHASES = (
    ("engine", "engine and language host", "cli_start", "python_start"),
    ("sdk_import", "SDK import", "python_start", "program_start"),
    ("program_imports", "program imports, settings", "program_start", "first_resource"),
    ("building", "building resources", "first_resource", "program_end"),
    ("registrations", "registrations finishing", "program_end", "shutdown_start"),
    ("shutdown", "shutdown", "shutdown_start", "cli_end"),
)


def _instrument(project: Project, site: Path) -> Path:
    marks = project.workdir / "bench-marks.jsonl"
    project.env["PYTHONPATH"] = str(site)
    project.env[MARKS_ENV] = str(marks)
    return marks


def engine_profile(repeats: int) -> dict[str, Any]:
    """'repeats' alternated previews of each program, every phase timed; medians per phase."""
    phases: dict[str, dict[str, list[float]]] = {"keelson": {}, "baseline": {}}
    with tempfile.TemporaryDirectory(prefix="keelson-profile-") as scratch:
        root = Path(scratch)
        site = root / "site"
        site.mkdir()
        (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
        (root / "keelson").mkdir()
        (root / "baseline").mkdir()
        projects = {"keelson": Project(root / "keelson"), "baseline": baseline_project(root / "baseline")}
        _init(projects["keelson"], "production", None)
        counts = {"keelson": _count(projects["keelson"].pulumi("preview", "--stack", "production", env=PREVIEW_ENV).summary(), "to create")}
        _init(projects["baseline"], "production", counts["keelson"])
        counts["baseline"] = counts["keelson"]
        marks_files = {name: _instrument(project, site) for name, project in projects.items()}
        for name, project in projects.items():
            project.pulumi("preview", "--stack", "production", env=PREVIEW_ENV)  # untimed: caches warm for both alike
        for _ in range(repeats):
            for name, project in projects.items():
                started = time.time()
                project.pulumi("preview", "--stack", "production", env=PREVIEW_ENV)
                ended = time.time()
                marks = json.loads(marks_files[name].read_text().splitlines()[-1])
                marks.update(cli_start=started, cli_end=ended)
                for key, _, start, end in PHASES:
                    phases[name].setdefault(key, []).append(marks[end] - marks[start])
                phases[name].setdefault("total", []).append(ended - started)
                phases[name].setdefault("python_cpu", []).append(marks["cpu"])
    return {
        "repeats": repeats,
        "resources": counts,
        "baseline_config_maps": counts["baseline"] - BASELINE_FIXED,
        "labels": {key: label for key, label, _, _ in PHASES},
        **{name: {key: {"median": median(values), "runs": values} for key, values in runs.items()} for name, runs in phases.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", help="write the JSON result here instead of printing it")
    options = parser.parse_args()
    write_json(options.out, engine_profile(options.repeats))


if __name__ == "__main__":
    main()
