"""NetworkPolicy specs: deny everything, then allow exactly the flows a workload needs.

Ref: https://kubernetes.io/docs/concepts/services-networking/network-policies/
"""

from __future__ import annotations

from typing import Any

from ..network_models import EgressRule

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""Set by the API server on every namespace (Kubernetes >= 1.22); safe to select on."""


def default_deny() -> dict[str, Any]:
    """Return a spec that selects every pod of the namespace and allows no traffic either way."""
    return {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def allow_dns_egress(dns_namespace: str, dns_pod_labels: dict[str, str]) -> dict[str, Any]:
    """Return a spec letting every pod of the namespace resolve names through cluster DNS."""
    return {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [
            {
                "to": [
                    {
                        "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: dns_namespace}},
                        "podSelector": {"matchLabels": dict(dns_pod_labels)},
                    }
                ],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            }
        ],
    }


def pods_in_namespace(namespace: str, pod_labels: dict[str, str]) -> dict[str, Any]:
    """Return a peer selecting the pods with 'pod_labels' in one namespace (and in no other)."""
    return {
        "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}},
        "podSelector": {"matchLabels": dict(pod_labels)},
    }


def allow_ingress_from_namespace(
    pod_labels: dict[str, str],
    source_namespace: str,
    port: str | int,
    source_pod_labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Return a spec letting pods of one namespace (optionally only some of them) reach one port."""
    peer: dict[str, Any] = {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: source_namespace}}}
    if source_pod_labels:
        peer["podSelector"] = {"matchLabels": dict(source_pod_labels)}
    return {
        "podSelector": {"matchLabels": dict(pod_labels)},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [peer], "ports": [{"protocol": "TCP", "port": port}]}],
    }


def allow_egress(pod_labels: dict[str, str], rules: list[EgressRule]) -> dict[str, Any]:
    """Return a spec letting the selected pods reach the given CIDRs and ports."""
    return {
        "podSelector": {"matchLabels": dict(pod_labels)},
        "policyTypes": ["Egress"],
        "egress": [
            {
                "to": [{"ipBlock": {"cidr": rule.cidr}}],
                "ports": [{"protocol": rule.protocol, "port": port} for port in rule.ports],
            }
            for rule in rules
        ],
    }


def allow_egress_to_networks(cidrs: list[str]) -> list[dict[str, Any]]:
    """Return egress rules reaching every port of the given networks (e.g. the cluster's pod,
    Service and node ranges, for a scraper whose targets listen on any port)."""
    return [{"to": [{"ipBlock": {"cidr": cidr}} for cidr in cidrs]}] if cidrs else []


def peer(namespace: str | None, pod_labels: dict[str, str]) -> dict[str, Any]:
    """Return a NetworkPolicy peer: pods by label in one namespace, or in the policy's own one."""
    return pods_in_namespace(namespace, pod_labels) if namespace else {"podSelector": {"matchLabels": dict(pod_labels)}}


def allow_ingress_from_peers(pod_labels: dict[str, str], sources: list[tuple[dict[str, Any], list[int | str]]]) -> dict[str, Any]:
    """Return a spec letting each source peer reach its ports of the selected pods."""
    return {
        "podSelector": {"matchLabels": dict(pod_labels)},
        "policyTypes": ["Ingress"],
        "ingress": [
            {"from": [source], "ports": [{"protocol": "TCP", "port": port} for port in ports]} for source, ports in sources
        ],
    }


def allow_egress_to_peers(pod_labels: dict[str, str], targets: list[tuple[dict[str, Any], list[int | str]]]) -> dict[str, Any]:
    """Return a spec letting the selected pods reach each target peer on its ports."""
    return {
        "podSelector": {"matchLabels": dict(pod_labels)},
        "policyTypes": ["Egress"],
        "egress": [
            {"to": [target], "ports": [{"protocol": "TCP", "port": port} for port in ports]} for target, ports in targets
        ],
    }
