"""App rules: the RED metrics of Keelson apps (rate, errors, duration) and their availability.

Metrics are the ones podinfo exposes (pkg/api/http/metrics.go): http_requests_total{status} and
http_request_duration_seconds{method, path, status}. Two more are conventions for apps that have
them: http_request_size_bytes (a histogram of request bodies) and queue_latency_seconds (a
histogram of how long a job waited in the queue before a worker took it); podinfo exposes neither,
so their rules stay empty, and their alerts silent, until an app does.
Ref: https://github.com/stefanprodan/podinfo/blob/master/pkg/api/http/metrics.go
"""

from __future__ import annotations

from .helpers import alert, record

RECORDING_RULES = [
    record(
        "namespace_app:http_requests:rate5m",
        "sum by (namespace, app) (rate(http_requests_total{%(apps)s}[5m]))",
    ),
    record(
        "namespace_app:http_requests_errors:rate5m",
        'sum by (namespace, app) (rate(http_requests_total{%(apps)s, status=~"5.."}[5m]))',
    ),
    # An app that never answered 5xx has no such series; 'or ... * 0' makes its ratio 0, not absent.
    record(
        "namespace_app:http_requests_errors:ratio_rate5m",
        """
        (namespace_app:http_requests_errors:rate5m or namespace_app:http_requests:rate5m * 0)
        /
        namespace_app:http_requests:rate5m
        """,
    ),
    record(
        "namespace_app:http_requests_successful:rate5m",
        'sum by (namespace, app) (rate(http_requests_total{%(apps)s, status!~"5.."}[5m]))',
    ),
    record(
        "namespace_app_path:http_requests:rate5m",
        "sum by (namespace, app, path) (rate(http_request_duration_seconds_count{%(apps)s}[5m]))",
    ),
    *[
        record(
            f"namespace_app:http_request_duration_seconds:p{quantile}_5m",
            f"""
            histogram_quantile(
              0.{quantile},
              sum by (namespace, app, le) (rate(http_request_duration_seconds_bucket{{%(apps)s}}[5m]))
            )
            """,
        )
        for quantile in (50, 95, 99)
    ],
    record(
        "namespace_app:http_request_size_bytes:avg_5m",
        """
        sum by (namespace, app) (rate(http_request_size_bytes_sum{%(apps)s}[5m]))
        /
        sum by (namespace, app) (rate(http_request_size_bytes_count{%(apps)s}[5m]))
        """,
    ),
    record(
        "namespace_app:queue_latency_seconds:p99_5m",
        """
        histogram_quantile(
          0.99,
          sum by (namespace, app, le) (rate(queue_latency_seconds_bucket{%(apps)s}[5m]))
        )
        """,
    ),
    record(
        "namespace_app_component:up:avg",
        "avg by (namespace, app, component) (up{%(apps)s})",
    ),
]

ALERTS = [
    alert(
        "AppDown",
        'namespace_app_component:up:avg{component="api"} == 0',
        for_="2m",
        severity="critical",
        summary="An API has no instance answering its scrapes.",
        description="""
        No instance of {{ $labels.app }} in namespace {{ $labels.namespace }} has answered a scrape
        for 2 minutes: the API is down or unreachable.
        """,
    ),
    alert(
        "WorkerDown",
        'namespace_app_component:up:avg{component="worker"} == 0',
        for_="2m",
        severity="critical",
        summary="A worker has no instance answering its scrapes.",
        description="""
        No instance of worker {{ $labels.app }} in namespace {{ $labels.namespace }} has answered a
        scrape for 2 minutes: jobs are not being processed.
        """,
    ),
    alert(
        "HighErrorRate",
        "namespace_app:http_requests_errors:ratio_rate5m > 0.05",
        for_="5m",
        severity="critical",
        summary="An app answers more than 5 % of its requests with a 5xx status.",
        description="""
        {{ $value | humanizePercentage }} of the requests to {{ $labels.app }} in namespace
        {{ $labels.namespace }} failed with a 5xx status over the last 5 minutes (threshold 5%).
        """,
    ),
    alert(
        "HighLatencyP99",
        "namespace_app:http_request_duration_seconds:p99_5m > 1",
        for_="10m",
        severity="warning",
        summary="An app's 99th percentile latency is above 1 second.",
        description="""
        The 99th percentile latency of {{ $labels.app }} in namespace {{ $labels.namespace }} has been
        {{ $value | humanizeDuration }} for 10 minutes (threshold 1s).
        """,
    ),
    alert(
        "HighQueueLatencyP99",
        "namespace_app:queue_latency_seconds:p99_5m > 5",
        for_="10m",
        severity="warning",
        summary="Jobs wait more than 5 seconds in a worker's queue (99th percentile).",
        description="""
        1 % of the jobs of {{ $labels.app }} in namespace {{ $labels.namespace }} waited more than
        {{ $value | humanizeDuration }} in the queue over the last 10 minutes (threshold 5s): the
        workers do not keep up.
        """,
    ),
]

GROUPS = [
    {"name": "keelson.apps.recording", "rules": RECORDING_RULES},
    {"name": "keelson.apps.alerts", "rules": ALERTS},
]
