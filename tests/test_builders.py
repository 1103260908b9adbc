"""Pure builders: quantities, labels, security contexts, probes, network policies, ingress, scaling.

These run without Pulumi: each builder returns plain manifest-shaped data.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from keelson.builders import autoscaling, ingress, labels, namespace_policy, network_policies, probes, security
from keelson.models import (
    Autoscaling,
    DisruptionBudget,
    HealthCheck,
    LimitRangeSpec,
    PodSecurityLabels,
    ResourceQuotaSpec,
)
from keelson.network_models import EgressRule, IngressPolicy
from keelson.quantities import format_cpu, format_memory, parse_cpu, parse_memory, parse_quantity


@pytest.mark.parametrize(
    "text, cores", [("500m", "0.5"), ("2", "2"), ("0.25", "0.25"), ("1500m", "1.5"), (".5", "0.5")]
)
def test_cpu_quantities_parse_to_cores(text, cores):
    assert parse_cpu(text) == Decimal(cores)


@pytest.mark.parametrize("text, size", [("512Mi", 512 * 2**20), ("2Gi", 2 * 2**30), ("1G", 10**9), ("1000", 1000)])
def test_memory_quantities_parse_to_bytes(text, size):
    assert parse_memory(text) == size


@pytest.mark.parametrize("text", ["", "lots", "1GB", "-1", "1.2.3", "Gi"])
def test_malformed_quantities_are_rejected_with_the_text(text):
    with pytest.raises(ValueError, match="is not a Kubernetes quantity"):
        parse_quantity(text)


def test_cpu_rejects_memory_suffixes_and_memory_rejects_millis():
    with pytest.raises(ValueError, match="memory quantity"):
        parse_cpu("512Mi")
    with pytest.raises(ValueError, match="milli-bytes"):
        parse_memory("512m")


def test_quantities_format_back_to_their_shortest_form():
    assert format_cpu(Decimal("1.5")) == "1500m" and format_cpu(Decimal(3)) == "3"
    assert format_memory(Decimal(3 * 2**30)) == "3Gi" and format_memory(Decimal(1536 * 2**20)) == "1536Mi"


def test_selector_labels_never_include_the_version():
    full = labels.standard_labels("api", "api-production", "api", "6.7.1")
    assert set(full) == {
        f"app.kubernetes.io/{key}" for key in ("name", "instance", "version", "component", "part-of", "managed-by")
    }
    assert "app.kubernetes.io/version" not in labels.selector_labels(full)
    assert labels.selector_labels(full)["app.kubernetes.io/name"] == "api"


@pytest.mark.parametrize(
    "image, version",
    [("ghcr.io/org/app:1.2.3", "1.2.3"), ("localhost:5000/app:v2", "v2"), ("app@sha256:" + "a" * 64, "aaaaaaaaaaaa")],
)
def test_image_version_is_the_tag_or_the_short_digest(image, version):
    assert labels.image_version(image) == version


def test_container_security_context_meets_the_restricted_standard():
    context = security.container_security_context()
    assert context["runAsNonRoot"] is True and context["runAsUser"] >= 10000
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False and context["privileged"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}


def test_capabilities_and_user_are_named_escape_hatches():
    context = security.container_security_context(user_id=20000, add_capabilities=["NET_BIND_SERVICE"])
    assert context["runAsUser"] == 20000
    assert context["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}


def test_pod_security_context_sets_ids_and_seccomp():
    context = security.pod_security_context()
    assert (context["runAsUser"], context["runAsGroup"], context["fsGroup"]) == (10001, 10001, 10001)
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}


def test_writable_paths_become_size_limited_empty_dirs():
    volumes, mounts = security.writable_volumes(["/tmp", "/var/cache/app_data"])
    assert [volume["name"] for volume in volumes] == ["writable-tmp", "writable-var-cache-app-data"]
    assert all(volume["emptyDir"]["sizeLimit"] for volume in volumes)
    assert [mount["mountPath"] for mount in mounts] == ["/tmp", "/var/cache/app_data"]


def test_http_probes_use_paths_and_liveness_is_more_patient_than_readiness():
    built = probes.probes(HealthCheck(), "http")
    assert built["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert built["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert built["livenessProbe"]["failureThreshold"] > built["readinessProbe"]["failureThreshold"]
    startup = built["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] == 150


def test_tcp_probes_for_workers_without_http():
    built = probes.probes(HealthCheck(type="tcp"), "http")
    assert all(probe["tcpSocket"] == {"port": "http"} for probe in built.values())


def test_default_deny_selects_every_pod_in_both_directions():
    assert network_policies.default_deny() == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_dns_egress_allows_port_53_over_udp_and_tcp_to_cluster_dns_only():
    spec = network_policies.allow_dns_egress("kube-system", {"k8s-app": "kube-dns"})
    rule = spec["egress"][0]
    assert {(port["protocol"], port["port"]) for port in rule["ports"]} == {("UDP", 53), ("TCP", 53)}
    assert rule["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "kube-system"}


def test_egress_rules_map_to_ip_blocks_and_ports():
    spec = network_policies.allow_egress({"app": "x"}, [EgressRule(cidr="10.0.0.0/8", ports=[443, 8443])])
    assert spec["egress"][0]["to"] == [{"ipBlock": {"cidr": "10.0.0.0/8"}}]
    assert [port["port"] for port in spec["egress"][0]["ports"]] == [443, 8443]


def test_ingress_annotations_carry_tls_issuer_rate_limits_and_headers():
    annotations = ingress.ingress_annotations(IngressPolicy(cluster_issuer="letsencrypt-production"), "ns/api-headers")
    assert annotations["cert-manager.io/cluster-issuer"] == "letsencrypt-production"
    assert annotations["nginx.ingress.kubernetes.io/limit-rpm"] == "100"
    assert annotations["nginx.ingress.kubernetes.io/limit-connections"] == "10"
    assert annotations["nginx.ingress.kubernetes.io/custom-headers"] == "ns/api-headers"
    assert "CBC" not in annotations["nginx.ingress.kubernetes.io/ssl-ciphers"]
    headers = ingress.security_headers(IngressPolicy())
    assert set(headers) == {
        "Strict-Transport-Security",
        "Content-Security-Policy",
        "X-Frame-Options",
        "X-Content-Type-Options",
        "Referrer-Policy",
    }


def test_hpa_targets_and_behavior_follow_the_spec():
    spec = autoscaling.hpa_spec("api", Autoscaling(min_replicas=3, max_replicas=20))
    targets = {metric["resource"]["name"]: metric["resource"]["target"]["averageUtilization"] for metric in spec["metrics"]}
    assert targets == {"cpu": 70, "memory": 80}
    assert spec["behavior"]["scaleUp"]["policies"] == [{"type": "Percent", "value": 100, "periodSeconds": 30}]
    assert spec["behavior"]["scaleDown"]["policies"] == [{"type": "Percent", "value": 50, "periodSeconds": 60}]
    assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300


def test_pdb_spec_uses_the_bound_that_was_given():
    assert autoscaling.pdb_spec({"a": "b"}, DisruptionBudget(min_available=2))["minAvailable"] == 2
    assert autoscaling.pdb_spec({"a": "b"}, DisruptionBudget(max_unavailable=1))["maxUnavailable"] == 1


def test_namespace_policy_labels_quota_and_limits_follow_the_spec():
    pss = namespace_policy.pod_security_labels(PodSecurityLabels(enforce="baseline"))
    assert pss["pod-security.kubernetes.io/enforce"] == "baseline"
    assert pss["pod-security.kubernetes.io/warn"] == pss["pod-security.kubernetes.io/audit"] == "restricted"
    assert all(f"pod-security.kubernetes.io/{mode}-version" in pss for mode in ("enforce", "warn", "audit"))
    assert namespace_policy.resource_quota_spec(ResourceQuotaSpec())["hard"] == {
        "requests.cpu": "30",
        "limits.cpu": "60",
        "requests.memory": "60Gi",
        "limits.memory": "120Gi",
        "pods": "100",
        "count/jobs.batch": "200",
    }
    limits = namespace_policy.limit_range_spec(LimitRangeSpec())["limits"][0]
    assert limits["maxLimitRequestRatio"] == {"cpu": "4", "memory": "4"}


def test_hardened_container_merges_writable_mounts_with_extra_mounts_and_drops_none_fields():
    from keelson.builders.workload import hardened_container, hardened_pod_spec
    from keelson.models import ResourceRequirements

    container = hardened_container(
        "prometheus",
        "quay.io/prometheus/prometheus:v2.53.5",
        ResourceRequirements(),
        ports={"web": 9090},
        writable_paths=["/tmp"],
        args=None,
        volumeMounts=[{"name": "config", "mountPath": "/etc/prometheus", "readOnly": True}],
    )
    assert "args" not in container
    assert [mount["name"] for mount in container["volumeMounts"]] == ["writable-tmp", "config"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    pod = hardened_pod_spec([container], "prometheus", {"app": "p"}, writable_paths=["/tmp"], api_access=True)
    assert pod["automountServiceAccountToken"] is False, "tokens are never automounted"
    assert pod["volumes"][0] == {"name": "writable-tmp", "emptyDir": {"sizeLimit": "256Mi"}}
    token = pod["volumes"][-1]["projected"]["sources"][0]["serviceAccountToken"]
    assert token["expirationSeconds"] == 3600
    assert pod["containers"][0]["volumeMounts"][-1]["mountPath"] == "/var/run/secrets/kubernetes.io/serviceaccount"
