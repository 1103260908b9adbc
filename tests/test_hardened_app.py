"""HardenedApp and GovernedNamespace under Pulumi mocks: the hardened fields, resource by resource."""

from __future__ import annotations

import pulumi
import pytest
from pydantic import ValidationError

import harness
from keelson import (
    Autoscaling,
    DisruptionBudget,
    GovernedNamespace,
    GovernedNamespaceArgs,
    HardenedApp,
    HardenedAppArgs,
    IngressSpec,
)

IMAGE = "ghcr.io/stefanprodan/podinfo:6.7.1"


def build(args: HardenedAppArgs, name: str = "shop") -> list[harness.Registered]:
    return harness.run(lambda: HardenedApp(name, args))


def one(registered: list[harness.Registered], kind: str) -> dict:
    found = harness.of_kind(registered, kind)
    assert len(found) == 1, f"expected one {kind}, got {[resource.label for resource in found]}"
    return found[0].manifest


@pytest.fixture(scope="module")
def full_app() -> list[harness.Registered]:
    return build(
        HardenedAppArgs(
            image=IMAGE,
            replicas=3,
            autoscaling=Autoscaling(min_replicas=3, max_replicas=10),
            disruption_budget=DisruptionBudget(min_available=2),
            ingress=IngressSpec(host="shop.example.com"),
            generated_secrets=["SESSION_SECRET"],
            env={"FEATURE_X": "on"},
        )
    )


def test_component_type_tokens_and_child_names(full_app):
    types = {resource.type for resource in full_app}
    assert {"keelson:index:HardenedApp", "keelson:index:GovernedNamespace"} <= types
    children = [resource.name for resource in full_app if resource.is_kubernetes_object]
    assert all(name.startswith("shop-") for name in children), children


def test_an_app_without_a_namespace_gets_its_own_governed_namespace(full_app):
    namespace = one(full_app, "Namespace")
    assert namespace["metadata"]["name"] == "shop"
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert namespace["metadata"]["labels"]["keelson.dev/monitored"] == "true"
    assert one(full_app, "ResourceQuota")["spec"]["hard"]["pods"] == "100"
    assert one(full_app, "LimitRange")["spec"]["limits"][0]["maxLimitRequestRatio"]["cpu"] == "4"


def test_pod_is_hardened(full_app):
    pod = one(full_app, "Deployment")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False, "API token mounted without api_access"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == pod["securityContext"]["fsGroup"] == 10001
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    (container,) = pod["containers"]
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False and context["privileged"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert {mount["mountPath"] for mount in container["volumeMounts"]} == {"/tmp"}
    assert pod["volumes"][0]["emptyDir"]["sizeLimit"]


def test_container_has_pinned_image_resources_probes_and_env(full_app):
    container = one(full_app, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == IMAGE
    # ephemeral-storage: the 256Mi /tmp emptyDir plus the 128Mi log allowance, reserved as requested.
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "512Mi", "ephemeral-storage": "384Mi"},
        "limits": {"cpu": "2", "memory": "2Gi", "ephemeral-storage": "384Mi"},
    }
    assert {"livenessProbe", "readinessProbe", "startupProbe"} <= set(container)
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert container["envFrom"] == [{"configMapRef": {"name": "shop-config"}}, {"secretRef": {"name": "shop-secrets"}}]
    assert container["lifecycle"]["preStop"]["sleep"]["seconds"] == 5


def test_rollout_and_placement(full_app):
    spec = one(full_app, "Deployment")["spec"]
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert spec["revisionHistoryLimit"] == 5
    pod = spec["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 30
    anti = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert anti["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    assert "app.kubernetes.io/version" not in spec["selector"]["matchLabels"]
    assert spec["template"]["metadata"]["labels"]["app.kubernetes.io/version"] == "6.7.1"


def test_service_is_cluster_ip_port_80_to_the_named_port(full_app):
    service = one(full_app, "Service")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert service["metadata"]["annotations"]["prometheus.io/scrape"] == "true"


def test_ingress_has_tls_issuer_class_and_edge_protections(full_app):
    ingress = one(full_app, "Ingress")
    assert ingress["spec"]["tls"] == [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    annotations = ingress["metadata"]["annotations"]
    assert annotations["cert-manager.io/cluster-issuer"] == "letsencrypt-staging"
    assert annotations["nginx.ingress.kubernetes.io/custom-headers"] == "shop/shop-security-headers"
    headers = [
        resource.manifest for resource in harness.of_kind(full_app, "ConfigMap") if "headers" in resource.name
    ]
    assert headers and "Strict-Transport-Security" in headers[0]["data"]


def test_hpa_and_pdb(full_app):
    hpa = one(full_app, "HorizontalPodAutoscaler")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 10)
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "shop"}
    pdb = one(full_app, "PodDisruptionBudget")["spec"]
    assert pdb["minAvailable"] == 2


def test_network_policies_deny_by_default_and_allow_only_named_flows(full_app):
    policies = {resource.manifest["metadata"]["name"]: resource.manifest["spec"] for resource in harness.of_kind(full_app, "NetworkPolicy")}
    assert policies["default-deny-all"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    # No egress policy: an app reaches DNS and nothing else unless it names a destination.
    assert set(policies) == {
        "default-deny-all",
        "allow-dns-egress",
        "shop-allow-prometheus",
        "shop-allow-ingress-controller",
    }
    source = policies["shop-allow-ingress-controller"]["ingress"][0]["from"][0]
    assert source["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "ingress-nginx"}


def test_an_app_that_names_an_egress_destination_gets_exactly_that():
    registered = build(HardenedAppArgs(image=IMAGE, egress=[{"cidr": "203.0.113.0/24", "ports": [443]}]))
    (policy,) = [r.manifest["spec"] for r in harness.of_kind(registered, "NetworkPolicy") if r.manifest["metadata"]["name"] == "shop-allow-egress"]
    assert policy["egress"] == [{"to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}], "ports": [{"protocol": "TCP", "port": 443}]}]


def test_rbac_reads_only_its_own_config_by_name(full_app):
    rules = one(full_app, "Role")["rules"]
    assert all(rule["verbs"] == ["get"] and rule["resourceNames"] for rule in rules)
    assert {name for rule in rules for name in rule["resourceNames"]} == {"shop-config", "shop-secrets"}
    assert one(full_app, "ServiceAccount")["automountServiceAccountToken"] is False
    assert not [resource for resource in full_app if resource.kind in ("ClusterRole", "ClusterRoleBinding")]


def test_generated_secrets_come_from_random_password_as_pulumi_secrets(full_app):
    passwords = [resource for resource in full_app if resource.type == "random:index/randomPassword:RandomPassword"]
    assert [resource.inputs["length"] for resource in passwords] == [32]
    secret = harness.of_kind(full_app, "Secret")[0]
    assert harness.is_secret(secret.inputs["stringData"]), "Secret stringData was not a Pulumi secret"
    assert "data" not in secret.inputs, "Secrets must never carry base64 data built in code"


def test_config_map_carries_log_level_environment_and_env(full_app):
    data = [resource.manifest["data"] for resource in harness.of_kind(full_app, "ConfigMap") if resource.name == "shop-config"][0]
    assert data == {"LOG_LEVEL": "info", "ENVIRONMENT": "production", "FEATURE_X": "on"}


def test_api_access_is_the_escape_hatch_for_the_token():
    registered = build(HardenedAppArgs(image=IMAGE, namespace="shared", api_access=True))
    pod = one(registered, "Deployment")["spec"]["template"]["spec"]
    assert any(volume["name"] == "kube-api-access" for volume in pod["volumes"]), "api_access mounts no token"
    assert not harness.of_kind(registered, "Namespace"), "an existing namespace must not be created again"


def test_a_worker_without_ingress_or_secrets_gets_neither():
    registered = build(HardenedAppArgs(image=IMAGE, namespace="shared", component="worker", disruption_budget=None), "jobs")
    kinds = {resource.kind for resource in registered if resource.is_kubernetes_object}
    assert not kinds & {"Ingress", "Secret", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    annotations = one(registered, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["keelson.dev/scrape-interval"] == "10s"


def test_writable_paths_and_user_are_configurable():
    registered = build(HardenedAppArgs(image=IMAGE, namespace="shared", writable_paths=["/tmp", "/var/cache"], user_id=20000))
    pod = one(registered, "Deployment")["spec"]["template"]["spec"]
    assert {mount["mountPath"] for mount in pod["containers"][0]["volumeMounts"]} == {"/tmp", "/var/cache"}
    assert pod["securityContext"]["runAsUser"] == 20000


def test_governed_namespace_alone():
    registered = harness.run(lambda: GovernedNamespace("team", GovernedNamespaceArgs(name="team-a")))
    kinds = sorted(resource.kind for resource in registered if resource.is_kubernetes_object)
    assert kinds == ["LimitRange", "Namespace", "NetworkPolicy", "NetworkPolicy", "ResourceQuota"]


def test_outputs_are_registered():
    captured = {}

    def body():
        app = HardenedApp("shop", HardenedAppArgs(image=IMAGE, namespace="shared", ingress=IngressSpec(host="shop.example.com")))
        return pulumi.Output.all(app.url, app.internal_url, app.namespace).apply(lambda values: captured.update(values=values))

    harness.run(body)
    assert captured["values"] == ["https://shop.example.com/", "http://shop.shared.svc.cluster.local", "shared"]


def test_an_app_calls_labelled_pods_elsewhere_only_on_the_ports_it_names():
    registered = build(
        HardenedAppArgs(
            image=IMAGE,
            talks_to=[{"podLabels": {"app": "postgres"}, "namespace": "databases", "ports": [5432]}],
            allow_from=[{"app": "gateway"}],
        )
    )
    policies = {r.manifest["metadata"]["name"]: r.manifest["spec"] for r in harness.of_kind(registered, "NetworkPolicy")}
    assert policies["shop-allow-talks-to"]["egress"] == [
        {
            "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "databases"}},
                    "podSelector": {"matchLabels": {"app": "postgres"}}}],
            "ports": [{"protocol": "TCP", "port": 5432}],
        }
    ]
    assert policies["shop-allow-from-apps"]["ingress"] == [
        {
            "from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway", "app.kubernetes.io/instance": "gateway-production"}}}],
            "ports": [{"protocol": "TCP", "port": "http"}],
        }
    ]


@pytest.mark.parametrize(
    "peers, message",
    [
        ({"talksTo": [{"podLabels": {"app": "db"}}]}, r"'talksTo\[0\]' selects pods by label .* names no 'ports'"),
        ({"talksTo": [{"app": "db", "podLabels": {"app": "db"}}]}, r"give exactly one of 'app' \(db\) and 'podLabels'"),
        ({"allowFrom": [{}]}, r"give exactly one of 'app' \(None\) and 'podLabels' \(\{\}\)"),
    ],
    ids=["label peer without ports", "app and labels", "empty peer"],
)
def test_a_peer_that_selects_nothing_definite_is_refused(peers, message):
    with pytest.raises(ValidationError, match=message):
        HardenedAppArgs.model_validate({"image": IMAGE, **peers})


def test_placement_identity_and_metadata_reach_the_pods_and_the_service_account():
    registered = build(
        HardenedAppArgs(
            image=IMAGE,
            placement={
                "nodeSelector": {"node.kubernetes.io/instance-type": "m7i.large"},
                "tolerations": [{"key": "dedicated", "value": "shop", "effect": "NoSchedule"}],
                "priorityClassName": "business-critical",
            },
            identity={
                "imagePullSecrets": ["registry-credentials"],
                "serviceAccountAnnotations": {"azure.workload.identity/client-id": "00000000-0000-0000-0000-000000000001"},
            },
            metadata={"labels": {"cost-centre": "retail"}, "podAnnotations": {"sidecar.istio.io/inject": "false"}},
        )
    )
    deployment = one(registered, "Deployment")
    template = deployment["spec"]["template"]
    pod = template["spec"]
    assert pod["nodeSelector"] == {"node.kubernetes.io/instance-type": "m7i.large"}
    assert pod["tolerations"] == [{"key": "dedicated", "operator": "Equal", "value": "shop", "effect": "NoSchedule"}]
    assert pod["priorityClassName"] == "business-critical"
    assert pod["imagePullSecrets"] == [{"name": "registry-credentials"}]
    assert template["metadata"]["labels"]["cost-centre"] == "retail"
    assert template["metadata"]["labels"]["azure.workload.identity/use"] == "true", "Azure's webhook selects pods by it"
    assert template["metadata"]["annotations"]["sidecar.istio.io/inject"] == "false"
    assert "cost-centre" not in deployment["spec"]["selector"]["matchLabels"], "selectors keep the app.kubernetes.io set"
    for kind in ("Service", "ConfigMap", "ServiceAccount", "NetworkPolicy"):
        for resource in harness.of_kind(registered, kind):
            if resource.manifest["metadata"]["labels"].get("app.kubernetes.io/name") == "shop":
                assert resource.manifest["metadata"]["labels"].get("cost-centre") == "retail", resource.label
    account = one(registered, "ServiceAccount")
    assert account["metadata"]["annotations"] == {"azure.workload.identity/client-id": "00000000-0000-0000-0000-000000000001"}
    assert account["automountServiceAccountToken"] is False


def test_an_app_without_placement_identity_or_metadata_gets_none_of_those_fields(full_app):
    pod = one(full_app, "Deployment")["spec"]["template"]["spec"]
    assert not {"nodeSelector", "tolerations", "priorityClassName", "imagePullSecrets"} & set(pod)
    assert "annotations" not in one(full_app, "ServiceAccount")["metadata"]


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"placement": {"tolerations": [{"operator": "Exists"}]}}, r"key\n  Field required"),
        ({"placement": {"tolerations": [{"key": "gpu", "operator": "Exists", "value": "x"}]}}, r"'value' \(x\) must be empty with operator 'Exists'"),
        ({"placement": {"tolerations": [{"key": "gpu"}]}}, r"'value' is required with operator 'Equal'"),
        ({"placement": {"tolerations": [{"key": "gpu", "operator": "Exists", "tolerationSeconds": 30}]}},
         r"'tolerationSeconds' \(30\) applies only to effect 'NoExecute'"),
        ({"placement": {"nodeSelector": {"bad key!": "x"}}}, r"'bad key!' is not a label key"),
        ({"metadata": {"labels": {"app.kubernetes.io/name": "x"}}}, r"'app.kubernetes.io/name' is one of the app.kubernetes.io labels"),
        ({"metadata": {"podAnnotations": {"keelson.dev/config-hash": "x"}}}, r"'keelson.dev/config-hash' is an annotation Keelson sets"),
        ({"identity": {"imagePullSecrets": ["Registry_Creds"]}}, r"'Registry_Creds' is not a DNS-1123 label"),
    ],
    ids=["toleration without key", "Exists with value", "Equal without value", "seconds without NoExecute",
         "bad node label", "reserved label", "reserved annotation", "bad pull secret name"],
)
def test_bad_placement_identity_or_metadata_is_refused_naming_the_field(fields, message):
    with pytest.raises(ValidationError, match=message):
        HardenedAppArgs.model_validate({"image": IMAGE, **fields})


def test_sidecars_and_init_containers_are_hardened_like_the_app_and_sidecars_start_first():
    registered = build(
        HardenedAppArgs(
            image=IMAGE,
            sidecars=[{"name": "db-proxy", "image": "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.1",
                       "args": ["--port=5432", "project:region:db"], "ports": {"postgres": 5432}, "writablePaths": ["/tmp"]}],
            init_containers=[{"name": "migrate", "image": IMAGE, "command": ["./migrate"], "env": {"MODE": "up"}}],
        )
    )
    pod = one(registered, "Deployment")["spec"]["template"]["spec"]
    proxy, migrate = pod["initContainers"]
    assert (proxy["name"], proxy.get("restartPolicy")) == ("db-proxy", "Always"), "a native sidecar, started first"
    assert (migrate["name"], migrate.get("restartPolicy")) == ("migrate", None), "runs to completion, after the sidecar"
    app_context = pod["containers"][0]["securityContext"]
    for container in (proxy, migrate):
        assert container["securityContext"] == app_context, f"{container['name']} is hardened differently"
        assert container["resources"]["limits"]["cpu"] == "200m" and "ephemeral-storage" in container["resources"]["limits"]
    assert migrate["env"] == [{"name": "MODE", "value": "up"}] and "envFrom" not in migrate
    assert {"name": "writable-tmp", "mountPath": "/tmp"} in proxy["volumeMounts"]
    assert [volume["name"] for volume in pod["volumes"]].count("writable-tmp") == 1, "one /tmp emptyDir, shared"
    assert proxy["ports"] == [{"name": "postgres", "containerPort": 5432, "protocol": "TCP"}]


def test_a_sidecar_counts_in_the_footprint_and_an_init_container_does_not():
    from keelson.footprint import pod_footprint

    pod = one(build(HardenedAppArgs(image=IMAGE, replicas=1, sidecars=[{"name": "agent", "image": IMAGE}],
                                    init_containers=[{"name": "setup", "image": IMAGE}])), "Deployment")["spec"]["template"]["spec"]
    footprint = pod_footprint(pod, 1)
    assert str(footprint.cpu_requests) in ("0.550", "0.55"), footprint  # 500m app + 50m sidecar


def test_two_extra_containers_of_one_name_are_refused():
    with pytest.raises(ValidationError, match=r"'sidecars' and 'initContainers' name 'x' more than once"):
        HardenedAppArgs.model_validate({"image": IMAGE, "sidecars": [{"name": "x", "image": IMAGE}],
                                        "initContainers": [{"name": "x", "image": IMAGE}]})


def test_files_are_projected_read_only_readable_by_the_app_alone_and_secret_end_to_end():
    registered = build(
        HardenedAppArgs(
            image=IMAGE,
            files={"path": "/etc/shop", "config": {"shop.yaml": "currency: EUR\n"}, "secrets": {"tls.key": "mock-key-material"}},
        )
    )
    pod = one(registered, "Deployment")["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "app-files"]
    assert volume["projected"] == {
        "defaultMode": 0o440,
        "sources": [{"configMap": {"name": "shop-files"}}, {"secret": {"name": "shop-file-secrets"}}],
    }
    assert {"name": "app-files", "mountPath": "/etc/shop", "readOnly": True} in pod["containers"][0]["volumeMounts"]
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    secret = [r for r in harness.of_kind(registered, "Secret") if r.manifest["metadata"]["name"] == "shop-file-secrets"][0]
    assert harness.is_secret(secret.inputs["stringData"]) or all(harness.is_secret(v) for v in secret.inputs["stringData"].values())
    names = {name for rule in one(registered, "Role")["rules"] for name in rule["resourceNames"]}
    assert {"shop-files", "shop-file-secrets"} <= names, "the app reads its own file objects by name, nothing else"


def test_a_config_file_change_rolls_the_pods():
    def digest(content: str) -> str:
        pod = one(build(HardenedAppArgs(image=IMAGE, files={"config": {"a.conf": content}})), "Deployment")["spec"]["template"]
        return pod["metadata"]["annotations"]["keelson.dev/config-hash"]

    assert digest("x=1") != digest("x=2")


@pytest.mark.parametrize(
    "files, message",
    [
        ({"config": {"../escape": "x"}}, r"'\.\./escape' is not a file name"),
        ({"config": {"a": "x"}, "secrets": {"a": "y"}}, r"'a' is in both 'config' and 'secrets'"),
        ({"path": "relative/dir"}, r"must be an absolute directory path"),
    ],
    ids=["path in a file name", "one name twice", "relative path"],
)
def test_bad_files_are_refused(files, message):
    with pytest.raises(ValidationError, match=message):
        HardenedAppArgs.model_validate({"image": IMAGE, "files": files})


def test_a_migration_job_runs_before_the_rollout_and_cron_jobs_are_hardened_like_the_app(monkeypatch):
    import pulumi_kubernetes as k8s

    waits_for: list[list] = []
    original = k8s.apps.v1.Deployment.__init__

    def deployment(self, resource_name, *args, opts=None, **kwargs):
        waits_for.append([getattr(dependency, "_name", None) for dependency in (opts.depends_on or [])])
        original(self, resource_name, *args, opts=opts, **kwargs)

    monkeypatch.setattr(k8s.apps.v1.Deployment, "__init__", deployment)
    registered = build(
        HardenedAppArgs(
            image=IMAGE,
            generated_secrets=["DB_PASSWORD"],
            talks_to=[{"podLabels": {"app": "postgres"}, "namespace": "databases", "ports": [5432]}],
            migration={"command": ["./manage", "migrate"]},
            schedules={"nightly-export": {"schedule": "0 3 * * *", "command": ["./manage", "export"]}},
        )
    )
    (job,) = harness.of_kind(registered, "Job")
    (cron,) = harness.of_kind(registered, "CronJob")
    for template in (job.manifest["spec"]["template"], cron.manifest["spec"]["jobTemplate"]["spec"]["template"]):
        pod = template["spec"]
        assert template["metadata"]["labels"]["app.kubernetes.io/component"] == "job", "never an endpoint of the app's Service"
        assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
        (container,) = pod["containers"]
        assert container["image"] == IMAGE and container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["envFrom"] == [{"configMapRef": {"name": "shop-config"}}, {"secretRef": {"name": "shop-secrets"}}]
        assert "affinity" not in pod and "livenessProbe" not in container
    assert waits_for and "shop-migrate" in waits_for[0], f"the rollout does not wait for the migration: {waits_for}"
    assert job.manifest["spec"]["backoffLimit"] == 2 and job.manifest["spec"]["activeDeadlineSeconds"] == 600
    assert "ttlSecondsAfterFinished" not in job.manifest["spec"], "the Job is Pulumi's to delete"
    spec = cron.manifest["spec"]
    assert (spec["concurrencyPolicy"], spec["timeZone"], spec["startingDeadlineSeconds"]) == ("Forbid", "Etc/UTC", 300)
    policy = [r.manifest["spec"] for r in harness.of_kind(registered, "NetworkPolicy") if r.manifest["metadata"]["name"] == "shop-jobs"][0]
    assert policy["ingress"] == [] and policy["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "job"
    assert policy["egress"][0]["ports"] == [{"protocol": "TCP", "port": 5432}], "jobs reach what the app talks to"


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"schedules": {"x": {"schedule": "every night", "command": ["a"]}}}, r"'every night' is not a five-field cron expression"),
        ({"schedules": {"x": {"schedule": "TZ=UTC 0 3 * * *", "command": ["a"]}}}, r"is not a five-field cron expression"),
        ({"migration": {"command": []}}, r"at least 1 item"),
        ({"schedules": {"Nightly": {"schedule": "0 3 * * *", "command": ["a"]}}}, r"'Nightly' is not a DNS-1123 label"),
    ],
    ids=["prose schedule", "time zone in the schedule", "empty command", "bad schedule name"],
)
def test_bad_jobs_are_refused(fields, message):
    with pytest.raises(ValidationError, match=message):
        HardenedAppArgs.model_validate({"image": IMAGE, **fields})


def test_a_canary_gets_its_weighted_share_of_the_ingress_and_nothing_of_the_stable_selectors():
    canary_image = "ghcr.io/stefanprodan/podinfo:6.8.0"
    registered = build(
        HardenedAppArgs(
            image=IMAGE, replicas=3, ingress=IngressSpec(host="shop.example.com"), canary={"image": canary_image, "weight": 20},
            talks_to=[{"podLabels": {"app": "db"}, "ports": [5432]}],
        )
    )
    deployments = {r.manifest["metadata"]["name"]: r.manifest for r in harness.of_kind(registered, "Deployment")}
    stable, canary = deployments["shop"], deployments["shop-canary"]
    canary_pod_labels = canary["spec"]["template"]["metadata"]["labels"]
    assert canary["spec"]["template"]["spec"]["containers"][0]["image"] == canary_image
    assert canary["spec"]["replicas"] == 1
    assert not stable["spec"]["selector"]["matchLabels"].items() <= canary_pod_labels.items(), "the stable Deployment would adopt canary pods"
    services = {r.manifest["metadata"]["name"]: r.manifest["spec"] for r in harness.of_kind(registered, "Service")}
    assert not services["shop"]["selector"].items() <= canary_pod_labels.items(), "the stable Service would route to the canary unweighted"
    assert services["shop-canary"]["selector"].items() <= canary_pod_labels.items()
    ingresses = {r.manifest["metadata"]["name"]: r.manifest for r in harness.of_kind(registered, "Ingress")}
    weighted = ingresses["shop-canary"]
    assert weighted["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": "20",
    }, "no cert-manager annotation: the stable Ingress owns the certificate"
    assert weighted["spec"]["rules"][0]["host"] == ingresses["shop"]["spec"]["rules"][0]["host"]
    assert weighted["spec"]["tls"] == ingresses["shop"]["spec"]["tls"]
    policies = {r.manifest["metadata"]["name"]: r.manifest["spec"] for r in harness.of_kind(registered, "NetworkPolicy")}
    for role in ("allow-prometheus", "allow-ingress-controller", "allow-talks-to"):
        assert policies[f"shop-canary-{role}"]["podSelector"]["matchLabels"].items() <= canary_pod_labels.items(), role
    assert any(r.manifest["metadata"]["name"] == "shop-canary" for r in harness.of_kind(registered, "PodDisruptionBudget"))


def test_a_canary_without_an_ingress_is_refused():
    with pytest.raises(ValidationError, match=r"'canary' \(image .*\) needs 'ingress'"):
        HardenedAppArgs.model_validate({"image": IMAGE, "canary": {"image": IMAGE}})


def test_an_app_with_storage_runs_as_a_stateful_set_with_a_retained_claim_per_pod():
    registered = build(
        HardenedAppArgs(
            image=IMAGE, replicas=2, autoscaling=Autoscaling(min_replicas=2, max_replicas=4),
            storage={"path": "/var/lib/shop", "size": "5Gi", "storageClass": "standard"},
        )
    )
    assert not harness.of_kind(registered, "Deployment")
    (stateful,) = [r.manifest for r in harness.of_kind(registered, "StatefulSet")]
    spec = stateful["spec"]
    assert spec["serviceName"] == "shop-headless" and "strategy" not in spec
    assert spec["volumeClaimTemplates"][0]["spec"] == {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}, "storageClassName": "standard",
    }
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    container = spec["template"]["spec"]["containers"][0]
    assert {"name": "data", "mountPath": "/var/lib/shop"} in container["volumeMounts"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    services = {r.manifest["metadata"]["name"]: r.manifest["spec"] for r in harness.of_kind(registered, "Service")}
    assert services["shop-headless"]["clusterIP"] == "None"
    assert one(registered, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]["kind"] == "StatefulSet"


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"storage": {"path": "/data"}, "canary": {"image": IMAGE}, "ingress": {"host": "shop.example.com"}},
         r"'canary' .* cannot be combined with 'storage' \(/data\)"),
        ({"storage": {"path": "/tmp"}}, r"'storage.path' \(/tmp\) is also in 'writablePaths'"),
        ({"storage": {"path": "/data", "size": "0Gi"}}, r"should match pattern"),
    ],
    ids=["canary with storage", "storage on a writable path", "empty volume"],
)
def test_bad_storage_is_refused(fields, message):
    with pytest.raises(ValidationError, match=message):
        HardenedAppArgs.model_validate({"image": IMAGE, **fields})
