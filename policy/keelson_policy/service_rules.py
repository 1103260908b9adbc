"""Rules over Services: nothing is exposed through a cloud load balancer unless someone said why.

Ref: https://kubernetes.io/docs/concepts/services-networking/service/#loadbalancer
"""

from __future__ import annotations

from .resources import ANNOTATION_PREFIX, KubernetesObject, as_mapping
from .rules import ResourceRule, violation

ALLOW_LOAD_BALANCER = "allow-load-balancer"
"""Exemption annotation (`policy.keelson.dev/allow-load-balancer: <reason>`) for a reviewed public entry point;
Keelson apps are reached through the ingress controller instead."""


def check_no_unapproved_load_balancer(obj: KubernetesObject) -> list[str]:
    if obj.kind != "Service" or as_mapping(obj.props.get("spec")).get("type") != "LoadBalancer":
        return []
    if obj.exemption(ALLOW_LOAD_BALANCER):
        return []
    return [
        violation(
            NO_UNAPPROVED_LOAD_BALANCER.name,
            obj.label,
            "is of type LoadBalancer, which opens a public cloud load balancer",
            "use a ClusterIP Service behind the Ingress, or annotate the Service with "
            f"{ANNOTATION_PREFIX}{ALLOW_LOAD_BALANCER}: '<why it must be exposed directly>'",
        )
    ]


NO_UNAPPROVED_LOAD_BALANCER = ResourceRule(
    "keelson-no-unapproved-load-balancer",
    f"Services of type LoadBalancer carry the {ANNOTATION_PREFIX}{ALLOW_LOAD_BALANCER} annotation with a reason.",
    check_no_unapproved_load_balancer,
)

SERVICE_RULES = (NO_UNAPPROVED_LOAD_BALANCER,)
