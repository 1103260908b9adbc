"""Self-monitoring rules: alerts about the alerting itself.

- Watchdog, always firing: Alertmanager routes it to a heartbeat receiver (a dead man's switch
  service) that pages when the pings stop, i.e. when Prometheus, Alertmanager or the path between
  them is broken (see components/monitoring/alertmanager.py);
- Prometheus failing to evaluate rules, to reach Alertmanager, to reload its configuration, to
  compact or truncate its TSDB, to keep up with its remote_write endpoints, or discovering no
  target for a scrape job;
- Alertmanager failing to deliver notifications or to see all members of its cluster;
- absent() guards: a scrape job the rules depend on that has no target up is an alert, not the
  silence of every alert built on it.

Metric names are those of Prometheus v3.5.0 and Alertmanager v0.28.1, as their mixins use them.
Ref: https://github.com/prometheus/prometheus/blob/v3.5.0/documentation/prometheus-mixin/alerts.libsonnet
Ref: https://github.com/prometheus/alertmanager/blob/v0.28.1/doc/alertmanager-mixin/alerts.libsonnet
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .helpers import alert

WATCHDOG = "Watchdog"
"""The always-firing alert; Alertmanager routes it by this name, never by severity."""


class GuardedJob(NamedTuple):
    """A scrape job whose absence silences alerts, and the alert that says so."""

    job: str
    alert: str
    severity: str
    blinds: str


GUARDED_JOBS = (
    GuardedJob("apiserver", "KubeAPIServerDown", "critical", "the API server alerts"),
    GuardedJob("kubelet", "KubeletDown", "critical", "the kubelet, PLEG and volume alerts"),
    GuardedJob("cadvisor", "CAdvisorDown", "warning", "the container CPU and memory alerts"),
    GuardedJob(
        "kube-state-metrics", "KubeStateMetricsDown", "critical", "the restart, HPA, node condition and workload alerts"
    ),
    GuardedJob("node-exporter", "NodeExporterDown", "warning", "the node filesystem and clock alerts"),
    GuardedJob("prometheus", "PrometheusSelfScrapeDown", "warning", "the Prometheus self-monitoring alerts"),
    GuardedJob("alertmanager", "AlertmanagerDown", "critical", "the Alertmanager alerts, and alert delivery"),
)
"""The jobs the rules select on (components/monitoring/prometheus_config.py names them)."""

WATCHDOG_ALERTS = [
    alert(
        WATCHDOG,
        "vector(1)",
        for_="1m",
        severity="info",
        summary="Always firing: proves that the alerting pipeline works.",
        description="""
        This alert always fires in environment {{ $externalLabels.environment }}; Alertmanager sends
        it to the heartbeat receiver, which pages when it stops arriving. Never silence it.
        """,
    ),
]

PROMETHEUS_ALERTS = [
    alert(
        "PrometheusRuleFailures",
        "increase(prometheus_rule_evaluation_failures_total{%(prometheus)s}[5m]) > 0",
        for_="15m",
        severity="critical",
        summary="Prometheus fails to evaluate rules.",
        description="""
        Prometheus {{ $labels.namespace }}/{{ $labels.pod }} failed to evaluate
        {{ $value | humanize }} rules of group {{ $labels.rule_group }} in the last 5 minutes: the
        alerts of that group can neither fire nor resolve.
        """,
    ),
    alert(
        "PrometheusErrorSendingAlerts",
        """
        rate(prometheus_notifications_errors_total{%(prometheus)s}[5m])
        /
        rate(prometheus_notifications_sent_total{%(prometheus)s}[5m])
        > 0.01
        """,
        for_="15m",
        severity="warning",
        summary="Prometheus fails to send alerts to an Alertmanager.",
        description="""
        Prometheus {{ $labels.namespace }}/{{ $labels.pod }} failed to send
        {{ $value | humanizePercentage }} of its alerts to Alertmanager {{ $labels.alertmanager }}
        over the last 5 minutes.
        """,
    ),
    alert(
        "PrometheusNotConnectedToAlertmanagers",
        "max_over_time(prometheus_notifications_alertmanagers_discovered{%(prometheus)s}[5m]) < 1",
        for_="10m",
        severity="critical",
        summary="Prometheus reaches no Alertmanager.",
        description="""
        Prometheus {{ $labels.namespace }}/{{ $labels.pod }} has discovered no Alertmanager for
        10 minutes: its alerts are evaluated but reach nobody.
        """,
    ),
    alert(
        "PrometheusConfigReloadFailed",
        "max_over_time(prometheus_config_last_reload_successful{%(prometheus)s}[5m]) == 0",
        for_="10m",
        severity="critical",
        summary="Prometheus failed to load its configuration.",
        description="""
        Prometheus {{ $labels.namespace }}/{{ $labels.pod }} has failed to reload its configuration
        for 10 minutes and keeps running with the previous one.
        """,
    ),
    alert(
        "PrometheusTSDBCompactionsFailing",
        "increase(prometheus_tsdb_compactions_failed_total{%(prometheus)s}[3h]) > 0",
        for_="4h",
        severity="warning",
        summary="Prometheus keeps failing to compact its TSDB blocks.",
        description="""
        Prometheus {{ $labels.namespace }}/{{ $labels.pod }} has had {{ $value | humanize }}
        compaction failures in the last 3 hours, for 4 hours: the head block grows and so does memory.
        """,
    ),
    alert(
        "PrometheusTSDBReloadsFailing",
        "increase(prometheus_tsdb_reloads_failures_total{%(prometheus)s}[3h]) > 0",
        for_="4h",
        severity="warning",
        summary="Prometheus keeps failing to reload its TSDB blocks from disk.",
        description="""
        Prometheus {{ $labels.namespace }}/{{ $labels.pod }} has had {{ $value | humanize }} block
        reload failures in the last 3 hours, for 4 hours: new blocks are not queryable.
        """,
    ),
    alert(
        "PrometheusTSDBHeadTruncationsFailing",
        "increase(prometheus_tsdb_head_truncations_failed_total{%(prometheus)s}[1h]) > 0",
        for_="15m",
        severity="warning",
        summary="Prometheus fails to truncate its in-memory head block.",
        description="""
        Prometheus {{ $labels.namespace }}/{{ $labels.pod }} failed {{ $value | humanize }} head
        truncations in the last hour: old samples stay in memory until it runs out.
        """,
    ),
    alert(
        "PrometheusTSDBWALCorruptions",
        "increase(prometheus_tsdb_wal_corruptions_total{%(prometheus)s}[1h]) > 0",
        for_="1m",
        severity="warning",
        summary="Prometheus found a corrupted write-ahead log.",
        description="""
        Prometheus {{ $labels.namespace }}/{{ $labels.pod }} repaired {{ $value | humanize }} WAL
        corruptions in the last hour: the samples after each corruption are lost.
        """,
    ),
    alert(
        "PrometheusRemoteStorageFailures",
        """
        rate(prometheus_remote_storage_samples_failed_total{%(prometheus)s}[5m])
        /
        (
          rate(prometheus_remote_storage_samples_failed_total{%(prometheus)s}[5m])
          +
          rate(prometheus_remote_storage_samples_total{%(prometheus)s}[5m])
        )
        > 0.01
        """,
        for_="15m",
        severity="warning",
        summary="Prometheus fails to send samples to a remote_write endpoint.",
        description="""
        Prometheus {{ $labels.namespace }}/{{ $labels.pod }} failed to send
        {{ $value | humanizePercentage }} of its samples to {{ $labels.remote_name }}
        ({{ $labels.url }}) over the last 5 minutes; they are dropped, not retried.
        """,
    ),
    alert(
        "PrometheusRemoteWriteBehind",
        """
        (
          max_over_time(prometheus_remote_storage_highest_timestamp_in_seconds{%(prometheus)s}[5m])
          - ignoring (remote_name, url) group_right ()
          max_over_time(prometheus_remote_storage_queue_highest_sent_timestamp_seconds{%(prometheus)s}[5m])
        )
        > 120
        """,
        for_="15m",
        severity="warning",
        summary="Prometheus' remote_write queue is more than 2 minutes behind.",
        description="""
        The remote_write queue {{ $labels.remote_name }} ({{ $labels.url }}) of Prometheus
        {{ $labels.namespace }}/{{ $labels.pod }} is {{ $value | humanizeDuration }} behind; samples it
        has not sent when the WAL is truncated are lost.
        """,
    ),
    alert(
        "PrometheusTargetDiscoveryEmpty",
        'max_over_time(prometheus_sd_discovered_targets{%(prometheus)s, name="scrape"}[10m]) == 0',
        for_="15m",
        severity="warning",
        summary="A scrape job discovers no target at all.",
        description="""
        Service discovery of scrape job {{ $labels.config }} on Prometheus {{ $labels.namespace }}/{{ $labels.pod }}
        has found no target for 25 minutes: the job scrapes nothing, so no alert built on it can fire.
        Its workloads are gone, or Prometheus may not list them (RBAC, NetworkPolicy to the API server).
        """,
    ),
]

ALERTMANAGER_ALERTS = [
    alert(
        "AlertmanagerFailedToSendAlerts",
        """
        sum without (reason) (rate(alertmanager_notifications_failed_total{%(alertmanager)s}[5m]))
        /
        rate(alertmanager_notifications_total{%(alertmanager)s}[5m])
        > 0.01
        """,
        for_="5m",
        severity="warning",
        summary="Alertmanager fails to deliver notifications.",
        description="""
        Alertmanager {{ $labels.namespace }}/{{ $labels.pod }} failed to send
        {{ $value | humanizePercentage }} of its notifications to {{ $labels.integration }} over the
        last 5 minutes.
        """,
    ),
    alert(
        "AlertmanagerMembersInconsistent",
        """
        max_over_time(alertmanager_cluster_members{%(alertmanager)s}[5m])
        < on (namespace, job) group_left ()
        count by (namespace, job) (max_over_time(alertmanager_cluster_members{%(alertmanager)s}[5m]))
        """,
        for_="15m",
        severity="critical",
        summary="An Alertmanager replica does not see every member of its cluster.",
        description="""
        Alertmanager {{ $labels.namespace }}/{{ $labels.pod }} sees only {{ $value }} members of its
        cluster: replicas that do not gossip send duplicate notifications and miss silences.
        """,
    ),
]


def _absent_guard(guarded: GuardedJob) -> dict[str, Any]:
    return alert(
        guarded.alert,
        # Every target down, or none discovered at all: both branches keep the 'job' label, which
        # absent(up{job="..."} == 1) would drop.
        f'max by (job) (up{{job="{guarded.job}"}}) == 0 or absent(up{{job="{guarded.job}"}})',
        for_="15m",
        severity=guarded.severity,
        summary=f"No target of scrape job {guarded.job} is up.",
        description=f"""
        Scrape job {{{{ $labels.job }}}} has had no target up for 15 minutes (its exporter is
        missing, down or unreachable): {guarded.blinds} cannot fire.
        """,
    )


ABSENT_ALERTS = [_absent_guard(guarded) for guarded in GUARDED_JOBS]

GROUPS = [
    {"name": "keelson.self_monitoring.watchdog", "rules": WATCHDOG_ALERTS},
    {"name": "keelson.self_monitoring.prometheus", "rules": PROMETHEUS_ALERTS},
    {"name": "keelson.self_monitoring.alertmanager", "rules": ALERTMANAGER_ALERTS},
    {"name": "keelson.self_monitoring.absent", "rules": ABSENT_ALERTS},
]
