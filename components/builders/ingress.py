"""Ingress annotations and security headers for ingress-nginx with cert-manager TLS.

Ref: https://kubernetes.github.io/ingress-nginx/user-guide/nginx-configuration/annotations/
Ref: https://cert-manager.io/docs/usage/ingress/
"""

from __future__ import annotations

from ..network_models import IngressPolicy

NGINX = "nginx.ingress.kubernetes.io"

TLS12_AEAD_CIPHERS = ":".join(
    [
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    ]
)
"""AEAD suites only: TLS 1.0/1.1 define none of them, so a client limited to those versions finds no
shared cipher and only TLS 1.2 and 1.3 handshakes succeed (TLS 1.3 suites are always AEAD)."""


def security_headers(policy: IngressPolicy) -> dict[str, str]:
    """Return the response headers every public endpoint sends."""
    return {
        "Strict-Transport-Security": f"max-age={policy.hsts_max_age_seconds}; includeSubDomains",
        "Content-Security-Policy": policy.content_security_policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }


def ingress_annotations(
    policy: IngressPolicy, headers_config_map: str, source_ranges: list[str] | None = None
) -> dict[str, str]:
    """Return the annotations of a public Ingress.

    cert-manager's ingress-shim turns the cluster-issuer annotation into a Certificate for the
    Ingress' TLS hosts; its defaults (90 days, renewed 30 days, i.e. a third, before expiry) are the
    certificate policy CertIssuer applies to its own Certificates.

    'headers_config_map' is "<namespace>/<name>" of the ConfigMap holding security_headers(); the
    controller adds them to every response (ingress-nginx 'custom-headers'). 'source_ranges', when
    given, are the only client networks the controller serves (403 for any other); ingress-nginx
    1.9 and later also read this annotation under its newer name, allowlist-source-range.
    """
    allowlist = {f"{NGINX}/whitelist-source-range": ",".join(source_ranges)} if source_ranges else {}
    return {
        **allowlist,
        "cert-manager.io/cluster-issuer": policy.cluster_issuer,
        f"{NGINX}/ssl-redirect": "true",
        f"{NGINX}/force-ssl-redirect": "true",
        f"{NGINX}/ssl-ciphers": TLS12_AEAD_CIPHERS,
        f"{NGINX}/ssl-prefer-server-ciphers": "true",
        f"{NGINX}/limit-rpm": str(policy.rate_limit_rpm),
        f"{NGINX}/limit-connections": str(policy.rate_limit_connections),
        f"{NGINX}/proxy-body-size": policy.body_size,
        f"{NGINX}/custom-headers": headers_config_map,
    }


def ingress_spec(policy: IngressPolicy, host: str, path: str, service: str, tls_secret: str) -> dict:
    """Return the spec of an HTTPS Ingress routing host+path to a Service's 'http' port."""
    return {
        "ingressClassName": policy.class_name,
        "tls": [{"hosts": [host], "secretName": tls_secret}],
        "rules": [
            {
                "host": host,
                "http": {
                    "paths": [
                        {
                            "path": path,
                            "pathType": "Prefix",
                            "backend": {"service": {"name": service, "port": {"name": "http"}}},
                        }
                    ]
                },
            }
        ],
    }
