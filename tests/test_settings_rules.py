"""Settings rules that span fields and components: each mistake Kubernetes, cert-manager or the engine
would refuse only at deploy time fails as a settings error naming the key, the value and the reason,
before the program registers anything; and no settings error ever shows a credential."""

from __future__ import annotations

import copy
import re
from typing import Any, Callable

import pulumi
import pytest
import yaml
from pydantic import ValidationError

import harness
import settings as settings_module
from keelson import HardenedAppArgs
from keelson.builders.app_deployment import deployment_spec
from keelson.builders.labels import standard_labels
from keelson.cert_issuer import CertIssuerArgs
from settings import SettingsError, StackSettings, parse_settings

PREFIX = "keelson:"
WEBHOOK = "https://hooks.slack.com/services/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s"
ROUTING_KEY = "R0uT1nGkEy0000000000000000000000"
SMTP_PASSWORD = "smtp-password-of-the-rules-tests"
BEARER_TOKEN = "bearer-token-of-the-rules-tests"
API_TOKEN = "cloudflare-token-of-the-rules-tests"
AWS_SECRET = "aws-secret-of-the-rules-tests"
ES_PASSWORD = "elasticsearch-password-of-the-rules-tests"
DATABASE_URL = "postgres://billing:s3cr3t-db-password@db/billing"
SECRET_VALUES = (
    WEBHOOK, ROUTING_KEY, SMTP_PASSWORD, BEARER_TOKEN, API_TOKEN, AWS_SECRET, ES_PASSWORD, DATABASE_URL,
    "s3cr3t-db-password", *harness.SECURE_PLACEHOLDERS.values(),
)
"""Every credential value these tests hand in; no settings error may contain one."""

Mutation = Callable[[dict[str, Any]], Any]


def stack(name: str) -> dict[str, Any]:
    """A stack's config as load_settings() sees it: keys without the prefix."""
    return {key[len(PREFIX):]: value for key, value in copy.deepcopy(harness.stack_config(name)).items() if key.startswith(PREFIX)}


def secret_keys(name: str) -> frozenset[str]:
    return frozenset(harness.stack_secret_keys(name))


def assert_no_credential(message: str) -> None:
    leaked = [value for value in SECRET_VALUES if value in message]
    assert not leaked, f"the settings error shows credential values {leaked}:\n{message}"


def assert_reads_well(message: str) -> None:
    """Every line opens with its key and names that key once."""
    lines = message.splitlines()[1:]
    assert lines, message
    for line in lines:
        assert line.startswith(f"  {PREFIX}"), f"a line without its key:\n{message}"
        key, prose = line.split()[0].rstrip(":"), re.sub(r"`pulumi [^`]*`", "", line)  # a command to copy may repeat it
        assert len(re.findall(re.escape(key) + r"(?![\w.\[-])", prose)) == 1, f"{key} named twice: {line}"


def error_of(raw: dict[str, Any], keys: frozenset[str] | set[str]) -> str:
    with pytest.raises(SettingsError) as caught:
        parse_settings(raw, keys)
    message = str(caught.value)
    assert_no_credential(message)
    assert_reads_well(message)
    return message


def put(raw: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set a dotted path ('apps.api.replicas'), creating objects as needed."""
    *parents, last = path.split(".")
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return raw


def rename_app(raw: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    raw["apps"][new] = raw["apps"].pop(old)
    for app in raw["apps"].values():
        app["talksTo"] = [{**peer, "app": new} if peer.get("app") == old else peer for peer in app.get("talksTo", [])]
    raw.setdefault("monitoring", {})["slo"] = [objective for objective in raw["monitoring"].get("slo", []) if objective["app"] != old]
    return raw


def check(base: str, mutate: Mutation, fragments: list[str], keys: set[str] | None = None) -> str:
    raw = stack(base)
    mutate(raw)
    message = error_of(raw, secret_keys(base) | (keys or set()))
    for fragment in fragments:
        assert fragment in message, f"expected {fragment!r} in the settings error:\n{message}"
    return message


def accepted(base: str, mutate: Mutation, keys: set[str] | None = None) -> StackSettings:
    raw = stack(base)
    mutate(raw)
    return parse_settings(raw, secret_keys(base) | (keys or set()))


def cases(table: list[tuple]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("base, mutate, fragments", [case[1:] for case in table], ids=[case[0] for case in table])


# -- 1. reserved and colliding names -------------------------------------------------------------

RESERVED_AND_COLLIDING = [
    ("apps namespace kube-system", "staging", lambda r: put(r, "namespace.name", "kube-system"),
     ["keelson:namespace.name = 'kube-system'", "Kubernetes itself runs in", "choose a name of your own"]),
    ("monitoring namespace default", "staging",
     lambda r: (put(r, "monitoring.namespace", {"name": "default"}), put(r, "network.monitoringNamespace", "default")),
     ["keelson:monitoring.namespace.name = 'default'", "default and kube-* are reserved"]),
    ("logging namespace under kube-", "staging", lambda r: put(r, "logging.namespace", {"name": "kube-logs"}),
     ["keelson:logging.namespace.name = 'kube-logs'", "Kubernetes itself runs in"]),
    ("apps namespace is the ingress controller's", "staging", lambda r: put(r, "namespace.name", "ingress-nginx"),
     ["keelson:namespace.name = 'ingress-nginx'", "the ingress controller's namespace (keelson:ingress.controllerNamespace)"]),
    ("apps namespace is cert-manager's", "production", lambda r: put(r, "namespace.name", "cert-manager"),
     ["keelson:namespace.name = 'cert-manager'", "cert-manager's namespace (keelson:tls.namespace)", "does not own"]),
    ("logging namespace is a custom DNS namespace", "staging",
     lambda r: (put(r, "network.dnsNamespace", "dns"), put(r, "logging.namespace", {"name": "dns"})),
     ["keelson:logging.namespace.name = 'dns'", "the cluster DNS namespace (keelson:network.dnsNamespace)"]),
    ("monitoring governs a renamed ingress namespace", "staging",
     lambda r: (put(r, "ingress.controllerNamespace", "edge"), put(r, "monitoring.namespace", {"name": "edge"}),
                put(r, "network.monitoringNamespace", "edge")),
     ["keelson:monitoring.namespace.name = 'edge'", "keelson:ingress.controllerNamespace"]),
    ("apps and monitoring share a namespace", "staging", lambda r: put(r, "namespace.name", "monitoring"),
     ["keelson:monitoring.namespace.name = 'monitoring' is already keelson:namespace.name", "give each its own"]),
    ("monitoring and logging share a namespace", "staging", lambda r: put(r, "logging.namespace", {"name": "monitoring"}),
     ["keelson:logging.namespace.name = 'monitoring' is already keelson:monitoring.namespace.name"]),
    ("certificate writes an app's TLS Secret", "staging",
     lambda r: put(r, "tls.certificates", [{"name": "api", "namespace": "keelson-staging", "hosts": ["x.staging.keelson.example.com"]}]),
     ["keelson:tls.certificates[0].name = 'api'", "keelson-staging/api-tls is already the TLS Secret of keelson:apps.api.ingress"]),
    ("certificate writes Grafana's TLS Secret", "staging",
     lambda r: put(r, "tls.certificates", [{"name": "dash", "namespace": "monitoring", "secretName": "grafana-tls", "hosts": ["dash.staging.keelson.example.com"]}]),
     ["keelson:tls.certificates[0].secretName = 'grafana-tls'", "the TLS Secret of keelson:monitoring.grafana.ingress"]),
    ("certificate writes an app's credentials Secret", "staging",
     lambda r: put(r, "tls.certificates", [{"name": "w", "namespace": "keelson-staging", "secretName": "worker-secrets", "hosts": ["w.staging.keelson.example.com"]}]),
     ["keelson:tls.certificates[0].secretName = 'worker-secrets'", "the Secret of keelson:apps.worker"]),
    ("certificate writes Alertmanager's credentials", "staging",
     lambda r: put(r, "tls.certificates", [{"name": "am", "namespace": "monitoring", "secretName": "alertmanager-credentials", "hosts": ["am.staging.keelson.example.com"]}]),
     ["Alertmanager's credentials Secret"]),
    ("two certificates share a Secret", "staging",
     lambda r: put(r, "tls.certificates", [
         {"name": "one", "namespace": "keelson-staging", "secretName": "shared-tls", "hosts": ["one.staging.keelson.example.com"]},
         {"name": "two", "namespace": "keelson-staging", "secretName": "shared-tls", "hosts": ["two.staging.keelson.example.com"]}]),
     ["keelson:tls", "'certificates[1]' writes Secret keelson-staging/shared-tls, which 'certificates[0]' already uses"]),
    ("certificate writes the local CA's Secret", "staging",
     lambda r: put(r, "tls.certificates", [{"name": "ca", "namespace": "cert-manager", "secretName": "keelson-ca", "hosts": ["ca.staging.keelson.example.com"]}]),
     ["'certificates[0]' writes Secret cert-manager/keelson-ca, which the local CA already uses"]),
    ("certificate writes the DNS-01 credentials", "production",
     lambda r: put(r, "tls.certificates", [*r["tls"]["certificates"], {"name": "dns", "namespace": "cert-manager", "secretName": "keelson-dns01-cloudflare", "hosts": ["dns.keelson.example.com"]}]),
     ["which the DNS-01 credentials already uses"]),
    ("certificate writes an ACME account key", "staging",
     lambda r: put(r, "tls.certificates", [{"name": "acme", "namespace": "cert-manager", "secretName": "letsencrypt-staging-account-key", "hosts": ["acme.staging.keelson.example.com"]}]),
     ["the ACME account key of 'letsencrypt-staging'"]),
    ("two certificates with one Pulumi name", "staging",
     lambda r: (put(r, "monitoring.namespace", {"name": "keelson"}), put(r, "network.monitoringNamespace", "keelson"),
                put(r, "tls.certificates", [
                    {"name": "x", "namespace": "keelson-staging", "hosts": ["x.staging.keelson.example.com"]},
                    {"name": "staging-x", "namespace": "keelson", "hosts": ["y.staging.keelson.example.com"]}])),
     ["'certificates[1]' (keelson/staging-x) and 'certificates[0]' would both be the Pulumi resource 'certificate-keelson-staging-x'"]),
    ("two apps derive one RandomPassword", "staging",
     lambda r: (put(r, "apps.api.generatedSecrets", ["X_Y"]), r["apps"].update({"api-x": {**r["apps"]["worker"], "generatedSecrets": ["Y"]}})),
     ["keelson:apps.api-x.generatedSecrets = Y: its RandomPassword 'api-x-y'", "keelson:apps.api.generatedSecrets X_Y",
      "Pulumi refuses two resources of one name"]),
    ("a generated secret listed twice", "staging", lambda r: put(r, "apps.worker.generatedSecrets", ["QUEUE_TOKEN", "QUEUE_TOKEN"]),
     ["keelson:apps.worker.generatedSecrets: lists QUEUE_TOKEN more than once", "RandomPassword"]),
    ("a variable both plain and generated", "staging", lambda r: put(r, "apps.api.env", {"SESSION_SECRET": "x"}),
     ["keelson:apps.api: 'env' and 'generatedSecrets' both define SESSION_SECRET"]),
    ("a variable both generated and a secret", "staging", lambda r: put(r, "apps.api.secretEnv", {"SESSION_SECRET": DATABASE_URL}),
     ["keelson:apps.api: 'generatedSecrets' and 'secretEnv' both define SESSION_SECRET"]),
    ("an app ServiceMonitor named like a platform one", "cluster",
     lambda r: (put(r, "namespace.name", "keelson"), rename_app(r, "worker", "kubelet")),
     ["keelson:apps.kubelet: its ServiceMonitor 'keelson-kubelet'", "platform ServiceMonitor"]),
    ("sidecar named after its app", "staging", lambda r: put(r, "apps.api.sidecars", [{"name": "api", "image": "ghcr.io/x/proxy:1.0"}]),
     ["keelson:apps.api.sidecars[0].name = 'api' is the name of the app's own container"]),
    ("sidecar beyond the LimitRange ratio", "staging",
     lambda r: put(r, "apps.api.sidecars", [{"name": "proxy", "image": "ghcr.io/x/proxy:1.0",
                                              "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "64Mi"}}}]),
     ["keelson:apps.api.sidecars[0].resources: limits.cpu/requests.cpu is 100 (1/10m), above keelson:namespace.limitRange.maxLimitRequestRatio.cpu (4)"]),
    ("talksTo names an app the stack lacks", "staging", lambda r: put(r, "apps.api.talksTo", [{"app": "billing"}]),
     ["keelson:apps.api.talksTo[0].app = 'billing' is not an app of this stack; apps: ['api', 'worker']"]),
]


@cases(RESERVED_AND_COLLIDING)
def test_reserved_and_colliding_names_are_refused_naming_both_places(base, mutate, fragments):
    check(base, mutate, fragments, {"keelson:apps"})


def test_the_cert_manager_namespace_holds_the_dns01_secret_as_an_existing_namespace():
    settings = accepted("production", lambda r: None)
    assert settings.tls.namespace == "cert-manager" and settings.tls.dns01 is not None
    assert "cert-manager" not in {settings.namespace.name, settings.monitoring.namespace.name, settings.logging.namespace.name}


def test_certificates_may_live_in_created_and_declared_namespaces():
    for namespace in ("keelson-staging", "monitoring", "logging", "cert-manager", "ingress-nginx"):
        accepted("staging", lambda r: put(r, "tls.certificates", [{"name": "extra", "namespace": namespace, "hosts": ["extra.staging.keelson.example.com"]}]))


# -- 2. names Kubernetes refuses ----------------------------------------------------------------

DERIVED_NAMES = [
    ("app name starting with a digit", "staging", lambda r: rename_app(r, "worker", "1worker"),
     ["keelson:apps.1worker: the app name '1worker' starts with a digit", "Service names are DNS-1035 labels"]),
    ("app name too long for the instance label", "production", lambda r: rename_app(r, "worker", "w" * 53),
     [f"keelson:apps.{'w' * 53}: the app name", "is 53 characters", f"instance label '{'w' * 53}-production' (64)",
      "use at most 52 characters"]),
    ("app name too long for its certificate", "staging", lambda r: rename_app(r, "api", "a" * 60),
     ["is 60 characters", "its Ingress' Certificate", f"'{'a' * 60}-tls' (64)", "use at most 55 characters"]),
    ("app name with a capital letter", "staging", lambda r: rename_app(r, "worker", "Worker"),
     ["keelson:apps.Worker = 'Worker': is not a DNS-1123 label"]),
    ("app name with a trailing line break", "staging", lambda r: rename_app(r, "worker", "worker\n"),
     ["keelson:apps['worker\\n']", "is not a DNS-1123 label"]),
    ("app name ending in a dash", "staging", lambda r: rename_app(r, "worker", "worker-"),
     ["keelson:apps.worker- = 'worker-': is not a DNS-1123 label"]),
    ("namespace with a trailing line break", "staging", lambda r: put(r, "namespace.name", "keelson-staging\n"),
     ["keelson:namespace.name = 'keelson-staging\\n': is not a DNS-1123 label"]),
    ("environment variable name longer than a ConfigMap key", "staging", lambda r: put(r, "apps.api.env", {"A" * 254: "x"}),
     ["is 254 characters long; a ConfigMap or Secret key has at most 253"]),
    ("topology key that is no label key", "staging", lambda r: put(r, "apps.api.zoneTopologyKey", "zone key"),
     ["keelson:apps.api.zoneTopologyKey = 'zone key': is not a label key"]),
    ("DNS pod label value too long", "staging", lambda r: put(r, "network.dnsPodLabels", {"k8s-app": "d" * 64}),
     ["keelson:network.dnsPodLabels.k8s-app", "is 64 characters long; a label value has at most 63"]),
    ("DNS pod label value ending in a dash", "staging", lambda r: put(r, "network.dnsPodLabels", {"k8s-app": "kube-dns-"}),
     ["keelson:network.dnsPodLabels.k8s-app = 'kube-dns-': is not a label value"]),
    ("DNS pod label key with two slashes", "staging", lambda r: put(r, "network.dnsPodLabels", {"a/b/c": "x"}),
     ["keelson:network.dnsPodLabels['a/b/c']", "prefix that is not a DNS subdomain"]),
]


@cases(DERIVED_NAMES)
def test_every_derived_name_is_one_kubernetes_accepts(base, mutate, fragments):
    check(base, mutate, fragments)


def test_the_longest_accepted_app_name_fits_every_derived_label():
    name = "w" * 52
    settings = accepted("production", lambda r: rename_app(r, "worker", name))
    labels = standard_labels(name, f"{name}-{settings.environment}", "worker", "6.7.1")
    assert labels["app.kubernetes.io/instance"] == f"{name}-production", "the instance label was cut"
    assert all(len(value) <= 63 and not value.endswith("-") for value in labels.values())


# -- 3. certificates that can never be issued ---------------------------------------------------

UNISSUABLE = [
    ("wildcard Ingress host without DNS-01", "staging", lambda r: put(r, "apps.api.ingress.host", "*.staging.keelson.example.com"),
     ["keelson:apps.api.ingress.host = '*.staging.keelson.example.com'", "Let's Encrypt (keelson:tls.mode letsencrypt-staging)",
      "validates wildcards only over DNS-01"]),
    ("wildcard Ingress host outside the DNS-01 zones", "production", lambda r: put(r, "apps.api.ingress.host", "*.keelson.example.org"),
     ["keelson:apps.api.ingress.host = '*.keelson.example.org'", "outside the 'dns01.zones' ['keelson.example.com']"]),
    ("Grafana on a .localhost host with Let's Encrypt", "staging", lambda r: put(r, "monitoring.grafana.ingress.host", "grafana.keelson.localhost"),
     ["keelson:monitoring.grafana.ingress.host = 'grafana.keelson.localhost'", "reserved for private use", "use mode 'local'"]),
    ("app on a .internal host with Let's Encrypt", "production", lambda r: put(r, "apps.api.ingress.host", "api.corp.internal"),
     ["keelson:apps.api.ingress.host = 'api.corp.internal'", "a name under '.internal'"]),
    ("app on a .test host", "staging", lambda r: put(r, "apps.worker.ingress", {"host": "worker.test"}),
     ["keelson:apps.worker.ingress.host = 'worker.test'"]),
    ("host outside the zones with DNS-01 only", "production",
     lambda r: (put(r, "tls.solvers", ["dns01"]), put(r, "apps.api.ingress.host", "api.keelson.dev")),
     ["keelson:apps.api.ingress.host = 'api.keelson.dev'", "'solvers' has no 'http01' fallback"]),
    ("explicit certificate for a private name", "production",
     lambda r: put(r, "tls.certificates", [{"name": "lan", "namespace": "keelson-production", "hosts": ["printer.home.arpa"]}]),
     ["keelson:tls", "'certificates[0].hosts' has 'printer.home.arpa', a name under '.home.arpa'"]),
    ("certificate in a namespace nobody creates", "staging",
     lambda r: put(r, "tls.certificates", [{"name": "edge", "namespace": "edge", "hosts": ["edge.staging.keelson.example.com"]}]),
     ["keelson:tls.certificates[0].namespace = 'edge'", "the stack neither creates it", "nor relies on it existing",
      "['cert-manager', 'ingress-nginx', 'keelson-staging', 'log-collector', 'logging', 'monitoring', 'node-exporter']"]),
    ("renewBefore at Let's Encrypt's lifetime", "staging",
     lambda r: (put(r, "tls.certificateDuration", "4000h"), put(r, "tls.renewBefore", "2160h")),
     ["keelson:tls: 'renewBefore' (2160h) must be shorter than the 2160h Let's Encrypt certificates last",
      "silently renews after two thirds of it"]),
    ("duration longer than a Go duration", "local", lambda r: put(r, "tls.caDuration", "9999999h"),
     ["'caDuration' (9999999h) is longer than the 2562047h a Go duration holds"]),
]


@cases(UNISSUABLE)
def test_certificates_that_can_never_be_issued_are_refused(base, mutate, fragments):
    check(base, mutate, fragments)


def test_the_local_ca_issues_wildcards_and_private_names():
    accepted("local", lambda r: put(r, "apps.api.ingress.host", "*.keelson.localhost"))
    accepted("local", lambda r: put(r, "tls.certificates", [{"name": "any", "namespace": "keelson-local", "hosts": ["*.corp.internal"]}]))
    accepted("local", lambda r: (put(r, "tls.certificateDuration", "4000h"), put(r, "tls.renewBefore", "3000h")))


def test_a_wildcard_inside_the_dns01_zones_is_issued_over_dns01():
    settings = accepted("production", lambda r: put(r, "apps.api.ingress.host", "*.keelson.example.com"))
    assert settings.tls.host_problem("*.keelson.example.com") is None
    assert not settings.tls.http01_host("*.keelson.example.com")


# -- 4. quantities and relations ----------------------------------------------------------------

def _strict_monitoring_limit_range(raw: dict[str, Any]) -> None:
    limit_range = {"maxLimitRequestRatio": {"cpu": "2", "memory": "4"}, "defaultLimit": {"cpu": "1", "memory": "2Gi"}}
    put(raw, "monitoring.namespace", {"name": "monitoring", "limitRange": limit_range})


QUANTITIES = [
    ("zero CPU request", "staging", lambda r: put(r, "apps.api.resources.requests.cpu", "0"),
     ["keelson:apps.api.resources: 'requests.cpu' (0) must be above zero", "rejects a container whose request is 0"]),
    ("zero memory request", "staging", lambda r: put(r, "apps.worker.resources.requests.memory", "0Mi"),
     ["keelson:apps.worker.resources: 'requests.memory' (0Mi) must be above zero"]),
    ("negative request", "staging", lambda r: put(r, "apps.api.resources.requests.cpu", "-250m"),
     ["keelson:apps.api.resources.requests.cpu = '-250m': is not a Kubernetes quantity"]),
    ("zero solver request", "staging", lambda r: put(r, "tls.solverResources", {"requests": {"cpu": "0", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "128Mi"}}),
     ["keelson:tls.solverResources: 'requests.cpu' (0) must be above zero"]),
    ("LimitRange default request above its default limit", "staging", lambda r: put(r, "namespace.limitRange", {"defaultRequest": {"cpu": "3", "memory": "512Mi"}}),
     ["keelson:namespace.limitRange: 'defaultRequest.cpu' (3) must not be above 'defaultLimit.cpu' (2)", "the API server refuses"]),
    ("LimitRange defaults above its own ratio", "staging", lambda r: put(r, "namespace.limitRange", {"defaultRequest": {"cpu": "100m", "memory": "512Mi"}}),
     ["'defaultLimit.cpu'/'defaultRequest.cpu' is 20 (2/100m), above 'maxLimitRequestRatio.cpu' (4)",
      "every container that relies on the defaults would be rejected"]),
    ("LimitRange ratio below 1", "staging", lambda r: put(r, "namespace.limitRange", {"maxLimitRequestRatio": {"cpu": "500m", "memory": "4"}}),
     ["keelson:namespace.limitRange: 'maxLimitRequestRatio.cpu' (500m) must be at least 1"]),
    ("LimitRange zero default request", "staging", lambda r: put(r, "logging.namespace", {"name": "logging", "limitRange": {"defaultRequest": {"cpu": "0", "memory": "512Mi"}}}),
     ["keelson:logging.namespace.limitRange: 'defaultRequest.cpu' (0) must be above zero"]),
    ("apps quota below the autoscaling peak", "production", lambda r: put(r, "namespace.quota", {"limits": {"cpu": "40", "memory": "120Gi"}}),
     ["keelson:namespace.quota.limits.cpu (40) is below the 54 needed by the apps at their autoscaling maximum plus one rollout surge pod each, and their Jobs"]),
    ("apps pod quota without room for the solver pod", "staging", lambda r: put(r, "namespace.quota", {"pods": 12}),
     ["keelson:namespace.quota.pods (12) is below the 14 pods needed by the apps", "plus 1 HTTP-01 solver pod(s)"]),
    ("monitoring quota below its workloads", "production", lambda r: put(r, "monitoring.namespace", {"name": "monitoring", "quota": {"requests": {"cpu": "500m", "memory": "60Gi"}}}),
     ["keelson:monitoring.namespace.quota.requests.cpu (500m) is below the 950m needed by Prometheus, Alertmanager, Grafana and kube-state-metrics"]),
    ("logging quota below Loki", "staging", lambda r: put(r, "logging.namespace", {"name": "logging", "quota": {"requests": {"cpu": "30", "memory": "256Mi"}}}),
     ["keelson:logging.namespace.quota.requests.memory (256Mi) is below the 512Mi needed by Loki;"]),
    ("monitoring workloads above a stricter monitoring LimitRange", "staging", _strict_monitoring_limit_range,
     ["keelson:monitoring: 'prometheus.resources' limits.cpu/requests.cpu is 4 (1/250m)",
      "above 'namespace.limitRange.maxLimitRequestRatio.cpu' (2)"]),
    ("solver pods above a stricter logging LimitRange", "staging",
     lambda r: (put(r, "tls.solverResources", {"requests": {"cpu": "25m", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "128Mi"}}),
                put(r, "logging.namespace", {"name": "logging", "limitRange": {"maxLimitRequestRatio": {"cpu": "3", "memory": "4"},
                                                                               "defaultLimit": {"cpu": "1", "memory": "2Gi"}}}),
                put(r, "logging.fluentBit", {"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}}}),
                put(r, "logging.loki", {"retention": "7d", "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "2Gi"}}}),
                put(r, "tls.certificates", [{"name": "logs", "namespace": "logging", "hosts": ["logs.staging.keelson.example.com"]}])),
     ["keelson:tls.solverResources: limits.cpu/requests.cpu is 4 (100m/25m)", "above keelson:logging.namespace.limitRange.maxLimitRequestRatio.cpu (3)",
      "would reject the HTTP-01 solver pods"]),
    ("Prometheus retention of zero", "staging", lambda r: put(r, "monitoring.prometheus.retention", "0d"),
     ["keelson:monitoring.prometheus.retention = '0d'", "Prometheus replaces a retention of 0 with its own default of 15d"]),
    ("Prometheus retention beyond a Go duration", "staging", lambda r: put(r, "monitoring.prometheus.retention", "99999999w"),
     ["keelson:monitoring.prometheus.retention = '99999999w'", "longer than the 106751d a Go duration holds"]),
    ("scrape interval of zero", "staging", lambda r: put(r, "apps.worker.scrapeInterval", "0s"),
     ["keelson:apps.worker.scrapeInterval = '0s'", "Prometheus replaces a scrape interval of 0 with the global one (30s here)"]),
    ("Loki retention of zero", "staging", lambda r: put(r, "logging.loki.retention", "0d"),
     ["keelson:logging.loki.retention = '0d'", "Loki reads a retention of 0 as keeping logs forever"]),
    ("probe period of zero", "staging", lambda r: put(r, "apps.api.healthCheck", {"periodSeconds": 0}),
     ["keelson:apps.api.healthCheck.periodSeconds = 0", "Kubernetes would replace a probe period of 0 with its default of 10 s"]),
    ("probe timeout of zero", "staging", lambda r: put(r, "apps.api.healthCheck", {"timeoutSeconds": 0}),
     ["Kubernetes would replace a probe timeout of 0 with its default of 1 s"]),
    ("grace period of zero", "staging", lambda r: put(r, "apps.api.terminationGracePeriodSeconds", 0),
     ["keelson:apps.api.terminationGracePeriodSeconds = 0", "Kubernetes reads 0 as kill at once"]),
    ("rate limit of zero", "staging", lambda r: put(r, "ingress", {"rateLimitRpm": 0}),
     ["keelson:ingress.rateLimitRpm = 0", "ingress-nginx reads 0 as no rate limit at all"]),
    ("request body size of zero", "staging", lambda r: put(r, "ingress", {"bodySize": "0m"}),
     ["keelson:ingress.bodySize = '0m'", "nginx reads a client_max_body_size of 0 as no limit at all"]),
    ("volume of zero", "production", lambda r: put(r, "monitoring.prometheus.storage", {"storageClass": "standard", "size": "0Gi"}),
     ["keelson:monitoring.prometheus.storage.size = '0Gi'", "refuses a PersistentVolumeClaim of 0"]),
    ("Loki stream limit of zero", "staging", lambda r: put(r, "logging.loki.limits", {"maxGlobalStreamsPerUser": 0}),
     ["Loki reads 0 as no stream limit at all"]),
    ("leading space in a quantity", "staging", lambda r: put(r, "apps.api.resources.requests.cpu", " 250m"),
     ["keelson:apps.api.resources.requests.cpu = ' 250m': contains whitespace"]),
    ("space inside a quantity", "staging", lambda r: put(r, "apps.api.resources.limits.memory", "1 Gi"),
     ["keelson:apps.api.resources.limits.memory = '1 Gi': contains whitespace"]),
    ("trailing line break in a quota", "staging", lambda r: put(r, "namespace.quota", {"requests": {"cpu": "30\n", "memory": "60Gi"}}),
     ["keelson:namespace.quota.requests.cpu = '30\\n': contains whitespace"]),
    ("whole number beyond 32 bits", "staging", lambda r: put(r, "logging.loki.limits", {"maxGlobalStreamsPerUser": 2**40}),
     ["keelson:logging.loki.limits.maxGlobalStreamsPerUser = 1099511627776: is above 2147483647"]),
    ("infinite float", "staging", lambda r: put(r, "logging.loki.limits", {"ingestionRateMb": float("inf")}),
     ["keelson:logging.loki.limits.ingestionRateMb = Infinity: Input should be a finite number"]),
    ("histogram buckets out of order", "staging", lambda r: r["monitoring"]["slo"][0].update(histogramBuckets=[0.5, 0.25, 1]),
     ["keelson:monitoring.slo[0].histogramBuckets: (0.5, 0.25, 1) must be positive and strictly increasing"]),
    ("Prometheus limits above the monitoring LimitRange", "staging",
     lambda r: put(r, "monitoring.prometheus.resources", {"requests": {"cpu": "100m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "2Gi"}}),
     ["keelson:monitoring: 'prometheus.resources' limits.cpu/requests.cpu is 10 (1/100m)", "the LimitRange would reject the pods"]),
]


@cases(QUANTITIES)
def test_quantities_and_relations_the_api_server_or_the_tools_would_refuse(base, mutate, fragments):
    check(base, mutate, fragments)


def test_a_quota_that_holds_exactly_the_peak_is_enough():
    # production apps at peak: 21 api pods (500m/512Mi -> 2/2Gi), 11 workers (250m/256Mi -> 1/1Gi) and
    # the worker's one CronJob pod.
    exact = {"requests": {"cpu": "13500m", "memory": "13824Mi"}, "limits": {"cpu": "54", "memory": "54Gi"}, "pods": 33}
    accepted("production", lambda r: put(r, "namespace.quota", exact))
    with pytest.raises(SettingsError, match=r"keelson:namespace\.quota\.pods \(32\) is below the 33 pods"):
        parse_settings(put(stack("production"), "namespace.quota", {**exact, "pods": 32}), secret_keys("production"))


def test_zero_values_with_a_documented_meaning_are_allowed():
    """0 s preStop sleep drops the hook; HSTS max-age 0 tells browsers to forget the policy (RFC 6797)."""
    settings = accepted("staging", lambda r: (put(r, "apps.api.preStopSleepSeconds", 0), put(r, "ingress", {"hstsMaxAgeSeconds": 0})))
    app = settings.app_args("api")
    spec = deployment_spec("api", app, {}, {}, has_secret=False)
    assert "lifecycle" not in spec["template"]["spec"]["containers"][0]
    assert settings.ingress_policy.hsts_max_age_seconds == 0


def test_ratios_given_as_millis_are_read_as_quantities_not_a_crash():
    settings = accepted("staging", lambda r: put(r, "namespace.limitRange", {"maxLimitRequestRatio": {"cpu": "4000m", "memory": "4"}}))
    assert settings.namespace.limit_range.max_limit_request_ratio.cpu == "4000m"


# -- 5. secrets ---------------------------------------------------------------------------------

CREDENTIALS = [
    # (field path, value, sibling config that holds one secure credential, the key the sibling lives in)
    ("alerting.pagerduty.routingKey", ROUTING_KEY, None),
    ("alerting.slack.webhookUrl", WEBHOOK, None),
    ("alerting.email.authPassword", SMTP_PASSWORD, None),
    ("alerting.webhook.url", WEBHOOK + "/generic", None),
    ("alerting.webhook.bearerToken", BEARER_TOKEN, None),
    ("alerting.heartbeat.url", WEBHOOK + "/heartbeat", None),
    ("monitoring.prometheus.remoteWrite[0].password", SMTP_PASSWORD + "-remote", None),
    ("monitoring.prometheus.remoteWrite[0].bearerToken", BEARER_TOKEN + "-remote", None),
    ("tls.dns01.apiToken", API_TOKEN, None),
    ("tls.dns01.secretAccessKey", AWS_SECRET, None),
    ("logging.elasticsearch.password", ES_PASSWORD, None),
    ("apps.api.secretEnv.DATABASE_URL", DATABASE_URL, None),
    ("apps.api.files.secrets.db-password", DATABASE_URL + "-file", None),
]


def _with_credential(raw: dict[str, Any], path: str, value: str) -> dict[str, Any]:
    """A valid config holding 'value' at 'path' and every sibling that field needs."""
    if path.startswith("alerting.email"):
        put(raw, "alerting.email", {"to": "oncall@keelson.dev", "from": "am@keelson.dev", "smarthost": "smtp.keelson.dev:587", "authUsername": "am"})
    if path == "alerting.webhook.bearerToken":
        put(raw, "alerting.webhook.url", WEBHOOK + "/generic")
    if path == "tls.dns01.secretAccessKey":
        raw["tls"]["dns01"] = {"provider": "route53", "zones": ["keelson.example.com"], "region": "eu-west-1", "accessKeyId": "AKIA0000000000000000"}
    if path.startswith("logging.elasticsearch"):
        put(raw, "logging.elasticsearch", {"host": "es.keelson.dev", "cidr": "10.0.0.0/8", "user": "fluent"})
    if path.startswith("monitoring.prometheus.remoteWrite[0]."):
        field = path.rsplit(".", 1)[1]
        target = {"name": "mimir", "url": "https://mimir.keelson.dev/api/v1/push", field: value}
        if field == "password":
            target["username"] = "tenant-1"
        raw.setdefault("monitoring", {}).setdefault("prometheus", {})["remoteWrite"] = [target]
        return raw
    return put(raw, path, value)


@pytest.mark.parametrize("path, value", [case[:2] for case in CREDENTIALS], ids=[case[0] for case in CREDENTIALS])
def test_a_clear_text_credential_is_refused_per_field_whatever_its_siblings_are(path, value):
    raw = _with_credential(stack("production"), path, value)
    top = f"{PREFIX}{path.split('.', 1)[0]}"
    # The stack file marks field by field; every other credential of the stack stays secure.
    secure = {f"{PREFIX}{credential}" for credential, _, _ in CREDENTIALS if credential != path}
    secure |= {key for key in secret_keys("production") if key != top}
    message = error_of(raw, secure)
    assert f"{PREFIX}{path} = [secret]: a credential in clear text" in message
    assert f"pulumi config set --secret --path '{PREFIX}{path}'" in message
    assert message.count("\n") == 1, f"only the clear-text field is refused:\n{message}"
    parse_settings(raw, secure | {f"{PREFIX}{path}"})


def test_a_whole_key_given_as_a_secret_covers_every_field_below_it():
    raw = _with_credential(stack("production"), "alerting.pagerduty.routingKey", ROUTING_KEY)
    assert parse_settings(raw, secret_keys("production")).alerting.pagerduty is not None


BAD_CREDENTIALS = [
    ("alerting.pagerduty.routingKey", ROUTING_KEY[:-3], "got 29 characters"),
    ("alerting.pagerduty.routingKey", 12345678, "Input should be a valid string"),
    ("alerting.pagerduty.routingKey", ROUTING_KEY[:-1] + "é", "letters and digits only"),
    ("alerting.slack.webhookUrl", WEBHOOK.replace("https", "http"), "got http://"),
    ("alerting.slack.webhookUrl", WEBHOOK.removeprefix("https://"), "got no scheme"),
    ("alerting.slack.webhookUrl", WEBHOOK + " trailing", "without spaces or control characters"),
    ("alerting.slack.webhookUrl", "s3cr3t-db-password://host", "got no readable scheme"),
    ("alerting.webhook.url", "ftp://" + BEARER_TOKEN, "got ftp://"),
    ("alerting.heartbeat.url", WEBHOOK.replace("https", "http") + "/heartbeat", "got http://"),
    ("alerting.slack", WEBHOOK, "Input should be a valid dictionary"),
    ("alerting.email.authPassword", ["s3cr3t-db-password"], "Input should be a valid string"),
    ("tls.dns01.apiToken", {"token": API_TOKEN}, "Input should be a valid string"),
    ("logging.elasticsearch.password", 42.5, "Input should be a valid string"),
    ("apps.api.secretEnv", DATABASE_URL, "Input should be a valid dictionary"),
    ("apps.api.secretEnv.DATABASE_URL", 31337, "Input should be a valid string"),
]


@pytest.mark.parametrize("path, value, fragment", BAD_CREDENTIALS, ids=[f"{case[0]}: {case[2]}" for case in BAD_CREDENTIALS])
def test_no_settings_error_shows_a_credential_it_rejects(path, value, fragment):
    raw = _with_credential(stack("production"), path, value)
    message = error_of(raw, secret_keys("production") | {"keelson:apps", "keelson:logging"})
    assert f"{PREFIX}{path} = [secret]" in message or f"{PREFIX}{path}: " in message, message
    assert fragment in message
    shown = str(value) if not isinstance(value, (dict, list)) else str(next(iter(value.values())) if isinstance(value, dict) else value[0])
    assert shown not in message


def test_a_credential_under_a_misspelled_key_is_never_shown():
    raw = put(stack("staging"), "alerting.slack.webhookURL", WEBHOOK)
    message = error_of(raw, secret_keys("staging"))
    assert "keelson:alerting.slack.webhookURL: unknown key" in message


def test_a_credential_reused_elsewhere_is_scrubbed_from_every_line():
    raw = put(_with_credential(stack("production"), "alerting.webhook.bearerToken", BEARER_TOKEN), "apps.api.image", BEARER_TOKEN)
    message = error_of(raw, secret_keys("production"))
    assert "keelson:apps.api.image = '[secret]'" in message


def test_every_secure_value_of_every_stack_stays_out_of_every_settings_error():
    """Break each stack in many ways at once and scan the whole error for each secure value."""
    for name in harness.STACKS:
        raw = stack(name)
        put(raw, "apps.api.replicas", 0)
        put(raw, "apps.api.image", "busybox")
        put(raw, "namespace.name", "kube-system")
        put(raw, "alerting.pagerduty.routingKey", "short")
        raw.setdefault("tls", {})["renewBefore"] = "0h"
        message = error_of(raw, secret_keys(name))
        for value in harness.SECURE_PLACEHOLDERS.values():
            assert value not in message


def test_a_clear_text_field_beside_a_secure_one_in_the_stack_file_fails_the_program(tmp_path, monkeypatch):
    document = yaml.safe_load((harness.ROOT / "Pulumi.staging.yaml").read_text())
    document["config"]["keelson:alerting"]["pagerduty"] = {"routingKey": ROUTING_KEY}
    (tmp_path / "Pulumi.staging.yaml").write_text(yaml.safe_dump(document))
    monkeypatch.setattr(settings_module, "PROJECT_DIR", tmp_path)
    config = harness.stack_config("staging")
    config["keelson:alerting"]["pagerduty"] = {"routingKey": ROUTING_KEY}
    with pytest.raises(pulumi.RunError) as caught:
        harness.run_program("staging", config=config)
    message = str(caught.value)
    assert "keelson:alerting.pagerduty.routingKey = [secret]: a credential in clear text" in message
    assert ROUTING_KEY not in message
    assert harness.LAST_MOCKS is not None and harness.LAST_MOCKS.registered == []


def test_the_stack_file_secure_fields_are_accepted_by_the_program():
    registered = harness.run_program("production")
    assert any(resource.kind == "Secret" for resource in harness.kubernetes_objects(registered))


# -- 6. stack-wide settings stay stack-wide -----------------------------------------------------

STACK_WIDE = [
    ("LOG_LEVEL in an app's env", lambda r: put(r, "apps.api.env", {"LOG_LEVEL": "info"}),
     ["keelson:apps.api: 'env.LOG_LEVEL' would override the LOG_LEVEL that the stack sets for every app from keelson:logLevel"]),
    ("ENVIRONMENT in an app's env", lambda r: put(r, "apps.worker.env", {"ENVIRONMENT": "prod"}),
     ["keelson:apps.worker: 'env.ENVIRONMENT' would override the ENVIRONMENT that the stack sets for every app from keelson:environment"]),
    ("LOG_LEVEL as a generated secret", lambda r: put(r, "apps.api.generatedSecrets", ["LOG_LEVEL"]),
     ["'generatedSecrets.LOG_LEVEL' would override the LOG_LEVEL"]),
    ("ENVIRONMENT as a secret", lambda r: put(r, "apps.api.secretEnv", {"ENVIRONMENT": DATABASE_URL}),
     ["'secretEnv.ENVIRONMENT' would override the ENVIRONMENT"]),
    ("an app's own log level", lambda r: put(r, "apps.api.logLevel", "error"),
     ["keelson:apps.api.logLevel is set for the whole stack by 'keelson:logLevel'; remove it from the app"]),
    ("an app's own environment", lambda r: put(r, "apps.api.environment", "production"),
     ["keelson:apps.api.environment is set for the whole stack by 'keelson:environment'"]),
]


@pytest.mark.parametrize("mutate, fragments", [case[1:] for case in STACK_WIDE], ids=[case[0] for case in STACK_WIDE])
def test_an_app_cannot_override_what_the_stack_sets_for_every_app(mutate, fragments):
    check("staging", mutate, fragments, {"keelson:apps"})


def test_without_a_stack_the_component_names_its_own_field():
    with pytest.raises(ValidationError, match=r"'env\.LOG_LEVEL' would override the LOG_LEVEL that HardenedApp sets from 'logLevel'"):
        HardenedAppArgs(image="ghcr.io/stefanprodan/podinfo:6.7.1", env={"LOG_LEVEL": "debug"})


def test_every_app_gets_the_stack_log_level_and_environment(program_resources):
    for name in harness.STACKS:
        config_maps = [r.manifest for r in harness.of_kind(program_resources[name], "ConfigMap") if r.manifest["metadata"]["name"].endswith("-config")
                       and r.manifest["metadata"]["namespace"] == f"keelson-{name}"]
        stack_config = harness.stack_config(name)
        assert len(config_maps) == 2
        for manifest in config_maps:
            assert manifest["data"]["LOG_LEVEL"] == stack_config["keelson:logLevel"], manifest["metadata"]["name"]
            assert manifest["data"]["ENVIRONMENT"] == stack_config["keelson:environment"], manifest["metadata"]["name"]


# -- 7. everything validated up front -----------------------------------------------------------

LATE_FAILURES = [
    # Each of these once passed the settings and failed (or broke the deployment) after resources were registered.
    ("two SLOs for one app", lambda r: r["monitoring"].update(slo=[{"app": "api"}, {"app": "api", "latencyPercent": 99.5}]),
     "keelson:monitoring: 'slo[0]' and 'slo[1]' both cover app 'api'"),
    ("scrape interval of zero", lambda r: put(r, "apps.api.scrapeInterval", "0s"), "keelson:apps.api.scrapeInterval = '0s'"),
    ("ratio given in millis", lambda r: put(r, "namespace.limitRange", {"maxLimitRequestRatio": {"cpu": "500m", "memory": "4"}}),
     "'maxLimitRequestRatio.cpu' (500m) must be at least 1"),
    ("request of zero", lambda r: put(r, "apps.api.resources.requests.cpu", "0"), "'requests.cpu' (0) must be above zero"),
    ("SLO in another namespace", lambda r: r["monitoring"]["slo"][0].update(namespace="elsewhere"),
     "keelson:monitoring.slo[0].namespace = 'elsewhere'"),
    ("workloads above a stricter LimitRange", _strict_monitoring_limit_range, "keelson:monitoring: 'prometheus.resources'"),
]


@pytest.mark.parametrize("mutate, fragment", [case[1:] for case in LATE_FAILURES], ids=[case[0] for case in LATE_FAILURES])
def test_a_bad_config_fails_before_the_first_resource_is_registered(mutate, fragment):
    raw = stack("staging")
    mutate(raw)
    config = {**harness.stack_config("staging"), **{PREFIX + key: value for key, value in raw.items()}}
    with pytest.raises(pulumi.RunError) as caught:
        harness.run_program("staging", config=config)
    assert fragment in str(caught.value)
    assert_no_credential(str(caught.value))
    assert harness.LAST_MOCKS is not None and [r.label for r in harness.LAST_MOCKS.registered] == []


@pytest.mark.parametrize("name", harness.STACKS)
def test_every_component_args_the_program_builds_validate_for_every_stack(name):
    settings = parse_settings(stack(name), secret_keys(name))
    built = settings.derived_args()
    always = {"GovernedNamespace", "MonitoringStack", "LoggingStack", "CertIssuer", "HardenedApp"}
    assert {component for _, component, _ in built} == always | ({"BackupSchedules"} if settings.backups.enabled else set())
    for _, _, args in built:
        assert type(args).model_validate(dict(args), context=settings_module.VALIDATION_CONTEXT) == args


# -- 8. messages read well ----------------------------------------------------------------------


def test_ratios_print_as_people_write_them():
    message = check("staging", lambda r: put(r, "apps.api.resources", {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}), [])
    assert "limits.cpu/requests.cpu is 10 (1/100m)" in message and "1E+1" not in message and "e+" not in message


def test_error_budgets_and_small_floats_print_in_plain_digits():
    budget = check("staging", lambda r: r["monitoring"]["slo"][0].update(availabilityPercent=91), [])
    assert "leaves an error budget of 9 %" in budget and "9.00" not in budget
    small = check("staging", lambda r: r["monitoring"]["slo"][0].update(availabilityPercent=0.00001), [])
    assert "keelson:monitoring.slo[0].availabilityPercent = 0.00001" in small and "1e-05" not in small


def test_dict_key_paths_read_as_config_keys():
    message = check("staging", lambda r: rename_app(r, "worker", "Billing"), [])
    assert "keelson:apps.Billing = 'Billing'" in message and "[key]" not in message
    named_like_a_type = check("staging", lambda r: (rename_app(r, "worker", "str"), put(r, "apps.str.image", "busybox")), [])
    assert "keelson:apps.str.image = 'busybox'" in named_like_a_type


def test_a_message_names_its_field_once():
    routing = check("staging", lambda r: put(r, "alerting.pagerduty", {"routingKey": "short"}), [])
    line = next(line for line in routing.splitlines() if "routingKey" in line)
    assert line.count("routingKey") == 1, line
    render = check("local", lambda r: put(r, "kubernetes.context", "kind-keelson"), [])
    assert render.count("keelson:kubernetes") == 2 and "keelson:kubernetes: keelson:kubernetes" not in render
    union = check("staging", lambda r: put(r, "namespace", {"name": "BAD"}), [])
    assert union.count("keelson:namespace.name") == 1


def test_a_value_is_not_repeated_after_its_key():
    message = check("staging", lambda r: put(r, "apps.api.resources.requests.cpu", "lots"), [])
    assert "keelson:apps.api.resources.requests.cpu = 'lots': is not a Kubernetes quantity" in message


def test_a_line_break_in_a_user_value_never_splits_a_problem_in_two():
    message = check("staging", lambda r: put(r, "apps.api.env", {"BAD\nNAME": "x", "OK": "y"}), [])
    assert message.count("\n") == 1, message
    assert "keelson:apps.api.env['BAD\\nNAME']" in message


def test_an_object_given_where_a_name_or_an_object_fits_reports_once():
    message = check("staging", lambda r: put(r, "apps.api.namespace", {"name": "Bad"}), [])
    assert "keelson:apps.api.namespace.name = 'Bad': is not a DNS-1123 label" in message
    assert "keelson:apps.api.namespace: Input should be a valid string" not in message


def test_the_readme_lists_every_cross_field_rule_before_the_config_reference():
    readme = (harness.ROOT / "README.md").read_text()
    assert readme.index("## Cross-field rules") < readme.index("## Configuration reference")
    section = readme.split("## Cross-field rules", 1)[1].split("\n## ", 1)[0]
    rules = [line for line in section.splitlines() if line.startswith("- ")]
    assert len(rules) >= 30, f"one line per rule, found {len(rules)}"
    for phrase in ("kube-*", "DNS-1035", "DNS-01", "autoscaling maximum", "[secret]", "LOG_LEVEL", "before the first resource"):
        assert phrase in section, f"the rule list says nothing about {phrase!r}"


def test_cert_issuer_args_refuse_a_private_name_on_their_own():
    with pytest.raises(ValidationError, match=r"'certificates\[0\]\.hosts' has 'db\.local', a name under '\.local'"):
        CertIssuerArgs(mode="letsencrypt-staging", email="platform@keelson.dev", certificates=[{"name": "db", "namespace": "apps", "hosts": ["db.local"]}])


def test_a_bad_remote_write_url_names_its_key_value_and_what_is_allowed_before_any_resource():
    def remote(target: dict[str, Any]) -> Mutation:
        return lambda raw: raw["monitoring"]["prometheus"].update(remoteWrite=[{"name": "mimir", **target}])

    check("production", remote({"url": "http://mimir.keelson.dev/push", "bearerToken": BEARER_TOKEN}), [
        "keelson:monitoring.prometheus.remoteWrite[0].url = 'http://mimir.keelson.dev/push'",
        "is not allowed; allowed: an https:// URL, or http:// to a loopback address",
    ], keys={"keelson:monitoring"})  # fmt: skip
    check("production", remote({"url": "https://mimir.keelson.dev/push"}), [
        "keelson:monitoring.prometheus.remoteWrite[0]",
        "remote_write target 'mimir' has no credentials; allowed: 'username' and 'password', or 'bearerToken'",
    ], keys={"keelson:monitoring"})  # fmt: skip
