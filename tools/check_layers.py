"""Fail unless every test layer ran: each layer's module must have run tests, none skipped or failed.

Usage: python tools/check_layers.py build/test-results.xml
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ElementTree
from collections import Counter

LAYERS = {
    "tests.test_builders": "pure builders",
    "tests.test_settings": "settings validation",
    "tests.test_settings_rules": "cross-field settings rules",
    "tests.test_settings_fuzz": "settings fuzzing (hypothesis)",
    "tests.test_hardened_app": "components under mocks",
    "tests.test_program": "whole program per stack",
    "tests.test_manifests": "schema validation and checkov",
    "tests.test_hardening": "hardening: namespaces, egress, images, scheduling",
    "tests.test_kube_score": "kube-score (staging, production)",
    "tests.test_pod_security": "Pod Security admission (library)",
    "tests.test_docs": "README matches the code",
    "tests.test_args_docs": "every Args field documents its default",
    "tests.test_monitoring_rules": "promtool rules and unit tests",
    "tests.test_prometheus_config": "promtool config, live Prometheus",
    "tests.test_alertmanager_config": "amtool check-config",
    "tests.test_alertmanager_reload": "live Alertmanager reload (config reloader)",
    "tests.test_monitoring_stack": "MonitoringStack and dashboards",
    "tests.test_exporters": "kube-state-metrics, node-exporter",
    "tests.test_exporters_live": "real exporters, live Prometheus",
    "tests.test_cert_issuer": "CertIssuer and cert-manager CRDs",
    "tests.test_engine": "real Pulumi engine (preview, up)",
    "tests.test_cluster": "real API server (local cluster)",
    "tests.test_logging_stack": "LoggingStack under mocks",
    "tests.test_fluent_bit": "Fluent Bit parsing (real rules, lua)",
    "tests.test_loki": "real Loki: verify-config, push, query",
    "tests.test_workflows": "GitHub workflows (actionlint)",
    "tests.test_policy_pack": "policy pack (rules, real engine)",
    "tests.test_backups": "backups (Velero Schedules)",
    "tests.test_example_consumer": "wheel and example consumer",
    "tests.test_package": "component package (schema, YAML, TypeScript)",
}


def main(path: str) -> int:
    ran: Counter[str] = Counter()
    problems: list[str] = []
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        module = case.get("classname", "").rsplit(".", 1)[0] if "." in case.get("classname", "") else ""
        classname = case.get("classname", "")
        # The longest layer the test's module is (or is a class inside): test_settings_rules is not test_settings.
        matching = [layer for layer in LAYERS if classname == layer or classname.startswith(f"{layer}.")]
        module = max(matching, key=len, default=module)
        outcome = next((child.tag for child in case if child.tag in ("skipped", "failure", "error")), None)
        if outcome:
            problems.append(f"{case.get('classname')}::{case.get('name')} {outcome}")
        else:
            ran[module] += 1
    for layer, title in LAYERS.items():
        print(f"layer {title:<32} {ran[layer]:>4} tests passed")
        if ran[layer] == 0:
            problems.append(f"layer '{title}' ({layer}) ran no test")
    if problems:
        print("\n".join(["", "test layers incomplete:", *problems]), file=sys.stderr)
        return 1
    print("every test layer ran")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/test-results.xml"))
