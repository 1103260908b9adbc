"""Args documentation: every field of every Args model, nested ones included, names its default or says it is required.

A field's description (the docstring under it, or Field(description=...)) is what the README's
config reference and an editor show; one that does not name the default leaves the reader guessing
what leaving the key out gives them (STYLE.md rule 5: "Default: ... because ...").
"""

from __future__ import annotations

import inspect
import re
import typing
from typing import Any, Iterable, Iterator, Literal

from pydantic.fields import FieldInfo

from keelson import CertIssuerArgs, GovernedNamespaceArgs, HardenedAppArgs, LoggingStackArgs, MonitoringStackArgs
from keelson.docstrings import with_field_docstrings
from keelson.models import KeelsonModel
from settings import StackSettings

PUBLIC_ARGS: tuple[type[KeelsonModel], ...] = (
    HardenedAppArgs,
    GovernedNamespaceArgs,
    MonitoringStackArgs,
    LoggingStackArgs,
    CertIssuerArgs,
    StackSettings,
)
"""The models users fill in; every model their fields hold is walked too."""

_DEFAULT = re.compile(r"\bDefault\b")
_REQUIRED = re.compile(r"\bRequired\b")


def _models_in(annotation: Any) -> Iterator[type[KeelsonModel]]:
    """The models an annotation holds: itself, or inside Optional, unions, lists, dicts and tuples."""
    if isinstance(annotation, type) and issubclass(annotation, KeelsonModel):
        yield annotation
    for argument in typing.get_args(annotation):
        yield from _models_in(argument)


def _is_choice(annotation: Any) -> bool:
    """Whether the annotation is (or holds) a Literal: such a description lists every choice."""
    return typing.get_origin(annotation) is typing.Literal or any(
        _is_choice(argument) for argument in typing.get_args(annotation)
    )


def reachable_models(roots: Iterable[type[KeelsonModel]]) -> list[type[KeelsonModel]]:
    """Every model reachable from 'roots' through field annotations, roots first."""
    found: dict[type[KeelsonModel], None] = {}
    pending = list(roots)
    while pending:
        model = pending.pop(0)
        if model in found:
            continue
        found[model] = None
        for field in model.model_fields.values():
            pending.extend(_models_in(field.annotation))
    return list(found)


def _declared_by(model: type[KeelsonModel], name: str) -> type[KeelsonModel]:
    """The class whose body declares the field, so an inherited field is reported once, where it is written."""
    return next(klass for klass in model.__mro__ if name in inspect.get_annotations(klass))


def _names_value(text: str, default: Any, annotation: Any) -> bool:
    """Whether the text spells the default itself, where that says something.

    Numbers and free-form strings count. Booleans and None do not (true, false and none describe
    what a value does as often as which one is the default), nor do the choices of a Literal (a
    description lists them all), nor lists, mappings and models (too long to spell; say "Default:").
    """
    if isinstance(default, bool) or default is None:
        return False
    if isinstance(default, (int, float)):
        rendered = f"{default:g}" if isinstance(default, float) else str(default)
        return re.search(rf"(?<![\w.]){re.escape(rendered)}(?!\w|\.\d)", text) is not None
    if isinstance(default, str) and default:
        return not _is_choice(annotation) and default in text
    return False


def field_problem(field: FieldInfo) -> str | None:
    """What the field's description lacks, or None when it documents the field."""
    text = (field.description or "").strip()
    if not text:
        return "no description"
    if field.is_required():
        if _REQUIRED.search(text):
            return None
        return "the field has no default, but its description does not say 'Required'"
    default = field.get_default(call_default_factory=True)
    if _DEFAULT.search(text) or _names_value(text, default, field.annotation):
        return None
    shown = repr(default) if len(repr(default)) <= 40 else f"{repr(default)[:37]}..."
    return f"the description does not name the default ({shown}): say 'Default: ..., because ...'"


def walked_fields(roots: Iterable[type[KeelsonModel]]) -> dict[str, FieldInfo]:
    """{'Model.field (alias)': field} for every field of every reachable model, each under the class declaring it."""
    fields: dict[str, FieldInfo] = {}
    for model in reachable_models(roots):
        for name, field in with_field_docstrings(model).model_fields.items():
            label = f"{_declared_by(model, name).__name__}.{name} ({field.alias or name})"
            fields.setdefault(label, field)
    return fields


def documentation_problems(roots: Iterable[type[KeelsonModel]]) -> list[str]:
    """'Model.field (alias): what is missing' for every field reachable from 'roots' that is not documented."""
    problems = []
    for label, field in walked_fields(roots).items():
        problem = field_problem(field)
        if problem is not None:
            problems.append(f"{label}: {problem}")
    return problems


def test_every_args_field_names_its_default_or_says_it_is_required():
    problems = documentation_problems(PUBLIC_ARGS)
    assert not problems, f"{len(problems)} Args fields do not document their default:\n  " + "\n  ".join(problems)


def test_the_walk_reaches_the_models_nested_deepest():
    walked = {model.__name__ for model in reachable_models(PUBLIC_ARGS)}
    nested = {
        "ComputeResources",  # StackSettings.apps[...].resources.requests
        "EgressRule",  # NetworkPeers.api_server[...]
        "Dns01Solver",  # CertIssuerArgs.dns01 (Optional)
        "CertificateSpec",  # CertIssuerArgs.certificates[...]
        "EmailChannel",  # MonitoringStackArgs.channels.email
        "LokiLimits",  # LoggingStackArgs.loki.limits
        "CollectorNamespaceSpec",  # a NamespaceSpec subclass with a field of its own
        "PriorityClasses",  # StackSettings.scheduling.priority_classes
        "KubernetesSettings",
    }
    assert nested <= walked, f"the walk missed {sorted(nested - walked)}"
    assert len(walked_fields(PUBLIC_ARGS)) > 200


def test_undocumented_fields_fail_the_check():
    class Probe(KeelsonModel):
        documented: int = 3
        """How many probes. Default: 3, because one lost probe must not page anyone."""
        by_value: int = 5
        """Seconds between probes (5)."""
        undocumented: int = 7
        silent_default: bool = False
        """Whether to probe at all."""
        mode: Literal["fast", "slow"] = "fast"
        """'fast' or 'slow' (a list of the choices does not say which one is the default)."""
        needed: str
        """Where to probe."""

    class Holder(KeelsonModel):
        probe: Probe | None = None
        """The probe. Default: none, so nothing is probed."""

    assert documentation_problems([Holder]) == [
        "Probe.undocumented (undocumented): no description",
        "Probe.silent_default (silentDefault): the description does not name the default (False): "
        "say 'Default: ..., because ...'",
        "Probe.mode (mode): the description does not name the default ('fast'): say 'Default: ..., because ...'",
        "Probe.needed (needed): the field has no default, but its description does not say 'Required'",
    ]
