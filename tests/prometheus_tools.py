"""The upstream Prometheus tools the monitoring tests run: promtool, prometheus, amtool, alertmanager.

They come from tools/bootstrap-prometheus-tools.sh, which builds the versions the stack deploys
(Prometheus 3.5.0, Alertmanager 0.28.1) from Go modules. There is deliberately no fallback to a
promtool or amtool on PATH: Debian's (2.42 / 0.25) are built without Kubernetes discovery and lack
the webhook 'url_file', so a silent fallback would hide exactly what these tests check.
"""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOTSTRAP = ROOT / "tools" / "bootstrap-prometheus-tools.sh"
TOOLS = ("promtool", "prometheus", "amtool", "alertmanager")
BUILD_HINT = "run `tools/bootstrap-prometheus-tools.sh` (or `make test`, which builds it)"


def _pinned(variable: str) -> str:
    match = re.search(rf"^{variable}=(\S+)$", BOOTSTRAP.read_text(), flags=re.MULTILINE)
    assert match, f"{BOOTSTRAP} sets no {variable}"
    return match.group(1)


PROMETHEUS_VERSION = _pinned("PROMETHEUS_VERSION")
"""The Prometheus release the bootstrap builds (and promtool/prometheus report)."""
ALERTMANAGER_VERSION = _pinned("ALERTMANAGER_VERSION")
"""The Alertmanager release the bootstrap builds (and amtool/alertmanager report)."""


@functools.cache
def _bin_dir() -> Path | None:
    result = subprocess.run(
        [str(BOOTSTRAP), "--print-bin-dir"], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0 or not result.stdout.strip():
        return None
    return Path(result.stdout.strip().splitlines()[-1])


def tool(name: str) -> str:
    """Return the path of an upstream tool built by tools/bootstrap-prometheus-tools.sh.

    Fails the test (no skip, no PATH fallback) when the tools are not built yet.
    """
    if name not in TOOLS:
        raise ValueError(f"unknown tool {name!r}; expected one of {', '.join(TOOLS)}")
    directory = _bin_dir()
    if directory is None:
        pytest.fail(
            f"'{name}' {PROMETHEUS_VERSION if name in ('promtool', 'prometheus') else ALERTMANAGER_VERSION} "
            f"is not built; {BUILD_HINT}",
            pytrace=False,
        )
    path = directory / name
    if not path.is_file():
        pytest.fail(f"'{name}' is missing from {directory}; {BUILD_HINT}", pytrace=False)
    return str(path)
