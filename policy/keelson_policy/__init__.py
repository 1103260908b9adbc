"""Keelson's hardening rules as pure checks over Kubernetes objects, for any Pulumi program.

The checks import nothing from Pulumi, so they are unit-tested on plain dicts; `keelson_policy.pack`
wraps them into a pulumi_policy PolicyPack (see policy/__main__.py).
"""

from .pod_rules import POD_RULES
from .resources import ANNOTATION_PREFIX, KubernetesObject, kind_of
from .rules import ResourceRule, StackRule
from .service_rules import SERVICE_RULES
from .stack_rules import STACK_RULES

RESOURCE_RULES = (*POD_RULES, *SERVICE_RULES)
ALL_RULES = (*RESOURCE_RULES, *STACK_RULES)

__all__ = [
    "ALL_RULES",
    "ANNOTATION_PREFIX",
    "KubernetesObject",
    "RESOURCE_RULES",
    "ResourceRule",
    "STACK_RULES",
    "StackRule",
    "kind_of",
]
