"""Cross-component rules about resources: limit/request ratios and namespace quotas at their peak.

Each governed namespace's quota must hold what runs in it at once (the apps at their autoscaling
maximum plus a rollout surge pod, the platform workloads, cert-manager's HTTP-01 solver pods), and
the apps and the solver pods must fit the LimitRange of the namespace they run in (the platform
components' Args check their own workloads). settings_rules.RULES runs these rules in the order
of README.md's list; settings_rules.problems() stays the one entry point.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Callable

from keelson.footprint import Footprint, resources_footprint, total
from keelson.quantities import format_cpu, format_memory, parse_cpu, parse_memory
from settings_inventory import governed_namespaces, ingress_hosts

if TYPE_CHECKING:
    from keelson.models import NamespaceSpec
    from settings import StackSettings


def _solver_pods(settings: StackSettings) -> dict[str, int]:
    """HTTP-01 solver pods cert-manager may run at once, per namespace: one per pending HTTP-01 host."""
    tls = settings.tls
    pods: dict[str, int] = {}
    if tls.mode != "local":
        for _, host, namespace in ingress_hosts(settings):
            if tls.http01_host(host):
                pods[namespace] = pods.get(namespace, 0) + 1
    for certificate in tls.certificates:
        if (certificate.issuer or tls.mode) != "local":
            count = sum(tls.http01_host(host) for host in certificate.hosts)
            pods[certificate.namespace] = pods.get(certificate.namespace, 0) + count
    return pods


def app_ratio_problems(settings: StackSettings) -> list[str]:
    """Every container of every app (its own, sidecars, init containers) has a limit/request ratio
    within the apps' LimitRange."""
    found = []
    ceilings = settings.namespace.limit_range.max_limit_request_ratio
    for name, app in settings.apps.items():
        for field, resources in app.container_resources:
            for resource, described, ceiling in resources.ratios_above(ceilings):
                found.append(
                    f"keelson:apps.{name}.{field}: {described}, above "
                    f"keelson:namespace.limitRange.maxLimitRequestRatio.{resource} ({ceiling}); the LimitRange would "
                    "reject the pods"
                )
    return found


def solver_ratio_problems(settings: StackSettings) -> list[str]:
    """HTTP-01 solver pods fit the LimitRange of every governed namespace they run in."""
    found = []
    tls = settings.tls_args()
    solver_namespaces = set(tls.http01_namespaces())
    for key, spec in governed_namespaces(settings):
        if spec.name not in solver_namespaces:
            continue
        for resource, described, ceiling in tls.solver_resources.ratios_above(spec.limit_range.max_limit_request_ratio):
            found.append(
                f"keelson:tls.solverResources: {described}, above {key}.limitRange.maxLimitRequestRatio.{resource} "
                f"({ceiling}): the LimitRange of '{spec.name}' would reject the HTTP-01 solver pods"
            )
    return found


def _peaks(settings: StackSettings) -> list[tuple[str, NamespaceSpec, Footprint, str]]:
    """What each governed namespace must hold at once: pods and their summed requests and limits."""
    solver_pods = _solver_pods(settings)
    spec = settings.monitoring
    # Sidecars run beside the app for the pod's whole life; init containers finish first (not counted).
    apps = total([
        resources_footprint(resources, (app.autoscaling.max_replicas if app.autoscaling else app.replicas) + 1)
        for app in settings.apps.values()
        for resources in [app.resources, *(sidecar.resources for sidecar in app.sidecars)]
    ] + [
        # One pod per Job that may run at once: the migration and each CronJob (concurrency Forbid);
        # a canary's pods plus its rollout's surge pod.
        resources_footprint(
            app.resources, (app.migration is not None) + len(app.schedules) + (app.canary.replicas + 1 if app.canary else 0)
        )
        for app in settings.apps.values()
    ])
    monitoring = total([
        resources_footprint(spec.prometheus.resources, spec.prometheus.replicas),
        resources_footprint(spec.alertmanager.resources, spec.alertmanager.replicas),
        resources_footprint(spec.grafana.resources, 2),
        resources_footprint(spec.kube_state_metrics.resources, 2 * spec.kube_state_metrics.enabled),
    ])
    logging = resources_footprint(settings.logging.loki.resources, settings.logging.loki.replicas)
    collector = resources_footprint(settings.logging.fluent_bit.resources, 1)
    node_exporter = resources_footprint(spec.node_exporter.resources, 1)
    peaks = [
        ("keelson:namespace", settings.namespace, apps, "the apps at their autoscaling maximum plus one rollout surge pod each, and their Jobs and canaries"),
        ("keelson:monitoring.namespace", settings.monitoring.namespace, monitoring,
         "Prometheus, Alertmanager, Grafana and kube-state-metrics (two pods each of the last two while they roll)"),
        ("keelson:logging.namespace", settings.logging.namespace, logging, "Loki"),
        ("keelson:logging.collectorNamespace", settings.logging.collector_namespace, collector, "the Fluent Bit pod of one node"),
    ]
    if spec.node_exporter.enabled:
        peaks.append(("keelson:monitoring.nodeExporter.namespace", spec.node_exporter.namespace, node_exporter, "the node-exporter pod of one node"))
    return [
        (
            key,
            namespace,
            peak + resources_footprint(settings.tls.solver_resources, solver_pods.get(namespace.name, 0)),
            what + (f", plus {solver_pods[namespace.name]} HTTP-01 solver pod(s)" if solver_pods.get(namespace.name) else ""),
        )
        for key, namespace, peak, what in peaks
    ]


def quota_problems(settings: StackSettings) -> list[str]:
    """Every governed namespace's quota holds what runs in it at its peak."""
    found = []
    for key, namespace, peak, what in _peaks(settings):
        quota = namespace.quota
        needs: list[tuple[str, str, Decimal, Callable[[str], Decimal], Callable[[Decimal], str]]] = [
            ("requests", "cpu", peak.cpu_requests, parse_cpu, format_cpu),
            ("requests", "memory", peak.memory_requests, parse_memory, format_memory),
            ("limits", "cpu", peak.cpu_limits, parse_cpu, format_cpu),
            ("limits", "memory", peak.memory_limits, parse_memory, format_memory),
        ]
        for kind, resource, total, parse, show in needs:
            allowed = getattr(getattr(quota, kind), resource)
            if total > parse(allowed):
                found.append(
                    f"{key}.quota.{kind}.{resource} ({allowed}) is below the {show(total)} needed by {what}; "
                    "raise the quota or lower the replicas/resources"
                )
        if peak.pods > quota.pods:
            found.append(f"{key}.quota.pods ({quota.pods}) is below the {peak.pods} pods needed by {what}")
    return found
