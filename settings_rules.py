"""Cross-component rules of a stack: what no single component's Args can see on its own.

Each rule reads a validated StackSettings and returns its problems, one line each, in the form
"key = value: what is allowed, and why". StackSettings runs every rule before the program
registers a single resource; README.md ("Cross-field rules") lists them, one line per rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from keelson import images
from keelson.cert_issuer import CertIssuerArgs
from keelson.hardened_app import HardenedAppArgs
from keelson.logging.stack import LoggingStackArgs
from keelson.models import label_value_problem
from keelson.monitoring import operator
from keelson.monitoring.stack import MonitoringStackArgs
from settings_inventory import governed_namespaces, ingress_hosts
from settings_quota_rules import app_ratio_problems, quota_problems, solver_ratio_problems

if TYPE_CHECKING:
    from settings import StackSettings

STACK_WIDE_APP_FIELDS = {
    "namespace": "keelson:namespace",
    "environment": "keelson:environment",
    "log_level": "keelson:logLevel",
    "ingress_policy": "keelson:ingress",
    "network": "keelson:network",
    "spread": "keelson:scheduling.spread",
}
"""App fields every app of a stack shares; an app entry that sets one is an error, not an override."""

STACK_WIDE_MONITORING_FIELDS = {
    "environment": "keelson:environment",
    "channels": "keelson:alerting",
    "apps": "keelson:apps",
    "app_metrics": "keelson:apps",
    "ingress_policy": "keelson:ingress",
    "network": "keelson:network",
    "log_alerts_namespace": "keelson:logging.namespace.name",
    "spread": "keelson:scheduling.spread",
    "priority_class_name": "keelson:scheduling.priorityClasses.platform",
}
"""MonitoringStack fields the program derives from other keys."""

STACK_WIDE_TLS_FIELDS = {
    "ingress_class": "keelson:ingress.className",
    "ingress_controller_namespace": "keelson:ingress.controllerNamespace",
    "max_limit_request_ratio": "keelson:namespace.limitRange.maxLimitRequestRatio",
    "solver_namespaces": "keelson:namespace.name and keelson:monitoring.namespace.name",
}
"""CertIssuer fields the program derives from other keys."""

STACK_WIDE_LOGGING_FIELDS = {
    "environment": "keelson:environment",
    "monitoring_namespace": "keelson:monitoring.namespace.name",
    "network": "keelson:network",
    "spread": "keelson:scheduling.spread",
    "priority_class_name": "keelson:scheduling.priorityClasses.platform",
    "collector_priority_class_name": "keelson:scheduling.priorityClasses.collector",
}
"""LoggingStack fields the program derives from other keys."""

LABEL_VALUE_LIMIT = 63
"""Kubernetes label values (and so every name copied into one) have at most 63 characters."""

ZERO_MEANS = {
    "periodSeconds": "Kubernetes would replace a probe period of 0 with its default of 10 s",
    "timeoutSeconds": "Kubernetes would replace a probe timeout of 0 with its default of 1 s",
    "failureThreshold": "Kubernetes would replace a failure threshold of 0 with its default of 3",
    "terminationGracePeriodSeconds": "Kubernetes reads 0 as kill at once, with no time to shut down",
    "rateLimitRpm": "ingress-nginx reads 0 as no rate limit at all",
    "rateLimitConnections": "ingress-nginx reads 0 as no connection limit at all",
    "maxGlobalStreamsPerUser": "Loki reads 0 as no stream limit at all",
}
"""What the tool does with a 0 that a field refuses, added to the "must be at least 1" message."""


def problems(settings: StackSettings) -> list[str]:
    """Every cross-component problem of the stack, in the order of README.md's list."""
    found: list[str] = []
    for rule in RULES:
        found.extend(rule(settings))
    return found


# -- stack-wide and derived keys ----------------------------------------------------------------


def stack_wide_problems(settings: StackSettings) -> list[str]:
    """An app, or a component section, never sets what the stack sets for all or derives."""
    found = []
    for name, app in settings.apps.items():
        for field in sorted(app.model_fields_set & STACK_WIDE_APP_FIELDS.keys()):
            found.append(
                f"keelson:apps.{name}.{HardenedAppArgs.model_fields[field].alias} is set for the whole stack "
                f"by '{STACK_WIDE_APP_FIELDS[field]}'; remove it from the app"
            )
    for field in sorted(settings.monitoring.model_fields_set & STACK_WIDE_MONITORING_FIELDS.keys()):
        found.append(
            f"keelson:monitoring.{MonitoringStackArgs.model_fields[field].alias} is derived from "
            f"'{STACK_WIDE_MONITORING_FIELDS[field]}'; remove it from keelson:monitoring"
        )
    for field in sorted(settings.logging.model_fields_set & STACK_WIDE_LOGGING_FIELDS.keys()):
        found.append(
            f"keelson:logging.{LoggingStackArgs.model_fields[field].alias} is derived from "
            f"{STACK_WIDE_LOGGING_FIELDS[field]}; remove it from keelson:logging"
        )
    if "loki_url" in settings.monitoring.grafana.model_fields_set:
        found.append("keelson:monitoring.grafana.lokiUrl is derived from keelson:logging.namespace.name; remove it")
    if "alertmanager_url" in settings.logging.alerts.model_fields_set:
        found.append(
            "keelson:logging.alerts.alertmanagerUrl is derived from keelson:monitoring.namespace.name; remove it"
        )
    for field in sorted(settings.tls.model_fields_set & STACK_WIDE_TLS_FIELDS.keys()):
        found.append(
            f"keelson:tls.{CertIssuerArgs.model_fields[field].alias} is derived from "
            f"{STACK_WIDE_TLS_FIELDS[field]}; remove it from keelson:tls"
        )
    if "cluster_issuer" in settings.ingress.model_fields_set:
        found.append(
            f"keelson:ingress.clusterIssuer ({settings.ingress.cluster_issuer}) is derived from keelson:tls.mode "
            f"({settings.tls.mode} -> {settings.tls.issuer_name}); remove it"
        )
    return found


def peer_problems(settings: StackSettings) -> list[str]:
    """SLOs and 'talksTo' name apps of the stack, and Prometheus runs where the apps expect it."""
    found = [
        f"keelson:monitoring.slo[{index}].app '{objective.app}' is not an app of this stack; apps: {sorted(settings.apps)}"
        for index, objective in enumerate(settings.monitoring.slo)
        if objective.app not in settings.apps
    ]
    for name, app in settings.apps.items():
        for field, extras in (("sidecars", app.sidecars), ("initContainers", app.init_containers)):
            for index, extra in enumerate(extras):
                if extra.name == name:
                    found.append(
                        f"keelson:apps.{name}.{field}[{index}].name = '{name}' is the name of the app's own container; "
                        "container names are unique in a pod"
                    )
        for index, peer in enumerate(app.talks_to):
            if peer.app is not None and peer.namespace in (None, settings.namespace.name) and peer.app not in settings.apps:
                found.append(
                    f"keelson:apps.{name}.talksTo[{index}].app = '{peer.app}' is not an app of this stack; apps: "
                    f"{sorted(settings.apps)} (for a workload elsewhere, give its 'namespace' or 'podLabels')"
                )
    if settings.network.monitoring_namespace != settings.monitoring.namespace.name:
        found.append(
            f"keelson:network.monitoringNamespace ({settings.network.monitoring_namespace}) must name the "
            f"monitoring namespace keelson:monitoring.namespace.name ({settings.monitoring.namespace.name}), "
            "or Prometheus could not scrape the apps"
        )
    return found


def host_problems(settings: StackSettings) -> list[str]:
    """No two Ingresses (apps and Grafana) share a host."""
    found = []
    owners: dict[str, str] = {}
    exposed = [(f"keelson:apps.{name}.ingress.host", f"app '{name}'", app.ingress) for name, app in settings.apps.items()]
    exposed.append(("keelson:monitoring.grafana.ingress.host", "Grafana", settings.monitoring.grafana.ingress))
    for key, owner, ingress in exposed:
        if ingress is not None:
            if ingress.host in owners:
                found.append(f"{key} '{ingress.host}' is already used by {owners[ingress.host]}")
            owners[ingress.host] = owner
    return found


# -- names: reserved, colliding, derived ---------------------------------------------------------


def _relied_on(settings: StackSettings) -> dict[str, str]:
    """Namespaces the stack expects to exist and does not own, described by the key that names each."""
    return {
        settings.network.dns_namespace: "the cluster DNS namespace (keelson:network.dnsNamespace)",
        settings.ingress.controller_namespace: "the ingress controller's namespace (keelson:ingress.controllerNamespace)",
        settings.tls.namespace: "cert-manager's namespace (keelson:tls.namespace)",
    }


def namespace_problems(settings: StackSettings) -> list[str]:
    """A governed namespace is never one the platform relies on, and each component governs its own."""
    found = []
    relied_on = _relied_on(settings)
    seen: dict[str, str] = {}
    for key, spec in governed_namespaces(settings):
        name = spec.name
        if name in relied_on:
            found.append(
                f"{key}.name = '{name}': that is {relied_on[name]}, which the platform relies on but does not own; "
                "governing it would put a default-deny policy, a quota and a LimitRange on those pods; choose "
                "another name"
            )
        elif name in seen:
            found.append(
                f"{key}.name = '{name}' is already {seen[name]}.name: two components would each create namespace "
                f"'{name}' and its quota, LimitRange and policies; give each its own"
            )
        seen.setdefault(name, key)
    return found


def _derived_names(name: str, settings: StackSettings) -> list[tuple[str, str]]:
    """The names HardenedApp derives from an app name that must fit a label value."""
    app = settings.apps[name]
    derived = [(f"{name}-{settings.environment}", "its app.kubernetes.io/instance label")]
    if app.ingress is not None:
        derived.append((f"{name}-tls", "its Ingress' Certificate, whose name cert-manager copies into a label"))
    return derived


def app_name_problems(settings: StackSettings) -> list[str]:
    """Every name derived from an app name is one Kubernetes accepts."""
    found = []
    for name in settings.apps:
        key = f"keelson:apps.{name}"
        if not name[0].isalpha():
            found.append(
                f"{key}: the app name '{name}' starts with a digit, but it names the app's Service, and Service "
                "names are DNS-1035 labels, which start with a letter; rename the app"
            )
        too_long = [(text, what) for text, what in _derived_names(name, settings) if label_value_problem(text)]
        if too_long:
            longest = max(len(text) - len(name) for text, _ in _derived_names(name, settings))
            found.append(
                f"{key}: the app name '{name}' is {len(name)} characters, too long for "
                + " and ".join(f"{what} '{text}' ({len(text)})" for text, what in too_long)
                + f", above the {LABEL_VALUE_LIMIT} characters of a label value; use at most "
                f"{LABEL_VALUE_LIMIT - longest} characters"
            )
    return found


def resource_name_problems(settings: StackSettings) -> list[str]:
    """No two apps derive the same Pulumi resource or the same operator-mode ServiceMonitor."""
    found = []
    passwords: dict[str, str] = {}
    for name, app in settings.apps.items():
        for variable in app.generated_secrets:
            resource = f"{name}-{variable.lower().replace('_', '-')}"
            if resource in passwords:
                found.append(
                    f"keelson:apps.{name}.generatedSecrets = {variable}: its RandomPassword '{resource}' has the name of "
                    f"the one for {passwords[resource]}; Pulumi refuses two resources of one name, so rename one"
                )
            passwords.setdefault(resource, f"keelson:apps.{name}.generatedSecrets {variable}")
    if settings.monitoring.operator_mode:
        platform_monitors = {"prometheus", "alertmanager", "grafana", *operator.cluster_service_monitor_specs()}
        for name in settings.apps:
            monitor = f"{settings.namespace.name}-{name}"
            if monitor in platform_monitors:
                found.append(
                    f"keelson:apps.{name}: its ServiceMonitor '{monitor}' (keelson:namespace.name '-' app name) is "
                    "also the name of a platform ServiceMonitor in operator mode; rename the app or the namespace"
                )
    return found


def secret_problems(settings: StackSettings) -> list[str]:
    """No certificate writes a Secret that another component owns (app TLS, credentials, Grafana)."""
    namespace, monitoring, logging = settings.namespace.name, settings.monitoring.namespace.name, settings.logging.namespace.name
    owners: dict[tuple[str, str], str] = {}
    for name, app in settings.apps.items():
        if app.secret_env or app.generated_secrets:
            owners[(namespace, f"{name}-secrets")] = f"the Secret of keelson:apps.{name}"
        if app.ingress is not None:
            owners[(namespace, f"{name}-tls")] = f"the TLS Secret of keelson:apps.{name}.ingress"
    owners[(monitoring, "grafana-admin")] = "Grafana's admin Secret"
    owners[(monitoring, "alertmanager-credentials")] = "Alertmanager's credentials Secret"
    if settings.monitoring.grafana.ingress is not None:
        owners[(monitoring, "grafana-tls")] = "the TLS Secret of keelson:monitoring.grafana.ingress"
    owners[(logging, "fluent-bit-elasticsearch")] = "Fluent Bit's Elasticsearch password Secret"
    found = []
    for index, certificate in enumerate(settings.tls.certificates):
        secret = (certificate.namespace, certificate.effective_secret_name)
        if secret in owners:
            field, value = ("secretName", certificate.secret_name) if certificate.secret_name else ("name", certificate.name)
            found.append(
                f"keelson:tls.certificates[{index}].{field} = '{value}': its Secret {secret[0]}/{secret[1]} is already "
                f"{owners[secret]}; two writers would overwrite each other, so give the certificate its own secretName"
            )
    return found


# -- certificates that can never be issued -------------------------------------------------------


def certificate_problems(settings: StackSettings) -> list[str]:
    """Every Ingress host can be issued by the stack's issuer, and every Certificate has a namespace."""
    found = []
    tls = settings.tls
    if tls.mode != "local":
        for key, host, _ in ingress_hosts(settings):
            problem = tls.host_problem(host)
            if problem is not None:
                found.append(
                    f"{key} = '{host}': Let's Encrypt (keelson:tls.mode {tls.mode}) could never issue its certificate: "
                    f"keelson:tls has {problem}"
                )
    created = {spec.name: f"{key}.name" for key, spec in governed_namespaces(settings)}
    existing = {settings.tls.namespace: "keelson:tls.namespace", settings.ingress.controller_namespace: "keelson:ingress.controllerNamespace"}
    for index, certificate in enumerate(tls.certificates):
        if certificate.namespace not in created and certificate.namespace not in existing:
            found.append(
                f"keelson:tls.certificates[{index}].namespace = '{certificate.namespace}': the stack neither creates it "
                f"({', '.join(created.values())}) nor relies on it existing ({', '.join(existing.values())}), so "
                f"the Certificate would be refused; use one of {sorted({*created, *existing})}"
            )
    return found


def _images(settings: StackSettings) -> list[tuple[str, str]]:
    """(key, image) of every container image the stack deploys."""
    return [
        *((f"keelson:apps.{name}.image", app.image) for name, app in settings.apps.items()),
        *(
            (f"keelson:monitoring.{part}.image", getattr(settings.monitoring, part).image)
            for part in ("prometheus", "alertmanager", "grafana")
        ),
        ("keelson:monitoring.alertmanager.reloaderImage", settings.monitoring.alertmanager.reloader_image),
        ("keelson:logging.loki.image", settings.logging.loki.image),
        ("keelson:logging.fluentBit.image", settings.logging.fluent_bit.image),
    ]


def image_problems(settings: StackSettings) -> list[str]:
    """With keelson:requireImageDigests, every image is pinned by digest."""
    if not settings.require_image_digests:
        return []
    return [
        f"{key} = '{image}': keelson:requireImageDigests is on, so every image must be pinned by digest "
        f"('{image}@sha256:<64 hex digits>'); resolve it with `crane digest {image}`"
        for key, image in _images(settings)
        if not images.has_digest(image) and image not in images.UNPINNED_DEFAULTS
    ]


def objective_problems(settings: StackSettings) -> list[str]:
    """An SLO that names a namespace names the apps' one."""
    return [
        f"keelson:monitoring.slo[{index}].namespace = '{objective.namespace}': the apps run in keelson:namespace.name "
        f"('{settings.namespace.name}'), so this objective would watch no app; remove 'namespace' or use that one"
        for index, objective in enumerate(settings.monitoring.slo)
        if objective.namespace is not None and objective.namespace != settings.namespace.name
    ]


def backup_problems(settings: StackSettings) -> list[str]:
    """Backups, when on, have something to back up and go to Velero's namespace, not a governed one."""
    if not settings.backups.enabled:
        return []
    found = []
    if not settings.backup_targets:
        found.append(
            "keelson:backups.enabled = true, but no workload keeps data on a PersistentVolumeClaim (set "
            "keelson:monitoring.prometheus.storage.storageClass, keelson:logging.loki.storage.storageClass or an "
            "app's 'storage'), so there is nothing to back up; turn backups off or give a workload storage"
        )
    governed = {spec.name: key for key, spec in governed_namespaces(settings)}
    if settings.backups.namespace in governed:
        found.append(
            f"keelson:backups.namespace = '{settings.backups.namespace}' is {governed[settings.backups.namespace]}.name, "
            "a namespace Keelson governs; Velero's Schedules go to the namespace Velero's server runs in"
        )
    return found


RULES: list[Callable[[StackSettings], list[str]]] = [
    stack_wide_problems,
    peer_problems,
    host_problems,
    namespace_problems,
    app_name_problems,
    resource_name_problems,
    secret_problems,
    certificate_problems,
    app_ratio_problems,
    solver_ratio_problems,
    quota_problems,
    objective_problems,
    image_problems,
    backup_problems,
]
"""The rules, in the order README.md lists them; the ratio and quota rules come from settings_quota_rules."""

