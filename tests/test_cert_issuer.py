"""CertIssuer under Pulumi mocks: issuers, solvers and certificates field by field in every mode,
every cert-manager object strictly valid against its upstream CRD, settings errors that name the
field and value, and issuers that wait for the cert-manager webhook when the component installs it."""

from __future__ import annotations

import copy
import os
from decimal import Decimal
from typing import Any

import jsonschema
import pulumi
import pytest
import yaml
from pydantic import ValidationError

import harness
from keelson.builders import cert_manager
from keelson.cert_issuer import CertificateSpec, CertIssuer, CertIssuerArgs, Dns01Solver
from keelson.models import ComputeResources, ResourceRequirements
from keelson.quantities import parse_cpu, parse_memory
from conftest import FIGURES
from crd_schemas import CERT_MANAGER_KINDS, FETCH_SCRIPT, crd_errors

EMAIL = "platform@keelson.dev"
CLOUDFLARE_TOKEN = "cf-token-never-in-clear"
VALIDATED: set[tuple[str, str]] = set()
"""(scenario, object) pairs checked against a CRD, reported in the figures."""


# --- scenarios -----------------------------------------------------------------------------------

CLOUDFLARE = Dns01Solver(provider="cloudflare", zones=["keelson.dev"], api_token=CLOUDFLARE_TOKEN)
ROUTE53 = Dns01Solver(
    provider="route53",
    zones=["keelson.dev"],
    region="eu-west-1",
    hosted_zone_id="Z0123456789ABCDEFGHIJ",
    access_key_id="AKIAIOSFODNN7EXAMPLE",
    secret_access_key="route53-secret-never-in-clear",
)
SCENARIOS: dict[str, CertIssuerArgs] = {
    "local": CertIssuerArgs(
        certificates=[CertificateSpec(name="grafana", namespace="monitoring", hosts=["grafana.keelson.test"])],
    ),
    "letsencrypt-staging": CertIssuerArgs(
        mode="letsencrypt-staging",
        email=EMAIL,
        solver_namespaces=["keelson-staging"],
        certificates=[
            CertificateSpec(name="grafana", namespace="monitoring", hosts=["grafana.staging.keelson.dev"]),
            CertificateSpec(name="internal", namespace="monitoring", hosts=["internal.keelson.test"], issuer="local"),
        ],
    ),
    "letsencrypt-production": CertIssuerArgs(
        mode="letsencrypt-production",
        email=EMAIL,
        solvers=["http01", "dns01"],
        dns01=CLOUDFLARE,
        certificates=[
            CertificateSpec(name="apps-wildcard", namespace="keelson-production", hosts=["*.apps.keelson.dev", "apps.keelson.dev"]),
            CertificateSpec(name="status", namespace="public", hosts=["status.keelson.io"]),
        ],
    ),
    "route53-install": CertIssuerArgs(
        mode="letsencrypt-production", email=EMAIL, solvers=["dns01"], dns01=ROUTE53, install=True,
        certificates=[CertificateSpec(name="wildcard", namespace="edge", hosts=["*.keelson.dev"])],
    ),
}


def build(args: CertIssuerArgs, name: str = "tls", opts: pulumi.ResourceOptions | None = None):
    """Run CertIssuer under mocks; return its registrations and its resolved outputs."""
    outputs: dict[str, Any] = {}

    def body():
        component = CertIssuer(name, args, opts)
        return pulumi.Output.all(
            issuer_name=component.issuer_name,
            namespace=component.namespace,
            certificate_secrets=pulumi.Output.all(**component.certificate_secrets),
        ).apply(outputs.update)

    return harness.run(body), outputs


@pytest.fixture(scope="module")
def built() -> dict[str, tuple[list[harness.Registered], dict[str, Any]]]:
    return {scenario: build(args) for scenario, args in SCENARIOS.items()}


def named(registered: list[harness.Registered], kind: str, name: str, namespace: str | None = None) -> dict:
    found = [
        resource.manifest
        for resource in harness.of_kind(registered, kind)
        if resource.manifest["metadata"]["name"] == name and resource.manifest["metadata"].get("namespace") == namespace
    ]
    assert len(found) == 1, f"expected one {kind} {namespace or ''}/{name}, got {[r.label for r in harness.of_kind(registered, kind)]}"
    return found[0]


def solvers_of(issuer: dict) -> list[dict]:
    return issuer["spec"]["acme"]["solvers"]


# --- issuers, solvers, certificates --------------------------------------------------------------


def test_component_type_token_and_child_names(built):
    registered, _ = built["letsencrypt-production"]
    assert "keelson:index:CertIssuer" in {resource.type for resource in registered}
    children = [resource.name for resource in registered if resource.is_kubernetes_object]
    assert children and all(name.startswith("tls-") for name in children), children


def test_local_mode_builds_the_self_signed_to_ca_chain_and_selects_the_ca_issuer(built):
    registered, outputs = built["local"]
    assert named(registered, "ClusterIssuer", "keelson-selfsigned")["spec"] == {"selfSigned": {}}
    ca = named(registered, "Certificate", "keelson-ca", "cert-manager")["spec"]
    assert ca["isCA"] is True
    assert ca["duration"] == "87600h"
    assert ca["privateKey"] == {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}
    assert ca["issuerRef"] == {"name": "keelson-selfsigned", "kind": "ClusterIssuer", "group": "cert-manager.io"}
    assert ca["secretName"] == "keelson-ca"
    assert named(registered, "ClusterIssuer", "keelson-ca")["spec"] == {"ca": {"secretName": "keelson-ca"}}
    assert outputs["issuer_name"] == "keelson-ca"
    issuers = sorted(resource.manifest["metadata"]["name"] for resource in harness.of_kind(registered, "ClusterIssuer"))
    assert issuers == ["keelson-ca", "keelson-selfsigned"], "no Let's Encrypt issuer without a contact email"
    assert not harness.of_kind(registered, "NetworkPolicy"), "no HTTP-01 solver, so no solver NetworkPolicy"


@pytest.mark.parametrize("mode", ["letsencrypt-staging", "letsencrypt-production"])
def test_both_lets_encrypt_issuers_exist_and_the_mode_selects_one(built, mode):
    registered, outputs = built[mode]
    assert outputs["issuer_name"] == mode
    for issuer, server in (
        ("letsencrypt-staging", "https://acme-staging-v02.api.letsencrypt.org/directory"),
        ("letsencrypt-production", "https://acme-v02.api.letsencrypt.org/directory"),
    ):
        acme = named(registered, "ClusterIssuer", issuer)["spec"]["acme"]
        assert acme["server"] == server, issuer
        assert acme["email"] == EMAIL, issuer
        assert acme["privateKeySecretRef"] == {"name": f"{issuer}-account-key"}, issuer


def test_http01_solver_uses_the_ingress_class_and_fits_the_namespace_limit_range(built):
    registered, _ = built["letsencrypt-staging"]
    (solver,) = solvers_of(named(registered, "ClusterIssuer", "letsencrypt-staging"))
    assert "selector" not in solver, "HTTP-01 is the fallback for every name"
    ingress = solver["http01"]["ingress"]
    assert ingress["ingressClassName"] == "nginx"
    resources = ingress["podTemplate"]["spec"]["resources"]
    assert resources == {"requests": {"cpu": "25m", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "128Mi"}}
    assert parse_cpu(resources["limits"]["cpu"]) / parse_cpu(resources["requests"]["cpu"]) <= 4
    assert parse_memory(resources["limits"]["memory"]) / parse_memory(resources["requests"]["memory"]) <= 4


def test_solver_pods_are_reachable_from_the_ingress_controller_only(built):
    registered, _ = built["letsencrypt-staging"]
    policies = {resource.manifest["metadata"]["namespace"]: resource.manifest for resource in harness.of_kind(registered, "NetworkPolicy")}
    assert sorted(policies) == ["keelson-staging", "monitoring"]
    spec = policies["keelson-staging"]["spec"]
    assert spec["podSelector"] == {"matchLabels": {"acme.cert-manager.io/http01-solver": "true"}}
    assert spec["ingress"] == [
        {
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}],
            "ports": [{"protocol": "TCP", "port": 8089}],
        }
    ]


def test_dns01_cloudflare_solver_takes_its_zones_and_reads_the_token_from_a_pulumi_secret(built):
    registered, _ = built["letsencrypt-production"]
    dns01, http01 = solvers_of(named(registered, "ClusterIssuer", "letsencrypt-production"))
    assert dns01["selector"] == {"dnsZones": ["keelson.dev"]}
    assert dns01["dns01"] == {"cloudflare": {"apiTokenSecretRef": {"name": "keelson-dns01-cloudflare", "key": "api-token"}}}
    assert "http01" in http01
    (secret,) = [resource for resource in harness.of_kind(registered, "Secret")]
    assert secret.manifest["metadata"] == {
        "name": "keelson-dns01-cloudflare",
        "namespace": "cert-manager",
        "labels": cert_manager.labels(),
    }
    assert secret.manifest["stringData"] == {"api-token": CLOUDFLARE_TOKEN}
    assert harness.is_secret(secret.inputs["stringData"]), "the DNS token must travel as a Pulumi secret"
    assert "data" not in secret.manifest
    clear = [resource.label for resource in registered if resource is not secret and CLOUDFLARE_TOKEN in str(resource.inputs)]
    assert not clear, f"the DNS token appears outside its Secret: {clear}"


def test_dns01_route53_solver_names_region_zone_and_key(built):
    registered, _ = built["route53-install"]
    (dns01,) = solvers_of(named(registered, "ClusterIssuer", "letsencrypt-production"))
    assert dns01["dns01"]["route53"] == {
        "region": "eu-west-1",
        "hostedZoneID": "Z0123456789ABCDEFGHIJ",
        "accessKeyID": "AKIAIOSFODNN7EXAMPLE",
        "secretAccessKeySecretRef": {"name": "keelson-dns01-route53", "key": "secret-access-key"},
    }
    secret = named(registered, "Secret", "keelson-dns01-route53", "cert-manager")
    assert secret["stringData"] == {"secret-access-key": "route53-secret-never-in-clear"}
    assert not harness.of_kind(registered, "NetworkPolicy"), "DNS-01 only: no solver pods to admit"


def test_certificates_last_90_days_renew_30_days_early_with_a_new_key_from_the_stack_issuer(built):
    registered, outputs = built["letsencrypt-staging"]
    grafana = named(registered, "Certificate", "grafana", "monitoring")["spec"]
    assert grafana["dnsNames"] == ["grafana.staging.keelson.dev"]
    assert grafana["duration"] == "2160h" and grafana["renewBefore"] == "720h"
    assert grafana["privateKey"]["rotationPolicy"] == "Always"
    assert grafana["issuerRef"] == {"name": "letsencrypt-staging", "kind": "ClusterIssuer", "group": "cert-manager.io"}
    assert grafana["secretName"] == "grafana-tls"
    internal = named(registered, "Certificate", "internal", "monitoring")["spec"]
    assert internal["issuerRef"]["name"] == "keelson-ca", "a per-certificate issuer overrides the mode"
    assert outputs["certificate_secrets"] == {"monitoring/grafana": "grafana-tls", "monitoring/internal": "internal-tls"}


def test_wildcard_certificate_of_the_production_stack(built):
    registered, outputs = built["letsencrypt-production"]
    wildcard = named(registered, "Certificate", "apps-wildcard", "keelson-production")["spec"]
    assert wildcard["dnsNames"] == ["*.apps.keelson.dev", "apps.keelson.dev"]
    assert wildcard["issuerRef"]["name"] == outputs["issuer_name"] == "letsencrypt-production"


# --- CRD validation ------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_cert_manager_object_validates_strictly_against_its_crd(built, crd_validators, scenario):
    registered, _ = built[scenario]
    objects = [resource for resource in harness.kubernetes_objects(registered) if resource.kind in CERT_MANAGER_KINDS]
    assert len(objects) >= 3, [resource.label for resource in objects]
    failures = [f"{resource.label}: {error}" for resource in objects for error in crd_errors(crd_validators, resource.manifest)]
    assert not failures, "\n".join(failures)
    VALIDATED.update((scenario, resource.label) for resource in objects)
    FIGURES["cert-manager objects validated against CRDs"] = (
        f"{len(VALIDATED)} objects in {len({scenario for scenario, _ in VALIDATED})} scenarios, "
        f"cert-manager v{cert_manager.CERT_MANAGER_VERSION}, 0 failures"
    )


@pytest.mark.parametrize(
    ("kind", "name", "namespace", "path", "typo"),
    [
        ("ClusterIssuer", "letsencrypt-staging", None, ["spec", "acme", "solvers", 0, "http01", "ingress"], "ingressClasName"),
        ("ClusterIssuer", "letsencrypt-staging", None, ["spec", "acme"], "emial"),
        ("Certificate", "grafana", "monitoring", ["spec", "privateKey"], "rotationPolicyy"),
        ("Certificate", "keelson-ca", "cert-manager", ["spec"], "isCa"),
    ],
)
def test_a_misspelled_field_fails_crd_validation(built, crd_validators, kind, name, namespace, path, typo):
    registered, _ = built["letsencrypt-staging"]
    manifest = copy.deepcopy(named(registered, kind, name, namespace))
    assert not crd_errors(crd_validators, manifest)
    parent = manifest
    for part in path:
        parent = parent[part]
    parent[typo] = next(iter(parent.values()), "x") if parent else "x"
    errors = crd_errors(crd_validators, manifest)
    assert any(typo in error for error in errors), f"{kind}: '{typo}' passed strict CRD validation: {errors}"


def test_helm_values_validate_against_the_chart_schema_and_a_typo_fails(crd_dir):
    schema_path = crd_dir / "helm-values.schema.json"
    assert schema_path.exists(), f"{schema_path} missing; rerun tools/fetch-crds.sh cert-manager"
    validator = jsonschema.Draft7Validator(yaml.safe_load(schema_path.read_text()))
    values = cert_manager.helm_values(CertIssuerArgs().solver_resources, {"replicaCount": 2})
    assert not list(validator.iter_errors(values))
    misspelled = {**values, "crds": {"enable": True}}
    assert list(validator.iter_errors(misspelled)), "'crds.enable' (for 'enabled') passed the chart's schema"


def test_fetch_script_defaults_to_the_pinned_version():
    text = FETCH_SCRIPT.read_text()
    assert f"DEFAULT_VERSION={cert_manager.CERT_MANAGER_VERSION} MODULE=github.com/cert-manager/cert-manager" in text
    assert os.access(FETCH_SCRIPT, os.X_OK), f"{FETCH_SCRIPT} is not executable"


# --- settings errors -----------------------------------------------------------------------------


def test_a_bad_email_names_the_field_and_value():
    with pytest.raises(ValidationError, match=r"email\n.*'ops-at-keelson' is not an email address"):
        CertIssuerArgs(mode="letsencrypt-staging", email="ops-at-keelson")
    with pytest.raises(ValidationError, match=r"email\n.*'ops@example.com' uses the reserved domain 'example.com'"):
        CertIssuerArgs(mode="letsencrypt-staging", email="ops@example.com")


def test_lets_encrypt_without_an_email_is_an_error():
    with pytest.raises(ValidationError, match=r"'mode' is 'letsencrypt-production' but 'email' is not set"):
        CertIssuerArgs(mode="letsencrypt-production")


def test_an_unknown_solver_names_the_field_the_value_and_the_choices():
    with pytest.raises(ValidationError, match=r"solvers\.0\n.*'http01' or 'dns01'.*input_value='tls-alpn-01'"):
        CertIssuerArgs.model_validate({"mode": "local", "solvers": ["tls-alpn-01"]})


def test_dns01_without_a_token_is_an_error():
    with pytest.raises(ValidationError, match=r"'solvers' \(\['http01', 'dns01'\]\) includes 'dns01' but 'dns01' is not set"):
        CertIssuerArgs(email=EMAIL, solvers=["http01", "dns01"])
    with pytest.raises(ValidationError, match=r"dns01\n.*provider 'cloudflare' needs 'apiToken'"):
        CertIssuerArgs.model_validate(
            {"email": EMAIL, "solvers": ["dns01"], "dns01": {"provider": "cloudflare", "zones": ["keelson.dev"], "apiToken": ""}}
        )
    with pytest.raises(ValidationError, match=r"provider 'route53' needs 'accessKeyId', 'secretAccessKey'"):
        Dns01Solver(provider="route53", zones=["keelson.dev"], region="eu-west-1")


def test_a_wildcard_host_with_http01_only_names_the_host_and_the_solvers():
    with pytest.raises(
        ValidationError,
        match=r"'certificates\[0\]\.hosts' has the wildcard '\*\.apps\.keelson\.dev' but 'solvers' is \['http01'\]",
    ):
        CertIssuerArgs(
            mode="letsencrypt-staging",
            email=EMAIL,
            certificates=[CertificateSpec(name="wild", namespace="apps", hosts=["*.apps.keelson.dev"])],
        )
    with pytest.raises(ValidationError, match=r"wildcard '\*\.keelson\.io' outside the 'dns01\.zones' \['keelson\.dev'\]"):
        CertIssuerArgs(
            mode="letsencrypt-staging",
            email=EMAIL,
            solvers=["http01", "dns01"],
            dns01=CLOUDFLARE,
            certificates=[CertificateSpec(name="wild", namespace="apps", hosts=["*.keelson.io"])],
        )


def test_a_wildcard_from_the_local_ca_needs_no_dns01():
    args = CertIssuerArgs(certificates=[CertificateSpec(name="wild", namespace="apps", hosts=["*.keelson.test"])])
    assert args.issuer_name == "keelson-ca"


def test_solver_resources_above_the_limit_range_ratio_are_an_error():
    upstream_default = ResourceRequirements(
        requests=ComputeResources(cpu="10m", memory="64Mi"), limits=ComputeResources(cpu="100m", memory="64Mi")
    )
    with pytest.raises(ValidationError, match=r"'solverResources' limits\.cpu/requests\.cpu is 10 \(100m/10m\), above 'maxLimitRequestRatio\.cpu' \(4\)"):
        CertIssuerArgs(solver_resources=upstream_default)
    assert CertIssuerArgs().solver_resources.ratio("cpu") == Decimal(4)


def test_renew_before_must_be_shorter_than_the_duration():
    with pytest.raises(ValidationError, match=r"'renewBefore' \(2160h\) must be shorter than 'certificateDuration' \(2160h\)"):
        CertIssuerArgs(renew_before="2160h")


def test_unknown_keys_are_rejected():
    with pytest.raises(ValidationError, match=r"ingressClas\n.*Extra inputs are not permitted"):
        CertIssuerArgs.model_validate({"ingressClas": "nginx"})


# --- install and webhook ordering ----------------------------------------------------------------


class OptionsSpy:
    """A resource transformation that records each child's name, type and depends_on."""

    def __init__(self) -> None:
        self.names: dict[int, str] = {}
        self.types: dict[str, str] = {}
        self.depends_on: dict[str, list[Any]] = {}

    def __call__(self, args: pulumi.ResourceTransformationArgs):
        self.names[id(args.resource)] = args.name
        self.types[args.name] = args.type_
        self.depends_on[args.name] = list(args.opts.depends_on or []) if args.opts else []
        return None

    def dependencies(self, name: str) -> set[str]:
        """Names of every resource 'name' waits for, directly or through other dependencies."""
        found: set[str] = set()
        stack = [name]
        while stack:
            for dependency in self.depends_on.get(stack.pop(), []):
                dependency_name = self.names[id(dependency)]
                if dependency_name not in found:
                    found.add(dependency_name)
                    stack.append(dependency_name)
        return found


@pytest.fixture(scope="module")
def installed() -> tuple[list[harness.Registered], OptionsSpy]:
    spy = OptionsSpy()
    registered, _ = build(SCENARIOS["route53-install"], opts=pulumi.ResourceOptions(transformations=[spy]))
    return registered, spy


def test_install_registers_the_pinned_chart_with_crds_and_solver_flags(installed):
    registered, _ = installed
    (release,) = [resource for resource in registered if resource.type == "kubernetes:helm.sh/v3:Release"]
    inputs = release.manifest
    assert inputs["chart"] == "cert-manager"
    assert inputs["version"] == f"v{cert_manager.CERT_MANAGER_VERSION}"
    assert inputs["repositoryOpts"] == {"repo": "https://charts.jetstack.io"}
    assert inputs["name"] == "cert-manager" and inputs["namespace"] == "cert-manager"
    assert inputs["skipAwait"] is False and inputs["waitForJobs"] is True
    values = inputs["values"]
    assert values["crds"] == {"enabled": True, "keep": True}
    assert values["extraArgs"] == [
        "--acme-http01-solver-resource-request-cpu=25m",
        "--acme-http01-solver-resource-request-memory=32Mi",
        "--acme-http01-solver-resource-limits-cpu=100m",
        "--acme-http01-solver-resource-limits-memory=128Mi",
    ]
    assert values["startupapicheck"]["enabled"] is True
    assert values["startupapicheck"]["jobAnnotations"]["helm.sh/hook"] == "post-install,post-upgrade"


def test_the_webhook_gate_waits_for_the_injected_ca_bundle(installed):
    registered, spy = installed
    (gate,) = harness.of_kind(registered, "ValidatingWebhookConfigurationPatch")
    assert gate.manifest["metadata"] == {
        "name": "cert-manager-webhook",
        "annotations": {"pulumi.com/waitFor": "jsonpath={.webhooks[*].clientConfig.caBundle}"},
    }
    assert spy.dependencies(gate.name) == {"tls-release"}


def test_no_cert_manager_object_is_sent_before_the_release_and_the_webhook_gate(installed):
    registered, spy = installed
    order = [resource.name for resource in registered]
    gated = [
        resource for resource in harness.kubernetes_objects(registered)
        if resource.kind in CERT_MANAGER_KINDS or resource.kind == "Secret"
    ]
    assert len(gated) >= 6, [resource.label for resource in gated]
    for resource in gated:
        waits_for = spy.dependencies(resource.name)
        assert {"tls-release", "tls-webhook-ready"} <= waits_for, (
            f"{resource.label} would reach the API server before cert-manager's webhook answers "
            f"(it waits only for {sorted(waits_for)})"
        )
        assert order.index(resource.name) > order.index("tls-webhook-ready"), resource.label


def test_without_install_nothing_waits_and_no_chart_is_registered(built):
    registered, _ = built["letsencrypt-production"]
    types = {resource.type for resource in registered}
    assert "kubernetes:helm.sh/v3:Release" not in types
    assert not harness.of_kind(registered, "ValidatingWebhookConfigurationPatch")
