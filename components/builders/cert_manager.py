"""cert-manager object specs: ClusterIssuers, ACME solvers, Certificates and the Helm values.

Every function returns a plain dict in manifest shape (camelCase), checked by the tests against
the CRDs of the cert-manager version pinned below.
Ref: https://cert-manager.io/docs/reference/api-docs/
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..models import ResourceRequirements
from . import network_policies
from .labels import MANAGED_BY, PART_OF

if TYPE_CHECKING:
    from ..cert_models import Dns01Solver

CERT_MANAGER_VERSION = "1.21.2"
"""cert-manager release whose Helm chart is installed and whose CRDs the specs are checked against.
The newest 1.x when pinned; tools/fetch-crds.sh defaults to the same version."""
CHART_REPOSITORY = "https://charts.jetstack.io"
"""Jetstack's Helm repository, the official home of the cert-manager chart."""
RELEASE_NAME = "cert-manager"
"""Fixed Helm release name: the chart names its objects after it (cert-manager-webhook ...)."""
WEBHOOK_CONFIGURATION = f"{RELEASE_NAME}-webhook"
"""The chart's ValidatingWebhookConfiguration for a release named RELEASE_NAME."""

API_VERSION = "cert-manager.io/v1"
ISSUER_GROUP = "cert-manager.io"

LETSENCRYPT_SERVERS: dict[str, str] = {
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
    "letsencrypt-production": "https://acme-v02.api.letsencrypt.org/directory",
}
"""ACME directory of each Let's Encrypt ClusterIssuer, keyed by the issuer's name.
Ref: https://letsencrypt.org/docs/staging-environment/"""
SELF_SIGNED_ISSUER = "keelson-selfsigned"
"""ClusterIssuer that only signs the local CA certificate."""
CA_ISSUER = "keelson-ca"
"""ClusterIssuer signing with the local CA: trusted by nobody outside the cluster, needs no internet."""
CA_SECRET = "keelson-ca"
"""Secret (in the cert-manager namespace) holding the local CA's key and certificate."""

SOLVER_POD_LABEL = "acme.cert-manager.io/http01-solver"
"""Label cert-manager puts on every HTTP-01 solver pod (value "true")."""
SOLVER_PORT = 8089
"""Port the HTTP-01 solver pod serves the challenge on (fixed in cert-manager)."""

WAIT_FOR_ANNOTATION = "pulumi.com/waitFor"
WEBHOOK_CA_INJECTED = "jsonpath={.webhooks[*].clientConfig.caBundle}"
"""Readiness of a webhook configuration: cainjector has written the CA bundle the API server
needs to trust the webhook. Until then every cert-manager object is rejected with
'x509: certificate signed by unknown authority'.
Ref: https://www.pulumi.com/blog/improved-kubernetes-await-logic/"""

_SOLVER_FLAGS = {
    ("requests", "cpu"): "--acme-http01-solver-resource-request-cpu",
    ("requests", "memory"): "--acme-http01-solver-resource-request-memory",
    ("limits", "cpu"): "--acme-http01-solver-resource-limits-cpu",
    ("limits", "memory"): "--acme-http01-solver-resource-limits-memory",
}
"""Controller flags setting every HTTP-01 solver pod's resources (defaults 10m/64Mi -> 100m/64Mi,
a CPU limit/request ratio of 10 that a LimitRange with maxLimitRequestRatio 4 rejects).
Ref: https://cert-manager.io/docs/cli/controller/"""


def labels() -> dict[str, str]:
    """Return the labels of every object CertIssuer creates."""
    return {"app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/managed-by": MANAGED_BY}


def issuer_ref(issuer_name: str) -> dict[str, str]:
    """Return the reference of a Certificate to a ClusterIssuer."""
    return {"name": issuer_name, "kind": "ClusterIssuer", "group": ISSUER_GROUP}


def resources(requirements: ResourceRequirements) -> dict[str, dict[str, str]]:
    """Return container resources in manifest shape."""
    return {
        "requests": {"cpu": requirements.requests.cpu, "memory": requirements.requests.memory},
        "limits": {"cpu": requirements.limits.cpu, "memory": requirements.limits.memory},
    }


def http01_solver(ingress_class: str, solver_resources: ResourceRequirements) -> dict[str, Any]:
    """Return an HTTP-01 solver answering challenges through the given IngressClass.

    Without a selector it is the fallback for every name no DNS-01 zone covers. Its solver pods
    run in the Certificate's namespace, so they must satisfy that namespace's LimitRange:
    podTemplate.spec.resources (cert-manager >= 1.19) sets their requests and limits.
    Ref: https://cert-manager.io/docs/configuration/acme/http01/#podtemplate
    """
    return {
        "http01": {
            "ingress": {
                "ingressClassName": ingress_class,
                "podTemplate": {
                    "metadata": {"labels": labels()},
                    "spec": {"resources": resources(solver_resources)},
                },
            }
        }
    }


def dns01_cloudflare_solver(zones: list[str], token_secret: str, token_key: str) -> dict[str, Any]:
    """Return a DNS-01 solver writing TXT records through the Cloudflare API with an API token.

    Ref: https://cert-manager.io/docs/configuration/acme/dns01/cloudflare/
    """
    return {
        "selector": {"dnsZones": list(zones)},
        "dns01": {"cloudflare": {"apiTokenSecretRef": {"name": token_secret, "key": token_key}}},
    }


def dns01_route53_solver(
    zones: list[str],
    region: str,
    access_key_id: str,
    secret_name: str,
    secret_key: str,
    hosted_zone_id: str | None = None,
) -> dict[str, Any]:
    """Return a DNS-01 solver writing TXT records through AWS Route53 with an access key.

    Ref: https://cert-manager.io/docs/configuration/acme/dns01/route53/
    """
    route53: dict[str, Any] = {
        "region": region,
        "accessKeyID": access_key_id,
        "secretAccessKeySecretRef": {"name": secret_name, "key": secret_key},
    }
    if hosted_zone_id is not None:
        route53["hostedZoneID"] = hosted_zone_id
    return {"selector": {"dnsZones": list(zones)}, "dns01": {"route53": route53}}


def dns01_solver(dns01: Dns01Solver, secret_name: str) -> dict[str, Any]:
    """Return the DNS-01 solver of 'dns01', its credential read from key 'dns01.secret_key' of 'secret_name'."""
    if dns01.provider == "cloudflare":
        return dns01_cloudflare_solver(list(dns01.zones), secret_name, dns01.secret_key)
    assert dns01.region is not None and dns01.access_key_id is not None
    return dns01_route53_solver(
        list(dns01.zones), dns01.region, dns01.access_key_id, secret_name, dns01.secret_key, dns01.hosted_zone_id
    )


def acme_issuer_spec(issuer_name: str, email: str, solvers: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the spec of a Let's Encrypt ClusterIssuer ('issuer_name' is a LETSENCRYPT_SERVERS key).

    The ACME account key is generated by cert-manager into '<issuer>-account-key' in the cluster
    resource namespace (the cert-manager namespace) on first use.
    Ref: https://cert-manager.io/docs/configuration/acme/
    """
    return {
        "acme": {
            "server": LETSENCRYPT_SERVERS[issuer_name],
            "email": email,
            "privateKeySecretRef": {"name": f"{issuer_name}-account-key"},
            "solvers": solvers,
        }
    }


def self_signed_issuer_spec() -> dict[str, Any]:
    """Return the spec of a ClusterIssuer whose certificates sign themselves.

    Ref: https://cert-manager.io/docs/configuration/selfsigned/#bootstrapping-ca-issuers
    """
    return {"selfSigned": {}}


def ca_issuer_spec(secret_name: str = CA_SECRET) -> dict[str, Any]:
    """Return the spec of a ClusterIssuer signing with the CA key pair in 'secret_name'.

    Ref: https://cert-manager.io/docs/configuration/ca/
    """
    return {"ca": {"secretName": secret_name}}


def certificate_spec(
    secret_name: str,
    issuer_name: str,
    hosts: list[str] | None = None,
    duration: str = "2160h",
    renew_before: str | None = "720h",
    is_ca: bool = False,
    common_name: str | None = None,
) -> dict[str, Any]:
    """Return a Certificate spec with a fresh ECDSA P-256 key at every issuance.

    rotationPolicy Always means a leaked key dies with its certificate at the next renewal.
    'renew_before' None leaves cert-manager's default: renew when two thirds of the lifetime passed.
    Ref: https://cert-manager.io/docs/usage/certificate/
    """
    spec: dict[str, Any] = {
        "secretName": secret_name,
        "duration": duration,
        "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        "issuerRef": issuer_ref(issuer_name),
        "secretTemplate": {"labels": labels()},
    }
    if renew_before is not None:
        spec["renewBefore"] = renew_before
    if hosts:
        spec["dnsNames"] = list(hosts)
    if is_ca:
        spec["isCA"] = True
    if common_name is not None:
        spec["commonName"] = common_name
    return spec


def solver_network_policy_spec(ingress_controller_namespace: str) -> dict[str, Any]:
    """Return a NetworkPolicy spec letting the ingress controller reach HTTP-01 solver pods.

    Keelson namespaces deny all ingress by default; without this the ACME server's challenge
    request stops at the controller and the Certificate never becomes Ready.
    """
    return network_policies.allow_ingress_from_namespace(
        {SOLVER_POD_LABEL: "true"}, ingress_controller_namespace, SOLVER_PORT
    )


def solver_resource_flags(solver_resources: ResourceRequirements) -> list[str]:
    """Return the controller flags giving every HTTP-01 solver pod these resources."""
    return [
        f"{flag}={getattr(getattr(solver_resources, kind), resource)}"
        for (kind, resource), flag in _SOLVER_FLAGS.items()
    ]


def helm_values(solver_resources: ResourceRequirements, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the values of the cert-manager chart, 'overrides' deep-merged last.

    - crds.enabled: the chart installs the CRDs, keep: they survive an uninstall (deleting a CRD
      deletes every Certificate in the cluster);
    - extraArgs: the solver pod resources also as controller-wide defaults, for Issuers that
      Keelson does not create;
    - startupapicheck: the post-install Job that only succeeds once the webhook answers a dry-run
      create. It runs on upgrades too, and a Helm release waits for its hooks, so the release is
      not done before cert-manager accepts objects.
    Ref: https://cert-manager.io/docs/installation/helm/
    """
    values: dict[str, Any] = {
        "crds": {"enabled": True, "keep": True},
        "extraArgs": solver_resource_flags(solver_resources),
        "startupapicheck": {
            "enabled": True,
            "timeout": "5m",
            "jobAnnotations": {
                "helm.sh/hook": "post-install,post-upgrade",
                "helm.sh/hook-weight": "1",
                "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded",
            },
        },
    }
    return _deep_merge(values, overrides or {})


def _deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
