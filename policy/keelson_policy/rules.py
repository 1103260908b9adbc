"""The shapes of a rule: pure checks, run by the policy pack and by the unit tests alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .resources import KubernetesObject


@dataclass(frozen=True)
class ResourceRule:
    """A rule over one Kubernetes object: `check` returns one message per violation (none when it complies)."""

    name: str
    description: str
    check: Callable[[KubernetesObject], list[str]]


@dataclass(frozen=True)
class StackRule:
    """A rule over every Kubernetes object of a stack: `check` returns (offending object, message) pairs."""

    name: str
    description: str
    check: Callable[[list[KubernetesObject]], list[tuple[KubernetesObject, str]]]


def violation(rule: str, subject: str, problem: str, fix: str) -> str:
    """One violation message: which rule, which object (and container), what is wrong and how to fix it."""
    return f"[{rule}] {subject}: {problem}. Fix: {fix}."
