# otelcol-dummymetrics: build, run, test and lint. Every tool is installed into
# .tools/bin by this Makefile at a pinned version; nothing depends on tools
# installed by hand. Only Go (1.26) is needed on the machine.

OCB_VERSION            := v0.165.0
PROMETHEUS_VERSION     := v0.316.0
GOLANGCI_LINT_VERSION  := v2.15.0

SHELL         := /bin/bash
TOOLS         := $(CURDIR)/.tools/bin
OCB           := $(TOOLS)/builder
PROMETHEUS    := $(TOOLS)/prometheus
GOLANGCI_LINT := $(TOOLS)/golangci-lint
COLLECTOR     := _build/otelcol-dummymetrics
RECEIVER_DIR  := receiver/dummymetricsreceiver
DIST_DIR      := distribution
# The product (the root module and the receiver) and the tooling that proves it
# (test/: the end-to-end tests, the stand-in backends, the pipeline benchmarks).
MODULES       := . $(RECEIVER_DIR) $(DIST_DIR) test
IMAGE         ?= otelcol-dummymetrics:0.1.0

export OTELCOL_BINARY    := $(CURDIR)/$(COLLECTOR)
export PROMETHEUS_BINARY := $(PROMETHEUS)
# The drop-in end-to-end test builds a collector of its own with the pinned ocb.
export OCB_BINARY        := $(OCB)

.PHONY: all build run loadtest test unit-test e2e-test lint cross bench bench-pipeline docker tools prometheus browser clean distclean

all: build

## build: the distribution, with the pinned ocb, into _build/otelcol-dummymetrics
build: $(COLLECTOR)

$(COLLECTOR): $(OCB) builder-config.yaml $(shell find $(RECEIVER_DIR) $(DIST_DIR) -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -not -name '*_test.go')
	$(OCB) --config builder-config.yaml
	@touch $@

$(OCB):
	GOBIN=$(TOOLS) go install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)

## prometheus: a real Prometheus 3 for `make run` and the end-to-end tests. It
## receives remote write and answers queries: none of its service discoveries is
## built in (remove_all_sd), which takes its build from empty caches from about
## 12 minutes to 4 on the 2-core development machine (docs/performance.md).
prometheus: $(PROMETHEUS)

$(PROMETHEUS):
	GOBIN=$(TOOLS) go install -tags remove_all_sd github.com/prometheus/prometheus/cmd/prometheus@$(PROMETHEUS_VERSION)

$(GOLANGCI_LINT):
	GOBIN=$(TOOLS) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

tools: $(OCB) $(PROMETHEUS) $(GOLANGCI_LINT)

## run: the main job against a local Prometheus (or AMP with PROMETHEUS_WRITE_URL,
## which needs no Prometheus built) until Ctrl-C. Built, not `go run`, so that a
## clean stop at Ctrl-C exits 0 and make reports no error.
run:
	@$(MAKE) --no-print-directory -j2 $(COLLECTOR) $(if $(PROMETHEUS_WRITE_URL),,$(PROMETHEUS)) _build/localrun
	@_build/localrun

# The commands, built rather than run with `go run` (a clean stop at Ctrl-C
# exits 0); make run builds them beside the distribution and Prometheus (-j2:
# one's downloads overlap the others' compiling).
RUNNER_SOURCES := go.mod go.sum $(shell find cmd internal -name '*.go' -not -name '*_test.go')

_build/localrun _build/loadtest: _build/%: $(RUNNER_SOURCES)
	@mkdir -p _build
	go build -o $@ ./cmd/$*

## test: unit tests of every module (race detector on) and the end-to-end tests
test: unit-test e2e-test

unit-test:
	cd $(RECEIVER_DIR) && go test -race -count=1 ./...
	cd $(DIST_DIR) && go test -race -count=1 ./...
	go test -race -count=1 ./...
	cd test && go test -race -count=1 ./backend/... ./pipelinebench/...

e2e-test: $(COLLECTOR) $(PROMETHEUS) $(OCB) browser
	cd test && go test -count=1 -timeout 45m -parallel 3 -v ./e2e/...

## loadtest: stages against a backend (a local Prometheus by default) and the
## verdict: how much it takes, at what latency, and what stops it. LOADTEST_FLAGS
## names the backend and the stages, e.g.
##   make loadtest LOADTEST_FLAGS='-url https://.../api/v1/remote_write -stages 60s:20000-140000'
## (go run ./cmd/loadtest -h lists the flags; docs/loadtest.md explains them).
LOADTEST_FLAGS ?=

loadtest:
	@$(MAKE) --no-print-directory -j2 $(COLLECTOR) $(if $(findstring -url,$(LOADTEST_FLAGS)),,$(PROMETHEUS)) _build/loadtest
	@_build/loadtest $(LOADTEST_FLAGS)

## browser: Debian's Chromium, for the live page's browser test (installed with
## apt-get when missing and this machine can; LIVEPAGE_SKIP_BROWSER=1 skips the
## test, loudly)
browser:
	@command -v chromium >/dev/null || [ "$$LIVEPAGE_SKIP_BROWSER" = 1 ] || \
		{ echo "Installing Debian's chromium for the live page's browser test"; \
		  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq chromium; }

## bench: the distribution against a real local Prometheus for a matrix of
## parallelisms and exporter modes; table and chart in results/<timestamp>/.
## BENCH_FLAGS overrides the matrix, e.g.
##   make bench BENCH_FLAGS='-gen 1,2 -sink 1,2,4,8 -duration 60s'
## (go run ./cmd/bench -h lists the flags; -url runs it against any backend).
BENCH_FLAGS ?=

bench: $(COLLECTOR) $(PROMETHEUS)
	go run ./cmd/bench $(BENCH_FLAGS)

## bench-pipeline: the in-process pipeline benchmarks (ns, CPU and allocations per sample)
bench-pipeline:
	cd test && go test -run '^$$' -bench . -benchtime 3s ./pipelinebench/

## lint: golangci-lint (pinned) over every module, and the macOS builds
lint: $(GOLANGCI_LINT) cross
	@for m in $(MODULES); do echo "lint $$m"; (cd $$m && $(GOLANGCI_LINT) run ./...) || exit 1; done

## cross: the commands, the runner and the distribution's own modules (the
## receiver, the converter) vetted for macOS on Apple silicon and built for macOS
## on Intel, so that the macOS build cannot break unseen: the commands and the
## runner have OS-specific files. The distribution's other parts are upstream's,
## built for both by their projects; the test tooling runs on Linux.
PRODUCT_MODULES := . $(RECEIVER_DIR) $(DIST_DIR)

cross:
	@for m in $(PRODUCT_MODULES); do echo "darwin $$m"; \
		(cd $$m && GOOS=darwin GOARCH=arm64 go vet ./... && GOOS=darwin GOARCH=amd64 go build ./...) || exit 1; done

## docker: the container image (needs a Docker engine), with the Go and ocb
## versions of go.mod and this Makefile
docker:
	docker build --build-arg GO_VERSION=$$(go mod edit -json | sed -n 's/^\t"Go": "\(.*\)",*$$/\1/p') \
		--build-arg OCB_VERSION=$(OCB_VERSION) $(DOCKER_FLAGS) -t $(IMAGE) .

## clean: build output; distclean: also the installed tools
clean:
	rm -rf _build results/tmp

distclean: clean
	rm -rf .tools
