"""Keelson: the platform program.

Reads the stack's settings (the only place config is read), then composes the components:
a governed namespace for the apps, one HardenedApp per entry of `keelson:apps`, and the
MonitoringStack that scrapes them and routes their alerts, the LoggingStack that collects and keeps
their logs, and the CertIssuer whose ClusterIssuer signs every Ingress certificate.
"""

import gc

import pulumi
import pulumi_kubernetes as k8s

from keelson.footprint import total

from keelson import (
    BackupSchedules,
    CertIssuer,
    GovernedNamespace,
    GovernedNamespaceArgs,
    HardenedApp,
    LoggingStack,
    MonitoringStack,
    PlatformPriorityClasses,
)
from settings import SettingsError, load_settings

# The SDK keeps thousands of Outputs and asyncio tasks alive per hundred resources; CPython's default
# thresholds then run ever longer full collections, which made large stacks scale worse than
# linearly (bench/RESULTS.md, section 3). Collecting less often keeps registration time linear.
gc.set_threshold(10_000, 10, 10)

try:
    settings = load_settings()
except SettingsError as error:
    # RunError ends the program with the message alone: no traceback, and no resource registered.
    raise pulumi.RunError(str(error)) from None

provider = k8s.Provider(
    "kubernetes",
    render_yaml_to_directory=settings.kubernetes.render_dir,
    context=settings.kubernetes.context,
    kubeconfig=settings.kubernetes.kubeconfig,
    # Every ConfigMap and Secret has a fixed name, so the provider's default for a data change
    # (delete it, then re-create it under the same name) leaves the workloads a window with no
    # config. Updated in place instead; the pods' keelson.dev/config-hash annotations roll them.
    enable_config_map_mutable=True,
    enable_secret_mutable=True,
)
on_cluster = pulumi.ResourceOptions(providers={"kubernetes": provider})

apps_namespace = GovernedNamespace(
    "apps",
    GovernedNamespaceArgs(**dict(settings.namespace), network=settings.network),
    opts=on_cluster,
)
# The platform pods name these PriorityClasses, so the classes exist first.
priorities = PlatformPriorityClasses("priority", settings.scheduling.priority_classes, opts=on_cluster)
after_priorities = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[priorities]))
monitoring = MonitoringStack("monitoring", settings.monitoring_args(), opts=after_priorities)
logging = LoggingStack("logging", settings.logging_args(), opts=after_priorities)
# The issuers come first so every Ingress finds its ClusterIssuer; the HTTP-01 solver policies
# go into the apps' and monitoring namespaces, so those exist before.
cert_issuer = CertIssuer(
    "tls",
    settings.tls_args(),
    opts=pulumi.ResourceOptions.merge(
        on_cluster, pulumi.ResourceOptions(depends_on=[apps_namespace, monitoring.governed_namespace])
    ),
)
apps = {
    name: HardenedApp(
        name,
        settings.app_args(name),
        opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[apps_namespace, cert_issuer])),
    )
    for name in settings.apps
}

# The Schedules name the stateful workloads' pods, so those exist first.
backups = (
    BackupSchedules(
        "backups",
        settings.backup_args(),
        opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[monitoring, logging, *apps.values()])),
    )
    if settings.backups.enabled
    else None
)

pulumi.export("environment", settings.environment)
pulumi.export(
    "namespaces",
    {
        "apps": apps_namespace.name,
        "monitoring": monitoring.namespace,
        "logging": logging.namespace,
        "logCollector": logging.collector_namespace,
        **({"nodeExporter": monitoring.node_exporter_namespace} if monitoring.node_exporter_namespace is not None else {}),
    },
)
pulumi.export("lokiUrl", logging.loki_url)
pulumi.export("appUrls", {name: app.url for name, app in apps.items() if app.url is not None})
pulumi.export("appInternalUrls", {name: app.internal_url for name, app in apps.items()})
pulumi.export("clusterIssuer", cert_issuer.issuer_name)
pulumi.export("grafanaUrl", monitoring.grafana_url)
pulumi.export("grafanaAdminPassword", monitoring.grafana_admin_password)
pulumi.export("prometheusUrl", monitoring.prometheus_url)
pulumi.export("alertmanagerUrl", monitoring.alertmanager_url)
pulumi.export("backupSchedules", backups.names if backups else [])
footprints = {
    "apps": total([app.footprint for app in apps.values()]),
    "monitoring": monitoring.footprint,
    "logging": logging.footprint,
}
pulumi.export(
    "footprint",
    {
        **{component: footprint.as_dict() for component, footprint in footprints.items()},
        "total": total(list(footprints.values())).as_dict(),
        "appsAtPeak": total([app.peak_footprint for app in apps.values()]).as_dict(),
    },
)
if settings.kubernetes.render_dir:
    pulumi.export("renderedManifests", settings.kubernetes.render_dir)

if __name__ == "__main__":
    # Run by the language host (the test harness runs this file under another name): everything the
    # program built lives until the process ends, so move it out of the cyclic collector's sight.
    # Otherwise the collections while the registrations finish, and the several full collections of
    # the interpreter's shutdown, walk the SDK's and Keelson's whole heap again: 0.4 s of every
    # preview under the real engine (bench/RESULTS.md, the breakdown of section 4).
    gc.freeze()
