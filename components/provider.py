"""Keelson as a Pulumi component provider: YAML, TypeScript, Go and .NET programs construct its
components through the engine, and the same Python classes build them.

`provider/` at the repository root is the plugin directory (`PulumiPlugin.yaml`, runtime python);
its `__main__.py` calls `main()`. The engine starts it for `pulumi package get-schema provider/`,
for `pulumi package add`, and whenever a program in another language registers a
`keelson:index:*` component.

Inputs go through the same pydantic Args models as in Python, so a bad input is refused before
any resource is registered, with the input's name and what is allowed. Two rules follow from the
models being plain values:
- An input must be known when the program runs: a value computed by another resource during a
  preview (an unknown) is refused by name. Keelson's inputs are settings, not resource outputs.
- A secret input keeps its secrecy only where the Args model declares a secret (SecretStr fields
  such as `secretEnv` or `files.secrets`): a secret passed anywhere else is refused rather than
  silently written into a ConfigMap in plain text.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pulumi
from pulumi.errors import InputPropertiesError
from pulumi.provider import ConstructResult, Provider
from pulumi.provider import main as serve
from pulumi.runtime import rpc
from pydantic import ValidationError

from .package_schema import PACKAGE, build_schema, components


class _Unknown(Exception):
    """An input whose value is not known yet (computed by a resource still to be created)."""


def _settle(value: Any, path: str, secrets: list[str]) -> Any:
    """'value' as plain Python data. Paths of secret values are appended to 'secrets'.

    The provider server hands construct() values it has already received, so an Output among them
    is settled (its data resolved) when construct runs; reading it here does not wait.
    """
    if isinstance(value, pulumi.Output):
        data = getattr(value, "_data", None)
        if data is None or not data.done():
            raise _Unknown(path)
        settled = data.result()
        if not settled.is_known:
            raise _Unknown(path)
        if settled.is_secret:
            secrets.append(path)
        return _settle(settled.value, path, secrets)
    if rpc.is_rpc_secret(value):
        secrets.append(path)
        return _settle(rpc.unwrap_rpc_secret(value), path, secrets)
    if isinstance(value, str) and value == rpc.UNKNOWN:
        raise _Unknown(path)
    if isinstance(value, dict):
        return {key: _settle(item, f"{path}.{key}" if path else key, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_settle(item, f"{path}[{index}]", secrets) for index, item in enumerate(value)]
    return value


def _secret_allowed(schema: dict, properties: dict, path: str) -> bool:
    """Whether the schema declares the value at 'path' (a.b[0].c) secret, or inside a secret."""
    spec: dict | None = None
    for part in path.replace("]", "").replace("[", ".").split("."):
        if spec is not None:
            if spec.get("secret"):
                return True
            if "$ref" in spec and spec["$ref"].startswith("#/types/"):
                properties = schema["types"][spec["$ref"][len("#/types/"):]].get("properties", {})
            elif part.isdigit() and "items" in spec:
                spec = spec["items"]
                continue
            elif "additionalProperties" in spec:
                spec = spec["additionalProperties"]
                continue
        spec = properties.get(part)
        if spec is None:
            return False
    return bool(spec and spec.get("secret"))


class KeelsonProvider(Provider):
    """Constructs Keelson's components for programs in any Pulumi language."""

    def __init__(self, version: str) -> None:
        self._schema = build_schema(version)
        self._entries = {entry.token: entry for entry in components()}
        super().__init__(version, json.dumps(self._schema))

    def plain_args(self, resource_type: str, inputs: dict[str, Any]) -> Any:
        """The component's Args model from the engine's inputs, or InputPropertiesError naming each bad input."""
        entry = self._entries.get(resource_type)
        if entry is None:
            raise ValueError(f"unknown resource type {resource_type!r}; {PACKAGE} provides {sorted(self._entries)}")
        inputs_schema = self._schema["resources"][resource_type]["inputProperties"]
        secrets: list[str] = []
        try:
            values = _settle(dict(inputs), "", secrets)
        except _Unknown as unknown:
            raise InputPropertiesError(
                f"{resource_type}: input '{unknown}' is not known yet",
                [{"property_path": str(unknown), "reason": "Keelson's inputs are settings and must be known "
                  "when the program runs, not computed by another resource during the preview"}],
            ) from None
        misplaced = [path for path in secrets if not _secret_allowed(self._schema, inputs_schema, path)]
        if misplaced:
            raise InputPropertiesError(
                f"{resource_type}: secret value(s) given for input(s) that are not secret: {', '.join(misplaced)}",
                [{"property_path": path, "reason": "a secret here would be stored in plain text; pass it "
                  "through a secret input (secretEnv, files.secrets)"} for path in misplaced],
            )
        try:
            return entry.args.model_validate(values)
        except ValidationError as error:
            details = [
                {"property_path": ".".join(str(part) for part in problem["loc"]) or "(inputs)", "reason": problem["msg"]}
                for problem in error.errors(include_url=False)
            ]
            listed = "; ".join(f"{detail['property_path']}: {detail['reason']}" for detail in details)
            raise InputPropertiesError(f"{resource_type}: {listed}", details) from None

    def construct(
        self,
        name: str,
        resource_type: str,
        inputs: pulumi.Inputs,
        options: pulumi.ResourceOptions | None = None,
    ) -> ConstructResult:
        args = self.plain_args(resource_type, dict(inputs))
        entry = self._entries[resource_type]
        component = entry.component(name, args, options)
        # getattr without a default: an output whose attribute is missing fails loudly here.
        values = {output: getattr(component, entry.attribute(output)) for output in entry.outputs}
        state = {output: value for output, value in values.items() if value is not None}
        return ConstructResult(component.urn, state)


def main(args: list[str] | None = None) -> None:
    """Serve the provider to the engine (the plugin's entry point)."""
    from . import __version__

    serve(KeelsonProvider(__version__), sys.argv[1:] if args is None else args)
