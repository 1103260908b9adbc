"""Where traffic may flow, as config models shared by the components' Args: the egress an app asks
for (EgressRule), its public exposure (IngressSpec) and the stack's edge policy (IngressPolicy), and
the cluster's network peers (NetworkPeers) every NetworkPolicy is written against.

Like every model in models.py, each rejects unknown keys and documents its defaults.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from .models import Cidr, DnsLabel, Hostname, KeelsonModel, LabelKey, LabelValue, Port


class EgressRule(KeelsonModel):
    """An allowed egress destination beyond DNS."""

    cidr: Cidr
    """Destination network, e.g. 10.0.0.0/8 or 0.0.0.0/0. Required."""
    ports: list[Port] = Field(min_length=1)
    """Destination ports. Required, at least one: a rule without ports would open every port of the network."""
    protocol: Literal["TCP", "UDP"] = "TCP"
    """Transport protocol of the ports. Default: 'TCP', what HTTPS and most APIs use."""


class IngressSpec(KeelsonModel):
    """Public HTTPS exposure of an app through the cluster's Ingress controller."""

    host: Hostname
    """Public hostname; a TLS certificate is issued for it. Required."""
    path: str = Field(default="/", pattern=r"^/")
    """Path prefix routed to the app. Default: /, the whole host."""
    source_ranges: list[Cidr] = Field(default=[])
    """Client networks allowed to reach this Ingress (ingress-nginx whitelist-source-range); others get
    403. Default: none, i.e. anyone, because a public app serves the internet; set it for admin
    endpoints (the production stack does for Grafana). Needs the controller to see client addresses
    (externalTrafficPolicy Local or the PROXY protocol)."""


class IngressPolicy(KeelsonModel):
    """How every Ingress of the stack is exposed: controller, TLS issuer and edge protections.

    Default: 100 requests/min and 10 concurrent connections per client IP, 1m bodies, TLS 1.2/1.3
    AEAD ciphers and strict security headers, because an unprotected edge is the first thing a
    scanner finds. Raise the limits per stack when a real client needs more.
    """

    class_name: DnsLabel = "nginx"
    """IngressClass of the controller that serves the Ingresses. Default: 'nginx', because the
    annotations Keelson writes are ingress-nginx's."""
    controller_namespace: DnsLabel = "ingress-nginx"
    """Namespace of the ingress controller; only it may reach the app ports. Default: 'ingress-nginx',
    where ingress-nginx's own manifests install it."""
    cluster_issuer: DnsLabel = "letsencrypt-staging"
    """cert-manager ClusterIssuer that signs the Ingress certificates. Default: 'letsencrypt-staging',
    whose rate limits forgive mistakes; in a stack keelson:tls.mode chooses it, never this key."""
    rate_limit_rpm: int = Field(default=100, ge=1)
    """Requests per minute allowed per client IP. Default: 100, so one client cannot flood the app;
    raise it when a real client needs more."""
    rate_limit_connections: int = Field(default=10, ge=1)
    """Concurrent connections allowed per client IP. Default: 10, so one client cannot tie up the
    app with many slow or parallel connections; raise it when a real client needs more."""
    body_size: str = Field(default="1m", pattern=r"^[0-9]+[kmg]?$")
    """Largest request body accepted (nginx size: 1m, 512k). Default: 1m, so only a stack that
    raises it accepts large uploads."""
    content_security_policy: str = "default-src 'self'; frame-ancestors 'none'; object-src 'none'"
    """Content-Security-Policy header sent with every response. Default: content from the page's own
    origin only, no framing, no plugins; loosen it for apps that load third-party scripts."""
    hsts_max_age_seconds: int = Field(default=31536000, ge=0)
    """Strict-Transport-Security max-age. Default: 31536000 (one year), so browsers refuse plain HTTP
    to the host; 0 tells browsers to forget the policy (RFC 6797), the one way to undo HSTS."""

    @field_validator("body_size")
    @classmethod
    def _body_size_limits(cls, size: str) -> str:
        if int(size.rstrip("kmg")) == 0:
            raise ValueError(
                f"'{size}' would lift the limit: nginx reads a client_max_body_size of 0 as no limit at all; "
                "give a size such as 1m"
            )
        return size

    @field_validator("content_security_policy")
    @classmethod
    def _header_value(cls, policy: str) -> str:
        if not policy.strip() or any(ord(character) < 32 or ord(character) == 127 for character in policy):
            raise ValueError(
                "must be a non-empty header value without control characters (a line break would end the "
                "header and nginx refuses the configuration)"
            )
        return policy


PRIVATE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
"""The RFC 1918 ranges, where almost every cluster's pod, Service and node addresses live."""


class NetworkPeers(KeelsonModel):
    """Where the traffic an app must accept comes from, where cluster DNS, the API server and the
    cluster's own networks are.

    Default for 'clusterNetworks' and 'apiServer': the private (RFC 1918) ranges, because a
    NetworkPolicy cannot select the API server or a node by label and their addresses are
    cluster-specific; that is far narrower than anywhere, yet every stack should name its own
    ranges (the production and cluster stacks do).
    """

    monitoring_namespace: DnsLabel = "monitoring"
    """Namespace of Prometheus; only it may scrape the metrics ports. Default: 'monitoring', the
    MonitoringStack's default namespace."""
    dns_namespace: DnsLabel = "kube-system"
    """Namespace of the cluster DNS pods. Default: 'kube-system', where kubeadm, kind and most managed
    clusters run them."""
    dns_pod_labels: dict[LabelKey, LabelValue] = {"k8s-app": "kube-dns"}
    """Labels of the cluster DNS pods. Default: k8s-app=kube-dns, the label CoreDNS keeps on kubeadm,
    kind and most managed clusters."""
    cluster_networks: list[Cidr] = Field(default=list(PRIVATE_NETWORKS), min_length=1)
    """The cluster's pod, Service and node ranges: the only destinations Prometheus may scrape
    (on any port, since targets choose their own). Default: the RFC 1918 ranges."""
    api_server: list[EgressRule] = Field(
        default=[EgressRule(cidr=cidr, ports=[443, 6443]) for cidr in PRIVATE_NETWORKS], min_length=1
    )
    """Where the Kubernetes API server answers, for the platform pods that call it (Prometheus'
    discovery, the log collector's metadata filter). Default: ports 443 and 6443 in the RFC 1918
    ranges; name the control plane's address and port per stack."""


class AppPeer(KeelsonModel):
    """Pods an app exchanges traffic with: another HardenedApp by name, or any pods by label.

    Used on both sides of a call: the caller lists the callee in 'talksTo' (an egress rule to the
    callee's pods) and the callee lists the caller in 'allowFrom' (an ingress rule from the caller's
    pods). A stack names only the callee in the caller's 'talksTo'; the program adds the other side.
    """

    app: DnsLabel | None = None
    """A HardenedApp of the same environment: its pods (app.kubernetes.io/name and /instance labels).
    Default: none; give this or 'podLabels'."""
    pod_labels: dict[LabelKey, LabelValue] = Field(default={})
    """Labels of other pods, for workloads that are not HardenedApps. Default: none; give these or 'app'."""
    namespace: DnsLabel | None = None
    """Namespace of the pods. Default: none, the app's own namespace."""
    ports: list[Port] = Field(default=[])
    """In 'talksTo': the callee's container ports; in 'allowFrom': the ports of this app the caller may
    reach. Default: none, meaning the port named 'http' (where every HardenedApp serves); a 'podLabels'
    peer in 'talksTo' must name its ports."""

    @model_validator(mode="after")
    def _app_or_labels(self) -> AppPeer:
        if (self.app is None) == (not self.pod_labels):
            raise ValueError(
                f"give exactly one of 'app' ({self.app}) and 'podLabels' ({self.pod_labels or '{}'}): "
                "a peer is a HardenedApp by name or other pods by label"
            )
        return self

    def selector(self, environment: str) -> dict[str, str]:
        """The pod labels this peer selects (a HardenedApp's by its name and instance)."""
        if self.app is not None:
            return {"app.kubernetes.io/name": self.app, "app.kubernetes.io/instance": f"{self.app}-{environment}"}
        return dict(self.pod_labels)
