"""CertIssuer: cert-manager ClusterIssuers (Let's Encrypt and a local CA) and Certificates."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field, model_validator

from .builders import cert_manager
from .cert_models import (
    ISSUER_NAMES,
    LETSENCRYPT_LIFETIME_HOURS,
    MAX_GO_HOURS,
    PRIVATE_SUFFIXES,
    CertificateSpec,
    Dns01Solver,
    EmailAddress,
    GoDuration,
    IssuerMode,
    SolverType,
    duration_hours,
    host_in_zone,
)
from .models import ComputeResources, DnsLabel, KeelsonModel, ResourceRequirements


class CertIssuerArgs(KeelsonModel):
    """Arguments of CertIssuer.

    Defaults:
    - mode 'local': certificates come from a local CA, because it needs neither an email address
      nor internet access; staging and production stacks choose a Let's Encrypt mode.
    - certificates last 90 days (2160h) and renew 30 days (720h) before expiry with a new
      ECDSA P-256 key each time, Let's Encrypt's own lifetime and renewal advice.
    - HTTP-01 solver pods request 25m/32Mi and are limited to 100m/128Mi, because they run in the
      apps' namespaces, whose LimitRange rejects a limit above 4x the request (cert-manager's own
      default, 10m -> 100m CPU, is a ratio of 10). 'maxLimitRequestRatio' is that LimitRange
      ceiling; resources above it are an error rather than solver pods that never start.
    - install False: cert-manager is usually a cluster add-on managed once per cluster, not per
      stack; set True to install the pinned chart (with CRDs) from this component.
    """

    mode: IssuerMode = "local"
    """Which ClusterIssuer signs the stack's certificates (see 'issuer_name'). Default: 'local', the
    local CA, which needs neither an email address nor internet access."""
    email: EmailAddress | None = None
    """ACME account contact for expiry and policy notices. Default: none, enough for mode 'local'; the
    Let's Encrypt modes require it, and without it no Let's Encrypt ClusterIssuer is created."""
    namespace: DnsLabel = "cert-manager"
    """Namespace cert-manager runs in: ClusterIssuers read their Secrets (ACME account keys, DNS
    credentials, the local CA) from it. Default: 'cert-manager', the chart's usual namespace."""
    ingress_class: DnsLabel = "nginx"
    """IngressClass the HTTP-01 solver routes challenges through. Default: 'nginx'; in a stack,
    keelson:ingress.className sets it."""
    ingress_controller_namespace: DnsLabel = "ingress-nginx"
    """Namespace of the ingress controller; only it may reach the solver pods. Default:
    'ingress-nginx'; in a stack, keelson:ingress.controllerNamespace sets it."""
    solvers: list[SolverType] = Field(default=["http01"], min_length=1)
    """ACME challenge types: 'http01' (any public host behind the ingress controller) and/or
    'dns01' (needs 'dns01'; required for wildcard hosts). Default: ['http01'], which needs no DNS
    credential."""
    dns01: Dns01Solver | None = None
    """DNS-01 provider and credential, when 'solvers' includes 'dns01'. Default: none."""
    solver_resources: ResourceRequirements = ResourceRequirements(
        requests=ComputeResources(cpu="25m", memory="32Mi"),
        limits=ComputeResources(cpu="100m", memory="128Mi"),
    )
    """Requests and limits of the HTTP-01 solver pods. Default: 25m/32Mi requested, 100m/128Mi limit,
    within the apps' LimitRange ratio of 4 (cert-manager's own default is a ratio of 10)."""
    max_limit_request_ratio: ComputeResources = ComputeResources(cpu="4", memory="4")
    """maxLimitRequestRatio of the LimitRange in the namespaces solver pods run in. Default: 4 for CPU
    and memory, LimitRangeSpec's; in a stack, keelson:namespace.limitRange.maxLimitRequestRatio sets it."""
    solver_namespaces: list[DnsLabel] = Field(default=[])
    """Namespaces whose Ingresses get certificates through HTTP-01 (e.g. the apps' namespace).
    Each gets a NetworkPolicy letting the ingress controller reach the solver pods; the
    namespaces of 'certificates' are added automatically. Default: none; in a stack, the apps' and
    the monitoring namespace."""
    certificates: list[CertificateSpec] = Field(default=[])
    """Certificates to create besides those Ingress annotations create. Default: none, because each
    Ingress gets its own certificate from its annotation."""
    certificate_duration: GoDuration = "2160h"
    """Lifetime requested for certificates (Let's Encrypt always issues 90 days). Default: 2160h,
    90 days, Let's Encrypt's own lifetime."""
    renew_before: GoDuration = "720h"
    """How long before expiry a certificate is renewed. Default: 720h, 30 days, Let's Encrypt's
    renewal advice (a third of the lifetime)."""
    ca_duration: GoDuration = "87600h"
    """Lifetime of the local CA certificate. Default: 87600h (10 years), so the local chain seldom
    changes; cert-manager renews it after two thirds of that."""
    install: bool = False
    """Install cert-manager (Helm chart, CRDs included) and create the issuers once its webhook answers.
    Default: false, because cert-manager is usually a cluster add-on managed once per cluster."""
    helm_values: dict[str, Any] = Field(default={})
    """Extra values of the cert-manager chart, deep-merged over Keelson's (see builders.cert_manager).
    Default: none, Keelson's values alone."""

    @model_validator(mode="after")
    def _consistent(self) -> CertIssuerArgs:
        if len(set(self.solvers)) != len(self.solvers):
            raise ValueError(f"'solvers' ({self.solvers}) lists a solver more than once")
        if "dns01" in self.solvers and self.dns01 is None:
            raise ValueError(
                f"'solvers' ({self.solvers}) includes 'dns01' but 'dns01' is not set: give its provider, zones "
                "and API token"
            )
        if self.dns01 is not None and "dns01" not in self.solvers:
            raise ValueError(f"'dns01' is set but 'solvers' ({self.solvers}) does not include 'dns01'")
        for resource, described, limit in self.solver_resources.ratios_above(self.max_limit_request_ratio):
            raise ValueError(
                f"'solverResources' {described}, above 'maxLimitRequestRatio.{resource}' ({limit}): the LimitRange "
                "would reject the solver pods"
            )
        if duration_hours(self.renew_before) >= duration_hours(self.certificate_duration):
            raise ValueError(
                f"'renewBefore' ({self.renew_before}) must be shorter than 'certificateDuration' "
                f"({self.certificate_duration})"
            )
        for duration_field in ("certificate_duration", "renew_before", "ca_duration"):
            if duration_hours(getattr(self, duration_field)) > MAX_GO_HOURS:
                raise ValueError(
                    f"'{type(self).model_fields[duration_field].alias}' ({getattr(self, duration_field)}) is longer "
                    f"than the {MAX_GO_HOURS}h a Go duration holds; cert-manager would refuse it"
                )
        acme = self.mode != "local" or any(certificate.issuer not in (None, "local") for certificate in self.certificates)
        if acme and duration_hours(self.renew_before) >= LETSENCRYPT_LIFETIME_HOURS:
            raise ValueError(
                f"'renewBefore' ({self.renew_before}) must be shorter than the {LETSENCRYPT_LIFETIME_HOURS}h "
                "Let's Encrypt certificates last: cert-manager ignores a renewBefore at or above the actual "
                "lifetime and silently renews after two thirds of it"
            )
        seen: dict[tuple[str, str], int] = {}
        secrets: dict[tuple[str, str], str] = {(self.namespace, cert_manager.CA_SECRET): "the local CA"}
        if self.email is not None:
            for issuer in cert_manager.LETSENCRYPT_SERVERS:
                secrets[(self.namespace, f"{issuer}-account-key")] = f"the ACME account key of '{issuer}'"
            if self.dns01 is not None:
                secrets[(self.namespace, f"keelson-dns01-{self.dns01.provider}")] = "the DNS-01 credentials"
        resource_names: dict[str, int] = {}
        for index, certificate in enumerate(self.certificates):
            key = (certificate.namespace, certificate.name)
            if key in seen:
                raise ValueError(f"'certificates[{index}]' repeats Certificate {certificate.namespace}/{certificate.name}")
            seen[key] = index
            if certificate.resource_name in resource_names:
                raise ValueError(
                    f"'certificates[{index}]' ({certificate.namespace}/{certificate.name}) and "
                    f"'certificates[{resource_names[certificate.resource_name]}]' would both be the Pulumi resource "
                    f"'{certificate.resource_name}', which Pulumi refuses; rename one"
                )
            resource_names[certificate.resource_name] = index
            secret = (certificate.namespace, certificate.effective_secret_name)
            if secret in secrets:
                raise ValueError(
                    f"'certificates[{index}]' writes Secret {secret[0]}/{secret[1]}, which {secrets[secret]} already "
                    "uses: two owners would overwrite each other's keys; give it another 'secretName'"
                )
            secrets[secret] = f"'certificates[{index}]'"
            mode = certificate.issuer or self.mode
            if mode != "local" and self.email is None:
                raise ValueError(
                    f"'certificates[{index}].issuer' resolves to '{mode}' but 'email' is not set: "
                    "Let's Encrypt issuers need a contact address"
                )
            if mode != "local":
                self._check_solvable(index, certificate)
        if self.mode != "local" and self.email is None:
            raise ValueError(
                f"'mode' is '{self.mode}' but 'email' is not set: Let's Encrypt issuers need a contact address"
            )
        return self

    def _check_solvable(self, index: int, certificate: CertificateSpec) -> None:
        for host in certificate.hosts:
            problem = self.host_problem(host)
            if problem is not None:
                raise ValueError(f"'certificates[{index}].hosts' has {problem}")

    def host_problem(self, host: str) -> str | None:
        """Say why Let's Encrypt could never issue a certificate for 'host' with these solvers, or None.

        The text follows a "has" ("has the wildcard '*.example.com' but 'solvers' is ..."), so each
        caller says first where the host comes from.
        """
        name = host.removeprefix("*.")
        suffix = next((suffix for suffix in PRIVATE_SUFFIXES if name == suffix or name.endswith(f".{suffix}")), None)
        if suffix is not None:
            return (
                f"'{host}', a name under '.{suffix}', which is reserved for private use: Let's Encrypt never "
                "issues for it; use mode 'local' (the local CA)"
            )
        zones = list(self.dns01.zones) if self.dns01 is not None else []
        in_zone = any(host_in_zone(host, zone) for zone in zones)
        if host.startswith("*.") and not in_zone:
            if "dns01" not in self.solvers:
                return (
                    f"the wildcard '{host}' but 'solvers' is {self.solvers}: Let's Encrypt validates wildcards only "
                    "over DNS-01; add 'dns01' to 'solvers' and set 'dns01'"
                )
            return f"the wildcard '{host}' outside the 'dns01.zones' {zones}: no solver could validate it"
        if not in_zone and "http01" not in self.solvers:
            return (
                f"'{host}' outside the 'dns01.zones' {zones} and 'solvers' has no 'http01' fallback: no solver "
                "could validate it"
            )
        return None

    def http01_host(self, host: str) -> bool:
        """Whether cert-manager proves 'host' over HTTP-01 (a solver pod in the Certificate's namespace)."""
        zones = list(self.dns01.zones) if self.dns01 is not None else []
        return self.acme_enabled and "http01" in self.solvers and not any(host_in_zone(host, zone) for zone in zones)

    @property
    def issuer_name(self) -> str:
        """Name of the ClusterIssuer 'mode' selects, for Ingress 'cert-manager.io/cluster-issuer' annotations."""
        return ISSUER_NAMES[self.mode]

    @property
    def acme_enabled(self) -> bool:
        """Whether the Let's Encrypt ClusterIssuers are created (they need 'email')."""
        return self.email is not None

    def http01_namespaces(self) -> list[str]:
        """Namespaces where HTTP-01 solver pods may run and need the ingress controller to reach them."""
        if not self.acme_enabled or "http01" not in self.solvers:
            return []
        namespaces = set(self.solver_namespaces)
        namespaces |= {cert.namespace for cert in self.certificates if (cert.issuer or self.mode) != "local"}
        return sorted(namespaces)


class CertIssuer(pulumi.ComponentResource):
    """TLS for the stack through cert-manager.

    Creates, as cluster-scoped ClusterIssuers:
    - 'letsencrypt-staging' and 'letsencrypt-production' (ACME, when 'email' is set) with an
      HTTP-01 solver on the ingress class and, for names in the DNS-01 zones (wildcards), a
      DNS-01 solver whose credential is a Pulumi secret stored in a Kubernetes Secret;
    - a local chain: 'keelson-selfsigned' -> CA Certificate 'keelson-ca' (isCA, 87600h,
      ECDSA P-256, in the cert-manager namespace) -> CA ClusterIssuer 'keelson-ca';
    then one Certificate per 'certificates' entry (90 d, renewed 30 d before expiry, new key each
    time) and, per namespace where HTTP-01 solver pods run, a NetworkPolicy admitting the ingress
    controller to them.

    Solver pod resources: every HTTP-01 solver carries podTemplate.spec.resources (honoured by
    cert-manager >= 1.19), and when this component installs cert-manager the same values are
    also passed as controller flags (--acme-http01-solver-resource-*), so solvers of issuers
    Keelson does not own fit the namespace LimitRange too.

    Install ('install=True'): a Helm release of the pinned jetstack chart with CRDs. The classic
    IaC failure is a ClusterIssuer sent before the webhook answers ("failed calling webhook
    webhook.cert-manager.io: x509: certificate signed by unknown authority" or "connection
    refused") on the first run. Two gates prevent it, and every cert-manager object depends on
    both: (1) the release is awaited (skip_await False, wait_for_jobs), and Helm waits for the
    chart's startupapicheck hook Job, which succeeds only once the webhook accepts a dry-run
    create; (2) a ValidatingWebhookConfigurationPatch with 'pulumi.com/waitFor' on the webhook's
    caBundle waits for cainjector to have made the webhook trusted.
    Ref: https://cert-manager.io/docs/installation/helm/
    Ref: https://www.pulumi.com/blog/improved-kubernetes-await-logic/
    Ref: https://github.com/pulumi/pulumi-kubernetes-cert-manager/issues/18

    Monitoring: MonitoringStack alerts on CertificateExpiringSoon and CertificateNotReady
    (components/monitoring/rules/certificates.py) for every Certificate, including those created
    from Ingress annotations.

    Outputs:
        issuer_name: name of the ClusterIssuer 'mode' selects, resolved once that issuer exists;
            pass it to Ingresses ('cert-manager.io/cluster-issuer').
        namespace: the cert-manager namespace.
        certificate_secrets: TLS Secret name of each declared certificate, keyed "namespace/name".
    """

    issuer_name: pulumi.Output[str]
    namespace: pulumi.Output[str]
    certificate_secrets: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: CertIssuerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("keelson:index:CertIssuer", name, None, opts)
        self.args = args
        labels = cert_manager.labels()

        self.release: k8s.helm.v3.Release | None = None
        self.webhook_ready: k8s.admissionregistration.v1.ValidatingWebhookConfigurationPatch | None = None
        gates: list[pulumi.Resource] = []
        if args.install:
            self.release = k8s.helm.v3.Release(
                f"{name}-release",
                k8s.helm.v3.ReleaseArgs(
                    name=cert_manager.RELEASE_NAME,
                    chart="cert-manager",
                    version=f"v{cert_manager.CERT_MANAGER_VERSION}",
                    repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=cert_manager.CHART_REPOSITORY),
                    namespace=args.namespace,
                    create_namespace=True,
                    values=cert_manager.helm_values(args.solver_resources, args.helm_values),
                    skip_await=False,
                    wait_for_jobs=True,
                    atomic=True,
                    cleanup_on_fail=True,
                    timeout=600,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.webhook_ready = k8s.admissionregistration.v1.ValidatingWebhookConfigurationPatch(
                f"{name}-webhook-ready",
                metadata={
                    "name": cert_manager.WEBHOOK_CONFIGURATION,
                    "annotations": {cert_manager.WAIT_FOR_ANNOTATION: cert_manager.WEBHOOK_CA_INJECTED},
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.release]),
            )
            gates = [self.release, self.webhook_ready]

        def after(*resources: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, depends_on=[*gates, *resources])

        def custom_resource(
            role: str, kind: str, metadata: dict[str, Any], spec: dict[str, Any], waits_for: list[pulumi.Resource]
        ) -> k8s.apiextensions.CustomResource:
            return k8s.apiextensions.CustomResource(
                f"{name}-{role}",
                api_version=cert_manager.API_VERSION,
                kind=kind,
                metadata={**metadata, "labels": labels},
                spec=spec,
                opts=after(*waits_for),
            )

        self.issuers: dict[str, k8s.apiextensions.CustomResource] = {}
        self.issuers[cert_manager.SELF_SIGNED_ISSUER] = custom_resource(
            "selfsigned-issuer",
            "ClusterIssuer",
            {"name": cert_manager.SELF_SIGNED_ISSUER},
            cert_manager.self_signed_issuer_spec(),
            waits_for=[],
        )
        self.ca_certificate = custom_resource(
            "ca-certificate",
            "Certificate",
            {"name": cert_manager.CA_SECRET, "namespace": args.namespace},
            cert_manager.certificate_spec(
                cert_manager.CA_SECRET,
                cert_manager.SELF_SIGNED_ISSUER,
                duration=args.ca_duration,
                renew_before=None,
                is_ca=True,
                common_name="Keelson local CA",
            ),
            waits_for=[self.issuers[cert_manager.SELF_SIGNED_ISSUER]],
        )
        self.issuers[cert_manager.CA_ISSUER] = custom_resource(
            "ca-issuer",
            "ClusterIssuer",
            {"name": cert_manager.CA_ISSUER},
            cert_manager.ca_issuer_spec(cert_manager.CA_SECRET),
            waits_for=[self.ca_certificate],
        )

        self.dns01_secret: k8s.core.v1.Secret | None = None
        if args.email is not None:
            solvers: list[dict[str, Any]] = []
            if args.dns01 is not None:
                secret_name = f"keelson-dns01-{args.dns01.provider}"
                self.dns01_secret = k8s.core.v1.Secret(
                    f"{name}-dns01-credentials",
                    metadata={"name": secret_name, "namespace": args.namespace, "labels": labels},
                    type="Opaque",
                    string_data={args.dns01.secret_key: pulumi.Output.secret(args.dns01.secret_value)},
                    opts=after(),
                )
                solvers.append(cert_manager.dns01_solver(args.dns01, secret_name))
            if "http01" in args.solvers:
                solvers.append(cert_manager.http01_solver(args.ingress_class, args.solver_resources))
            for issuer in cert_manager.LETSENCRYPT_SERVERS:
                self.issuers[issuer] = custom_resource(
                    issuer,
                    "ClusterIssuer",
                    {"name": issuer},
                    cert_manager.acme_issuer_spec(issuer, args.email, solvers),
                    waits_for=[self.dns01_secret] if self.dns01_secret else [],
                )

        self.certificates: dict[str, k8s.apiextensions.CustomResource] = {}
        self.certificate_secrets = {}
        for certificate in args.certificates:
            issuer = ISSUER_NAMES[certificate.issuer or args.mode]
            key = f"{certificate.namespace}/{certificate.name}"
            self.certificates[key] = custom_resource(
                f"certificate-{certificate.namespace}-{certificate.name}",
                "Certificate",
                {"name": certificate.name, "namespace": certificate.namespace},
                cert_manager.certificate_spec(
                    certificate.effective_secret_name,
                    issuer,
                    hosts=list(certificate.hosts),
                    duration=args.certificate_duration,
                    renew_before=args.renew_before,
                ),
                waits_for=[self.issuers[issuer]],
            )
            self.certificate_secrets[key] = self.certificates[key].spec.apply(lambda spec: spec["secretName"])

        self.solver_network_policies = [
            k8s.networking.v1.NetworkPolicy(
                f"{name}-solver-{namespace}",
                metadata={"name": "allow-acme-http01-solver", "namespace": namespace, "labels": labels},
                spec=cert_manager.solver_network_policy_spec(args.ingress_controller_namespace),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for namespace in args.http01_namespaces()
        ]

        self.issuer_name = self.issuers[args.issuer_name].metadata.apply(lambda metadata: metadata["name"])
        self.namespace = pulumi.Output.from_input(args.namespace)
        self.register_outputs(
            {
                "issuer_name": self.issuer_name,
                "namespace": self.namespace,
                "certificate_secrets": self.certificate_secrets,
            }
        )
