"""GovernedNamespace: a namespace with Pod Security labels, quota, limits and default-deny policies."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .builders import network_policies, namespace_policy
from .builders.labels import MONITORED_NAMESPACE_LABEL, PART_OF, MANAGED_BY
from .models import NamespaceSpec
from .network_models import NetworkPeers


class GovernedNamespaceArgs(NamespaceSpec):
    """Arguments of GovernedNamespace.

    Every pod of the namespace starts with no network access at all (default deny in both
    directions) except DNS, because a compromised pod should find nothing to talk to. Workloads
    open exactly what they need with their own NetworkPolicies (HardenedApp does this).
    """

    network: NetworkPeers = NetworkPeers()
    """Where cluster DNS lives, for the policy allowing DNS. Default: kube-system's kube-dns pods (see
    NetworkPeers); in a stack, keelson:network sets it."""


class GovernedNamespace(pulumi.ComponentResource):
    """A namespace governed by Pod Security Admission, a ResourceQuota, a LimitRange and
    default-deny NetworkPolicies.

    Outputs:
        name: the namespace's name, known once the Namespace is registered.
    """

    name: pulumi.Output[str]

    def __init__(self, name: str, args: GovernedNamespaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("keelson:index:GovernedNamespace", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels: dict[str, str] = {
            "app.kubernetes.io/part-of": PART_OF,
            "app.kubernetes.io/managed-by": MANAGED_BY,
            **namespace_policy.pod_security_labels(args.pod_security),
        }
        if args.monitored:
            labels[MONITORED_NAMESPACE_LABEL] = "true"

        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": args.name, "labels": labels},
            opts=child,
        )
        self.name = self.namespace.metadata.name

        scoped = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])

        def metadata(object_name: str) -> dict[str, Any]:
            return {"name": object_name, "namespace": args.name, "labels": {"app.kubernetes.io/part-of": PART_OF}}

        self.resource_quota = k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata=metadata("compute-quota"),
            spec=namespace_policy.resource_quota_spec(args.quota),
            opts=scoped,
        )
        self.limit_range = k8s.core.v1.LimitRange(
            f"{name}-limits",
            metadata=metadata("container-limits"),
            spec=namespace_policy.limit_range_spec(args.limit_range),
            opts=scoped,
        )
        self.default_deny = k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata=metadata("default-deny-all"),
            spec=network_policies.default_deny(),
            opts=scoped,
        )
        self.allow_dns = k8s.networking.v1.NetworkPolicy(
            f"{name}-allow-dns",
            metadata=metadata("allow-dns-egress"),
            spec=network_policies.allow_dns_egress(args.network.dns_namespace, args.network.dns_pod_labels),
            opts=scoped,
        )
        self.register_outputs({"name": self.name})
