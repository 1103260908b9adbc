"""Run Keelson components or the whole program under Pulumi mocks and collect what is registered.

The mocks echo inputs back as outputs (plus a deterministic `result` for random passwords), so the
collected inputs of a Kubernetes resource are exactly the manifest the provider would apply.
"""

from __future__ import annotations

import json
import runpy
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pulumi
import yaml

ROOT = Path(__file__).resolve().parent.parent
STACKS = ("local", "staging", "production", "cluster")
KUBERNETES_PREFIX = "kubernetes:"


SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"
"""The key Pulumi's wire format marks a secret value with."""


def _as_manifest(value: Any) -> Any:
    """Undo the wire format: unwrap secrets, and turn whole floats back into ints (every number
    crosses the mock monitor as a protobuf double; the real provider restores them from its schema)."""
    if isinstance(value, dict):
        if SECRET_SIGNATURE in value:
            return _as_manifest(value.get("value"))
        return {key: _as_manifest(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_manifest(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def is_secret(value: Any) -> bool:
    """True when a registered input value travelled as a Pulumi secret."""
    return isinstance(value, dict) and SECRET_SIGNATURE in value


@dataclass
class Registered:
    """One resource registration seen by the mocks."""

    type: str
    name: str
    inputs: dict[str, Any]
    provider: str | None = None

    @property
    def is_kubernetes_object(self) -> bool:
        return self.type.startswith(KUBERNETES_PREFIX) and not self.type.startswith("pulumi:providers:")

    @property
    def kind(self) -> str:
        return self.type.rsplit(":", 1)[-1]

    @property
    def manifest(self) -> dict[str, Any]:
        """The Kubernetes manifest this resource would apply (secret values unwrapped)."""
        return _as_manifest(json.loads(json.dumps(self.inputs)))

    @property
    def label(self) -> str:
        """A readable identity for assertion messages: Kind namespace/name (pulumi name)."""
        metadata = self.inputs.get("metadata", {})
        namespace = metadata.get("namespace")
        where = f"{namespace}/{metadata.get('name')}" if namespace else metadata.get("name")
        return f"{self.kind} {where} ({self.name})"


def built_tool(name: str, bootstrap: str, env_var: str | None = None) -> Path | None:
    """The binary 'name' that tools/<bootstrap> built (its --print-bin-dir), or $env_var when set;
    None when it is not built yet (the caller fails, saying how to build it)."""
    import os
    import subprocess

    if env_var and os.environ.get(env_var):
        return Path(os.environ[env_var])
    completed = subprocess.run([str(ROOT / "tools" / bootstrap), "--print-bin-dir"], capture_output=True, text=True)
    lines = completed.stdout.strip().splitlines()
    binary = Path(lines[-1]) / name if completed.returncode == 0 and lines else None
    return binary if binary is not None and binary.exists() else None


LAST_PROGRAM: dict[str, Any] = {}
"""The module globals of the latest run_program(): its components, settings and footprints."""

LAST_MOCKS: "RecordingMocks | None" = None
"""The mocks of the latest run, so a test can inspect registrations of a run that raised."""


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    registered: list[Registered] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        inputs = dict(args.inputs)
        self.registered.append(Registered(args.typ, args.name, inputs, args.provider))
        outputs = dict(inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            outputs["result"] = "mock-password-" + args.name
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


SECURE_PLACEHOLDERS = {
    "webhookUrl": "https://hooks.slack.com/services/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",
    "routingKey": "mockroutingkey000000000000000000",
    "authPassword": "mock-smtp-password",
    "bearerToken": "mock-bearer-token",
    "apiToken": "mock-cloudflare-api-token",
    "secretAccessKey": "mock-aws-secret-access-key",
}
"""Stand-ins for `secure:` values under mocks (only the real engine holds the passphrase), by field."""


def _decrypt_placeholders(value: Any, field: str = "") -> Any:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECURE_PLACEHOLDERS[field]
        return {key: _decrypt_placeholders(item, key) for key, item in value.items()}
    if isinstance(value, list):
        return [_decrypt_placeholders(item, field) for item in value]
    return value


def _has_secure(value: Any) -> bool:
    if isinstance(value, dict):
        return set(value) == {"secure"} or any(_has_secure(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_secure(item) for item in value)
    return False


def stack_config(stack: str) -> dict[str, Any]:
    """Return the `config:` map of Pulumi.<stack>.yaml as the engine hands it to the program,
    with `secure:` values replaced by SECURE_PLACEHOLDERS."""
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    return {key: _decrypt_placeholders(value) for key, value in (document.get("config") or {}).items()}


def stack_secret_keys(stack: str) -> list[str]:
    """The config keys of Pulumi.<stack>.yaml that hold a `secure:` value (the engine marks them secret)."""
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    return [key for key, value in (document.get("config") or {}).items() if _has_secure(value)]


def _engine_config(config: dict[str, Any]) -> dict[str, str]:
    """Encode config values the way the engine does: strings as-is, everything else as JSON."""
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()}


def run(
    body: Callable[[], Any],
    config: dict[str, Any] | None = None,
    secret_keys: list[str] | None = None,
    stack: str = "test",
) -> list[Registered]:
    """Run 'body' as a Pulumi program under mocks and return every registered resource."""
    global LAST_MOCKS
    mocks = LAST_MOCKS = RecordingMocks()
    pulumi.runtime.set_all_config(_engine_config(config or {}), secret_keys or [])
    pulumi.runtime.set_mocks(mocks, project="keelson", stack=stack, preview=False)
    pulumi.runtime.test(body)()
    return mocks.registered


def run_program(stack: str, config: dict[str, Any] | None = None, secret_keys: list[str] | None = None) -> list[Registered]:
    """Run __main__.py with a stack's config (or the given one) and return what it registered."""
    effective = stack_config(stack) if config is None else config
    if secret_keys is None:
        secret_keys = stack_secret_keys(stack)
    global LAST_PROGRAM
    LAST_PROGRAM = {}

    def program() -> None:
        LAST_PROGRAM.update(runpy.run_path(str(ROOT / "__main__.py"), run_name="__pulumi_main__"))

    return run(program, effective, secret_keys, stack)


def kubernetes_objects(registered: list[Registered]) -> list[Registered]:
    return [resource for resource in registered if resource.is_kubernetes_object]


def of_kind(registered: list[Registered], kind: str) -> list[Registered]:
    return [resource for resource in registered if resource.is_kubernetes_object and resource.kind == kind]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, for a live tool the tests start."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get_json(url: str, timeout: float = 3) -> dict[str, Any] | None:
    """The JSON a live tool on loopback answers, or None while it is not (yet) answering."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback only
            return json.load(response)
    except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
        return None

