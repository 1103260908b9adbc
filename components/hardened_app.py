"""HardenedApp: a secure-by-default web API or worker with everything it needs around it.

Its Args live in hardened_app_args.py; the pure specs it registers in builders/app_deployment.py
and builders/app_jobs.py.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from .app_canary import register_canary
from .app_files import register_files
from .builders import autoscaling as autoscaling_builder
from .builders import ingress as ingress_builder
from .builders.app_deployment import app_config, deployment_spec, network_policy_specs, stateful_set_spec
from .builders.app_jobs import job_network_policy, job_template
from .builders.labels import image_version, selector_labels, standard_labels
from .footprint import pod_footprint
from .hardened_app_args import HardenedAppArgs, LogLevel  # noqa: F401  (LogLevel re-exported for settings)
from .models import NamespaceSpec
from .namespace import GovernedNamespace, GovernedNamespaceArgs

class HardenedApp(pulumi.ComponentResource):
    """A hardened Deployment with its ServiceAccount, least-privilege Role, ConfigMap, Secret,
    Service, optional TLS Ingress, HPA, PDB and NetworkPolicies.

    Outputs:
        namespace: the namespace the app runs in.
        service_name: the ClusterIP Service's name.
        internal_url: http URL of the Service inside the cluster.
        url: public https URL, or None when the app has no Ingress.
    """

    namespace: pulumi.Output[str]
    service_name: pulumi.Output[str]
    internal_url: pulumi.Output[str]
    url: pulumi.Output[str] | None

    def __init__(self, name: str, args: HardenedAppArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("keelson:index:HardenedApp", name, None, opts)
        self.args = args
        wanted = args.namespace_for(name)
        namespace = wanted if isinstance(wanted, str) else wanted.name
        labels = {
            **args.metadata.labels,
            **standard_labels(name, f"{name}-{args.environment}", args.component, image_version(args.image)),
        }
        selector = selector_labels(labels)

        depends: list[pulumi.Resource] = []
        if isinstance(wanted, NamespaceSpec):
            governed = GovernedNamespace(
                f"{name}-ns",
                GovernedNamespaceArgs(**dict(wanted), network=args.network),
                opts=pulumi.ResourceOptions(parent=self),
            )
            depends.append(governed)
        child = pulumi.ResourceOptions(parent=self, depends_on=depends)

        def metadata(object_name: str, **extra: Any) -> dict[str, Any]:
            return {"name": object_name, "namespace": namespace, "labels": labels, **extra}

        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=metadata(name, **({"annotations": dict(args.identity.service_account_annotations)}
                                       if args.identity.service_account_annotations else {})),
            automount_service_account_token=False,
            opts=child,
        )
        self.config_map = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=metadata(f"{name}-config"),
            data=app_config(args),
            opts=child,
        )

        secret_values: dict[str, pulumi.Input[str]] = {
            key: pulumi.Output.secret(value.get_secret_value()) for key, value in args.secret_env.items()
        }
        self.generated_passwords: dict[str, random.RandomPassword] = {}
        for key in args.generated_secrets:
            password = random.RandomPassword(
                f"{name}-{key.lower().replace('_', '-')}",
                length=32,
                special=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.generated_passwords[key] = password
            secret_values[key] = password.result

        self.secret: k8s.core.v1.Secret | None = None
        secret_names: list[str] = []
        if secret_values:
            self.secret = k8s.core.v1.Secret(
                f"{name}-secret",
                metadata=metadata(f"{name}-secrets"),
                type="Opaque",
                string_data=secret_values,
                opts=child,
            )
            secret_names.append(f"{name}-secrets")

        self.files, file_names = register_files(name, args.files, metadata, child)
        rules: list[dict[str, Any]] = [
            {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [f"{name}-config", *file_names["configmaps"]],
             "verbs": ["get"]}
        ]
        if secret_names or file_names["secrets"]:
            rules.append({"apiGroups": [""], "resources": ["secrets"], "resourceNames": [*secret_names, *file_names["secrets"]],
                          "verbs": ["get"]})
        self.role = k8s.rbac.v1.Role(f"{name}-role", metadata=metadata(f"{name}-read-own-config"), rules=rules, opts=child)
        self.role_binding = k8s.rbac.v1.RoleBinding(
            f"{name}-rolebinding",
            metadata=metadata(f"{name}-read-own-config"),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{name}-read-own-config"},
            subjects=[{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
            opts=child,
        )

        spec = deployment_spec(name, args, labels, selector, has_secret=bool(secret_names))
        canary_pods = args.canary.replicas if args.canary else 0
        self.footprint = pod_footprint(spec["template"]["spec"], args.replicas + canary_pods)
        """What the app (and its canary) requests and may use at its configured replica count."""
        self.peak_footprint = pod_footprint(
            spec["template"]["spec"],
            (args.autoscaling.max_replicas if args.autoscaling else args.replicas) + 1 + (canary_pods + 1 if canary_pods else 0),
        )
        """At the autoscaling maximum plus the rollout's surge pod (and the canary's pods plus its
        surge pod): what the quota must fit."""
        self.jobs = self._jobs(name, args, labels, metadata, child, has_secret=bool(secret_names))
        workload = k8s.apps.v1.StatefulSet if args.storage else k8s.apps.v1.Deployment
        if args.storage:
            spec = stateful_set_spec(spec, args, name, selector)
            k8s.core.v1.Service(
                f"{name}-headless",
                metadata=metadata(f"{name}-headless"),
                spec={"clusterIP": "None", "selector": selector, "ports": [{"name": "http", "port": args.port, "targetPort": "http"}]},
                opts=child,
            )
        self.deployment = workload(
            f"{name}-statefulset" if args.storage else f"{name}-deployment",
            metadata=metadata(name),
            spec=spec,
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(
                    # A migration succeeds before the new pods start.
                    depends_on=[self.config_map, *([self.secret] if self.secret else []), *self.files, *self.jobs],
                    # The HPA owns the live replica count; re-applying the initial value on every
                    # `pulumi up` would undo its scaling.
                    ignore_changes=["spec.replicas"] if args.autoscaling else None,
                ),
            ),
        )
        """The app's Deployment, or its StatefulSet when it has 'storage'."""

        service_ports = [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
        if args.metrics_port is not None:
            service_ports.append(
                {"name": "metrics", "port": args.metrics_port, "targetPort": "metrics", "protocol": "TCP"}
            )
        self.service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=metadata(
                name,
                annotations={
                    "prometheus.io/scrape": "true",
                    "prometheus.io/port": str(args.metrics_port or args.port),
                    "prometheus.io/path": args.metrics_path,
                },
            ),
            spec={"type": "ClusterIP", "selector": selector, "ports": service_ports},
            opts=child,
        )

        self.ingress: k8s.networking.v1.Ingress | None = None
        if args.ingress is not None:
            headers = k8s.core.v1.ConfigMap(
                f"{name}-security-headers",
                metadata=metadata(f"{name}-security-headers"),
                data=ingress_builder.security_headers(args.ingress_policy),
                opts=child,
            )
            self.ingress = k8s.networking.v1.Ingress(
                f"{name}-ingress",
                metadata=metadata(
                    name,
                    annotations=ingress_builder.ingress_annotations(
                        args.ingress_policy, f"{namespace}/{name}-security-headers", list(args.ingress.source_ranges)
                    ),
                ),
                spec=ingress_builder.ingress_spec(
                    args.ingress_policy, args.ingress.host, args.ingress.path, name, f"{name}-tls"
                ),
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[headers, self.service])),
            )
        self.canary = (
            register_canary(name, args, labels, metadata, child, has_secret=bool(secret_names)) if args.canary else []
        )

        if args.autoscaling is not None:
            self.autoscaler = k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-hpa",
                metadata=metadata(name),
                spec=autoscaling_builder.hpa_spec(name, args.autoscaling, "StatefulSet" if args.storage else "Deployment"),
                opts=child,
            )
        if args.disruption_budget is not None:
            self.disruption_budget = k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb",
                metadata=metadata(name),
                spec=autoscaling_builder.pdb_spec(selector, args.disruption_budget),
                opts=child,
            )

        self.network_policies = [
            k8s.networking.v1.NetworkPolicy(f"{name}-{role}", metadata=metadata(f"{name}-{role}"), spec=spec, opts=child)
            for role, spec in network_policy_specs(args, selector).items()
        ]

        self.namespace = pulumi.Output.from_input(namespace)
        self.service_name = self.service.metadata.name
        self.internal_url = pulumi.Output.concat("http://", self.service.metadata.name, f".{namespace}.svc.cluster.local")
        self.url = pulumi.Output.from_input(f"https://{args.ingress.host}{args.ingress.path}") if args.ingress else None
        self.register_outputs(
            {
                "namespace": self.namespace,
                "service_name": self.service_name,
                "internal_url": self.internal_url,
                "url": self.url,
            }
        )

    @staticmethod
    def _jobs(name, args: HardenedAppArgs, labels, metadata, child, has_secret: bool) -> list[pulumi.Resource]:
        """The migration Job (returned: the Deployment waits for it), the CronJobs and their policy."""
        if args.migration is None and not args.schedules:
            return []
        k8s.networking.v1.NetworkPolicy(
            f"{name}-jobs", metadata=metadata(f"{name}-jobs"), spec=job_network_policy(args, labels), opts=child
        )
        for schedule, job in args.schedules.items():
            k8s.batch.v1.CronJob(
                f"{name}-{schedule}",
                metadata=metadata(f"{name}-{schedule}"),
                spec=job.cron_job_spec(job_template(name, args, job, labels, has_secret)),
                opts=child,
            )
        if args.migration is None:
            return []
        return [
            k8s.batch.v1.Job(
                f"{name}-migrate",
                metadata=metadata(f"{name}-migrate"),
                spec=args.migration.job_spec(job_template(name, args, args.migration, labels, has_secret)),
                opts=child,
            )
        ]
