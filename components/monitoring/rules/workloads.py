"""Workload rules: restarts, CPU and memory against limits, and autoscalers at their ceiling.

Metrics come from cAdvisor (container_*, scraped from the kubelet as job 'cadvisor') and
kube-state-metrics (kube_*). Both describe containers, not apps, so the rules copy the container
name (or the HPA name) into an 'app' label: HardenedApp names its container and its HPA after the
app, which lets the AppDown inhibition mute these alerts too.
Ref: https://github.com/kubernetes/kube-state-metrics/tree/main/docs/metrics/workload
Ref: https://github.com/google/cadvisor/blob/master/docs/storage/prometheus.md
"""

from __future__ import annotations

from .helpers import alert, record

GIBIBYTE = 2**30

_CONTAINERS = '%(cadvisor)s, container!="", container!="POD", image!=""'
"""Real containers only: cAdvisor also reports the pod cgroup (container="") and the pause container."""


def _hpa(field: str) -> str:
    """One kube-state-metrics HPA series per (namespace, HPA), whatever instance exported it."""
    series = f"kube_horizontalpodautoscaler_{field}{{%(kube_state_metrics)s}}"
    return f"max by (namespace, horizontalpodautoscaler) ({series})"


RECORDING_RULES = [
    record(
        "namespace_pod_container:container_cpu_usage_seconds:rate5m",
        f"""
        label_replace(
          sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{{{_CONTAINERS}}}[5m])),
          "app", "$1", "container", "(.+)"
        )
        """,
    ),
    record(
        "namespace_pod_container:container_memory_working_set_bytes:sum",
        f"""
        label_replace(
          sum by (namespace, pod, container) (container_memory_working_set_bytes{{{_CONTAINERS}}}),
          "app", "$1", "container", "(.+)"
        )
        """,
    ),
    record(
        "namespace_pod_container:container_cpu_usage:ratio_limit",
        """
        namespace_pod_container:container_cpu_usage_seconds:rate5m
        / on (namespace, pod, container) group_left ()
        sum by (namespace, pod, container) (
          kube_pod_container_resource_limits{%(kube_state_metrics)s, resource="cpu"}
        )
        """,
    ),
    record(
        "namespace_pod_container:container_memory_working_set:ratio_limit",
        """
        namespace_pod_container:container_memory_working_set_bytes:sum
        / on (namespace, pod, container) group_left ()
        sum by (namespace, pod, container) (
          kube_pod_container_resource_limits{%(kube_state_metrics)s, resource="memory"}
        )
        """,
    ),
    record(
        "namespace_pod_container:kube_pod_container_status_restarts:increase1h",
        """
        label_replace(
          sum by (namespace, pod, container) (
            increase(kube_pod_container_status_restarts_total{%(kube_state_metrics)s}[1h])
          ),
          "app", "$1", "container", "(.+)"
        )
        """,
    ),
    record(
        "namespace_app:container_cpu_usage_seconds:rate5m",
        "sum by (namespace, app) (namespace_pod_container:container_cpu_usage_seconds:rate5m)",
    ),
    record(
        "namespace_app:container_memory_working_set_bytes:sum",
        "sum by (namespace, app) (namespace_pod_container:container_memory_working_set_bytes:sum)",
    ),
]

ALERTS = [
    alert(
        "PodCrashLooping",
        "namespace_pod_container:kube_pod_container_status_restarts:increase1h > 5",
        for_="5m",
        severity="critical",
        summary="A container restarted more than 5 times in the last hour.",
        description="""
        Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} restarted
        {{ $value | humanize }} times in the last hour: it is crash looping.
        """,
    ),
    alert(
        "PodRestartLoop",
        "namespace_pod_container:kube_pod_container_status_restarts:increase1h > 3",
        for_="15m",
        severity="warning",
        summary="A container restarted more than 3 times in the last hour.",
        description="""
        Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} restarted
        {{ $value | humanize }} times in the last hour.
        """,
    ),
    alert(
        "HighCPUUsage",
        "namespace_pod_container:container_cpu_usage:ratio_limit > 0.8",
        for_="10m",
        severity="warning",
        summary="A container uses more than 80 % of its CPU limit.",
        description="""
        Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} has used
        {{ $value | humanizePercentage }} of its CPU limit for 10 minutes; it is being throttled.
        """,
    ),
    alert(
        "HighMemoryUsage",
        "namespace_pod_container:container_memory_working_set:ratio_limit > 0.85",
        for_="10m",
        severity="warning",
        summary="A container uses more than 85 % of its memory limit.",
        description="""
        Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} has used
        {{ $value | humanizePercentage }} of its memory limit for 10 minutes; at 100% it is OOM-killed.
        """,
    ),
    alert(
        "ContainerMemoryHigh",
        f"namespace_pod_container:container_memory_working_set_bytes:sum > {GIBIBYTE}",
        for_="15m",
        severity="info",
        summary="A container's working set is above 1 GiB.",
        description="""
        Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} has held
        {{ $value | humanize1024 }}B of memory for 15 minutes (threshold 1GiB).
        """,
    ),
    alert(
        "HPAMaxedOut",
        f"""
        label_replace(
          {_hpa("status_current_replicas")}
          >=
          {_hpa("spec_max_replicas")},
          "app", "$1", "horizontalpodautoscaler", "(.+)"
        )
        unless on (namespace, horizontalpodautoscaler)
        (
          {_hpa("spec_min_replicas")}
          ==
          {_hpa("spec_max_replicas")}
        )
        """,
        for_="15m",
        severity="warning",
        summary="An autoscaler has run at its maximum replica count for 15 minutes.",
        description="""
        HPA {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} has run at its maximum of
        {{ $value }} replicas for 15 minutes: the app needs more capacity than it may scale to.
        """,
    ),
]

GROUPS = [
    {"name": "keelson.workloads.recording", "rules": RECORDING_RULES},
    {"name": "keelson.workloads.alerts", "rules": ALERTS},
]
