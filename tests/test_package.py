"""Keelson as a multi-language component package: the schema the plugin serves mirrors the Args
models, bad inputs from other languages are refused by name, and a Pulumi YAML program and a
TypeScript one (on an SDK generated from the schema, dependencies from npm) deploy the example
storefront with the real engine into manifests that match the Python consumer's."""

from __future__ import annotations

import inspect
import json
import shutil
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, SecretStr
from pydantic.alias_generators import to_camel

import harness
from conftest import FIGURES
from engine import Project, toolchain_pins
from test_example_consumer import consumer_python, wheel  # noqa: F401 - fixtures: the installed wheel

EXAMPLES = harness.ROOT / "examples"
PLUGIN = harness.ROOT / "provider"


def _entries():
    from keelson.package_schema import components

    return components()


def _schema() -> dict:
    import keelson
    from keelson.package_schema import build_schema

    return build_schema(keelson.__version__)


def _refs(node) -> typing.Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _secret_fields(model: type[BaseModel]) -> set[str]:
    def secret(annotation) -> bool:
        return annotation is SecretStr or any(secret(argument) for argument in typing.get_args(annotation))

    return {field.alias or to_camel(name) for name, field in model.model_fields.items() if secret(field.annotation)}


def test_the_schema_has_the_four_components_and_governed_namespace_with_the_args_models_inputs():
    schema = _schema()
    assert sorted(schema["resources"]) == [
        "keelson:index:CertIssuer",
        "keelson:index:GovernedNamespace",
        "keelson:index:HardenedApp",
        "keelson:index:LoggingStack",
        "keelson:index:MonitoringStack",
    ]
    for entry in _entries():
        resource = schema["resources"][entry.token]
        assert resource["isComponent"] is True
        fields = {field.alias or to_camel(name): field for name, field in entry.args.model_fields.items()}
        assert set(resource["inputProperties"]) == set(fields), entry.token
        assert sorted(resource.get("requiredInputs", [])) == sorted(
            name for name, field in fields.items() if field.is_required()
        ), entry.token
        for name, spec in resource["inputProperties"].items():
            text = spec["description"]
            assert ("Default" in text or "default" in text) if not fields[name].is_required() else "Required" in text, (
                f"{entry.token}.{name}: the description states neither its default nor that it is required: {text!r}"
            )
        secret = {name for name, spec in resource["inputProperties"].items() if spec.get("secret")}
        assert secret == _secret_fields(entry.args), entry.token
        # The component's class and its mixins (MonitoringStack sets grafana_admin_password in one).
        source = "".join(inspect.getsource(cls) for cls in entry.component.__mro__ if cls.__module__.startswith("keelson."))
        for output in resource["properties"]:
            assert f"self.{entry.attribute(output)} =" in source, f"{entry.token}.{output}: the component sets no such attribute"


def test_every_type_reference_resolves_and_every_nested_model_is_a_named_type():
    schema = _schema()
    local = {ref[len("#/types/"):] for ref in _refs(schema) if ref.startswith("#/types/")}
    assert local <= set(schema["types"]), f"dangling references: {sorted(local - set(schema['types']))}"
    assert {ref for ref in _refs(schema) if not ref.startswith("#/types/")} <= {"pulumi.json#/Any"}
    health = schema["types"]["keelson:index:HealthCheck"]
    assert health["type"] == "object" and health["properties"], health
    # Nested required fields survive: an IngressSpec needs its host.
    assert "host" in schema["types"]["keelson:index:IngressSpec"]["required"]


def test_secret_inputs_stay_secret_across_the_language_boundary():
    inputs = _schema()["resources"]["keelson:index:HardenedApp"]["inputProperties"]
    assert inputs["secretEnv"]["secret"] is True
    assert "secret" not in inputs["env"]
    files = _schema()["types"]["keelson:index:AppFiles"]["properties"]
    assert files["secrets"]["secret"] is True and "secret" not in files["config"]


# ------------------------------------------------------------------------------------------------
# Inputs from other languages go through the Args models.


@pytest.fixture(scope="module")
def provider():
    from keelson.provider import KeelsonProvider

    return KeelsonProvider("0.0.0-test")


def _error(provider, inputs: dict, token: str = "keelson:index:HardenedApp"):
    from pulumi.errors import InputPropertiesError

    with pytest.raises(InputPropertiesError) as raised:
        provider.plain_args(token, inputs)
    return raised.value


def test_a_bad_input_is_refused_with_its_name_and_what_is_allowed(provider):
    error = _error(provider, {"image": "nginx:latest", "replicas": 2})
    assert [detail["property_path"] for detail in error.errors] == ["image"]
    assert "latest" in error.message
    error = _error(provider, {"image": "nginx:1.27", "logLevel": "loud"})
    assert [detail["property_path"] for detail in error.errors] == ["logLevel"]
    assert "'debug', 'info', 'warning' or 'error'" in error.message
    error = _error(provider, {"image": "nginx:1.27", "replica": 2})
    assert [detail["property_path"] for detail in error.errors] == ["replica"], "an unknown key is refused, not ignored"


def test_an_input_unknown_at_preview_is_refused_by_name(provider):
    from pulumi.runtime import rpc

    error = _error(provider, {"image": "nginx:1.27", "env": {"API_URL": rpc.UNKNOWN}})
    assert [detail["property_path"] for detail in error.errors] == ["env.API_URL"]
    assert "not known yet" in error.message


def test_a_secret_is_accepted_only_where_the_model_keeps_it_secret(provider):
    from pulumi.runtime import rpc

    secret = rpc.wrap_rpc_secret("s3cr3t")
    args = provider.plain_args("keelson:index:HardenedApp", {"image": "nginx:1.27", "secretEnv": {"TOKEN": secret}})
    assert args.secret_env["TOKEN"].get_secret_value() == "s3cr3t"
    args = provider.plain_args(
        "keelson:index:HardenedApp", {"image": "nginx:1.27", "files": {"secrets": {"key.pem": secret}}}
    )
    assert args.files.secrets["key.pem"].get_secret_value() == "s3cr3t"
    error = _error(provider, {"image": "nginx:1.27", "env": {"TOKEN": secret}})
    assert [detail["property_path"] for detail in error.errors] == ["env.TOKEN"]
    assert "s3cr3t" not in error.message + json.dumps(error.errors)


def test_an_unknown_component_type_is_refused(provider):
    with pytest.raises(ValueError, match="keelson:index:Nope"):
        provider.plain_args("keelson:index:Nope", {})


# ------------------------------------------------------------------------------------------------
# The real engine.


def test_the_python_pins_agree_with_the_toolchain_pins():
    """requirements.txt and policy/requirements.txt pin the SDKs tools/pulumi-versions.env names, so the
    SDK never runs ahead of the CLI and each provider SDK matches the plugin built for it."""
    pins = toolchain_pins()
    wanted = {
        "pulumi": pins["PULUMI_PYTHON_SDK_VERSION"],
        "pulumi-kubernetes": pins["PULUMI_KUBERNETES_VERSION"],
        "pulumi-random": pins["PULUMI_RANDOM_VERSION"],
    }
    cli = tuple(int(part) for part in pins["PULUMI_VERSION"].split("."))
    assert tuple(int(part) for part in wanted["pulumi"].split(".")) <= cli, "the Python SDK is newer than the CLI"
    for path in ("requirements.txt", "policy/requirements.txt"):
        found = dict(
            line.split("==", 1) for line in (harness.ROOT / path).read_text().splitlines() if "==" in line and not line.startswith("#")
        )
        for name, version in wanted.items():
            if name in found or name == "pulumi":
                assert found.get(name) == version, f"{path} pins {name}=={found.get(name)}, the toolchain {version}"


def consumer(tmp_path: Path, name: str, **kwargs) -> Project:
    """examples/<name> copied to tmp_path, its `packages: keelson: ../../provider` pointed at the
    repository's plugin directory (whose virtualenv, ../.venv, is the project's)."""
    project = Project(tmp_path, source=EXAMPLES / name, render_stacks=("dev",), consumer_hosts=True, **kwargs)
    pulumi_yaml = tmp_path / "Pulumi.yaml"
    text = pulumi_yaml.read_text()
    assert "keelson: ../../provider" in text
    pulumi_yaml.write_text(text.replace("keelson: ../../provider", f"keelson: {PLUGIN}"))
    return project


def rendered_manifests(directory: Path) -> dict[str, dict]:
    """The rendered objects by kind/namespace/name, with generated secret values blanked: each run
    draws new random passwords, and nothing else may differ."""
    objects: dict[str, dict] = {}
    for path in sorted(directory.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if not document:
                continue
            metadata = document["metadata"]
            if document["kind"] == "Secret":
                for key in ("data", "stringData"):
                    document[key] = {name: "<generated>" for name in document.get(key, {})}
            objects[f"{document['kind']}/{metadata.get('namespace', '')}/{metadata['name']}"] = document
    return objects


@pytest.fixture(scope="module")
def python_manifests(tmp_path_factory, consumer_python) -> dict[str, dict]:  # noqa: F811
    """The Python example consumer's manifests, rendered by `pulumi up` on its dev stack (on a
    virtualenv with the built wheel, as a user would install it)."""
    workdir = tmp_path_factory.mktemp("python-consumer")
    project = Project(workdir, source=EXAMPLES / "consumer", venv=consumer_python.parent.parent, render_stacks=("dev",))
    project.init_stack("dev")
    up = project.pulumi("up", "--stack", "dev", "--yes", "--skip-preview")
    FIGURES["engine: Python consumer up (render)"] = " ".join(up.summary().split())
    return rendered_manifests(workdir / "rendered")


def test_the_real_cli_serves_the_schema_from_the_plugin(tmp_path):
    project = consumer(tmp_path, "yaml-consumer")
    result = project.pulumi("package", "get-schema", str(PLUGIN))
    served = json.loads(result.stdout)
    served.pop("config", None)  # the CLI adds an empty config section
    assert served == json.loads(json.dumps(_schema())), "the plugin serves another schema than the models give"
    app = served["resources"]["keelson:index:HardenedApp"]
    FIGURES["package get-schema"] = (
        f"{', '.join(sorted(served['resources']))}; {len(served['types'])} types; HardenedApp.replicas: "
        f"{app['inputProperties']['replicas']['description'].splitlines()[0]}"
    )


EXPECTED_OUTPUTS = {
    "namespace": "shop",
    "url": "https://shop.example.com/",
    "internalUrl": "http://storefront.shop.svc.cluster.local",
}


def assert_same_storefront(project: Project, python_manifests: dict[str, dict], language: str) -> None:
    """The consumer's rendered objects equal the Python consumer's, object for object, and its
    stack outputs are the component outputs the Python example exports."""
    manifests = rendered_manifests(project.workdir / "rendered")
    assert len(python_manifests) >= 15, f"the Python consumer rendered only {sorted(python_manifests)}"
    assert sorted(manifests) == sorted(python_manifests), f"{language} renders other objects than Python"
    for key, manifest in python_manifests.items():
        assert manifests[key] == manifest, f"{key} differs between the {language} and the Python consumer"
    outputs = json.loads(project.pulumi("stack", "output", "--stack", "dev", "--json").stdout)
    assert outputs == EXPECTED_OUTPUTS


def test_a_yaml_program_deploys_the_storefront_into_the_python_consumers_manifests(tmp_path, python_manifests):
    project = consumer(tmp_path, "yaml-consumer")
    project.init_stack("dev")
    up = project.pulumi("up", "--stack", "dev", "--yes", "--skip-preview", check=False)
    FIGURES["engine: YAML consumer up (render)"] = " ".join(up.summary().split())
    assert up.returncode == 0, up.output[-6000:]
    assert_same_storefront(project, python_manifests, "YAML")


def test_a_typescript_program_on_the_generated_sdk_deploys_the_same_storefront(tmp_path, python_manifests):
    """`pulumi install` generates the SDK from the plugin's schema (sdks/keelson, through the Node.js
    language host) and installs the npm dependencies package-lock.json pins; the program is
    type-checked against the generated types when it runs."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("Node.js and npm are missing: apt-get install nodejs npm (Debian's packages)")
    project = consumer(tmp_path, "ts-consumer")
    install = project.pulumi("install", check=False, timeout=900)
    assert install.returncode == 0, install.output[-6000:]
    generated = json.loads((project.workdir / "sdks" / "keelson" / "package.json").read_text())
    assert generated["name"] == "@keelson/keelson" and generated["version"] == _schema()["version"]
    project.init_stack("dev")
    up = project.pulumi("up", "--stack", "dev", "--yes", "--skip-preview", check=False)
    FIGURES["engine: TypeScript consumer up (render)"] = " ".join(up.summary().split())
    assert up.returncode == 0, up.output[-6000:]
    assert_same_storefront(project, python_manifests, "TypeScript")
