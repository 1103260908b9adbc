"""Keelson's Pulumi package schema, derived from the same pydantic Args models the Python API takes.

Other languages use Keelson through this schema (`pulumi package get-schema provider/`): YAML
programs reference `keelson:index:HardenedApp` directly, and TypeScript, Go or .NET programs get an
SDK generated from it. Deriving it from the models, not writing it by hand, keeps the two APIs one:
a field added to an Args model appears in every language with its description (the docstring under
the field, which states the default) and its required flag.

Mapping of Python types to schema types:
- str, int, float, bool -> string, integer, number, boolean; a `Literal[...]` is a string whose
  description lists the allowed values (pydantic refuses any other at construction, with the key).
- list/tuple/set -> array; dict[str, X] -> object of X; Any -> pulumi.json#/Any.
- a nested model -> a named object type `keelson:index:<ModelName>`; `X | None` -> optional X;
  a union of several types -> oneOf.
- `SecretStr` -> a string marked secret: it stays a Pulumi secret across the language boundary.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from dataclasses import dataclass, field

from pydantic import BaseModel, SecretStr
from pydantic.alias_generators import to_camel, to_snake
from pydantic_core import PydanticUndefined

from .docstrings import with_field_docstrings

PACKAGE = "keelson"


@dataclass(frozen=True)
class ComponentEntry:
    """One component the package hosts: its class, its Args model and the outputs it exposes."""

    component: type
    args: type[BaseModel]
    description: str
    outputs: dict[str, dict] = field(default_factory=dict)
    """Schema name (camelCase) -> property spec; the value is the component's snake_case attribute
    of that name (see `attribute`)."""

    @staticmethod
    def attribute(output: str) -> str:
        """The component attribute an output reads: 'internalUrl' -> 'internal_url'."""
        return to_snake(output)

    @property
    def token(self) -> str:
        return f"{PACKAGE}:index:{self.component.__name__}"


def _string(description: str, *, secret: bool = False) -> dict:
    spec = {"type": "string", "description": description}
    if secret:
        spec["secret"] = True
    return spec


def components() -> list[ComponentEntry]:
    """The components the package hosts, in schema order (imported here, not at module import)."""
    from . import (
        CertIssuer,
        CertIssuerArgs,
        GovernedNamespace,
        GovernedNamespaceArgs,
        HardenedApp,
        HardenedAppArgs,
        LoggingStack,
        LoggingStackArgs,
        MonitoringStack,
        MonitoringStackArgs,
    )

    return [
        ComponentEntry(
            HardenedApp,
            HardenedAppArgs,
            "A hardened application: Deployment or StatefulSet, Service, optional Ingress with TLS, "
            "autoscaler, disruption budget, default-deny NetworkPolicies, RBAC, config and secrets.",
            {
                "namespace": _string("The namespace the app runs in."),
                "serviceName": _string("The name of the app's Service."),
                "internalUrl": _string("The in-cluster URL of the Service."),
                "url": _string("The public URL when the app has an Ingress."),
            },
        ),
        ComponentEntry(
            MonitoringStack,
            MonitoringStackArgs,
            "Prometheus with Keelson's alert and recording rules, Alertmanager, Grafana, "
            "kube-state-metrics and node-exporter, each in a governed namespace.",
            {
                "namespace": _string("The monitoring namespace."),
                "prometheusUrl": _string("Prometheus' in-cluster URL."),
                "alertmanagerUrl": _string("Alertmanager's in-cluster URL."),
                "grafanaUrl": _string("Grafana's URL."),
                "grafanaAdminPassword": _string("Grafana's generated admin password.", secret=True),
            },
        ),
        ComponentEntry(
            LoggingStack,
            LoggingStackArgs,
            "Loki and a Fluent Bit collector on every node, wired into Grafana.",
            {
                "namespace": _string("Loki's namespace."),
                "collectorNamespace": _string("The log collector's namespace."),
                "lokiUrl": _string("Loki's in-cluster URL."),
            },
        ),
        ComponentEntry(
            CertIssuer,
            CertIssuerArgs,
            "cert-manager (optionally installed), its issuers and the platform's certificates.",
            {
                "issuerName": _string("The name of the ClusterIssuer apps reference."),
                "namespace": _string("cert-manager's namespace."),
                "certificateSecrets": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "Certificate name -> the Secret that holds its key pair.",
                },
            },
        ),
        ComponentEntry(
            GovernedNamespace,
            GovernedNamespaceArgs,
            "A namespace with Pod Security labels, a ResourceQuota, a LimitRange and default-deny "
            "NetworkPolicies.",
            {"name": _string("The namespace's name.")},
        ),
    ]


class _SchemaBuilder:
    """Walks Args models and collects the named object types they reference."""

    def __init__(self) -> None:
        self.types: dict[str, dict] = {}

    def type_token(self, model: type[BaseModel]) -> str:
        token = f"{PACKAGE}:index:{model.__name__}"
        if token not in self.types:
            self.types[token] = {}  # reserve first: models may refer to themselves
            properties, required = self.properties(model)
            spec: dict = {"type": "object", "properties": properties}
            if model.__doc__:
                spec["description"] = _first_paragraphs(model.__doc__)
            if required:
                spec["required"] = required
            self.types[token] = spec
        return token

    def properties(self, model: type[BaseModel]) -> tuple[dict[str, dict], list[str]]:
        properties: dict[str, dict] = {}
        required: list[str] = []
        for name, info in with_field_docstrings(model).model_fields.items():
            schema_name = info.alias or to_camel(name)
            spec = dict(self.type_spec(info.annotation))
            spec["description"] = _describe(info, spec)
            properties[schema_name] = spec
            if info.is_required():
                required.append(schema_name)
        return properties, required

    def type_spec(self, annotation: typing.Any) -> dict:
        origin = typing.get_origin(annotation)
        arguments = typing.get_args(annotation)
        if origin is typing.Annotated:
            return self.type_spec(arguments[0])
        if origin is typing.Literal:
            kinds = {type(value) for value in arguments}
            base = self.type_spec(kinds.pop()) if len(kinds) == 1 else {"$ref": "pulumi.json#/Any"}
            return {**base, "allowed": list(arguments)}
        if origin in (typing.Union, types.UnionType):
            options = [argument for argument in arguments if argument is not type(None)]
            if len(options) == 1:
                return self.type_spec(options[0])
            return {"oneOf": [self._plain(self.type_spec(option)) for option in options]}
        if origin in (list, tuple, set, frozenset):
            return self._container("items", "array", arguments[0] if arguments else typing.Any)
        if origin is dict or annotation is dict:
            return self._container("additionalProperties", "object", arguments[1] if len(arguments) == 2 else typing.Any)
        if annotation is SecretStr:
            return {"type": "string", "secret": True}
        if annotation is bool:
            return {"type": "boolean"}
        if annotation is int:
            return {"type": "integer"}
        if annotation is float:
            return {"type": "number"}
        if annotation is str:
            return {"type": "string"}
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            return {"type": "string", "allowed": [member.value for member in annotation]}
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return {"$ref": f"#/types/{self.type_token(annotation)}"}
        if annotation is typing.Any:
            return {"$ref": "pulumi.json#/Any"}
        raise TypeError(f"no schema type for {annotation!r}: give the field a JSON-compatible type")

    def _container(self, key: str, kind: str, element: typing.Any) -> dict:
        """An array or map of 'element'; secret when its elements are (the schema marks properties only)."""
        inner = self.type_spec(element)
        spec = {"type": kind, key: self._plain(inner)}
        if inner.get("secret"):
            spec["secret"] = True
        return spec

    @staticmethod
    def _plain(spec: dict) -> dict:
        """A nested type spec without the extras only property specs may carry."""
        return {key: value for key, value in spec.items() if key not in ("allowed", "secret", "description")}


def _first_paragraphs(doc: str) -> str:
    return "\n\n".join(part.strip() for part in doc.strip().split("\n\n")[:2])


def _describe(info, spec: dict) -> str:
    """The field's docstring, with the allowed values and the default when the docstring leaves them out."""
    text = (info.description or "").strip()
    allowed = spec.pop("allowed", None)
    if allowed:
        listed = ", ".join(json.dumps(value) for value in allowed)
        if not all(json.dumps(value) in text or str(value) in text for value in allowed):
            text = f"{text} One of: {listed}.".strip()
    if not info.is_required() and "Default" not in text and "default" not in text:
        text = f"{text} Default: {_default_text(info)}.".strip()
    if info.is_required() and "Required" not in text:
        text = f"{text} Required.".strip()
    return text


def _default_text(info) -> str:
    if info.default_factory is not None:
        value = info.default_factory()
    elif info.default is PydanticUndefined:
        return "none"
    else:
        value = info.default
    if isinstance(value, BaseModel):
        return "the model's own defaults"
    if isinstance(value, SecretStr):
        return "none"
    try:
        return f"`{json.dumps(value, default=str)}`"
    except (TypeError, ValueError):
        return f"`{value}`"


def build_schema(version: str) -> dict:
    """The package schema (a dict ready for json.dumps) for Keelson at 'version'."""
    builder = _SchemaBuilder()
    resources: dict[str, dict] = {}
    for entry in components():
        inputs, required = builder.properties(entry.args)
        resource: dict = {
            "isComponent": True,
            "description": entry.description,
            "inputProperties": inputs,
            "properties": entry.outputs,
        }
        if required:
            resource["requiredInputs"] = required
        resources[entry.token] = resource
    return {
        "name": PACKAGE,
        "displayName": "Keelson",
        "version": version,
        "description": "Secure-by-default Kubernetes building blocks: hardened apps, monitoring, "
        "logging and certificates.",
        "keywords": ["kubernetes", "category/infrastructure", "kind/component"],
        "license": "Apache-2.0",
        "language": {
            "nodejs": {"packageName": "@keelson/keelson", "respectSchemaVersion": True},
        },
        "resources": resources,
        "types": builder.types,
    }
