# Keelson's single entry point. A fresh machine needs only python3, make and Go (for the toolchain).
#   make up     build what is missing, then `pulumi up --stack local --yes` (renders to ./rendered)
#   make test   build what is missing, then run every test layer and check that each one ran
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV := .venv
CHECKOV_VENV := .venv-checkov
STACK ?= local

.PHONY: help venv checkov toolchain prometheus-tools loki system-tools up preview test clean

help:
	@echo "make up       - deploy the '$(STACK)' stack (default: local, rendered to ./rendered, no cluster)"
	@echo "make preview  - pulumi preview on STACK=<stack>"
	@echo "make test     - every test layer: builders, settings, components, program, schemas, checkov, engine"

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

toolchain:
	tools/bootstrap-pulumi.sh >/dev/null

prometheus-tools:
	tools/bootstrap-prometheus-tools.sh >/dev/null

loki:
	tools/bootstrap-loki.sh >/dev/null

system-tools:
	tools/ensure-system-tools.sh

up: venv toolchain
	tools/pulumi.sh up --stack $(STACK) --yes
	@if [[ "$(STACK)" == local ]]; then echo "Rendered manifests: $(CURDIR)/rendered (git-ignored: it holds Secrets)"; fi

preview: venv toolchain
	tools/pulumi.sh preview --stack $(STACK)

test: venv checkov system-tools prometheus-tools loki toolchain
	mkdir -p build
	$(VENV)/bin/python -m pytest --junitxml=build/test-results.xml $(PYTEST_ARGS)
	$(VENV)/bin/python tools/check_layers.py build/test-results.xml

clean:
	rm -rf build rendered .pulumi
