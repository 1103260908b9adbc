"""Certificate rules: cert-manager Certificates close to expiry or not Ready.

cert-manager renews a certificate when two thirds of its lifetime have passed (30 days before
expiry for Let's Encrypt's 90 days), so 14 days left means renewal has failed for two weeks.
Ref: https://cert-manager.io/docs/devops-tips/prometheus-metrics/
"""

from __future__ import annotations

from .helpers import alert, record

EXPIRY_WARNING_DAYS = 14

RECORDING_RULES = [
    record(
        "namespace_name:certmanager_certificate_expiration_timestamp_seconds:time_remaining",
        "max by (namespace, name) (certmanager_certificate_expiration_timestamp_seconds) - time()",
    ),
]

ALERTS = [
    alert(
        "CertificateExpiringSoon",
        "namespace_name:certmanager_certificate_expiration_timestamp_seconds:time_remaining"
        f" < {EXPIRY_WARNING_DAYS} * 86400",
        for_="1h",
        severity="warning",
        summary=f"A certificate expires in less than {EXPIRY_WARNING_DAYS} days.",
        description="""
        Certificate {{ $labels.namespace }}/{{ $labels.name }} expires in {{ $value | humanizeDuration }}
        and cert-manager has not renewed it.
        """,
    ),
    alert(
        "CertificateNotReady",
        'max by (namespace, name) (certmanager_certificate_ready_status{condition="False"}) == 1',
        for_="10m",
        severity="warning",
        summary="A cert-manager Certificate is not Ready.",
        description="""
        Certificate {{ $labels.namespace }}/{{ $labels.name }} has not been Ready for 10 minutes: its
        secret is missing or stale, and the Ingress using it may serve a wrong or expired certificate.
        """,
    ),
]

GROUPS = [
    {"name": "keelson.certificates.recording", "rules": RECORDING_RULES},
    {"name": "keelson.certificates.alerts", "rules": ALERTS},
]
