"""Stack settings: the one place that reads `pulumi.Config`.

Stack YAML -> `load_settings()` -> `StackSettings` (typed, validated) -> component Args.
Every problem is reported at once, each line naming the config key, the bad value and what is
allowed, and `load_settings()` raises before `__main__` registers a single resource.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterator, Literal

import pulumi
import yaml
from pydantic import Field, SecretStr, ValidationError, model_validator

import settings_rules
from settings_messages import CONFIG_NAMESPACE, SECRET_SHOWN_AS, describe, scrubbed
from settings_rules import (  # noqa: F401  (re-exported: tools/config_reference.py reads them here)
    STACK_WIDE_APP_FIELDS,
    STACK_WIDE_LOGGING_FIELDS,
    STACK_WIDE_MONITORING_FIELDS,
    STACK_WIDE_TLS_FIELDS,
)
from keelson.backups import BackupPolicy, BackupSchedulesArgs, BackupTarget
from keelson.cert_issuer import CertIssuerArgs
from keelson.hardened_app import HardenedAppArgs, LogLevel
from keelson.logging.stack import LoggingStackArgs
from keelson.models import DnsLabel, KeelsonModel, NamespaceSpec
from keelson.monitoring import AlertChannels, ScrapedApp
from keelson.monitoring.stack import MonitoringStackArgs
from keelson.namespace import GovernedNamespaceArgs
from keelson.network_models import AppPeer, IngressPolicy, NetworkPeers
from keelson.scheduling import PriorityClasses, SpreadPolicy

PROJECT_DIR = Path(__file__).resolve().parent
"""Where the stack files live; load_settings() reads which fields they hold as `secure:` values."""

class KubernetesSettings(KeelsonModel):
    """How the program reaches Kubernetes.

    'renderDir' switches the provider to render mode: manifests are written to that folder and no
    cluster is contacted (the `local` stack). The folder holds rendered Secrets, so it is git-ignored.
    """

    render_dir: str | None = Field(default=None, min_length=1)
    """Render manifests into this folder instead of deploying (no cluster needed). Default: none,
    deploy to a cluster."""
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


class SchedulingSettings(KeelsonModel):
    """Where the stack's pods may run and who is evicted last."""

    spread: SpreadPolicy = SpreadPolicy()
    """Zone spread and node anti-affinity of every replicated workload, apps and platform alike.
    Default: soft; production makes the zone spread hard (see SpreadPolicy)."""
    priority_classes: PriorityClasses = PriorityClasses()
    """The PriorityClasses the program creates for the platform's pods. Default: 'keelson-platform'
    (100000) and 'keelson-log-collector' (1000000), so apps are evicted first (see PriorityClasses)."""


class StackSettings(KeelsonModel):
    """Everything a stack file configures, under the `keelson:` namespace."""

    environment: Literal["local", "staging", "production"]
    """Which environment the stack is. Required."""
    log_level: LogLevel = "info"
    """Log level handed to every app. Default: 'info'; staging sets 'debug', production 'warning'."""
    kubernetes: KubernetesSettings = KubernetesSettings()
    """How the program reaches Kubernetes. Default: deploy through the current kubeconfig context."""
    namespace: NamespaceSpec
    """The governed namespace the apps run in. Required."""
    ingress: IngressPolicy = IngressPolicy()
    """Edge policy shared by every Ingress of the stack. Default: rate limits, TLS 1.2+ and strict
    security headers (see IngressPolicy)."""
    network: NetworkPeers = NetworkPeers()
    """Where Prometheus, cluster DNS, the API server and the cluster's networks are. Default: the RFC
    1918 ranges (see NetworkPeers); every real stack should name its own."""
    apps: dict[DnsLabel, HardenedAppArgs] = Field(min_length=1)
    """One HardenedApp per entry, keyed by app name. Required, at least one."""
    monitoring: MonitoringStackArgs = MonitoringStackArgs()
    """Prometheus, Alertmanager, Grafana and the SLOs. Default: one replica each, in 'monitoring'
    (see MonitoringStackArgs)."""
    alerting: AlertChannels = AlertChannels()
    """Where alerts go: slack, pagerduty, email, webhook; credentials must be `secure:` values.
    Default: none, so nobody is notified and the program warns about it."""
    tls: CertIssuerArgs = CertIssuerArgs()
    """cert-manager issuers and certificates; 'mode' picks the issuer every Ingress of the stack uses.
    Default: mode 'local', the local CA (see CertIssuerArgs)."""
    logging: LoggingStackArgs = LoggingStackArgs()
    """Fluent Bit, Loki (retention enforced) and the log alerts. Default: 7 days of logs in 'logging',
    the collector in 'log-collector' (see LoggingStackArgs)."""
    scheduling: SchedulingSettings = SchedulingSettings()
    """Spread and priority of the stack's pods. Default: soft spread and the platform's PriorityClasses
    (see SchedulingSettings)."""
    backups: BackupPolicy = BackupPolicy()
    """Velero Schedules for every workload that keeps data on PersistentVolumeClaims. Default: off
    (needs Velero in the cluster); production backs up nightly and keeps 30 days (see BackupPolicy)."""
    require_image_digests: bool = False
    """Refuse every image not pinned by digest (…@sha256:…), the apps' and the platform's. Default:
    false, so a team can start from version tags; production turns it on, because a tag can be
    moved to other content after review and a digest cannot. Platform defaults without a verified
    digest (components/images.py UNPINNED_DEFAULTS) pass, each for its documented reason."""

    @model_validator(mode="after")
    def _stack_rules(self) -> StackSettings:
        problems = settings_rules.problems(self)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def ingress_policy(self) -> IngressPolicy:
        """The stack's edge policy, with the ClusterIssuer that keelson:tls.mode selects."""
        return self.ingress.model_copy(update={"cluster_issuer": self.tls.issuer_name})

    def _resolved(self, peer: AppPeer) -> AppPeer:
        """A 'talksTo' peer naming an app of this stack, with the callee's port when it names none;
        any other peer unchanged."""
        if peer.app in self.apps and peer.namespace in (None, self.namespace.name) and not peer.ports:
            return peer.model_copy(update={"ports": [self.apps[peer.app].port]})
        return peer

    def app_args(self, name: str) -> HardenedAppArgs:
        """Return the Args of one app with the stack-wide fields filled in, and both sides of every
        call between the stack's apps: the caller's 'talksTo' on the callee's port, the callee's
        'allowFrom' for the caller."""
        app = self.apps[name]
        talks_to = [self._resolved(peer) for peer in app.talks_to]
        callers = [
            AppPeer(app=caller, ports=self._resolved(peer).ports)
            for caller, other in self.apps.items()
            for peer in other.talks_to
            if peer.app == name and peer.namespace in (None, self.namespace.name)
        ]
        allow_from = [*app.allow_from, *callers]
        return app.model_copy(
            update={
                "namespace": self.namespace.name,
                "environment": self.environment,
                "log_level": self.log_level,
                "ingress_policy": self.ingress_policy,
                "network": self.network,
                "spread": self.scheduling.spread,
                "talks_to": talks_to,
                "allow_from": allow_from,
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
                "spread": self.scheduling.spread,
                "priority_class_name": self.scheduling.priority_classes.platform,
                "collector_priority_class_name": self.scheduling.priority_classes.collector,
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
                "spread": self.scheduling.spread,
                "priority_class_name": self.scheduling.priority_classes.platform,
            }
        )

    @cached_property
    def backup_targets(self) -> list[BackupTarget]:
        """The workloads with PersistentVolumeClaims: Prometheus and Loki when they name a storage
        class, and every app with 'storage'."""
        name = "app.kubernetes.io/name"
        targets = [
            BackupTarget(name=part, namespace=section.namespace.name, selector={name: part})
            for part, section, storage in (
                ("prometheus", self.monitoring, self.monitoring.prometheus.storage),
                ("loki", self.logging, self.logging.loki.storage),
            )
            if storage.storage_class is not None
        ]
        targets += [
            BackupTarget(name=f"app-{app}", namespace=self.namespace.name, selector={name: app})
            for app, args in self.apps.items()
            if args.storage is not None
        ]
        return targets

    def backup_args(self) -> BackupSchedulesArgs:
        """Return the BackupSchedules Args: the stack's policy over its stateful workloads."""
        return BackupSchedulesArgs(policy=self.backups, targets=self.backup_targets, environment=self.environment)

    def derived_builders(self) -> list[tuple[str, str, Callable[[], KeelsonModel]]]:
        """(key, component, build) for every component the program builds, in the program's order."""
        return [
            ("keelson:namespace", "GovernedNamespace", lambda: GovernedNamespaceArgs(**dict(self.namespace), network=self.network)),
            ("keelson:monitoring", "MonitoringStack", self.monitoring_args),
            ("keelson:logging", "LoggingStack", self.logging_args),
            ("keelson:tls", "CertIssuer", self.tls_args),
            *((f"keelson:apps.{name}", "HardenedApp", lambda name=name: self.app_args(name)) for name in self.apps),
            *([("keelson:backups", "BackupSchedules", self.backup_args)] if self.backups.enabled and self.backup_targets else []),
        ]

    def derived_args(self) -> list[tuple[str, str, KeelsonModel]]:
        """(key, component, Args) of every component the program builds, with the derived fields filled in."""
        return [(key, component, build()) for key, component, build in self.derived_builders()]


VALIDATION_CONTEXT = {"stack_wide_app_fields": STACK_WIDE_APP_FIELDS}
"""Lets component validators name the stack key a field comes from (keelson:logLevel, not 'logLevel')."""


class SettingsError(ValueError):
    """Stack configuration that cannot be deployed; the message lists every problem, one per line."""


# -- parsing -------------------------------------------------------------------------------------


def _error(lines: list[str], raw: dict[str, Any]) -> SettingsError:
    return SettingsError("invalid stack configuration:\n  " + "\n  ".join(scrubbed(lines, raw, StackSettings)))


def _credential_paths(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, SecretStr):
        yield path
    elif isinstance(value, KeelsonModel):
        for name, field in type(value).model_fields.items():
            yield from _credential_paths(getattr(value, name), f"{path}.{field.alias or name}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _credential_paths(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _credential_paths(item, f"{path}[{index}]")


def _ancestors(path: str) -> list[str]:
    """'keelson:a.b[0].c' -> ['keelson:a', 'keelson:a.b', 'keelson:a.b[0]', 'keelson:a.b[0].c']."""
    cuts = [index for index, character in enumerate(path) if character in ".[" and index > path.index(":")]
    return [path[:cut] for cut in cuts] + [path]


def _plaintext_credentials(settings: StackSettings, secret_keys: set[str] | frozenset[str]) -> list[str]:
    """Credential fields whose own value (or an ancestor's) was not given as a secret."""
    paths = []
    for field_name, field in StackSettings.model_fields.items():
        root = f"{CONFIG_NAMESPACE}:{field.alias or field_name}"
        paths.extend(_credential_paths(getattr(settings, field_name), root))
    return [path for path in paths if not any(ancestor in secret_keys for ancestor in _ancestors(path))]


def _derived_problems(settings: StackSettings) -> list[str]:
    """Validate every component's Args as the program will build them, so none fails mid-deployment."""
    problems = []
    for key, component, build in settings.derived_builders():
        try:
            args = build()
            type(args).model_validate(dict(args), context=VALIDATION_CONTEXT)
        except ValidationError as error:
            for item in error.errors(include_url=False):
                where = ".".join(str(part) for part in item["loc"])
                problems.append(
                    f"{key} (as {component} receives it{', at ' + where if where else ''}): "
                    f"{item['msg'].removeprefix('Value error, ')}"
                )
    return problems


def parse_settings(raw: dict[str, Any], secret_keys: set[str] | frozenset[str] = frozenset()) -> StackSettings:
    """Validate raw config values (keys without the `keelson:` prefix) into StackSettings.

    'secret_keys' are the config keys (with prefix) that hold `secure:` values: whole top-level keys
    ('keelson:alerting'), as the engine marks them, or single fields ('keelson:alerting.slack.webhookUrl').
    Every credential field must sit at or below one of them, so none is ever committed in clear text;
    a top-level key counts only when no field below it is listed (see load_settings()).
    Raises SettingsError, listing every problem with its key; no message shows a credential.
    """
    try:
        settings = StackSettings.model_validate(raw, context=VALIDATION_CONTEXT)
    except ValidationError as error:
        lines = []
        for item in error.errors(include_url=False):
            line = describe(item, StackSettings)
            if line is not None and line not in lines:
                lines.extend(line.split("\n"))
        raise _error(lines, raw) from None
    keys = set(secret_keys)
    refined = {key.split(".", 1)[0].split("[", 1)[0] for key in keys if "." in key or "[" in key}
    keys -= refined
    plaintext = _plaintext_credentials(settings, keys)
    if plaintext:
        raise _error(
            [
                f"{path} = {SECRET_SHOWN_AS}: a credential in clear text; set it with "
                f"`pulumi config set --secret --path '{path}' <value>`, so the stack file holds it encrypted"
                for path in plaintext
            ],
            raw,
        )
    problems = _derived_problems(settings)
    if problems:
        raise _error(problems, raw)
    return settings


def _decode(value: Any) -> Any:
    """Config values arrive as strings; structured ones (objects, numbers, booleans) as JSON text."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _same_value(committed: Any, given: Any) -> bool:
    """Whether a stack-file value is the config the program got (a `secure:` leaf matches any text)."""
    if isinstance(committed, dict) and set(committed) == {"secure"}:
        return True
    if isinstance(committed, dict):
        return isinstance(given, dict) and committed.keys() == given.keys() and all(
            _same_value(committed[key], given[key]) for key in committed
        )
    if isinstance(committed, list):
        return isinstance(given, list) and len(committed) == len(given) and all(map(_same_value, committed, given))
    return committed == given


def _secure_leaves(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, dict) and set(value) == {"secure"}:
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _secure_leaves(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _secure_leaves(item, f"{path}[{index}]")


def stack_file_secret_keys(stack: str, raw: dict[str, Any], secret_keys: set[str]) -> set[str]:
    """Narrow the engine's per-key secret marking to the fields the stack file holds as `secure:`.

    The engine marks a whole key secret when any field below it is, so a clear-text credential
    beside a `secure:` one would pass; the committed stack file says which fields are secure. A key
    whose committed value is not the one the program got (set by --config or an environment)
    keeps the engine's marking.
    """
    try:
        document = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        return secret_keys
    refined = set(secret_keys)
    for key, committed in (document.get("config") or {}).items():
        name = key.removeprefix(f"{CONFIG_NAMESPACE}:")
        if key in secret_keys and name in raw and _same_value(committed, raw[name]):
            refined = (refined - {key}) | set(_secure_leaves(committed, key))
    return refined


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
    return parse_settings(raw, stack_file_secret_keys(pulumi.get_stack(), raw, secret_keys))
