"""The few helpers every rule module uses: metric selectors, PromQL templating and alert().

Label convention. Every series of a Keelson app comes from its own scrape job named
'keelson-app/<namespace>/<app>' (components/monitoring/prometheus_config.py), whose targets carry:

- namespace: the pod's namespace;
- app: the pod's 'app.kubernetes.io/name' label (HardenedApp also names the Deployment, its
  container and its HPA after the app, so workload rules copy 'container' or
  'horizontalpodautoscaler' into 'app' and one inhibition rule covers all of an app's alerts);
- component: 'app.kubernetes.io/component' ('api' or 'worker');
- pod, instance and job.

App rules therefore select `job=~"keelson-app/.+"` and aggregate by (namespace, app), which is the
'namespace_app' level of their recording rules.
"""

from __future__ import annotations

import textwrap
from typing import Any

RUNBOOK_BASE_URL = "https://github.com/keelson-platform/keelson/blob/main/docs/runbooks.md"
"""Every alert links to '<base>#<lowercase alert name>', a section of docs/runbooks.md."""

APP_JOB_PREFIX = "keelson-app/"
"""Scrape jobs of Keelson apps are named '<prefix><namespace>/<app>'."""

SELECTORS: dict[str, str] = {
    "apps": f'job=~"{APP_JOB_PREFIX}.+"',
    "kube_state_metrics": 'job="kube-state-metrics"',
    "cadvisor": 'job="cadvisor"',
    "kubelet": 'job="kubelet"',
    "alertmanager": 'job="alertmanager"',
    "prometheus": 'job="prometheus"',
    "apiserver": 'job="apiserver"',
    "node_exporter": 'job="node-exporter"',
}
"""Label matchers each domain's rules start from, substituted into '%(name)s' placeholders."""


def promql(template: str, **values: Any) -> str:
    """Return a PromQL expression: dedented, trimmed, '%(name)s' filled from SELECTORS and values."""
    return textwrap.dedent(template).strip() % {**SELECTORS, **values}


def record(name: str, expr: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """Return a recording rule; 'expr' is a promql() template."""
    rule: dict[str, Any] = {"record": name, "expr": promql(expr)}
    if labels:
        rule["labels"] = dict(labels)
    return rule


def alert(
    name: str,
    expr: str,
    for_: str,
    severity: str,
    summary: str,
    description: str,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Return an alerting rule with its severity label and summary, description and runbook_url.

    'expr' is a promql() template; 'summary' is one line; 'description' is a Go template using
    {{ $labels.* }} and {{ $value }}. The runbook_url is derived from the name, so it is never
    written by hand and always points at the section of docs/runbooks.md titled with the name.
    """
    if severity not in ("critical", "warning", "info"):
        raise ValueError(f"alert {name}: severity '{severity}' is not one of critical, warning, info")
    if "\n" in summary.strip():
        raise ValueError(f"alert {name}: the summary must be one line")
    return {
        "alert": name,
        "expr": promql(expr),
        "for": for_,
        "labels": {**(labels or {}), "severity": severity},
        "annotations": {
            "summary": summary.strip(),
            "description": " ".join(description.split()),
            "runbook_url": f"{RUNBOOK_BASE_URL}#{name.lower()}",
        },
    }
