"""Drive the real Pulumi CLI on a throw-away copy of the project, offline.

The copy keeps the repo clean (config changes, rendered manifests, state) and the file backend,
PULUMI_HOME and passphrase make every run self-contained.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import ROOT

PASSPHRASE = "keelson-example"
"""The example stacks' passphrase (see README: it protects placeholders only)."""

PROJECT_FILES = (
    "Pulumi.yaml",
    "Pulumi.local.yaml",
    "Pulumi.staging.yaml",
    "Pulumi.production.yaml",
    "Pulumi.cluster.yaml",
    "__main__.py",
    "settings.py",
    "settings_rules.py",
    "settings_quota_rules.py",
    "settings_inventory.py",
    "settings_messages.py",
)
PROJECT_DIRS = ("components",)


def toolchain_pins() -> dict[str, str]:
    """The pins of tools/pulumi-versions.env (NAME=value lines), as tools/bootstrap-pulumi.sh reads them."""
    return dict(
        line.split("=", 1)
        for line in (ROOT / "tools" / "pulumi-versions.env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )


def toolchain_bin_dir(consumer_hosts: bool = False) -> Path:
    """The folder holding the pulumi CLI and plugins (with the consumers' language hosts when it has
    them, or when asked to), or a failing test saying how to get them."""
    attempts = [["--with-consumer-hosts"]] if consumer_hosts else [["--with-consumer-hosts"], []]
    for flags in attempts:
        completed = subprocess.run(
            [str(ROOT / "tools" / "bootstrap-pulumi.sh"), "--print-bin-dir", *flags], capture_output=True, text=True
        )
        if completed.returncode == 0 and completed.stdout.strip():
            return Path(completed.stdout.strip().splitlines()[-1])
    if consumer_hosts:
        pytest.fail(
            "the Node.js and YAML language hosts are missing: run `make test` (or tools/bootstrap-pulumi.sh "
            "--with-consumer-hosts, which builds them from Go modules)"
        )
    found = shutil.which("pulumi")
    if found and os.environ.get("KEELSON_TOOLCHAIN") != "build":
        return Path(found).parent
    pytest.fail(
        "the Pulumi CLI and plugins are missing: run `make toolchain` (tools/bootstrap-pulumi.sh builds the "
        "pinned versions from Go modules), or put `pulumi` on PATH"
    )


@dataclass
class Result:
    command: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def summary(self) -> str:
        """The 'Resources:' block Pulumi prints at the end of a preview or update."""
        match = re.search(r"^Resources:\n(?:\s+.+\n?)+", self.stdout, flags=re.MULTILINE)
        return match.group(0).strip() if match else ""


class Project:
    """A copy of the Keelson project wired to its own backend and plugin home."""

    def __init__(
        self,
        workdir: Path,
        source: Path | None = None,
        venv: Path | None = None,
        render_stacks: tuple[str, ...] = ("local",),
        kubeconfig: Path | None = None,
        consumer_hosts: bool = False,
    ):
        """Copy Keelson (or the Pulumi project at 'source') into 'workdir', on the virtualenv 'venv'
        (default: the running one); 'render_stacks' render to a folder and must see no kubeconfig.
        Without 'kubeconfig', the ambient KUBECONFIG points at nothing, so no cluster is ever reached
        by accident. 'consumer_hosts' requires the Node.js and YAML language hosts on PATH."""
        self.workdir = workdir
        self.state = workdir / ".pulumi" / "state"
        self.home = workdir / ".pulumi" / "home"
        self.render_stacks = render_stacks
        if source is None:
            for name in PROJECT_FILES:
                shutil.copy2(ROOT / name, workdir / name)
            for name in PROJECT_DIRS:
                shutil.copytree(ROOT / name, workdir / name, ignore=shutil.ignore_patterns("__pycache__"))
            # The import name `keelson` is a symlink to components/, as in the repository.
            (workdir / "keelson").symlink_to("components", target_is_directory=True)
        else:
            shutil.copytree(
                source, workdir, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "rendered", ".venv", "node_modules", "sdks")
            )
        (workdir / ".venv").symlink_to(venv or Path(sys.prefix), target_is_directory=True)
        self.state.mkdir(parents=True)
        self.home.mkdir(parents=True)
        bin_dir = toolchain_bin_dir(consumer_hosts)
        self.env = {
            **{key: value for key, value in os.environ.items() if not key.startswith(("PULUMI_", "KUBE", "PYTHONPATH"))},
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PULUMI_HOME": str(self.home),
            "PULUMI_BACKEND_URL": f"file://{self.state}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
            "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
            # No cluster may be reached from tests: point kubeconfig at nothing.
            "KUBECONFIG": str(kubeconfig or workdir / "no-kubeconfig"),
            "NO_COLOR": "1",
        }
        self._install_plugins(bin_dir)

    def pulumi(self, *args: str, check: bool = True, timeout: int = 900, env: dict[str, str] | None = None) -> Result:
        """Run the CLI in this copy; 'env' adds to (or overrides) the project's environment for this call."""
        command = ["pulumi", *args, "--non-interactive", "--color", "never"]
        env = {**self.env, **(env or {})}
        if "--stack" in args and set(self.render_stacks) & set(args):
            # Render mode refuses any kubeconfig, and needs none.
            env.pop("KUBECONFIG", None)
        completed = subprocess.run(command, cwd=self.workdir, env=env, capture_output=True, text=True, timeout=timeout)
        result = Result(command, completed.returncode, completed.stdout, completed.stderr)
        if check and completed.returncode != 0:
            raise AssertionError(
                f"`{' '.join(command)}` exited {completed.returncode}:\n{result.output[-6000:]}"
            )
        return result

    def _install_plugins(self, bin_dir: Path) -> None:
        """Install the pinned provider binaries into this project's PULUMI_HOME (no download)."""
        versions = toolchain_pins()
        for name, key in (("kubernetes", "PULUMI_KUBERNETES_VERSION"), ("random", "PULUMI_RANDOM_VERSION")):
            binary = bin_dir / f"pulumi-resource-{name}"
            if binary.exists():
                self.pulumi("plugin", "install", "resource", name, versions[key], "--file", str(binary))

    def init_stack(self, stack: str) -> None:
        self.pulumi("stack", "init", stack, "--secrets-provider", "passphrase")

    def preview_steps(self, stack: str, env: dict[str, str] | None = None) -> list[dict]:
        """The steps of a JSON preview: each with 'op' and 'urn'."""
        result = self.pulumi("preview", "--stack", stack, "--json", env=env)
        return json.loads(result.stdout).get("steps", [])
