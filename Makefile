# Keelson's single entry point. A fresh machine needs only python3, make and Go (for the toolchain).
#   make up     build what is missing, then `pulumi up --stack local --yes` (renders to ./rendered)
#   make test   build what is missing, then run every test layer and check that each one ran
#   make cluster-up / cluster-down   a local Kubernetes control plane (then: make up STACK=cluster)
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV := .venv
CHECKOV_VENV := .venv-checkov
POLICY_VENV := policy/.venv
STACK ?= local

.PHONY: help venv checkov policy-venv actionlint kube-score psa-check toolchain toolchain-consumers prometheus-tools loki node-exporter \
	kube-state-metrics config-reloader kubernetes system-tools up preview policy-preview \
	cluster-up cluster-down test bench clean

help:
	@echo "make up       - deploy the '$(STACK)' stack (default: local, rendered to ./rendered, no cluster)"
	@echo "make preview  - pulumi preview on STACK=<stack>"
	@echo "make policy-preview - pulumi preview on STACK=<stack> with the hardening policy pack"
	@echo "make test     - every test layer: builders, settings, components, program, schemas, checkov, engine, cluster"
	@echo "make cluster-up   - start a local Kubernetes control plane on 127.0.0.1 (kubeconfig: .cluster/kubeconfig)"
	@echo "make cluster-down - stop it and delete .cluster/"
	@echo "make bench    - benchmarks: one table, written to bench/RESULTS.md (BENCH_ARGS=--quick for a smoke run)"

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

checkov: $(CHECKOV_VENV)/.installed
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

# The policy pack's own virtualenv: pulumi-policy pins protobuf 5.x, which the program's .venv does not share.
policy-venv: $(POLICY_VENV)/.installed
$(POLICY_VENV)/.installed: policy/requirements.txt
	$(PYTHON) -m venv $(POLICY_VENV)
	$(POLICY_VENV)/bin/pip install --quiet --disable-pip-version-check -r policy/requirements.txt
	touch $@

actionlint:
	tools/bootstrap-actionlint.sh >/dev/null

# Judges the rendered staging and production manifests (tests/test_kube_score.py, skips in .kube-score.yaml).
kube-score:
	tools/bootstrap-kube-score.sh >/dev/null

# Judges every rendered pod template with the Pod Security admission library (tools/psa-check).
psa-check:
	tools/bootstrap-psa-check.sh >/dev/null

toolchain:
	tools/bootstrap-pulumi.sh >/dev/null
# The toolchain plus the Node.js and YAML language hosts the example consumers run on (make test).
toolchain-consumers:
	tools/bootstrap-pulumi.sh --with-consumer-hosts >/dev/null

prometheus-tools:
	tools/bootstrap-prometheus-tools.sh >/dev/null

loki:
	tools/bootstrap-loki.sh >/dev/null

# The exporters the MonitoringStack deploys, run for real by tests/test_exporters_live.py.
node-exporter:
	tools/bootstrap-node-exporter.sh >/dev/null

kube-state-metrics:
	tools/bootstrap-kube-state-metrics.sh >/dev/null

# The sidecar that reloads Alertmanager, run for real by tests/test_alertmanager_reload.py.
config-reloader:
	tools/bootstrap-config-reloader.sh >/dev/null

# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and kwok, from Go modules.
kubernetes:
	tools/bootstrap-kubernetes.sh >/dev/null

cluster-up: kubernetes
	tools/local-cluster.sh up

cluster-down:
	tools/local-cluster.sh down

system-tools:
	tools/ensure-system-tools.sh

up: venv toolchain
	tools/pulumi.sh up --stack $(STACK) --yes
	@if [[ "$(STACK)" == local ]]; then echo "Rendered manifests: $(CURDIR)/rendered (git-ignored: it holds Secrets)"; fi

preview: venv toolchain
	tools/pulumi.sh preview --stack $(STACK)

policy-preview: venv policy-venv toolchain
	tools/pulumi.sh preview --stack $(STACK) --policy-pack policy

test: venv checkov policy-venv system-tools prometheus-tools loki node-exporter kube-state-metrics config-reloader toolchain-consumers actionlint kube-score \
	psa-check kubernetes
	mkdir -p build
	$(VENV)/bin/python -m pytest --junitxml=build/test-results.xml $(PYTEST_ARGS)
	$(VENV)/bin/python tools/check_layers.py build/test-results.xml

bench: venv toolchain
	$(VENV)/bin/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf build rendered .pulumi
