"""The README stays true: its config reference matches the settings models, and its two commands
are the ones the Makefile and CI run."""

from __future__ import annotations

import subprocess
import sys

import harness


def test_readme_config_reference_matches_the_settings_models():
    generated = subprocess.run(
        [sys.executable, str(harness.ROOT / "tools" / "config_reference.py")],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    readme = (harness.ROOT / "README.md").read_text()
    assert generated in readme, "README config reference is stale: run `python tools/config_reference.py --write`"


def test_every_config_key_of_the_stack_files_is_declared_in_pulumi_yaml():
    import yaml

    declared = set(yaml.safe_load((harness.ROOT / "Pulumi.yaml").read_text())["config"])
    for stack in harness.STACKS:
        used = {key for key in harness.stack_config(stack) if key.startswith("keelson:")}
        assert used <= declared, f"Pulumi.{stack}.yaml uses undeclared keys: {sorted(used - declared)}"


def test_ci_runs_the_readme_test_command():
    readme = (harness.ROOT / "README.md").read_text()
    assert "make test" in readme and "make up" in readme
    assert "make test" in (harness.ROOT / ".ci" / "run").read_text()
