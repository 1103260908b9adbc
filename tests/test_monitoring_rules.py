"""Prometheus rules: every file passes promtool, every alert has a passing promtool unit test and
complete annotations with a runbook section, recording rules are named level:metric:operation,
and the SLO generator emits both burn-rate windows per objective."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from keelson.monitoring.models import SloObjective
from keelson.monitoring.rules import all_rules, render_rule_files, rule_files, self_monitoring, slo
from keelson.monitoring.rules.helpers import RUNBOOK_BASE_URL, alert
from conftest import FIGURES
from prometheus_tools import tool

ROOT = Path(__file__).resolve().parent.parent
RULE_TESTS = ROOT / "components" / "monitoring" / "rules" / "tests"
RUNBOOKS = ROOT / "docs" / "runbooks.md"
RECORD_NAME = re.compile(r"^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$")


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def objectives_under_test() -> list[SloObjective]:
    """The objectives slo_test.yaml was written for."""
    listed = yaml.safe_load((RULE_TESTS / "slo_objectives.yaml").read_text())
    return [SloObjective.model_validate(item) for item in listed]


def unit_test_files() -> list[Path]:
    return sorted(RULE_TESTS.glob("*_test.yaml"))


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory) -> Path:
    """The rendered rule files and the promtool unit tests, side by side in one directory."""
    directory = tmp_path_factory.mktemp("rules")
    for name, text in render_rule_files(objectives_under_test()).items():
        (directory / name).write_text(text)
    for path in unit_test_files():
        shutil.copy(path, directory / path.name)
    return directory


def alerts() -> list[dict]:
    return [rule for rule in all_rules(objectives_under_test()) if "alert" in rule]


def recording_rules() -> list[dict]:
    return [rule for rule in all_rules(objectives_under_test()) if "record" in rule]


def test_every_rule_file_passes_promtool_check_rules(rules_dir):
    promtool = tool("promtool")
    files = sorted(rule_files(objectives_under_test()))
    result = run(promtool, "check", "rules", *files, cwd=rules_dir)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "FAILED" not in output, f"promtool check rules failed:\n{output}"
    found = [int(count) for count in re.findall(r"SUCCESS: (\d+) rules found", output)]
    assert len(found) == len(files), f"expected one SUCCESS line per rule file:\n{output}"
    FIGURES["promtool check rules"] = f"{len(files)} files, {sum(found)} rules, 0 errors"


def test_every_alert_passes_its_promtool_unit_tests(rules_dir):
    promtool = tool("promtool")
    names = [path.name for path in unit_test_files()]
    result = run(promtool, "test", "rules", *names, cwd=rules_dir)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"promtool test rules failed:\n{output}"
    assert output.count("SUCCESS") == len(names), f"expected one SUCCESS per test file:\n{output}"
    cases = sum(len(yaml.safe_load(path.read_text())["tests"]) for path in unit_test_files())
    checks = sum(
        len(case.get("alert_rule_test", []))
        for path in unit_test_files()
        for case in yaml.safe_load(path.read_text())["tests"]
    )
    FIGURES["promtool test rules"] = f"{len(names)} files, {cases} tests, {checks} alert checks, all passed"


def test_promtool_unit_tests_load_the_rule_files_rule_files_returns():
    names = set(rule_files(objectives_under_test()))
    for path in unit_test_files():
        loaded = yaml.safe_load(path.read_text())["rule_files"]
        unknown = set(loaded) - names
        assert not unknown, f"{path.name} loads {sorted(unknown)}; rule_files() produces {sorted(names)}"


def test_every_alert_is_tested_silent_before_and_firing_at_its_window_for_each_severity():
    silent: set[str] = set()
    fired: set[tuple[str, str]] = set()
    for path in unit_test_files():
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                expected = check.get("exp_alerts") or []
                if not expected:
                    silent.add(check["alertname"])
                for firing in expected:
                    fired.add((check["alertname"], firing["exp_labels"]["severity"]))
    defined = {(rule["alert"], rule["labels"]["severity"]) for rule in alerts()}
    untested = sorted(f"{name} ({severity})" for name, severity in defined - fired)
    assert not untested, f"alerts with no promtool test asserting that they fire: {untested}"
    never_silent = sorted({name for name, _ in defined} - silent)
    assert not never_silent, f"alerts with no promtool test asserting they are silent before firing: {never_silent}"


def test_every_alert_has_severity_summary_templated_description_and_runbook_url():
    problems = []
    for rule in alerts():
        name, annotations = rule["alert"], rule["annotations"]
        if rule["labels"].get("severity") not in ("critical", "warning", "info"):
            problems.append(f"{name}: severity label {rule['labels'].get('severity')!r}")
        if not annotations.get("summary") or "\n" in annotations["summary"]:
            problems.append(f"{name}: the summary must be one non-empty line")
        if not re.search(r"\{\{ \$(labels|externalLabels)\.", annotations.get("description", "")):
            problems.append(f"{name}: the description must be templated with {{{{ $labels.* }}}} (or, for an alert "
                            "without labels such as Watchdog, {{{{ $externalLabels.* }}}})")
        if annotations.get("runbook_url") != f"{RUNBOOK_BASE_URL}#{name.lower()}":
            problems.append(f"{name}: runbook_url {annotations.get('runbook_url')!r}")
        if not re.fullmatch(r"[0-9]+[smh]", rule.get("for", "")):
            problems.append(f"{name}: 'for' {rule.get('for')!r} is not a duration")
    assert not problems, "alerts breaking the annotation policy:\n" + "\n".join(problems)


def test_every_runbook_url_points_at_a_section_of_docs_runbooks():
    headings = re.findall(r"^## (\S+)\s*$", RUNBOOKS.read_text(), flags=re.MULTILINE)
    anchors = {heading.lower() for heading in headings}
    missing = sorted({rule["alert"] for rule in alerts() if rule["alert"].lower() not in anchors})
    assert not missing, f"docs/runbooks.md has no '## <AlertName>' section for: {missing}"


def test_the_required_alerts_exist_with_their_severity_and_window():
    expected = {
        "AppDown": ("critical", "2m"),
        "WorkerDown": ("critical", "2m"),
        "HighErrorRate": ("critical", "5m"),
        "HighMemoryUsage": ("warning", "10m"),
        "HighCPUUsage": ("warning", "10m"),
        "PersistentVolumeFillingUp": ("warning", "5m"),
    }
    defined = {(rule["alert"], rule["labels"]["severity"], rule["for"]) for rule in alerts()}
    for name, (severity, window) in expected.items():
        assert (name, severity, window) in defined, f"{name} must be {severity} for {window}"
    required = {
        "HighLatencyP99", "HighQueueLatencyP99", "PodCrashLooping", "PodRestartLoop", "ContainerMemoryHigh",
        "CertificateExpiringSoon", "CertificateNotReady", "HPAMaxedOut", "PrometheusTargetDown",
        "AlertmanagerConfigReloadFailed",
    }  # fmt: skip
    assert required <= {rule["alert"] for rule in alerts()}


def test_recording_rules_number_at_least_16_and_are_named_level_metric_operation():
    static = [rule for rule in all_rules(()) if "record" in rule]
    badly_named = sorted({rule["record"] for rule in recording_rules() if not RECORD_NAME.match(rule["record"])})
    assert not badly_named, f"recording rules not named level:metric:operation: {badly_named}"
    assert len({rule["record"] for rule in static}) >= 16, f"only {len(static)} recording rules without SLOs"
    FIGURES["rules"] = (
        f"{len({rule['alert'] for rule in alerts()})} alert names / {len(alerts())} alerting rules, "
        f"{len(recording_rules())} recording rules ({len(static)} without SLOs), "
        f"{len(objectives_under_test())} SLO objectives in the test set"
    )


RAW_METRIC_ALERTS = {
    "HPAMaxedOut", "CertificateNotReady", "PrometheusTargetDown", "AlertmanagerConfigReloadFailed",
    "Watchdog", "PrometheusRuleFailures", "PrometheusErrorSendingAlerts", "PrometheusNotConnectedToAlertmanagers",
    "PrometheusConfigReloadFailed", "PrometheusTSDBCompactionsFailing", "PrometheusTSDBReloadsFailing",
    "PrometheusTSDBHeadTruncationsFailing", "PrometheusTSDBWALCorruptions", "PrometheusTargetDiscoveryEmpty",
    "PrometheusRemoteStorageFailures", "PrometheusRemoteWriteBehind",
    "AlertmanagerFailedToSendAlerts", "AlertmanagerMembersInconsistent",
    "KubeNodeNotReady", "KubeNodePressure", "NodeClockSkewDetected", "NodeClockNotSynchronising",
    *(guarded.alert for guarded in self_monitoring.GUARDED_JOBS),
}  # fmt: skip
"""Alerts on a raw series compared as it is (or one counter's increase, one ratio of two counters of
the same target): no aggregation a recording rule could share."""


def test_alerts_build_on_recording_rules_unless_they_read_one_raw_series():
    records = {rule["record"] for rule in recording_rules()}
    raw = {rule["alert"] for rule in alerts() if not any(record in rule["expr"] for record in records)}
    raw = sorted(raw - RAW_METRIC_ALERTS)
    assert not raw, f"alerts aggregating raw metrics instead of using a recording rule: {raw}"


def test_the_slo_generator_pages_on_1h_5m_and_6h_30m_and_tickets_on_1d_2h_and_3d_6h_for_both_slis():
    objectives = [
        SloObjective(app="api", namespace="keelson-production"),
        SloObjective(app="web", availability_percent=99.5),
    ]
    generated = [rule for objective in objectives for rule in slo.burn_rate_alerts(objective)]
    windows = {
        (rule["alert"], rule["labels"]["long_window"], rule["labels"]["short_window"], rule["labels"]["severity"])
        for rule in generated
        if 'app="api"' in rule["expr"]
    }
    assert windows == {
        (name, long_window, short_window, severity)
        for name in ("SLOAvailabilityErrorBudgetBurn", "SLOLatencyErrorBudgetBurn")
        for long_window, short_window, severity in (
            ("1h", "5m", "critical"), ("6h", "30m", "critical"), ("1d", "2h", "warning"), ("3d", "6h", "warning"),
        )
    }  # fmt: skip
    assert len(generated) == 8 * len(objectives)
    web_ticket = next(r for r in generated if 'app="web"' in r["expr"] and r["labels"]["long_window"] == "3d")
    assert "ratio_rate3d" in web_ticket["expr"] and "ratio_rate6h" in web_ticket["expr"]
    assert "(1 * 0.005)" in web_ticket["expr"]
    web_fast = next(r for r in generated if 'app="web"' in r["expr"] and r["labels"]["long_window"] == "1h")
    assert "ratio_rate1h" in web_fast["expr"] and "ratio_rate5m" in web_fast["expr"]
    assert "(14.4 * 0.005)" in web_fast["expr"]
    assert slo.groups([]) == [] and rule_files([])["slo.rules.yaml"] == {"groups": []}


def test_slo_recording_rules_cover_every_window_and_the_error_budget():
    records = {rule["record"] for rule in slo.recording_rules(SloObjective(app="api"))}
    for window in ("5m", "30m", "1h", "6h"):
        assert f"namespace_app:slo_availability_errors:ratio_rate{window}" in records
        assert f"namespace_app:slo_latency_errors:ratio_rate{window}" in records
    assert "namespace_app:slo_availability_error_budget:remaining_7d" in records
    for window in ("2h", "1d", "3d"):
        assert f"namespace_app:slo_availability_errors:ratio_rate{window}" in records
    for sli in ("availability", "latency"):
        budget = next(r for r in slo.recording_rules(SloObjective(app="api")) if r["record"].endswith(f"{sli}_error_budget:remaining_30d"))
        assert f"[30d]" in budget["expr"], "the error-budget gauge covers the 30-day SLO period"


def test_a_custom_sli_gets_every_window_a_30_day_budget_and_the_four_burn_rate_alerts():
    objective = SloObjective.model_validate(
        {
            "app": "api",
            "customSlis": [
                {
                    "name": "checkout",
                    "errorsQuery": 'rate(orders_total{outcome="failed"}[{{window}}]) % 100',
                    "totalQuery": "rate(orders_total[{{window}}])",
                    "percent": 99.5,
                }
            ],
        }
    )
    custom = [r for r in slo.recording_rules(objective) if r["record"].startswith("namespace_app_sli:")]
    assert {r["record"] for r in custom} == {
        *(f"namespace_app_sli:slo_errors:ratio_rate{window}" for window in slo.WINDOWS),
        "namespace_app_sli:slo_error_budget:remaining_30d", "namespace_app_sli:slo_error_budget:remaining_7d",
    }  # fmt: skip
    three_days = next(r for r in custom if r["record"].endswith("ratio_rate3d"))
    assert 'rate(orders_total{outcome="failed"}[3d]) % 100' in three_days["expr"], "'%' survives templating"
    assert three_days["labels"] == {"app": "api", "sli": "checkout"}
    burns = [r for r in slo.burn_rate_alerts(objective) if r["alert"] == "SLOCustomErrorBudgetBurn"]
    assert sorted((r["labels"]["long_window"], r["labels"]["severity"]) for r in burns) == [
        ("1d", "warning"), ("1h", "critical"), ("3d", "warning"), ("6h", "critical"),
    ]  # fmt: skip
    assert all("(14.4 * 0.005)" in r["expr"] for r in burns if r["labels"]["long_window"] == "1h")


@pytest.mark.parametrize(
    "custom, message",
    [
        ({"errorsQuery": "rate(errors_total[5m])"}, r"'rate\(errors_total\[5m\]\)' has no '\{\{window\}\}'"),
        ({"percent": 92}, r"'percent' \(92\) leaves an error budget of 8 %"),
        ({"name": "Checkout"}, "is not a DNS-1123 label"),
    ],
)
def test_custom_slis_without_a_window_or_with_a_budget_too_large_to_alert_are_rejected(custom, message):
    fields = {"name": "checkout", "errorsQuery": "rate(e[{{window}}])", "totalQuery": "rate(t[{{window}}])", **custom}
    with pytest.raises(ValueError, match=message):
        SloObjective.model_validate({"app": "api", "customSlis": [fields]})
    with pytest.raises(ValueError, match="repeated: checkout"):
        SloObjective.model_validate({"app": "api", "customSlis": [fields | {"errorsQuery": "rate(e[{{window}}])", "percent": 99, "name": "checkout"}] * 2})


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"latency_threshold_seconds": 0.3}, r"'latencyThresholdSeconds' \(0.3\) is not a bucket boundary"),
        ({"availability_percent": 92}, r"'availabilityPercent' \(92\) .* use a target above 93.06"),
        ({"availability_percent": 100}, r"less than 100"),
        ({"latency_percent": 90}, r"greater than 90"),
        ({"app": "API"}, r"is not a DNS-1123 label"),
    ],
)
def test_slo_objectives_that_could_never_alert_are_rejected_with_the_key(fields, message):
    with pytest.raises(ValueError, match=message):
        SloObjective.model_validate({"app": "api", **fields})


def test_two_objectives_covering_one_app_are_rejected():
    production = SloObjective(app="api", namespace="keelson-production")
    with pytest.raises(ValueError, match="overlapping: keelson-production/api"):
        rule_files([production, production])
    with pytest.raises(ValueError, match="overlapping: keelson-production/api"):
        rule_files([production, SloObjective(app="api")])
    staging = SloObjective(app="api", namespace="keelson-staging")
    assert rule_files([production, staging])["slo.rules.yaml"]["groups"]


def test_rendered_rule_files_are_yaml_of_the_rule_data():
    rendered = render_rule_files(objectives_under_test())
    assert {name: yaml.safe_load(text) for name, text in rendered.items()} == rule_files(objectives_under_test())
    assert all(name.endswith(".rules.yaml") for name in rendered)


def test_alert_helper_rejects_an_unknown_severity_and_a_multi_line_summary():
    with pytest.raises(ValueError, match="severity 'page'"):
        alert("X", "up == 0", for_="1m", severity="page", summary="s", description="{{ $labels.job }}")
    with pytest.raises(ValueError, match="one line"):
        alert("X", "up == 0", for_="1m", severity="info", summary="a\nb", description="{{ $labels.job }}")


def test_every_scrape_job_the_rules_select_on_has_an_absent_guard():
    selected = {job for rule in all_rules(objectives_under_test()) for job in re.findall(r'job="([^"]+)"', rule["expr"])}
    guarded = {guarded.job for guarded in self_monitoring.GUARDED_JOBS}
    assert selected <= guarded, f"jobs the rules select on without an absent() guard: {sorted(selected - guarded)}"
    for guard in self_monitoring.ABSENT_ALERTS:
        assert "absent(" in guard["expr"] and "== 0" in guard["expr"], f"{guard['alert']}: {guard['expr']}"



def test_the_readme_alerts_table_names_every_alert_and_every_rule_file():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Alerts\n", 1)[1].split("\n## ", 1)[0]
    missing = sorted({rule["alert"] for rule in alerts()} - set(re.findall(r"`(\w+)`", section)))
    assert not missing, f"README's Alerts table lacks: {missing}"
    files = sorted(set(rule_files(objectives_under_test())) - set(re.findall(r"`([a-z_]+\.rules\.yaml)`", section)))
    assert not files, f"README's Alerts table lacks the rule files: {files}"
