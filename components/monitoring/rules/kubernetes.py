"""Kubernetes control-plane rules: the API server and the kubelets, after kubernetes-mixin.

- API server (job 'apiserver'): share of 5xx answers, p99 latency of non-long-running verbs, and
  the remaining lifetime of the client certificates presented to it;
- kubelet (job 'kubelet'): PLEG relist duration (a kubelet slow to notice container state changes)
  and pod start latency (excluding image pulls and init containers).

A kubelet or API server that is not scraped at all is KubeletDown / KubeAPIServerDown
(self_monitoring.py); full volumes are storage.py's.
Ref: https://github.com/kubernetes-monitoring/kubernetes-mixin/tree/master/alerts
Ref: https://kubernetes.io/docs/reference/instrumentation/metrics/
"""

from __future__ import annotations

from .helpers import alert, record

DAY = 86400
CERTIFICATE_WARNING_DAYS = 7
CERTIFICATE_CRITICAL_DAYS = 1

_TIMED_VERBS = 'verb=~"GET|POST|PUT|PATCH|DELETE", subresource!~"log|exec|portforward|attach|proxy"'
"""Requests whose duration means latency: LIST and WATCH scale with the collection or last as long
as the client wants, and the streaming subresources are long-running by design."""

RECORDING_RULES = [
    record(
        "job:apiserver_request_errors:ratio_rate5m",
        """
        (
          sum by (job) (rate(apiserver_request_total{%(apiserver)s, code=~"5.."}[5m]))
          or
          sum by (job) (rate(apiserver_request_total{%(apiserver)s}[5m])) * 0
        )
        /
        sum by (job) (rate(apiserver_request_total{%(apiserver)s}[5m]))
        """,
    ),
    record(
        "job_verb:apiserver_request_duration_seconds:p99_5m",
        f"""
        histogram_quantile(
          0.99,
          sum by (job, verb, le) (rate(apiserver_request_duration_seconds_bucket{{%(apiserver)s, {_TIMED_VERBS}}}[5m]))
        )
        """,
    ),
    record(
        "job:apiserver_client_certificate_expiration_seconds:p1_5m",
        """
        histogram_quantile(
          0.01, sum by (job, le) (rate(apiserver_client_certificate_expiration_seconds_bucket{%(apiserver)s}[5m]))
        )
        """,
    ),
    record(
        "node:kubelet_pleg_relist_duration_seconds:p99_5m",
        """
        histogram_quantile(0.99, sum by (node, le) (rate(kubelet_pleg_relist_duration_seconds_bucket{%(kubelet)s}[5m])))
        """,
    ),
    record(
        "node:kubelet_pod_start_sli_duration_seconds:p99_5m",
        """
        histogram_quantile(
          0.99, sum by (node, le) (rate(kubelet_pod_start_sli_duration_seconds_bucket{%(kubelet)s}[5m]))
        )
        """,
    ),
]


def _certificate_expiration(days: int, severity: str) -> dict:
    days_text = f"{days} day{'s' if days != 1 else ''}"
    return alert(
        "KubeClientCertificateExpiration",
        f"job:apiserver_client_certificate_expiration_seconds:p1_5m < {days} * {DAY}",
        for_="5m",
        severity=severity,
        summary=f"A client certificate used against the API server expires in less than {days_text}.",
        description=f"""
        1 % of the client certificates presented to {{{{ $labels.job }}}} in the last 5 minutes expire
        within {{{{ $value | humanizeDuration }}}} (threshold {days_text}): the kubelets, controllers or
        users holding them lose access when they do.
        """,
    )


ALERTS = [
    alert(
        "KubeAPIServerErrorsHigh",
        "job:apiserver_request_errors:ratio_rate5m > 0.03",
        for_="15m",
        severity="critical",
        summary="The API server answers more than 3 % of requests with 5xx.",
        description="""
        {{ $value | humanizePercentage }} of the requests to {{ $labels.job }} failed with a 5xx status
        over the last 5 minutes (threshold 3%): controllers, deployments and kubectl fail with it.
        """,
    ),
    alert(
        "KubeAPIServerLatencyHigh",
        "job_verb:apiserver_request_duration_seconds:p99_5m > 1",
        for_="10m",
        severity="warning",
        summary="The API server's p99 latency is above 1 second.",
        description="""
        {{ $labels.verb }} requests to {{ $labels.job }} have a p99 latency of
        {{ $value | humanizeDuration }} (threshold 1s) over the last 5 minutes.
        """,
    ),
    _certificate_expiration(CERTIFICATE_WARNING_DAYS, "warning"),
    _certificate_expiration(CERTIFICATE_CRITICAL_DAYS, "critical"),
    alert(
        "KubeletPlegDurationHigh",
        "node:kubelet_pleg_relist_duration_seconds:p99_5m >= 10",
        for_="5m",
        severity="warning",
        summary="A kubelet takes 10 seconds or more to relist its pods.",
        description="""
        The Pod Lifecycle Event Generator of the kubelet on {{ $labels.node }} has a p99 relist
        duration of {{ $value | humanizeDuration }}: the node is slow to see containers start and
        die, and turns NotReady at 3 minutes.
        """,
    ),
    alert(
        "KubeletPodStartUpLatencyHigh",
        "node:kubelet_pod_start_sli_duration_seconds:p99_5m > 60",
        for_="15m",
        severity="warning",
        summary="Pods take more than 60 seconds to start on a node.",
        description="""
        The p99 pod start time on {{ $labels.node }} (image pulls and init containers excluded) is
        {{ $value | humanizeDuration }}: rollouts and autoscaling on that node are slow.
        """,
    ),
]

GROUPS = [
    {"name": "keelson.kubernetes.recording", "rules": RECORDING_RULES},
    {"name": "keelson.kubernetes.alerts", "rules": ALERTS},
]
