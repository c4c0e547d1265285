# docspace_exporter. `make test` installs what the tests need (Debian,
# as root) and runs every test; CI runs exactly that (.ci/run).

GO          ?= go
# The release's version: the VERSION file (its entry heads CHANGELOG.md); override with make VERSION=...
VERSION     ?= $(shell cat VERSION)
REVISION    ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH      ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
BUILD_DATE  ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
VERSION_PKG := github.com/prometheus/common/version
LDFLAGS     := -s -w -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Revision=$(REVISION) \
               -X $(VERSION_PKG).Branch=$(BRANCH) -X $(VERSION_PKG).BuildUser=$(USER)@$(shell hostname) \
               -X $(VERSION_PKG).BuildDate=$(BUILD_DATE)
BINARY      ?= docspace_exporter
# jsonnetfmt and jsonnet-lint, installed by scripts/install-jsonnet-tools.sh (same version).
JSONNET_TOOLS := /var/cache/docspace-exporter/tools/jsonnet-v0.22.0
STATICCHECK := $(shell $(GO) env GOPATH)/bin/staticcheck
# The Go modules: the exporter (.) and, each with the dependencies of its
# tests only, the mixin, the deployment examples, the end-to-end test and the
# check of the fake DocSpace against the official API description.
MODULES     := . mixin examples e2e spec
# The helm the chart's tests (examples/helm_test.go) run: scripts/build-helm.sh builds it.
HELM_BIN    ?= /var/cache/docspace-exporter/tools/helm-v4.3.2/helm
export HELM_BIN

.PHONY: all build test deps kube-tools lint unit examples-test examples-test-without-apiserver e2e packaging demo-test bench load demo release generate clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BINARY) .

## test: everything CI runs: set-up, lint, unit tests with -race, end to end, packaging, demo.
## kube-apiserver and etcd build in the background meanwhile, for the examples' tests at the end.
## The kube-apiserver test runs only when examples/, charts/ or the kube build changed since it
## last passed, or when its tools are built already (scripts/kube-verified.sh).
test:
	if bash scripts/kube-verified.sh check; then \
		bash scripts/beside.sh scripts/build-kube.sh -- $(MAKE) deps lint unit e2e packaging demo-test && \
		$(MAKE) examples-test; \
	else \
		$(MAKE) deps lint unit e2e packaging demo-test examples-test-without-apiserver; \
	fi

## deps: what the tests need, except kube-tools.
deps:
	bash scripts/install-deps.sh

## kube-tools: kube-apiserver, etcd and the prometheus-operator CRDs, for examples-test.
kube-tools:
	bash scripts/build-kube.sh

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@if $(GO) list -m all | grep -E '^(k8s\.io|sigs\.k8s\.io|github\.com/(google/go-jsonnet|grafana|prometheus-operator))/'; then \
		echo "the exporter's go.mod lists the test-only modules above: keep them in the go.mod of mixin/, examples/ or e2e/"; exit 1; fi
	for m in $(MODULES); do (cd $$m && $(GO) vet -tags e2e ./... && $(STATICCHECK) -tags e2e ./...) || exit 1; done
	shellcheck -x scripts/*.sh .ci/run
	bash scripts/check-licenses.sh
	@cd mixin && files=$$(find . -name '*.libsonnet' -o -name '*.jsonnet' | sort) && \
		{ $(JSONNET_TOOLS)/jsonnetfmt --test $$files || { echo "jsonnetfmt needed (jsonnetfmt -i) on the files above"; exit 1; }; } && \
		for f in $$files; do $(JSONNET_TOOLS)/jsonnet-lint $$f || exit 1; done && echo "jsonnetfmt, jsonnet-lint: ok"

## unit: the unit tests of every module but e2e and examples, and each benchmark of the exporter
## once (no figures: a benchmark whose set-up or checks no longer hold fails).
unit:
	for m in $(filter-out e2e examples,$(MODULES)); do (cd $$m && $(GO) test -race -count=1 ./...) || exit 1; done
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./...

## examples-test: the deployment examples and the Helm chart, rendered, decoded and dry-run on a kube-apiserver.
## CI=true: no test may skip for a missing tool, so that the record kube-verified.sh writes is of a whole run.
examples-test: kube-tools
	cd examples && CI=true $(GO) test -race -count=1 ./...
	bash scripts/kube-verified.sh write

## examples-test-without-apiserver: the same but the kube-apiserver test (TestAPIServer).
examples-test-without-apiserver:
	cd examples && $(GO) test -race -count=1 -skip '^TestAPIServer$$' ./...

# e2e runs the end-to-end suite twice: against Debian's Prometheus and
# Alertmanager, and against the builds of scripts/build-prometheus.sh.
PROM3_DIR   := /var/cache/docspace-exporter/tools/prometheus-3.16.0
AM_DIR      := /var/cache/docspace-exporter/tools/alertmanager-0.35.0
e2e:
	cd e2e && $(GO) test -count=1 -tags e2e -run E2E -v ./
	cd e2e && E2E_PROMETHEUS=$(PROM3_DIR)/prometheus E2E_PROMTOOL=$(PROM3_DIR)/promtool \
		E2E_ALERTMANAGER=$(AM_DIR)/alertmanager $(GO) test -count=1 -tags e2e -run E2E -v ./

## generate: rewrite the mixin's alerts and dashboards, then the Kubernetes PrometheusRule and the chart's alerts made from them.
generate:
	cd mixin && $(GO) test -count=1 . -update
	cd examples && $(GO) test -count=1 . -update

packaging:
	bash scripts/test-release.sh
	bash scripts/test-systemd.sh
	bash scripts/test-container.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./collector

load:
	bash scripts/load.sh

demo:
	bash scripts/demo.sh

demo-test:
	bash scripts/test-demo.sh

release:
	bash scripts/release.sh $(VERSION)

clean:
	rm -rf docspace_exporter dist
