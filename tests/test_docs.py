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


def test_a_new_benchmark_table_keeps_the_cold_set_up_and_the_notes_of_bench_results():
    sys.path.insert(0, str(harness.ROOT / "bench"))
    try:
        import run as bench_run
    finally:
        sys.path.remove(str(harness.ROOT / "bench"))
    current = (harness.ROOT / "bench" / "RESULTS.md").read_text()
    kept = bench_run.kept_sections(current)
    assert kept.startswith("## Cold set-up\n"), "bench/RESULTS.md lost its cold set-up table"
    assert "\n## Notes\n" in kept
    old = "# Benchmark results\n\n| old table |\n\n## Cold set-up\n\ncold\n\n## Notes\n\nnotes\n"
    assert bench_run.kept_sections(old) == "## Cold set-up\n\ncold\n\n## Notes\n\nnotes\n"
    assert bench_run.kept_sections("# Benchmark results\n\n| table |\n") == ""
