"""What a stack creates that several cross-component rules look at, each with the config key that
names it: the namespaces it governs and the hosts its Ingresses serve.

Read by settings_rules.py and settings_quota_rules.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keelson.models import NamespaceSpec
    from settings import StackSettings


def governed_namespaces(settings: StackSettings) -> list[tuple[str, NamespaceSpec]]:
    """The namespaces the stack creates and governs, with the key that names each."""
    governed = [
        ("keelson:namespace", settings.namespace),
        ("keelson:monitoring.namespace", settings.monitoring.namespace),
        ("keelson:logging.namespace", settings.logging.namespace),
        ("keelson:logging.collectorNamespace", settings.logging.collector_namespace),
    ]
    if settings.monitoring.node_exporter.enabled:
        governed.append(("keelson:monitoring.nodeExporter.namespace", settings.monitoring.node_exporter.namespace))
    return governed


def ingress_hosts(settings: StackSettings) -> list[tuple[str, str, str]]:
    """(key, host, namespace) of every Ingress host, each of which gets a certificate from keelson:tls.mode."""
    hosts = [
        (f"keelson:apps.{name}.ingress.host", app.ingress.host, settings.namespace.name)
        for name, app in settings.apps.items()
        if app.ingress is not None
    ]
    if settings.monitoring.grafana.ingress is not None:
        hosts.append(
            ("keelson:monitoring.grafana.ingress.host", settings.monitoring.grafana.ingress.host, settings.monitoring.namespace.name)
        )
    return hosts
