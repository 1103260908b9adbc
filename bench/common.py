"""What every benchmark shares: paths, medians, the machine line, and a timed run under mocks.

The timed run mirrors tests/harness.py's `run()`, but its mocks also note when each resource was
registered, so a figure can end at the last registration rather than when every output resolved.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TESTS = ROOT / "tests"

for path in (str(ROOT), str(TESTS)):
    if path not in sys.path:
        sys.path.insert(0, path)

NOISY_PROCESSES = "pytest|go build"
"""Processes that steal the 2 cores from a benchmark; run.py waits for them or says they ran."""


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> str:
    """min–max of the runs, so a reader sees how noisy the median is."""
    return f"{min(values) * 1000:.0f}–{max(values) * 1000:.0f} ms"


def machine() -> dict[str, str]:
    """The machine the figures come from: cores, CPU model, Python, date, load when they started."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load": load,
    }


def noisy_processes() -> list[str]:
    """Command lines of running test or Go build processes (ours excluded)."""
    completed = subprocess.run(["pgrep", "-af", NOISY_PROCESSES], capture_output=True, text=True)
    own = {str(os.getpid()), str(os.getppid())}
    return [
        line for line in completed.stdout.splitlines()
        if line.split(" ", 1)[0] not in own and "pgrep" not in line
    ]


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Swallow what the program prints (Pulumi warnings about alert routing), so timings print clean."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def write_json(path: str | None, value: Any) -> None:
    """A worker's result: to the file run.py named, or to stdout when run by hand."""
    text = json.dumps(value, indent=2, default=str)
    if path:
        Path(path).write_text(text)
    else:
        print(text)


def run_worker(script: str, *args: str, timeout: int = 1800) -> Any:
    """Run a bench script in a fresh interpreter and return the JSON it wrote."""
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        completed = subprocess.run(
            [sys.executable, str(BENCH / script), *args, "--out", out.name],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"bench/{script} {' '.join(args)} failed:\n{completed.stderr[-4000:]}")
        return json.loads(Path(out.name).read_text())


# Everything below imports Pulumi; the import is deferred so run.py stays light.


@dataclass
class Timing:
    """One run under mocks: when it started, when each resource registered, when it ended."""

    started: float
    ended: float
    registered_at: list[float] = field(default_factory=list)
    registered: list[Any] = field(default_factory=list)

    @property
    def to_last_registration(self) -> float:
        return (max(self.registered_at) if self.registered_at else self.ended) - self.started

    @property
    def total(self) -> float:
        return self.ended - self.started


def timed_run(
    body: Callable[[], Any],
    config: dict[str, Any] | None = None,
    secret_keys: list[str] | None = None,
    stack: str = "bench",
    started: float | None = None,
) -> Timing:
    """Run 'body' as a Pulumi program under the harness's recording mocks, timing every registration.

    'started' lets a caller start the clock earlier (before the imports, for a cold run).
    """
    import pulumi

    import harness

    stamps: list[float] = []

    class TimedMocks(harness.RecordingMocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs):
            result = super().new_resource(args)
            stamps.append(time.perf_counter())
            return result

    mocks = TimedMocks()
    start = time.perf_counter() if started is None else started
    pulumi.runtime.set_all_config(harness._engine_config(config or {}), secret_keys or [])
    pulumi.runtime.set_mocks(mocks, project="keelson", stack=stack, preview=False)
    pulumi.runtime.test(body)()
    return Timing(start, time.perf_counter(), stamps, mocks.registered)


def program_body(into: dict[str, Any] | None = None) -> Callable[[], None]:
    """The body that runs __main__.py, as harness.run_program does (its globals land in 'into')."""
    import runpy

    import harness

    def body() -> None:
        module_globals = runpy.run_path(str(harness.ROOT / "__main__.py"), run_name="__pulumi_main__")
        if into is not None:
            into.update(module_globals)

    return body
