"""Stack settings: the one place that reads `pulumi.Config`.

Stack YAML -> `load_settings()` -> `StackSettings` (typed, validated) -> component Args.
Every problem is reported at once, each line naming the config key, the bad value and what is
allowed, and `load_settings()` raises before `__main__` registers a single resource.
"""

from __future__ import annotations

import json
import re
import types
import typing
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator, Literal

import pulumi
import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator

import settings_rules
from settings_rules import (  # noqa: F401  (re-exported: tools/config_reference.py reads them here)
    STACK_WIDE_APP_FIELDS,
    STACK_WIDE_LOGGING_FIELDS,
    STACK_WIDE_MONITORING_FIELDS,
    STACK_WIDE_TLS_FIELDS,
)
from components.cert_issuer import CertIssuerArgs
from components.hardened_app import HardenedAppArgs, LogLevel
from components.logging.stack import LoggingStackArgs
from components.models import DnsLabel, IngressPolicy, KeelsonModel, NamespaceSpec, NetworkPeers
from components.monitoring import AlertChannels, ScrapedApp
from components.monitoring.stack import MonitoringStackArgs
from components.namespace import GovernedNamespaceArgs

CONFIG_NAMESPACE = "keelson"
PROJECT_DIR = Path(__file__).resolve().parent
"""Where the stack files live; load_settings() reads which fields they hold as `secure:` values."""
SECRET_SHOWN_AS = "[secret]"
"""What a message shows instead of a credential's value."""

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
        problems = settings_rules.problems(self)
        if problems:
            raise ValueError("\n".join(problems))
        return self

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

    def derived_builders(self) -> list[tuple[str, str, Callable[[], KeelsonModel]]]:
        """(key, component, build) for every component the program builds, in the program's order."""
        return [
            ("keelson:namespace", "GovernedNamespace", lambda: GovernedNamespaceArgs(**dict(self.namespace), network=self.network)),
            ("keelson:monitoring", "MonitoringStack", self.monitoring_args),
            ("keelson:logging", "LoggingStack", self.logging_args),
            ("keelson:tls", "CertIssuer", self.tls_args),
            *((f"keelson:apps.{name}", "HardenedApp", lambda name=name: self.app_args(name)) for name in self.apps),
        ]

    def derived_args(self) -> list[tuple[str, str, KeelsonModel]]:
        """(key, component, Args) of every component the program builds, with the derived fields filled in."""
        return [(key, component, build()) for key, component, build in self.derived_builders()]


VALIDATION_CONTEXT = {"stack_wide_app_fields": STACK_WIDE_APP_FIELDS}
"""Lets component validators name the stack key a field comes from (keelson:logLevel, not 'logLevel')."""


class SettingsError(ValueError):
    """Stack configuration that cannot be deployed; the message lists every problem, one per line."""


# -- error messages ------------------------------------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> list[Any]:
    """The types a value at 'annotation' may have (Optional and unions spread out, None left out)."""
    annotation = _unwrap(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [_unwrap(member) for member in typing.get_args(annotation) if member is not type(None)]
    return [annotation]


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _holds_credential(annotation: Any) -> bool:
    """Whether a value of this type is, or directly carries, a credential (so it is never echoed)."""
    for member in _members(annotation):
        if member is SecretStr:
            return True
        if typing.get_origin(member) in (dict, list, tuple) and any(
            SecretStr in _members(argument) for argument in typing.get_args(member)
        ):
            return True
        if _is_model(member) and (
            member.model_config.get("hide_input_in_errors")
            or any(SecretStr in _members(field.annotation) for field in member.model_fields.values())
        ):
            return True
    return False


def _child(annotation: Any, part: Any) -> Any:
    """The type one location part leads to, or None when the schema does not know it."""
    if _is_model(annotation):
        for name, field in annotation.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    origin = typing.get_origin(annotation)
    if origin is dict:
        return typing.get_args(annotation)[1]
    if origin in (list, tuple):
        return typing.get_args(annotation)[0]
    return None


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass
class _Location:
    """Where an error sits in the config: its key, its last field, and how to show its value."""

    key: str
    field_name: str | None
    hidden: bool
    """The value is (or carries) a credential: it is shown as [secret]."""
    other_member: bool
    """The error comes from a union member the input plainly was not meant for (an object given
    where a name or an object is allowed fails as a name too); the member it was meant for reports."""


def _locate(loc: tuple[Any, ...], value: Any) -> _Location:
    """Follow an error location through the schema.

    Pydantic adds parts that are no config key: the member a union tried ('NamespaceSpec',
    'function-after[...]') and '[key]' for a dict key; they are left out, so an app named 'str'
    still reads keelson:apps.str. Keys that are not plain words are quoted (keelson:apps['a b']).
    """
    key, field_name, other_member = CONFIG_NAMESPACE, None, False
    annotation: Any = StackSettings
    inside_credential = False
    for part in loc:
        members = _members(annotation) if annotation is not None else []
        if len(members) > 1:
            annotation = next((member for member in members if getattr(member, "__name__", None) == part), None) or next(
                (member for member in members if not _is_model(member)), members[0]
            )
            object_given = isinstance(value, dict) and part == loc[-1]
            other_member = other_member or (object_given and not _is_model(annotation)) or (
                _is_model(annotation) and isinstance(value, str) and part == loc[-1]
            )
            continue
        if part == "[key]":
            continue
        annotation = members[0] if members else None
        if isinstance(part, int):
            key += f"[{part}]"
        elif key == CONFIG_NAMESPACE:
            key += f":{_printable(str(part))}"
            field_name = str(part)
        else:
            key += f".{part}" if _PLAIN_KEY.fullmatch(str(part)) else f"[{str(part)!r}]"
            field_name = str(part)
        inside_credential = inside_credential or _holds_credential(annotation)
        annotation = _child(annotation, part)
    hidden = _holds_credential(annotation) if annotation is not None else inside_credential
    return _Location(key, field_name, hidden, other_member)


def _printable(text: str) -> str:
    """One problem per line: a line break or control character a user value brought in is escaped."""
    return "".join(character if character.isprintable() else repr(character)[1:-1] for character in text)


def _shown(value: Any) -> str:
    """A value as the user wrote it: 0.00001, not 1e-05."""
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    return repr(value)


def _describe(error: dict[str, Any]) -> str | None:
    """One line per problem ("key = value: what is allowed, and why"), or None for union noise."""
    message = error["msg"].removeprefix("Value error, ")
    if message.startswith(f"{CONFIG_NAMESPACE}:"):
        return message
    value = error.get("input")
    where = _locate(error["loc"], value)
    if where.other_member:
        return None
    if error["type"] == "extra_forbidden":
        return f"{where.key}: unknown key; check the spelling against the config reference in README.md"
    message = _printable(message)
    # A validator may open by naming its field or the value, which "key = value" already says.
    for opening in (f"'{where.field_name}' ", f"{_printable(repr(value))} " if isinstance(value, str) and not where.hidden else None):
        if opening and message.startswith(opening):
            message = message.removeprefix(opening)
    if error["type"] == "missing" or isinstance(value, (dict, list, tuple)) or (value is None and not where.hidden):
        return f"{where.key}: {message}"
    if where.hidden:
        return f"{where.key} = {SECRET_SHOWN_AS}: {message}"
    zero = settings_rules.ZERO_MEANS.get(where.field_name or "")
    if zero and value == 0 and not isinstance(value, bool) and error["type"] in ("greater_than_equal", "greater_than"):
        message = f"{message}: {zero}"
    return f"{where.key} = {_printable(_shown(value))}: {message}"


def _credential_values(value: Any, annotation: Any) -> Iterator[str]:
    """Every text given where a credential belongs (or under a key a credential's model does not know)."""
    members = _members(annotation) if annotation is not None else []
    if SecretStr in members or annotation is None:
        if isinstance(value, str):
            yield value
        elif isinstance(value, (dict, list)):
            for item in value.values() if isinstance(value, dict) else value:
                yield from _credential_values(item, None)
        return
    model = next((member for member in members if _is_model(member)), None)
    if isinstance(value, dict) and model is not None:
        bearing = _holds_credential(model)
        for key, item in value.items():
            child = _child(model, key)
            if child is not None:
                yield from _credential_values(item, child)
            elif bearing:
                yield from _credential_values(item, None)
        return
    container = next((member for member in members if typing.get_origin(member) in (dict, list, tuple)), None)
    if container is not None and isinstance(value, (dict, list)):
        for item in value.values() if isinstance(value, dict) else value:
            yield from _credential_values(item, _child(container, 0))


def _scrubbed(lines: list[str], raw: dict[str, Any]) -> list[str]:
    """A last guard: no line may carry a credential's value, whatever rule produced it."""
    credentials = sorted({text for text in _credential_values(raw, StackSettings) if len(text) >= 6}, key=len, reverse=True)
    for credential in credentials:
        lines = [line.replace(credential, SECRET_SHOWN_AS) for line in lines]
    return lines


def _error(lines: list[str], raw: dict[str, Any]) -> SettingsError:
    return SettingsError("invalid stack configuration:\n  " + "\n  ".join(_scrubbed(lines, raw)))


# -- parsing -------------------------------------------------------------------------------------


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
            line = _describe(item)
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
