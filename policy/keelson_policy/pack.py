"""The rules as a pulumi_policy PolicyPack: every rule mandatory, on every Kubernetes object of any program."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import RESOURCE_RULES, STACK_RULES
from .resources import KubernetesObject, kind_of
from .rules import ResourceRule, StackRule

PACK_NAME = "keelson-hardening"


def resource_policy(rule: ResourceRule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if kind_of(args.resource_type) is None:
            return
        obj = KubernetesObject(args.resource_type, args.props, args.urn, args.name)
        for message in rule.check(obj):
            report_violation(message, None)

    return ResourceValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )


def stack_policy(rule: StackRule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        objects = [
            KubernetesObject(resource.resource_type, resource.props, resource.urn, resource.name)
            for resource in args.resources
            if kind_of(resource.resource_type) is not None
        ]
        for obj, message in rule.check(objects):
            report_violation(message, obj.urn or None)

    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )


def policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    return [*(resource_policy(rule) for rule in RESOURCE_RULES), *(stack_policy(rule) for rule in STACK_RULES)]


def serve() -> None:
    """Start the analyzer: PolicyPack serves gRPC on 127.0.0.1 and prints its port for the engine."""
    PolicyPack(
        name=PACK_NAME,
        enforcement_level=EnforcementLevel.MANDATORY,
        policies=policies(),
        description="Keelson's hardening rules for the Kubernetes objects of any Pulumi program.",
    )
