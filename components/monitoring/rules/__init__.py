"""Prometheus alerting and recording rules, as data, one module per domain.

    rule_files(objectives)        -> {"apps.rules.yaml": {"groups": [...]}, ...}
    render_rule_files(objectives) -> {"apps.rules.yaml": "<YAML text>", ...}

Each domain module (apps, workloads, storage, certificates, platform, kubernetes, nodes,
self_monitoring, backups) holds its recording rules and its alerts; slo builds both from the SloObjective
list. The promtool unit tests of every alert live beside them in tests/<domain>_test.yaml and load
the files by the names returned here.
"""

from __future__ import annotations

from typing import Any, Sequence

import yaml

from ..models import SloObjective
from . import apps, backups, certificates, kubernetes, nodes, platform, self_monitoring, slo, storage, workloads

STATIC_DOMAINS = {
    "apps": apps.GROUPS,
    "workloads": workloads.GROUPS,
    "storage": storage.GROUPS,
    "certificates": certificates.GROUPS,
    "platform": platform.GROUPS,
    "kubernetes": kubernetes.GROUPS,
    "nodes": nodes.GROUPS,
    "self_monitoring": self_monitoring.GROUPS,
    "backups": backups.GROUPS,
}


def rule_file_name(domain: str) -> str:
    """Return the file name of a domain's rules, e.g. 'apps.rules.yaml'."""
    return f"{domain}.rules.yaml"


def _overlap(first: SloObjective, second: SloObjective) -> bool:
    same_namespace = None in (first.namespace, second.namespace) or first.namespace == second.namespace
    return first.app == second.app and same_namespace


def rule_files(objectives: Sequence[SloObjective] = ()) -> dict[str, dict[str, Any]]:
    """Return every rule file as {file name: rule-file document}, the SLO file last.

    Raises ValueError when two objectives cover the same app in the same namespace, since their
    recording rules would write the same series.
    """
    overlapping = sorted(
        {
            f"{objective.namespace or '<every namespace>'}/{objective.app}"
            for index, objective in enumerate(objectives)
            for other in objectives[index + 1 :]
            if _overlap(objective, other)
        }
    )
    if overlapping:
        raise ValueError(
            "SLO objectives must cover each app once (an objective without 'namespace' covers the app in "
            f"every namespace); overlapping: {', '.join(overlapping)}"
        )
    files = {rule_file_name(domain): {"groups": groups} for domain, groups in STATIC_DOMAINS.items()}
    files[rule_file_name("slo")] = {"groups": slo.groups(objectives)}
    return files


class _RuleDumper(yaml.SafeDumper):
    """A SafeDumper writing multi-line strings (PromQL) as literal blocks, readable in review."""


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_RuleDumper.add_representer(str, _represent_str)


def to_yaml(document: Any) -> str:
    """Return a rule or config document as YAML (safe types only, keys in insertion order)."""
    return yaml.dump(document, Dumper=_RuleDumper, sort_keys=False, default_flow_style=False, width=120)


def render_rule_files(objectives: Sequence[SloObjective] = ()) -> dict[str, str]:
    """Return every rule file as {file name: YAML text}, ready for a ConfigMap or a directory."""
    return {name: to_yaml(document) for name, document in rule_files(objectives).items()}


def all_rules(objectives: Sequence[SloObjective] = ()) -> list[dict[str, Any]]:
    """Return every rule of every file, in file and group order."""
    return [
        rule for document in rule_files(objectives).values() for group in document["groups"] for rule in group["rules"]
    ]
