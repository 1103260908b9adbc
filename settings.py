"""Stack settings: the one place that reads `pulumi.Config`.

Stack YAML -> `load_settings()` -> `StackSettings` (typed, validated) -> component Args.
Every problem is reported at once, each line naming the config key, the bad value and what is
allowed, and `load_settings()` raises before `__main__` registers a single resource.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Literal

import pulumi
from pydantic import Field, SecretStr, ValidationError, model_validator

from components.cert_issuer import CertIssuerArgs
from components.hardened_app import HardenedAppArgs, LogLevel
from components.logging.stack import LoggingStackArgs
from components.models import DnsLabel, IngressPolicy, KeelsonModel, NamespaceSpec, NetworkPeers
from components.monitoring import AlertChannels, ScrapedApp
from components.monitoring.stack import MonitoringStackArgs
from components.quantities import format_cpu, format_memory, parse_cpu, parse_memory

CONFIG_NAMESPACE = "keelson"

STACK_WIDE_APP_FIELDS = {
    "namespace": "keelson:namespace",
    "environment": "keelson:environment",
    "log_level": "keelson:logLevel",
    "ingress_policy": "keelson:ingress",
    "network": "keelson:network",
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
}
"""LoggingStack fields the program derives from other keys."""


class KubernetesSettings(KeelsonModel):
    """How the program reaches Kubernetes.

    'renderDir' switches the provider to render mode: manifests are written to that folder and no
    cluster is contacted (the `local` stack). The folder holds rendered Secrets, so it is git-ignored.
    """

    render_dir: str | None = Field(default=None, min_length=1)
    """Render manifests into this folder instead of deploying (no cluster needed)."""
    context: str | None = Field(default=None, min_length=1)
    """kubeconfig context to deploy to. Default: the current context."""
    kubeconfig: str | None = Field(default=None, min_length=1)
    """Path of the kubeconfig file to deploy with, relative to the project folder (the `cluster` stack
    names `.cluster/kubeconfig`, written by `make cluster-up`). Default: none, so the provider uses
    $KUBECONFIG or ~/.kube/config. A stack bound to one cluster names its file, so it can never
    deploy to whatever cluster the shell's current context points at."""

    @model_validator(mode="after")
    def _render_or_deploy(self) -> KubernetesSettings:
        if self.render_dir is not None:
            for field in ("context", "kubeconfig"):
                if getattr(self, field) is not None:
                    raise ValueError(
                        f"keelson:kubernetes.{field} = {getattr(self, field)!r} cannot be combined with "
                        f"keelson:kubernetes.renderDir = {self.render_dir!r}: render mode contacts no cluster; "
                        "remove one of them"
                    )
        return self


class StackSettings(KeelsonModel):
    """Everything a stack file configures, under the `keelson:` namespace."""

    environment: Literal["local", "staging", "production"]
    """Which environment the stack is."""
    log_level: LogLevel = "info"
    """Log level handed to every app."""
    kubernetes: KubernetesSettings = KubernetesSettings()
    """How the program reaches Kubernetes."""
    namespace: NamespaceSpec
    """The governed namespace the apps run in."""
    ingress: IngressPolicy = IngressPolicy()
    """Edge policy shared by every Ingress of the stack."""
    network: NetworkPeers = NetworkPeers()
    """Where Prometheus and cluster DNS live."""
    apps: dict[DnsLabel, HardenedAppArgs] = Field(min_length=1)
    """One HardenedApp per entry, keyed by app name."""
    monitoring: MonitoringStackArgs = MonitoringStackArgs()
    """Prometheus, Alertmanager, Grafana and the SLOs (see MonitoringStackArgs)."""
    alerting: AlertChannels = AlertChannels()
    """Where alerts go: slack, pagerduty, email, webhook; credentials must be `secure:` values."""
    tls: CertIssuerArgs = CertIssuerArgs()
    """cert-manager issuers and certificates; 'mode' picks the issuer every Ingress of the stack uses."""
    logging: LoggingStackArgs = LoggingStackArgs()
    """Fluent Bit, Loki (retention enforced) and the log alerts (see LoggingStackArgs)."""

    @model_validator(mode="after")
    def _stack_rules(self) -> StackSettings:
        problems: list[str] = []
        for name, app in self.apps.items():
            for field in sorted(app.model_fields_set & STACK_WIDE_APP_FIELDS.keys()):
                problems.append(
                    f"keelson:apps.{name}.{HardenedAppArgs.model_fields[field].alias} is set for the whole stack "
                    f"by '{STACK_WIDE_APP_FIELDS[field]}'; remove it from the app"
                )
            limit_range = self.namespace.limit_range
            for resource in ("cpu", "memory"):
                ceiling = Decimal(getattr(limit_range.max_limit_request_ratio, resource))
                ratio = app.resources.ratio(resource)
                if ratio > ceiling:
                    problems.append(
                        f"keelson:apps.{name}.resources: limits.{resource}/requests.{resource} is {ratio:.4g} "
                        f"({getattr(app.resources.limits, resource)}/{getattr(app.resources.requests, resource)}), "
                        f"above keelson:namespace.limitRange.maxLimitRequestRatio.{resource} ({ceiling}); "
                        "the LimitRange would reject the pods"
                    )
        for field in sorted(self.monitoring.model_fields_set & STACK_WIDE_MONITORING_FIELDS.keys()):
            problems.append(
                f"keelson:monitoring.{MonitoringStackArgs.model_fields[field].alias} is derived from "
                f"'{STACK_WIDE_MONITORING_FIELDS[field]}'; remove it from keelson:monitoring"
            )
        for field in sorted(self.logging.model_fields_set & STACK_WIDE_LOGGING_FIELDS.keys()):
            problems.append(
                f"keelson:logging.{LoggingStackArgs.model_fields[field].alias} is derived from "
                f"{STACK_WIDE_LOGGING_FIELDS[field]}; remove it from keelson:logging"
            )
        if "loki_url" in self.monitoring.grafana.model_fields_set:
            problems.append(
                "keelson:monitoring.grafana.lokiUrl is derived from keelson:logging.namespace.name; remove it"
            )
        if "alertmanager_url" in self.logging.alerts.model_fields_set:
            problems.append(
                "keelson:logging.alerts.alertmanagerUrl is derived from keelson:monitoring.namespace.name; remove it"
            )
        for field in sorted(self.tls.model_fields_set & STACK_WIDE_TLS_FIELDS.keys()):
            problems.append(
                f"keelson:tls.{CertIssuerArgs.model_fields[field].alias} is derived from "
                f"{STACK_WIDE_TLS_FIELDS[field]}; remove it from keelson:tls"
            )
        if "cluster_issuer" in self.ingress.model_fields_set:
            problems.append(
                f"keelson:ingress.clusterIssuer ({self.ingress.cluster_issuer}) is derived from keelson:tls.mode "
                f"({self.tls.mode} -> {self.tls.issuer_name}); remove it"
            )
        for index, objective in enumerate(self.monitoring.slo):
            if objective.app not in self.apps:
                problems.append(
                    f"keelson:monitoring.slo[{index}].app '{objective.app}' is not an app of this stack; "
                    f"apps: {sorted(self.apps)}"
                )
        if self.network.monitoring_namespace != self.monitoring.namespace.name:
            problems.append(
                f"keelson:network.monitoringNamespace ({self.network.monitoring_namespace}) must name the "
                f"monitoring namespace keelson:monitoring.namespace.name ({self.monitoring.namespace.name}), "
                "or Prometheus could not scrape the apps"
            )
        hosts: dict[str, str] = {}
        exposed = [(f"keelson:apps.{name}.ingress.host", f"app '{name}'", app.ingress) for name, app in self.apps.items()]
        exposed.append(("keelson:monitoring.grafana.ingress.host", "Grafana", self.monitoring.grafana.ingress))
        for key, owner, ingress in exposed:
            if ingress is not None:
                if ingress.host in hosts:
                    problems.append(f"{key} '{ingress.host}' is already used by {hosts[ingress.host]}")
                hosts[ingress.host] = owner
        problems.extend(self._quota_problems())
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _quota_problems(self) -> list[str]:
        """Check that every app at its autoscaling maximum, plus one surge pod, fits the quota."""
        quota = self.namespace.quota
        totals = {"requests.cpu": Decimal(0), "requests.memory": Decimal(0), "limits.cpu": Decimal(0), "limits.memory": Decimal(0)}
        pods = 0
        for app in self.apps.values():
            peak = (app.autoscaling.max_replicas if app.autoscaling else app.replicas) + 1
            pods += peak
            totals["requests.cpu"] += peak * parse_cpu(app.resources.requests.cpu)
            totals["requests.memory"] += peak * parse_memory(app.resources.requests.memory)
            totals["limits.cpu"] += peak * parse_cpu(app.resources.limits.cpu)
            totals["limits.memory"] += peak * parse_memory(app.resources.limits.memory)
        problems = []
        for key, total in totals.items():
            kind, resource = key.split(".")
            allowed_text = getattr(getattr(quota, kind), resource)
            allowed = parse_cpu(allowed_text) if resource == "cpu" else parse_memory(allowed_text)
            if total > allowed:
                shown = format_cpu(total) if resource == "cpu" else format_memory(total)
                problems.append(
                    f"keelson:namespace.quota.{kind}.{resource} ({allowed_text}) is below what the apps need at "
                    f"their autoscaling maximum plus one rollout surge pod ({shown}); raise the quota or lower "
                    "maxReplicas/resources"
                )
        if pods > quota.pods:
            problems.append(
                f"keelson:namespace.quota.pods ({quota.pods}) is below the apps' peak pod count ({pods})"
            )
        return problems

    @property
    def ingress_policy(self) -> IngressPolicy:
        """The stack's edge policy, with the ClusterIssuer that keelson:tls.mode selects."""
        return self.ingress.model_copy(update={"cluster_issuer": self.tls.issuer_name})

    def app_args(self, name: str) -> HardenedAppArgs:
        """Return the Args of one app with the stack-wide fields filled in."""
        return self.apps[name].model_copy(
            update={
                "namespace": self.namespace.name,
                "environment": self.environment,
                "log_level": self.log_level,
                "ingress_policy": self.ingress_policy,
                "network": self.network,
            }
        )

    def logging_args(self) -> LoggingStackArgs:
        """Return the LoggingStack Args with the fields derived from the rest of the stack."""
        monitoring = self.monitoring.namespace.name
        return self.logging.model_copy(
            update={
                "environment": self.environment,
                "monitoring_namespace": monitoring,
                "network": self.network,
                "alerts": self.logging.alerts.model_copy(
                    update={"alertmanager_url": f"http://alertmanager.{monitoring}.svc.cluster.local:9093"}
                ),
            }
        )

    def tls_args(self) -> CertIssuerArgs:
        """Return the CertIssuer Args with the fields derived from the rest of the stack."""
        return self.tls.model_copy(
            update={
                "ingress_class": self.ingress.class_name,
                "ingress_controller_namespace": self.ingress.controller_namespace,
                "max_limit_request_ratio": self.namespace.limit_range.max_limit_request_ratio,
                "solver_namespaces": [self.namespace.name, self.monitoring.namespace.name],
            }
        )


    def monitoring_args(self) -> MonitoringStackArgs:
        """Return the MonitoringStack Args with the fields derived from the rest of the stack."""
        return self.monitoring.model_copy(
            update={
                "environment": self.environment,
                "channels": self.alerting,
                "apps": [
                    ScrapedApp(name=name, namespace=self.namespace.name, scrape_interval=app.effective_scrape_interval)
                    for name, app in self.apps.items()
                ],
                "app_metrics": {name: (app.metrics_port_name, app.metrics_path) for name, app in self.apps.items()},
                "log_alerts_namespace": self.logging.namespace.name,
                "grafana": self.monitoring.grafana.model_copy(
                    update={"loki_url": f"http://loki.{self.logging.namespace.name}.svc.cluster.local:3100"}
                ),
                "ingress_policy": self.ingress_policy,
                "network": self.network,
            }
        )


class SettingsError(ValueError):
    """Stack configuration that cannot be deployed; the message lists every problem, one per line."""


def _config_path(loc: tuple[Any, ...]) -> str:
    if not loc:
        return CONFIG_NAMESPACE
    head, *rest = loc
    path = f"{CONFIG_NAMESPACE}:{head}"
    for part in rest:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("str", "NamespaceSpec", "function-after[_dns_label(), str]"):
            continue
        else:
            path += f".{part}"
    return path


def _describe(error: dict[str, Any]) -> str:
    message = error["msg"].removeprefix("Value error, ")
    if not error["loc"] and "keelson:" in message:
        return message
    path = _config_path(error["loc"])
    if error["type"] == "extra_forbidden":
        return f"{path}: unknown key; check the spelling against the config reference in README.md"
    value = error.get("input")
    secret = any(part in ("secretEnv", "secret_env") for part in error["loc"])
    if error["type"] == "missing" or isinstance(value, (dict, list)) or secret:
        return f"{path}: {message}"
    return f"{path} = {value!r}: {message}"


def parse_settings(raw: dict[str, Any], secret_keys: set[str] | frozenset[str] = frozenset()) -> StackSettings:
    """Validate raw config values (keys without the `keelson:` prefix) into StackSettings.

    'secret_keys' are the config keys (with prefix) that hold `secure:` values; a secret field set
    in any other key is rejected, so no credential is ever committed in clear text.
    """
    try:
        settings = StackSettings.model_validate(raw)
    except ValidationError as error:
        lines = []
        for item in error.errors(include_url=False):
            lines.extend(_describe(item).split("\n"))
        raise SettingsError("invalid stack configuration:\n  " + "\n  ".join(lines)) from None
    plaintext = [
        key for key in _keys_with_secret_fields(settings) if f"{CONFIG_NAMESPACE}:{key}" not in secret_keys
    ]
    if plaintext:
        raise SettingsError(
            "invalid stack configuration:\n  "
            + "\n  ".join(
                f"{CONFIG_NAMESPACE}:{key} holds a secret field in clear text; set it with "
                f"`pulumi config set --secret --path '{CONFIG_NAMESPACE}:{key}.<field>' <value>`"
                for key in plaintext
            )
        )
    return settings


def _keys_with_secret_fields(settings: StackSettings) -> list[str]:
    keys = []
    for field_name, field in StackSettings.model_fields.items():
        if _contains_secret(getattr(settings, field_name)):
            keys.append(field.alias or field_name)
    return keys


def _contains_secret(value: Any) -> bool:
    if isinstance(value, SecretStr):
        return True
    if isinstance(value, KeelsonModel):
        return any(_contains_secret(getattr(value, name)) for name in type(value).model_fields)
    if isinstance(value, dict):
        return any(_contains_secret(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_contains_secret(item) for item in value)
    return False


def _decode(value: Any) -> Any:
    """Config values arrive as strings; structured ones (objects, numbers, booleans) as JSON text."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def load_settings() -> StackSettings:
    """Read every `keelson:` key of the current stack and validate it.

    All keys are read, not only the known ones, so a misspelled top-level key is reported instead of
    being silently ignored.
    """
    config = pulumi.Config(CONFIG_NAMESPACE)
    prefix = f"{CONFIG_NAMESPACE}:"
    present = set(pulumi.runtime.config.CONFIG.get()) | set(pulumi.runtime.config.get_config_env())
    raw = {key[len(prefix):]: _decode(config.get(key[len(prefix):])) for key in present if key.startswith(prefix)}
    secret_keys = {key for key in present if pulumi.runtime.is_config_secret(key)}
    secret_keys |= set(pulumi.runtime.config.get_config_secret_keys_env())
    return parse_settings(raw, secret_keys)
