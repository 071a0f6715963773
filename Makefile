# Herald — developer and CI entry points.
#   make run     the whole service on this machine (herald-local: embedded SQLite store + timers)
#   make test    every test in the workspace, the AWS adapters against a local moto server
#   make lint    rustfmt check and clippy with warnings as errors
#   make build   Lambda bootstrap binaries (cargo lambda, arm64) under target/lambda/
#   make deploy  sam build + sam deploy --guided (needs AWS credentials; see template.yaml)
#   make bench   delivery (Herald vs provider minimum vs Apprise) and chart-check benchmarks
#   make soak    the reliability suite at full length: schemathesis, cargo fuzz, chaos and load (~80 min)
#   make clean   build output; `make distclean` also drops the Python virtualenv

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

CARGO ?= cargo
VENV := .venv
# Lambda crates that `make build` packages (each becomes target/lambda/<crate>/bootstrap).
LAMBDA_PACKAGES := task-api ticket-webhook trigger delivery
LAMBDA_ARCH ?= --arm64
CARGO_LAMBDA_VERSION := 1.9.2

.PHONY: help run test test-deps lint build lambda-tools deploy bench soak clean distclean

help:
	@sed -n 's/^#   make /  make /p' $(firstword $(MAKEFILE_LIST))

run:
	$(CARGO) run -p herald-local --bin herald-local

test-deps:
	@bash scripts/test-deps.sh

# cargo's output goes to the terminal and to target/test.log; the summary adds up its
# "test result:" lines. The recipe exits with cargo's status (pipefail), after the summary.
# The Lambda binaries and herald-local are built first: tests/tests/serverless_system.rs runs the
# Lambdas as Lambda does, tests/tests/console_browser.rs drives herald-local in Chromium (`cargo
# test` builds a binary only for its own package's tests).
test: test-deps
	@mkdir -p target
	@status=0; \
	$(CARGO) build $(addprefix -p ,$(LAMBDA_PACKAGES)) -p herald-local 2>&1 | tee target/test.log || status=$$?; \
	[ "$$status" -ne 0 ] || bash scripts/with-moto.sh $(CARGO) test --workspace --all-targets --no-fail-fast 2>&1 | tee -a target/test.log || status=$$?; \
	bash scripts/test-summary.sh target/test.log; \
	if [ "$$status" -ne 0 ]; then echo "make test: FAILED (exit $$status)" >&2; fi; \
	exit $$status

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# cargo-lambda comes from PyPI as a binary wheel (with ziglang for cross-linking) into .venv.
lambda-tools: test-deps
	@if [ ! -x $(VENV)/bin/cargo-lambda ] || ! $(VENV)/bin/cargo-lambda lambda --version 2>/dev/null | grep -q ' $(CARGO_LAMBDA_VERSION)'; then \
		echo "installing cargo-lambda==$(CARGO_LAMBDA_VERSION) into $(VENV)"; \
		$(VENV)/bin/python -m pip install --quiet --no-input "cargo-lambda==$(CARGO_LAMBDA_VERSION)" </dev/null; \
	fi

build: lambda-tools
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(CARGO) lambda build --release $(LAMBDA_ARCH) $(addprefix -p ,$(LAMBDA_PACKAGES))

# Needs the AWS SAM CLI (`pip install aws-sam-cli`, e.g. into .venv) and AWS credentials.
# sam build runs cargo lambda itself (BuildMethod rust-cargolambda); the first deploy asks for
# the stack name, region and the AdminTokenSha256 parameter (sha256 hex of the first admin key):
#   printf %s "$$TOKEN" | sha256sum
deploy: lambda-tools
	@command -v sam >/dev/null || [ -x $(VENV)/bin/sam ] || { echo "deploy needs the AWS SAM CLI: $(VENV)/bin/pip install aws-sam-cli" >&2; exit 1; }
	export PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SAM_CLI_BETA_RUST_CARGO_LAMBDA=1; \
	sam build && sam deploy --guided

# Release build of herald-bench, Apprise 2.2.0 into .venv, then one side-by-side run against the
# fakes on loopback (~5 min on 2 cores): stdout plus target/bench/delivery.{md,json}.
bench:
	CARGO=$(CARGO) VENV=$(VENV) bash scripts/bench.sh

# schemathesis (thousands of cases), each cargo fuzz target for 10 minutes (nightly), and a
# 10-minute chaos soak with wrk: logs in target/soak/ (scripts/soak.sh has the knobs).
soak:
	CARGO=$(CARGO) bash scripts/soak.sh

clean:
	$(CARGO) clean
	rm -rf .aws-sam

distclean: clean
	rm -rf $(VENV) .venv-sam .venv-schemathesis
