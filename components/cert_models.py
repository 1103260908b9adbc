"""What CertIssuerArgs is made of: the certificates it declares (CertificateSpec), its DNS-01 solver
(Dns01Solver), the field types they share (issuer modes, ACME contacts, DNS zones, cert-manager
durations, with how hours and zones are read) and the facts about the issuers its validation
relies on (ClusterIssuer names, Let's Encrypt's certificate lifetime, the names it never issues for).

CertIssuer and CertIssuerArgs live in cert_issuer.py; CertificateSpec and Dns01Solver are
imported from there too (components/__init__.py does).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, SecretStr, model_validator

from .builders import cert_manager
from .models import DnsLabel, Hostname, KeelsonModel

IssuerMode = Literal["local", "letsencrypt-staging", "letsencrypt-production"]
"""Which ClusterIssuer signs the stack's certificates."""
SolverType = Literal["http01", "dns01"]
"""ACME challenge types Keelson configures. Ref: https://letsencrypt.org/docs/challenge-types/"""
DnsProvider = Literal["cloudflare", "route53"]

ISSUER_NAMES: dict[str, str] = {
    "local": cert_manager.CA_ISSUER,
    "letsencrypt-staging": "letsencrypt-staging",
    "letsencrypt-production": "letsencrypt-production",
}
"""ClusterIssuer name of each mode."""

LETSENCRYPT_LIFETIME_HOURS = 2160
"""Let's Encrypt issues 90-day certificates whatever 'duration' asks for.
Ref: https://letsencrypt.org/docs/faq/#what-is-the-lifetime-for-let-s-encrypt-certificates-for-how-long-are-they-valid"""

PRIVATE_SUFFIXES = ("localhost", "local", "test", "example", "invalid", "internal", "onion", "home.arpa")
"""Special-use names (RFC 6761, 6762, 8375, 7686 and ICANN's .internal) outside the public DNS, for
which Let's Encrypt never issues a certificate."""

DNS01_SECRET_KEYS: dict[str, str] = {"cloudflare": "api-token", "route53": "secret-access-key"}
"""Key of the DNS provider credential in the Secret CertIssuer creates for it."""

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
_FORBIDDEN_EMAIL_DOMAINS = {"example.com", "example.net", "example.org"}
"""Domains Let's Encrypt refuses as account contacts (the ACME account registration fails)."""


def _email(text: str) -> str:
    if len(text) > 254 or not _EMAIL.fullmatch(text):
        raise ValueError(f"'{text}' is not an email address such as ops@company.com")
    domain = text.rsplit("@", 1)[1].lower()
    if domain in _FORBIDDEN_EMAIL_DOMAINS:
        raise ValueError(f"'{text}' uses the reserved domain '{domain}', which Let's Encrypt refuses; give a real mailbox")
    return text


def _zone(text: str) -> str:
    if text.startswith("*."):
        raise ValueError(f"'{text}' is a wildcard; give the DNS zone itself, e.g. '{text[2:]}'")
    return text


EmailAddress = Annotated[str, AfterValidator(_email)]
"""A contact address Let's Encrypt accepts."""
DnsZone = Annotated[Hostname, AfterValidator(_zone)]
"""A DNS zone such as example.com (no wildcard)."""
GoDuration = Annotated[str, Field(pattern=r"^[1-9][0-9]*h$")]
"""A whole number of hours, as cert-manager durations are written ("2160h")."""
MAX_GO_HOURS = 2562047
"""The longest whole number of hours a Go time.Duration (int64 nanoseconds) holds."""


def duration_hours(duration: str) -> int:
    """The whole hours of a GoDuration: 2160 for "2160h"."""
    return int(duration.removesuffix("h"))


def host_in_zone(host: str, zone: str) -> bool:
    """Whether 'host' (a wildcard standing for its base name) is the DNS zone 'zone' or a name in it."""
    name = host.removeprefix("*.")
    return name == zone or name.endswith(f".{zone}")


_DNS01_REQUIRED: dict[str, dict[str, str]] = {
    "cloudflare": {"api_token": "apiToken"},
    "route53": {"region": "region", "access_key_id": "accessKeyId", "secret_access_key": "secretAccessKey"},
}
"""Dns01Solver fields (and their stack-file spelling) each provider needs."""
_DNS01_FIELDS: dict[str, dict[str, str]] = {
    "cloudflare": _DNS01_REQUIRED["cloudflare"],
    "route53": {**_DNS01_REQUIRED["route53"], "hosted_zone_id": "hostedZoneId"},
}
"""Every Dns01Solver field each provider understands."""


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, SecretStr) and not value.get_secret_value())


class Dns01Solver(KeelsonModel):
    """The DNS-01 solver: proves control of a name by writing a TXT record through a DNS API.

    It is the only way Let's Encrypt validates wildcard names, and it is selected
    (selector.dnsZones) for every name inside 'zones'; names outside them fall back to HTTP-01.
    The credential is a Pulumi secret (a `secure:` stack value) that CertIssuer writes into a
    Secret in the cert-manager namespace, where ClusterIssuers read their secrets.
    Ref: https://cert-manager.io/docs/configuration/acme/dns01/
    """

    provider: DnsProvider
    """DNS provider of the zones: 'cloudflare' (API token) or 'route53' (access key). Required."""
    zones: list[DnsZone] = Field(min_length=1)
    """DNS zones the credential may write to, e.g. ['example.com']. Required, at least one."""
    api_token: SecretStr | None = None
    """Cloudflare API token with Zone:DNS:Edit on the zones, a `secure:` value. Default: none;
    required for 'cloudflare'."""
    region: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
    """AWS region hint for Route53 credentials, e.g. us-east-1. Default: none; required for 'route53'."""
    hosted_zone_id: str | None = Field(default=None, pattern=r"^[A-Z0-9]{1,32}$")
    """Route53 hosted zone to manage; skips the ListHostedZonesByName lookup. Default: none, so
    cert-manager looks the zone up by name."""
    access_key_id: str | None = Field(default=None, pattern=r"^[A-Z0-9]{16,128}$")
    """AWS access key id of the Route53 credential. Default: none; required for 'route53'."""
    secret_access_key: SecretStr | None = None
    """AWS secret access key of the Route53 credential, a `secure:` value. Default: none; required
    for 'route53'."""

    @model_validator(mode="after")
    def _credential_matches_provider(self) -> Dns01Solver:
        required = _DNS01_REQUIRED[self.provider]
        missing = [alias for field, alias in required.items() if not _present(getattr(self, field))]
        if missing:
            raise ValueError(
                f"provider '{self.provider}' needs {', '.join(repr(alias) for alias in missing)}: a DNS-01 solver "
                "without its token cannot write the challenge record; set it with `pulumi config set --secret`"
            )
        foreign = {
            alias
            for provider, fields in _DNS01_FIELDS.items()
            if provider != self.provider
            for field, alias in fields.items()
            if getattr(self, field) is not None and field not in _DNS01_FIELDS[self.provider]
        }
        if foreign:
            raise ValueError(f"{sorted(foreign)} do not apply to provider '{self.provider}'")
        return self

    @property
    def secret_key(self) -> str:
        return DNS01_SECRET_KEYS[self.provider]

    @property
    def secret_value(self) -> str:
        secret = self.api_token if self.provider == "cloudflare" else self.secret_access_key
        assert secret is not None
        return secret.get_secret_value()


class CertificateSpec(KeelsonModel):
    """A cert-manager Certificate for a set of hosts, stored in a TLS Secret of its namespace.

    Declare certificates that no Ingress annotation creates: wildcard certificates shared by
    several Ingresses, or hosts outside Kubernetes Ingresses. A HardenedApp Ingress gets its own
    certificate from its 'cert-manager.io/cluster-issuer' annotation; declaring the same Secret
    here would make two Certificates fight over it.
    """

    name: DnsLabel
    """Name of the Certificate. Required."""
    namespace: DnsLabel
    """Namespace of the Certificate and its Secret (the Ingresses using it must live there). Required."""
    hosts: list[Hostname] = Field(min_length=1, max_length=100)
    """DNS names of the certificate; '*.example.com' wildcards need the DNS-01 solver. Required, 1 to 100."""
    secret_name: DnsLabel | None = None
    """TLS Secret the certificate is written to. Default: '<name>-tls'."""
    issuer: IssuerMode | None = None
    """Issuer override for this certificate. Default: None, the stack's 'mode'."""

    @property
    def effective_secret_name(self) -> str:
        return self.secret_name or f"{self.name}-tls"

    @property
    def resource_name(self) -> str:
        """The role part of the Pulumi name CertIssuer gives this Certificate."""
        return f"certificate-{self.namespace}-{self.name}"
