# Every target creates ./venv when it is missing (the virtualenv Pulumi.yaml names) and installs into it.
PYTHON ?= python3
VENV ?= venv
PY := $(VENV)/bin/python
STACK ?= devstg
OUT ?= out

# The official chart archives beside the project (../shared/charts), when present and nothing else is set
# (as .ci/run does); otherwise charts come from the user cache or the repository (python -m mesh.charts -h).
ifeq ($(origin CILIUM_CHARTS_DIR),undefined)
ifneq ($(wildcard ../shared/charts),)
export CILIUM_CHARTS_DIR := $(abspath ../shared/charts)
endif
endif

.PHONY: install install-dev plan charts guardrails test lint bench verify freshness aws-models doctor clean

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt requirements-aws-models.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	# botocore's service models only (no dependencies: it pins python-dateutil<3, the kubernetes client >=3).
	$(PY) -m pip install --quiet --no-deps --upgrade --target $(VENV)/aws-models -r requirements-aws-models.txt
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

## The main job, offline: the plan of $(STACK) (default devstg) with its JSON and rendered manifests.
plan: $(VENV)/.dev
	$(PY) -m mesh.plan $(STACK) --json $(OUT)/plan-$(STACK).json --render-dir $(OUT)/rendered-$(STACK)

## Get, verify (cilium-charts.lock) and cache the Cilium chart archives every stack uses, so later runs need
## no network. CHARTS_ARGS=--locked gets every locked version (what the tests render); see python -m mesh.charts -h.
charts: $(VENV)/.runtime
	$(PY) -m mesh.charts fetch $(CHARTS_ARGS)

## The policy pack's own virtualenv (guardrails/venv, named in guardrails/PulumiPolicy.yaml) from
## guardrails/requirements.txt: what `pulumi preview --policy-pack guardrails` runs the pack with.
guardrails: guardrails/venv/.installed

guardrails/venv/.installed: guardrails/requirements.txt
	test -x guardrails/venv/bin/python || $(PYTHON) -m venv guardrails/venv
	guardrails/venv/bin/python -m pip install --quiet -r guardrails/requirements.txt
	touch $@

## Lint and the whole test suite (mock runtime and offline chart renders; no cloud account).
test: $(VENV)/.dev
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: $(VENV)/.dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

## Plan synthetic stacks of 2-32 clusters in fresh interpreters: resources, seconds, ms/resource, peak MiB,
## modelled deploy minutes; then the plan-time ratios to the SDK import floor (benchmarks/plan_scale.py).
bench: $(VENV)/.dev
	$(PY) benchmarks/plan_scale.py

## What aged, as of today (UTC): every stack planned with the real date, Kubernetes versions against EKS
## standard support, newer Cilium patches in the index, table ages (python -m mesh.plan.freshness -h). Run
## `python -m mesh.charts update` first for today's index; the weekly workflow does both.
freshness: $(VENV)/.dev
	$(PY) -m mesh.plan.freshness $(FRESHNESS_ARGS)

## Re-extract mesh/logic/aws_models.json (the AWS API limits the config checks use) from the botocore pinned
## in requirements-aws-models.txt, after bumping that pin; the tests compare the two.
aws-models: $(VENV)/.dev
	$(PY) tools/extract_aws_models.py $(VENV)/aws-models/botocore/data

## Is this host ready for a real `pulumi preview/up` of $(STACK)? aws CLI, Pulumi CLI, credentials (mesh/doctor.py).
doctor: $(VENV)/.runtime
	$(PY) -m mesh.doctor $(STACK)

## Checks a deployed mesh for real (needs the stack's outputs and cluster access).
verify: $(VENV)/.runtime
	$(PY) -m mesh.verify $(STACK) $(VERIFY_ARGS)

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache
