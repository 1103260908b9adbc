"""Pod templates of a HardenedApp's Jobs and CronJobs (pure: no Pulumi resources involved)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..app_jobs import JOB_COMPONENT, JobSpec
from . import network_policies
from .app_deployment import peer_rules
from .workload import hardened_container, hardened_pod_spec

if TYPE_CHECKING:
    from ..hardened_app_args import HardenedAppArgs


def job_labels(labels: dict[str, str]) -> dict[str, str]:
    """The app's labels with the component 'job': the app's Service and policies never select them."""
    return {**labels, "app.kubernetes.io/component": JOB_COMPONENT}


def job_template(name: str, args: HardenedAppArgs, job: JobSpec, labels: dict[str, str], has_secret: bool) -> dict[str, Any]:
    """The pod template of one of the app's Jobs: its image (the app's by default), env, resources and
    hardening, no probes and no ports, restartPolicy Never (the Job's backoffLimit retries)."""
    env_from: list[dict[str, Any]] = [{"configMapRef": {"name": f"{name}-config"}}]
    if has_secret:
        env_from.append({"secretRef": {"name": f"{name}-secrets"}})
    container = hardened_container(
        "job",
        job.image or args.image,
        args.resources,
        writable_paths=list(args.writable_paths),
        user_id=args.user_id,
        command=list(job.command),
        args=list(job.args) if job.args else None,
        envFrom=env_from,
    )
    pod = hardened_pod_spec(
        [container], service_account=name, selector={}, writable_paths=list(args.writable_paths), user_id=args.user_id,
        api_access=args.api_access, priority_class_name=args.placement.priority_class_name,
    )
    # One run, not replicas: spreading means nothing here.
    for key in ("affinity", "topologySpreadConstraints"):
        pod.pop(key)
    return {"metadata": {"labels": job_labels(labels)}, "spec": {**pod, "restartPolicy": "Never"}}


def job_network_policy(args: HardenedAppArgs, labels: dict[str, str]) -> dict[str, Any]:
    """The Job pods' policy: the app's egress ('egress' and 'talksTo'), no ingress."""
    selector = {key: job_labels(labels)[key] for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component")}
    egress = [
        *network_policies.allow_egress(selector, list(args.egress))["egress"],
        *network_policies.allow_egress_to_peers(selector, peer_rules(args.talks_to, args.environment))["egress"],
    ]
    return {"podSelector": {"matchLabels": selector}, "policyTypes": ["Ingress", "Egress"], "ingress": [], "egress": egress}
