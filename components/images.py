"""The container images the platform runs, in one place: each pinned by tag and digest.

A tag can be moved to other content by whoever controls the repository; a digest cannot. Each
reference keeps its tag for readers (and for the app.kubernetes.io/version label) and carries the
digest of the tag's multi-platform image index, which is what the kubelet pulls, so the same bytes
run on amd64 and arm64 nodes. Pods of digest-pinned images use imagePullPolicy IfNotPresent (see
builders/workload.image_pull_policy).

To move an image to a new release, resolve the new tag's index digest and edit one line here:

    go run github.com/google/go-containerregistry/cmd/crane@v0.22.1 digest quay.io/prometheus/prometheus:v3.6.0

(`crane digest` prints the index digest for a multi-platform tag; `docker buildx imagetools
inspect <image>:<tag>` shows the same as "Digest:"). Then run `make test`: the Loki, Prometheus,
node_exporter, kube-state-metrics and prometheus-config-reloader builds the tests run follow the tags
here (tests/test_loki.py, tests/prometheus_tools.py, tests/test_exporters_live.py and
tests/test_alertmanager_reload.py check that they agree).
"""

from __future__ import annotations

PROMETHEUS = (
    "quay.io/prometheus/prometheus:v3.5.0@sha256:63805ebb8d2b3920190daf1cb14a60871b16fd38bed42b857a3182bc621f4996"
)
ALERTMANAGER = (
    "quay.io/prometheus/alertmanager:v0.28.1@sha256:27c475db5fb156cab31d5c18a4251ac7ed567746a2483ff264516437a39b15ba"
)
GRAFANA = "docker.io/grafana/grafana:11.6.1@sha256:52c3e20686b860c6dc1f623811565773cf51eefa378817a4896dfc863c3c82c8"
LOKI = "docker.io/grafana/loki:3.7.8@sha256:1107dd5274e0ada47e42472b7a7e71f3b2a2fe878878108f3e2f9e51528f0193"
FLUENT_BIT = "cr.fluentbit.io/fluent/fluent-bit:4.2.2"
KUBE_STATE_METRICS = (
    "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.18.0"
    "@sha256:1545919b72e3ae035454fc054131e8d0f14b42ef6fc5b2ad5c751cafa6b2130e"
)
NODE_EXPORTER = (
    "docker.io/prom/node-exporter:v1.10.2@sha256:3ac34ce007accad95afed72149e0d2b927b7e42fd1c866149b945b84737c62c3"
)
CONFIG_RELOADER = "quay.io/prometheus-operator/prometheus-config-reloader:v0.85.0"

UNPINNED_DEFAULTS: dict[str, str] = {
    FLUENT_BIT: "no index digest of fluent-bit 4.2.2 could be verified when it was pinned; pin one with "
    "keelson:logging.fluentBit.image (`crane digest cr.fluentbit.io/fluent/fluent-bit:4.2.2`)",
    CONFIG_RELOADER: "no index digest of prometheus-config-reloader v0.85.0 could be verified from public sources "
    "when it was added; pin one with keelson:monitoring.alertmanager.reloaderImage "
    "(`crane digest quay.io/prometheus-operator/prometheus-config-reloader:v0.85.0`)",
}
"""Default images still pinned by tag alone, each with the reason. keelson:requireImageDigests lets
exactly these references through, so a stack keeping the defaults stays deployable, and refuses
every other image without a digest, including a stack's own choice in their place."""


def has_digest(image: str) -> bool:
    """Whether an image reference is pinned by content (…@sha256:<64 hex>)."""
    return "@sha256:" in image
