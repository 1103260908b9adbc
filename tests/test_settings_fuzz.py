"""Settings under fuzzing: whatever a stack file holds (wrong types, empty strings, zero, huge numbers,
unicode, unknown keys), the settings either validate or fail with a SettingsError whose every line
names its key and shows no credential; and the program, run on a sample of those configs, registers
nothing before such a failure. No other exception ever escapes."""

from __future__ import annotations

import copy
import json
import re
import types
import typing
from typing import Any

import pulumi
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from pydantic import BaseModel

import harness
from conftest import FIGURES
from settings import SettingsError, StackSettings, _decode, parse_settings

PREFIX = "keelson:"
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
"""Derandomized, so CI replays the same configs; no example database is written into the checkout."""

Path = tuple[Any, ...]


def _members(annotation: Any) -> list[Any]:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [member for argument in typing.get_args(annotation) if argument is not type(None) for member in _members(argument)]
    return [annotation]


def _schema_paths(model: type[BaseModel], prefix: Path = (), depth: int = 0) -> list[Path]:
    """Every key the settings schema knows, with 'api' for map keys and 0 for list items."""
    paths: list[Path] = []
    for name, field in model.model_fields.items():
        path = (*prefix, field.alias or name)
        paths.append(path)
        if depth > 5:
            continue
        for member in _members(field.annotation):
            origin = typing.get_origin(member)
            arguments = typing.get_args(member)
            if isinstance(member, type) and issubclass(member, BaseModel):
                paths.extend(_schema_paths(member, path, depth + 1))
            elif origin is dict:
                for value_type in _members(arguments[1]):
                    if isinstance(value_type, type) and issubclass(value_type, BaseModel):
                        paths.extend(_schema_paths(value_type, (*path, "api"), depth + 1))
                    else:
                        paths.append((*path, "FUZZED"))
            elif origin in (list, tuple):
                for item_type in _members(arguments[0]):
                    if isinstance(item_type, type) and issubclass(item_type, BaseModel):
                        paths.extend(_schema_paths(item_type, (*path, 0), depth + 1))
    return paths


def _config_paths(value: Any, prefix: Path = ()) -> list[Path]:
    paths = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            paths.extend(_config_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths.extend(_config_paths(item, (*prefix, index)))
    return paths


def _raw(stack: str) -> dict[str, Any]:
    return {key[len(PREFIX):]: value for key, value in harness.stack_config(stack).items() if key.startswith(PREFIX)}


BASES = {stack: _raw(stack) for stack in harness.STACKS}
SECRET_KEYS = {stack: frozenset(harness.stack_secret_keys(stack)) for stack in harness.STACKS}
PATHS = sorted(
    {*_schema_paths(StackSettings), *(path for raw in BASES.values() for path in _config_paths(raw))},
    key=lambda path: tuple(map(str, path)),
)

AWKWARD = [
    "", " ", "\n", "0", "-1", "1e3", "0s", "0d", "0h", "0m", "0Mi", " 500m", "500m ", "1 Gi", "2\n", "NaN", "Infinity",
    "kube-system", "default", "ingress-nginx", "cert-manager", "monitoring", "logging", "keelson-staging",
    "*.keelson.example.com", "api.keelson.localhost", "API.example.com", "https://", "http://x", "https://hooks.example.com/x y",
    "busybox", "busybox:latest", "ghcr.io/stefanprodan/podinfo:6.7.1", "LOG_LEVEL", "ENVIRONMENT", "a" * 64, "a" * 300,
    "Ä", "名前", "🚀", "\x00", "7d", "5s", "100m", "1Gi", "250m", "#alerts", "ops@keelson.dev", "10.0.0.0/8", "api", "worker",
]
"""Values users get wrong, and a few right ones so some mutated configs stay valid."""

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, -1, 1, 2, 3, 5, 100, 2**31, 2**63, 10**30, -(2**63)]),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(AWKWARD),
    st.text(max_size=30),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(st.sampled_from(["", "api", "x", "name", "cpu", "Ä"]) | st.text(max_size=8), children, max_size=3)),
    max_leaves=6,
)


def _put(raw: dict[str, Any], path: Path, value: Any) -> None:
    node: Any = raw
    for part, following in zip(path, path[1:]):
        empty: Any = [] if isinstance(following, int) else {}
        if isinstance(node, dict):
            if not isinstance(node.get(part), (dict, list)):
                node[part] = empty
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int):
            while len(node) <= part:
                node.append(copy.deepcopy(empty))
            if not isinstance(node[part], (dict, list)):
                node[part] = empty
            node = node[part]
        else:
            return
    last = path[-1]
    if isinstance(node, dict):
        node[last] = value
    elif isinstance(node, list) and isinstance(last, int):
        while len(node) <= last:
            node.append(None)
        node[last] = value


def _delete(raw: dict[str, Any], path: Path) -> None:
    node: Any = raw
    for part in path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(node, dict):
        node.pop(path[-1], None)
    elif isinstance(node, list) and isinstance(path[-1], int) and path[-1] < len(node):
        node.pop(path[-1])


@st.composite
def fuzzed_configs(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A stack file's config with one to three mutations, decoded the way the engine delivers it."""
    stack = draw(st.sampled_from(harness.STACKS))
    raw = copy.deepcopy(BASES[stack])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        kind = draw(st.sampled_from(["set", "set", "set", "delete", "unknown key", "rename app"]))
        path = draw(st.sampled_from(PATHS))
        if kind == "set":
            _put(raw, path, draw(values))
        elif kind == "delete":
            _delete(raw, path)
        elif kind == "unknown key":
            _put(raw, (*path[:-1], draw(st.text(min_size=1, max_size=12))), draw(values))
        elif isinstance(raw.get("apps"), dict) and raw["apps"]:
            old = draw(st.sampled_from(sorted(raw["apps"])))
            raw["apps"][draw(st.sampled_from(AWKWARD) | st.text(max_size=70))] = raw["apps"].pop(old)
    # The engine hands every top-level value as text: plain strings as they are, the rest as JSON.
    return stack, {key: _decode(value if isinstance(value, str) else json.dumps(value)) for key, value in raw.items()}


def _leaf(raw: Any, path: Path) -> Any:
    for part in path:
        raw = raw[part]
    return raw


PLAUSIBLE: dict[Any, list[Any]] = {}
"""For each key name, the values the stack files give it, and a few at the edges of what is allowed."""
for _raw_config in BASES.values():
    for _path in _config_paths(_raw_config):
        if not isinstance(_leaf(_raw_config, _path), (dict, list)):
            PLAUSIBLE.setdefault(_path[-1], []).append(_leaf(_raw_config, _path))
for _key, _extra in {
    "host": ["*.keelson.example.com", "x.keelson.localhost", "shop.keelson.example.com"],
    "name": ["cert-manager", "ingress-nginx", "monitoring", "logging", "keelson", "kube-x", "billing"],
    "cpu": ["0", "50m", "1", "3", "4000m"],
    "memory": ["0", "64Mi", "1Gi", "3Gi"],
    "replicas": [1, 3, 1000],
    "maxReplicas": [1, 10, 40],
    "minReplicas": [1, 3],
    "mode": ["local", "letsencrypt-staging", "letsencrypt-production"],
    "solvers": [["http01"], ["dns01"], ["http01", "dns01"]],
    "retention": ["1d", "0d", "90d"],
    "scrapeInterval": ["0s", "1s", "1h"],
    "operatorMode": [True, False],
    "pods": [1, 12, 100],
}.items():
    PLAUSIBLE.setdefault(_key, []).extend(_extra)


@st.composite
def plausible_configs(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A stack file's config with values other stack files use, so about half of them stay valid."""
    stack = draw(st.sampled_from(harness.STACKS))
    raw = copy.deepcopy(BASES[stack])
    leaves = [path for path in _config_paths(raw) if path[-1] in PLAUSIBLE and not isinstance(_leaf(raw, path), (dict, list))]
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(leaves))
        _put(raw, path, draw(st.sampled_from(PLAUSIBLE[path[-1]])))
    if draw(st.integers(min_value=0, max_value=3)) == 0:
        certificate = {
            "name": draw(st.sampled_from(["extra", "api", "staging-x"])),
            "namespace": draw(st.sampled_from(["keelson-staging", "keelson-production", "monitoring", "logging", "cert-manager", "edge"])),
            "hosts": [draw(st.sampled_from(["extra.keelson.example.com", "*.keelson.example.com", "extra.keelson.localhost"]))],
        }
        raw.setdefault("tls", {})["certificates"] = [certificate]
    return stack, {key: _decode(value if isinstance(value, str) else json.dumps(value)) for key, value in raw.items()}


configs = st.one_of(fuzzed_configs(), plausible_configs(), plausible_configs())
"""Two plausible configs for each fuzzed one, so valid configs, too, reach the program."""


COUNTS = {
    "parsed": 0, "valid": 0, "settings errors": 0,
    "program runs": 0, "program completions": 0, "program failures": 0, "registered before a failure": 0,
}


@pytest.fixture(scope="module", autouse=True)
def fuzz_figures():
    yield COUNTS
    FIGURES["settings fuzz (parse_settings)"] = (
        f"{COUNTS['parsed']} generated configs, {COUNTS['valid']} valid, {COUNTS['settings errors']} SettingsErrors, 0 tracebacks"
    )
    FIGURES["settings fuzz (program under mocks)"] = (
        f"{COUNTS['program runs']} configs run, {COUNTS['program completions']} completed, "
        f"{COUNTS['program failures']} stopped by settings, "
        f"{COUNTS['registered before a failure']} resources registered before a failure"
    )


def _assert_reads_well(message: str) -> None:
    lines = message.splitlines()
    assert lines[0] == "invalid stack configuration:", message
    for line in lines[1:]:
        assert line.startswith(f"  {PREFIX}"), f"a line without its key:\n{message}"
        key, prose = line.split()[0].rstrip(":"), re.sub(r"`pulumi [^`]*`", "", line)  # a command to copy may repeat it
        assert len(re.findall(re.escape(key) + r"(?![\w.\[-])", prose)) == 1, f"{key} named twice: {line}"
    leaked = [value for value in harness.SECURE_PLACEHOLDERS.values() if value in message]
    assert not leaked, f"credentials {leaked} in:\n{message}"
    assert "Traceback" not in message and "[key]" not in message


@settings(FUZZ, max_examples=400)
@given(configs)
def test_fuzzed_settings_validate_or_fail_with_a_keyed_settings_error(case):
    stack, raw = case
    COUNTS["parsed"] += 1
    try:
        parsed = parse_settings(raw, SECRET_KEYS[stack])
    except SettingsError as error:
        COUNTS["settings errors"] += 1
        _assert_reads_well(str(error))
        return
    COUNTS["valid"] += 1
    assert isinstance(parsed, StackSettings)
    for _, _, args in parsed.derived_args():
        type(args).model_validate(dict(args))


@settings(FUZZ, max_examples=80)
@given(configs)
def test_the_program_registers_nothing_before_a_settings_failure(case):
    stack, raw = case
    config = {**harness.stack_config(stack), **{PREFIX + key: value for key, value in raw.items()}}
    for key in [key for key in config if key.startswith(PREFIX) and key[len(PREFIX):] not in raw]:
        del config[key]
    COUNTS["program runs"] += 1
    try:
        registered = harness.run_program(stack, config=config, secret_keys=sorted(SECRET_KEYS[stack]))
    except pulumi.RunError as error:
        COUNTS["program failures"] += 1
        registered = harness.LAST_MOCKS.registered if harness.LAST_MOCKS else []
        COUNTS["registered before a failure"] += len(registered)
        assert not registered, f"registered before the settings failed: {[r.label for r in registered]}"
        _assert_reads_well(str(error))
        return
    COUNTS["program completions"] += 1
    assert any(resource.type == "keelson:index:HardenedApp" for resource in registered)
