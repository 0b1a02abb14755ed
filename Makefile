# privateguard — build, test and demo targets. Everything CI runs is `make test`.

GO       ?= go
BIN      := $(CURDIR)/bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
PKGS     := ./...

.PHONY: all build lint fmt vet unit test bench demo clean chart helm-lint

all: build

## build: compile every package (the privateguard binary arrives with the server)
build:
	$(GO) build $(PKGS)

## lint: gofmt check and go vet
lint: fmt vet

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files --others --exclude-standard '*.go' 2>/dev/null)); \
	if [ -n "$$out" ]; then echo "gofmt wants changes in:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

## unit: unit tests, including every fuzz target's seed corpus
unit:
	$(GO) test -count=1 $(PKGS)

## test: everything CI runs
test: lint unit chart helm-lint

# The Helm chart. The helm CLI is built from the helm.sh/helm/v3 version pinned in go.mod
# (its `tool` line), into the git-ignored bin/, and rebuilt only when that version changes.
CHART        := deploy/helm/privateguard
HELM         := $(BIN)/helm
HELM_VALUES  := --set policy.region=us-west-2

## chart: the chart's Go tests (lint, render, schema) with the Helm SDK
chart:
	$(GO) test -count=1 ./deploy/helm/...

## helm-lint: `helm lint --strict` and `helm template` of the chart with the pinned helm CLI
helm-lint: $(HELM)
	$(HELM) lint --strict $(CHART) $(HELM_VALUES)
	$(HELM) template privateguard $(CHART) --namespace privateguard $(HELM_VALUES) >/dev/null

# Helm stamps its own version and the Kubernetes version it assumes offline (`helm
# template`, `helm lint`) through -ldflags, as its release builds do.
.PHONY: $(HELM)
$(HELM):
	@want=$$($(GO) list -m -f '{{.Version}}' helm.sh/helm/v3); \
	have=$$($(HELM) version --template '{{.Version}}' 2>/dev/null); \
	if [ "$$have" != "$$want" ]; then \
		kube=$$($(GO) list -m -f '{{.Version}}' k8s.io/client-go | cut -d. -f2); \
		echo "building helm $$want into $(HELM)"; \
		$(GO) build -trimpath -o $(HELM) -ldflags "-s -w \
			-X helm.sh/helm/v3/internal/version.version=$$want \
			-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 \
			-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$$kube \
			-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 \
			-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$$kube" \
			helm.sh/helm/v3/cmd/helm; \
	fi

## bench: the engine's Go benchmarks
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/policy/

## demo: starts a control plane and the webhook and applies examples/ (arrives with the e2e suite)
demo:
	@echo "make demo arrives with the end-to-end suite; until then see README.md" >&2; exit 1

clean:
	rm -rf $(BIN)
