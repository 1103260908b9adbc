"""Settings: every stack file in the repo validates, and bad config fails early and clearly.

Each bad config must fail with a message naming the `keelson:` key and the offending value, and the
program must register no resource at all when settings fail.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pulumi
import pytest

import harness
from settings import SettingsError, StackSettings, parse_settings

PREFIX = "keelson:"


def raw_settings(config: dict) -> dict:
    """Strip the namespace the way load_settings() does."""
    return {key[len(PREFIX):]: value for key, value in config.items() if key.startswith(PREFIX)}


STAGING_SECRET_KEYS = frozenset(harness.stack_secret_keys("staging"))
SECRET_VALUES = (*harness.SECURE_PLACEHOLDERS.values(), "postgres://user:hunter2@db/app", "hunter2")
"""Every credential value the settings tests hand in; no settings error may contain one."""


def settings_error(config: dict, secret_keys: frozenset[str] = STAGING_SECRET_KEYS) -> str:
    with pytest.raises(SettingsError) as caught:
        parse_settings(raw_settings(config), secret_keys)
    message = str(caught.value)
    leaked = [value for value in SECRET_VALUES if value in message]
    assert not leaked, f"the settings error shows credential values {leaked}:\n{message}"
    return message


@pytest.mark.parametrize("stack_file", sorted(Path(harness.ROOT).glob("Pulumi.*.yaml")), ids=lambda p: p.name)
def test_every_stack_file_in_the_repo_validates(stack_file: Path):
    stack = stack_file.name.split(".")[1]
    settings = parse_settings(raw_settings(harness.stack_config(stack)), frozenset(harness.stack_secret_keys(stack)))
    assert isinstance(settings, StackSettings)
    # The cluster stack runs the staging profile on the local control plane.
    assert settings.environment == {"cluster": "staging"}.get(stack, stack)


def test_staging_and_production_carry_the_spec_defaults():
    staging = parse_settings(raw_settings(harness.stack_config("staging")), STAGING_SECRET_KEYS)
    production = parse_settings(
        raw_settings(harness.stack_config("production")), frozenset(harness.stack_secret_keys("production"))
    )
    assert (staging.apps["api"].replicas, production.apps["api"].replicas) == (2, 5)
    assert (staging.log_level, production.log_level) == ("debug", "warning")
    assert (staging.apps["api"].autoscaling.min_replicas, staging.apps["api"].autoscaling.max_replicas) == (2, 5)
    assert (production.apps["api"].autoscaling.min_replicas, production.apps["api"].autoscaling.max_replicas) == (3, 20)
    assert staging.namespace.pod_security.enforce == "baseline"
    assert staging.namespace.pod_security.warn == staging.namespace.pod_security.audit == "restricted"
    assert production.namespace.pod_security.enforce == "restricted"
    assert staging.ingress_policy.cluster_issuer == "letsencrypt-staging"
    assert production.ingress_policy.cluster_issuer == "letsencrypt-production"
    assert parse_settings(raw_settings(harness.stack_config("local"))).ingress_policy.cluster_issuer == "keelson-ca"
    assert all(app.disruption_budget is not None for app in production.apps.values())


def _set(config: dict, path: str, value) -> dict:
    """Set a dotted path below a `keelson:` key ('apps.api.replicas'), creating objects as needed."""
    key, *rest = path.split(".")
    if not rest:
        config[PREFIX + key] = value
        return config
    node = config.setdefault(PREFIX + key, {})
    for part in rest[:-1]:
        node = node.setdefault(part, {})
    node[rest[-1]] = value
    return config


def _delete(config: dict, path: str) -> dict:
    key, *rest = path.split(".")
    if not rest:
        del config[PREFIX + key]
        return config
    node = config[PREFIX + key]
    for part in rest[:-1]:
        node = node[part]
    del node[rest[-1]]
    return config


BAD_CONFIGS = [
    # (id, mutation, fragments the message must contain)
    ("zero replicas", lambda c: _set(_set(c, "apps.worker.autoscaling", None), "apps.worker.replicas", 0),
     ["keelson:apps.worker.replicas = 0", "greater than or equal to 1"]),
    ("negative replicas", lambda c: _set(c, "apps.api.replicas", -3),
     ["keelson:apps.api.replicas = -3", "greater than or equal to 1"]),
    ("autoscaling minimum above maximum", lambda c: _set(c, "apps.api.autoscaling", {"minReplicas": 6, "maxReplicas": 4}),
     ["keelson:apps.api.autoscaling", "'minReplicas' (6)", "'maxReplicas' (4)"]),
    ("replicas outside the autoscaling bounds", lambda c: _set(c, "apps.api.replicas", 9),
     ["keelson:apps.api", "'replicas' (9)", "'autoscaling.maxReplicas' (5)"]),
    ("PDB that blocks every eviction", lambda c: _set(c, "apps.api.disruptionBudget", {"minAvailable": 2}),
     ["keelson:apps.api", "'disruptionBudget.minAvailable' (2)", "'autoscaling.minReplicas' (2)"]),
    ("PDB with maxUnavailable 0", lambda c: _set(c, "apps.api.disruptionBudget", {"maxUnavailable": 0}),
     ["keelson:apps.api.disruptionBudget", "'maxUnavailable' (0)"]),
    ("PDB with both bounds", lambda c: _set(c, "apps.api.disruptionBudget", {"minAvailable": 1, "maxUnavailable": 1}),
     ["keelson:apps.api.disruptionBudget", "exactly one of 'minAvailable' (1) and 'maxUnavailable' (1)"]),
    ("CPU quantity that does not parse", lambda c: _set(c, "apps.api.resources.requests.cpu", "lots"),
     ["keelson:apps.api.resources.requests.cpu = 'lots'", "not a Kubernetes quantity"]),
    ("memory quantity that does not parse", lambda c: _set(c, "apps.api.resources.limits.memory", "1GB"),
     ["keelson:apps.api.resources.limits.memory = '1GB'", "512Mi"]),
    ("memory in milli-bytes", lambda c: _set(c, "apps.worker.resources.requests.memory", "256m"),
     ["keelson:apps.worker.resources.requests.memory = '256m'", "milli-bytes"]),
    ("limit below request", lambda c: _set(c, "apps.api.resources.limits.cpu", "100m"),
     ["keelson:apps.api.resources", "'limits.cpu' (100m)", "'requests.cpu' (250m)"]),
    ("limit/request ratio above the LimitRange", lambda c: _set(c, "apps.api.resources.limits.cpu", "2"),
     ["keelson:apps.api.resources", "8 (2/250m)", "keelson:namespace.limitRange.maxLimitRequestRatio.cpu (4)"]),
    ("image with the latest tag", lambda c: _set(c, "apps.api.image", "ghcr.io/stefanprodan/podinfo:latest"),
     ["keelson:apps.api.image = 'ghcr.io/stefanprodan/podinfo:latest'", "mutable 'latest' tag"]),
    ("image without a tag", lambda c: _set(c, "apps.api.image", "ghcr.io/stefanprodan/podinfo"),
     ["keelson:apps.api.image = 'ghcr.io/stefanprodan/podinfo'", "no tag or digest"]),
    ("unknown top-level key", lambda c: _set(c, "replicsa", 3),
     ["keelson:replicsa: unknown key"]),
    ("typo in a nested key", lambda c: _set(c, "apps.api.replcas", 3),
     ["keelson:apps.api.replcas: unknown key"]),
    ("invalid hostname", lambda c: _set(c, "apps.api.ingress.host", "API_HOST.example.com"),
     ["keelson:apps.api.ingress.host = 'API_HOST.example.com'", "not a valid hostname"]),
    ("port out of range", lambda c: _set(c, "apps.api.port", 70000),
     ["keelson:apps.api.port = 70000", "less than or equal to 65535"]),
    ("unknown Pod Security level", lambda c: _set(c, "namespace.podSecurity.enforce", "strict"),
     ["keelson:namespace.podSecurity.enforce = 'strict'", "'privileged', 'baseline' or 'restricted'"]),
    ("missing required environment", lambda c: _delete(c, "environment"),
     ["keelson:environment: Field required"]),
    ("missing required image", lambda c: _delete(c, "apps.worker.image"),
     ["keelson:apps.worker.image: Field required"]),
    ("unknown environment", lambda c: _set(c, "environment", "prod"),
     ["keelson:environment = 'prod'", "'local', 'staging' or 'production'"]),
    ("unknown log level", lambda c: _set(c, "logLevel", "verbose"),
     ["keelson:logLevel = 'verbose'", "'debug', 'info', 'warning' or 'error'"]),
    ("invalid egress CIDR", lambda c: _set(c, "apps.api.egress", [{"cidr": "10.0.0.0/33", "ports": [443]}]),
     ["keelson:apps.api.egress[0].cidr = '10.0.0.0/33'", "not a CIDR block"]),
    ("app name that is not a DNS label", lambda c: c[PREFIX + "apps"].update({"Billing_API": c[PREFIX + "apps"]["api"]}) or c,
     ["keelson:apps.Billing_API", "not a DNS-1123 label"]),
    ("app setting a stack-wide key", lambda c: _set(c, "apps.api.namespace", "elsewhere"),
     ["keelson:apps.api.namespace is set for the whole stack by 'keelson:namespace'"]),
    ("quota too small for the autoscaling maximum", lambda c: _set(c, "namespace.quota", {"requests": {"cpu": "1", "memory": "60Gi"}}),
     ["keelson:namespace.quota.requests.cpu (1)", "autoscaling maximum"]),
    ("two apps on one host", lambda c: _set(c, "apps.worker.ingress", {"host": "api.staging.keelson.example.com"}),
     ["keelson:apps.worker.ingress.host 'api.staging.keelson.example.com' is already used by app 'api'"]),
    ("preStop sleep longer than the grace period", lambda c: _set(c, "apps.api.preStopSleepSeconds", 30),
     ["keelson:apps.api", "'preStopSleepSeconds' (30)", "'terminationGracePeriodSeconds' (30)"]),
    ("capability outside the allowed set", lambda c: _set(c, "apps.api.addCapabilities", ["SYS_ADMIN"]),
     ["keelson:apps.api.addCapabilities[0] = 'SYS_ADMIN'", "'NET_BIND_SERVICE'"]),
    ("root user", lambda c: _set(c, "apps.api.userId", 0),
     ["keelson:apps.api.userId = 0", "greater than or equal to 1"]),
    ("no apps", lambda c: _set(c, "apps", {}),
     ["keelson:apps", "at least 1 item"]),
    ("SLO for an app the stack does not run", lambda c: _set(c, "monitoring.slo", [{"app": "billing"}]),
     ["keelson:monitoring.slo[0].app 'billing' is not an app of this stack"]),
    ("monitoring namespace that Prometheus does not run in", lambda c: _set(c, "network.monitoringNamespace", "observability"),
     ["keelson:network.monitoringNamespace (observability)", "keelson:monitoring.namespace.name (monitoring)"]),
    ("monitoring setting a derived key", lambda c: _set(c, "monitoring.environment", "production"),
     ["keelson:monitoring.environment is derived from 'keelson:environment'"]),
    ("unknown Prometheus retention unit", lambda c: _set(c, "monitoring.prometheus.retention", "2months"),
     ["keelson:monitoring.prometheus.retention = '2months'"]),
    ("Slack channel without a webhook", lambda c: _set(c, "alerting.slack", {"channel": "#alerts"}),
     ["keelson:alerting.slack.webhookUrl: Field required"]),
    ("issuer named by hand instead of by keelson:tls.mode", lambda c: _set(c, "ingress.clusterIssuer", "letsencrypt-production"),
     ["keelson:ingress.clusterIssuer (letsencrypt-production) is derived from keelson:tls.mode"]),
    ("DNS-01 solver without a token", lambda c: _set(c, "tls", {"mode": "letsencrypt-staging", "email": "platform@keelson.dev", "solvers": ["dns01"], "dns01": {"provider": "cloudflare", "zones": ["keelson.dev"]}}),
     ["keelson:tls.dns01", "apiToken"]),
    ("Grafana on an app's host", lambda c: _set(c, "monitoring.grafana.ingress", {"host": "api.staging.keelson.example.com"}),
     ["keelson:monitoring.grafana.ingress.host 'api.staging.keelson.example.com' is already used by app 'api'"]),
]


@pytest.mark.parametrize("mutate, fragments", [case[1:] for case in BAD_CONFIGS], ids=[case[0] for case in BAD_CONFIGS])
def test_bad_config_fails_naming_key_and_value(staging_config, mutate, fragments):
    message = settings_error(mutate(staging_config))
    for fragment in fragments:
        assert fragment in message, f"expected {fragment!r} in the settings error:\n{message}"


def test_there_are_at_least_twenty_distinct_bad_configs():
    assert len({case[0] for case in BAD_CONFIGS}) >= 20


def test_secret_values_in_clear_text_are_rejected(staging_config):
    _set(staging_config, "apps.api.secretEnv", {"DATABASE_URL": "postgres://user:hunter2@db/app"})
    message = settings_error(staging_config)
    assert "keelson:apps.api.secretEnv.DATABASE_URL = [secret]: a credential in clear text" in message
    assert "pulumi config set --secret --path 'keelson:apps.api.secretEnv.DATABASE_URL'" in message
    assert "hunter2" not in message


def test_secret_values_from_secure_config_are_accepted_and_never_printed(staging_config):
    _set(staging_config, "apps.api.secretEnv", {"DATABASE_URL": "postgres://user:hunter2@db/app"})
    settings = parse_settings(raw_settings(staging_config), STAGING_SECRET_KEYS | {"keelson:apps"})
    assert "hunter2" not in repr(settings)
    assert settings.apps["api"].secret_env["DATABASE_URL"].get_secret_value().endswith("@db/app")


def test_every_problem_is_reported_at_once(staging_config):
    _set(staging_config, "apps.api.replicas", -1)
    _set(staging_config, "apps.worker.image", "busybox")
    _set(staging_config, "logLevel", "loud")
    message = settings_error(staging_config)
    assert all(key in message for key in ("keelson:apps.api.replicas", "keelson:apps.worker.image", "keelson:logLevel"))


def test_no_resource_is_registered_when_settings_fail(staging_config):
    _set(staging_config, "apps.api.replicas", 0)
    registered: list[harness.Registered] = []
    with pytest.raises(pulumi.RunError, match=r"keelson:apps\.api\.replicas = 0"):
        registered = harness.run_program("staging", config=staging_config)
    mocks_seen = harness.LAST_MOCKS.registered if harness.LAST_MOCKS else registered
    assert [resource.label for resource in mocks_seen] == [], "resources were registered before settings failed"


def test_the_program_runs_again_after_fixing_the_config(staging_config):
    assert harness.run_program("staging", config=copy.deepcopy(staging_config))


def test_a_partial_resources_block_keeps_the_rest_of_that_workload_s_own_default():
    """Setting only Fluent Bit's CPU request must not hand it the app-sized 2 CPU / 2Gi limits."""
    from keelson.logging.stack import LoggingStackArgs

    resources = LoggingStackArgs.model_validate({"fluentBit": {"resources": {"requests": {"cpu": "100m"}}}}).fluent_bit.resources
    assert (resources.requests.cpu, resources.requests.memory) == ("100m", "64Mi")
    assert (resources.limits.cpu, resources.limits.memory) == ("200m", "256Mi")
