# privateguard — build, test and demo targets. Everything CI runs is `make test`.

GO       ?= go
BIN      := $(CURDIR)/bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
PKGS     := ./...

.PHONY: all build lint fmt vet unit test e2e bench demo clean chart helm-lint image push push-target image-test faults faults-short

all: build

## build: compile every package and write the privateguard binary to bin/privateguard
build:
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(BIN)/privateguard ./cmd/webhook
	$(GO) build $(PKGS)

## lint: gofmt check and go vet
lint: fmt vet

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files --others --exclude-standard '*.go' 2>/dev/null)); \
	if [ -n "$$out" ]; then echo "gofmt wants changes in:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet -tags e2e,faults $(PKGS)

## unit: unit tests, including every fuzz target's seed corpus
unit:
	$(GO) test -count=1 $(PKGS)

## test: everything CI runs
test: lint unit image-test helm-lint faults-short e2e

## ---------------------------------------------------------------------------
## The container image, without Docker: hack/image (its own module, so that
## go-containerregistry stays out of go.mod) compiles the static binary for
## linux/amd64 and linux/arm64 and writes an OCI image index to bin/image/oci
## and bin/image/privateguard-oci.tar. Every timestamp is the commit time (or
## SOURCE_DATE_EPOCH), so the same commit gives the same digests.
## ---------------------------------------------------------------------------

IMAGE_TOOL        := cd hack/image && GOWORK=off $(GO) run .
IMAGE_OUT         := $(BIN)/image
REVISION          ?= $(shell git rev-parse HEAD 2>/dev/null)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null)
IMAGE_SOURCE      ?= https://github.com/privateguard/privateguard
# The repository has no license file yet; set IMAGE_LICENSES (an SPDX expression) to
# label the image with one.
IMAGE_LICENSES    ?=
CA_BUNDLE         ?= /etc/ssl/certs/ca-certificates.crt

## image: the multi-architecture OCI image, in bin/image/ (no Docker)
image:
	$(IMAGE_TOOL) build -module '$(CURDIR)' -out '$(IMAGE_OUT)' \
		-version '$(VERSION)' -revision '$(REVISION)' -created '$(or $(SOURCE_DATE_EPOCH),0)' \
		-source '$(IMAGE_SOURCE)' -ca-bundle '$(CA_BUNDLE)' -licenses '$(IMAGE_LICENSES)'

## push: push the image index and both images, e.g. make push IMAGE=$$ECR/privateguard:0.1.0
## (credentials as crane and docker read them: crane auth login, docker login, credential helpers)
push: push-target image
	$(IMAGE_TOOL) push -layout '$(IMAGE_OUT)/oci' '$(IMAGE)'

# push-target stops `make push` before the build when IMAGE is missing.
push-target:
	@test -n "$(IMAGE)" || { echo 'usage: make push IMAGE=<registry>/<repository>:<tag>'; exit 2; }

## image-test: vet and test the image builder: build, push to an in-process registry, pull, rebuild
## (about 20 s once the Go build cache holds both architectures; the first arm64 build takes minutes)
image-test:
	cd hack/image && GOWORK=off $(GO) vet ./...
	cd hack/image && GOWORK=off $(GO) test -count=1 -timeout 20m ./...

## faults: the fault suite, about 5 minutes: real `privateguard serve` replicas on
## 127.0.0.1 under steady admission load while the certificate rotates, the policy
## reloads, a replica gets SIGTERM, large and slow bodies flood in, and a fake API server
## behind the lookups fails, hangs and recovers. Asserts correctness; prints a table.
faults: build
	$(GO) test -tags faults -count=1 -timeout 15m -v -run TestFaults ./test/faults -bin $(BIN)/privateguard

## faults-short: the same suite with shortened phases (about a minute); `test` runs it
faults-short: build
	$(GO) test -tags faults -short -count=1 -timeout 5m -run TestFaults ./test/faults -bin $(BIN)/privateguard

# The Helm chart. The helm CLI is built from the helm.sh/helm/v3 version pinned in go.mod
# (its `tool` line), into the git-ignored bin/, and rebuilt only when that version changes.
CHART        := deploy/helm/privateguard
HELM         := $(BIN)/helm
HELM_VALUES  := --set policy.region=us-west-2

## chart: only the chart's Go tests (lint, render, schema) with the Helm SDK; `unit` runs them too
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

## bench: engine benchmarks, then a loopback TLS load test against an allow-all baseline
## (table printed and written to bench/results.md; nothing is asserted)
bench: build e2e-bins
	$(GO) build -o $(BIN)/privateguard-baseline ./test/bench/baseline
	@mkdir -p bench
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/policy/ ./pkg/admission/ | tee bench/engine.txt
	$(GO) run ./test/bench -bin $(BIN) -config examples/policy.yaml -engine bench/engine.txt -out bench/results.md

## e2e: the end-to-end suite against a real kube-apiserver and etcd (builds them once)
e2e: build e2e-bins
	$(GO) test -tags e2e -count=1 -timeout 30m ./test/e2e/

## demo: start a control plane, the chart and the webhook, apply examples/workloads/ and show what happened
demo: build e2e-bins
	$(GO) run ./test/e2e/demo

## ---------------------------------------------------------------------------
## End-to-end binaries: a real kube-apiserver, etcd, kubectl and cert-manager,
## built from the Go module proxy by the tools modules under test/e2e/tools/
## (see its README.md). They are real file targets: built once into the
## git-ignored bin/, rebuilt only when a tools module's go.mod/go.sum (or a
## main.go of its own) changes.
## The committed go.sum files pin every module; GOWORK=off keeps any go.work
## out of the way. The kube-apiserver build takes several minutes on 2 cores.
## ---------------------------------------------------------------------------

E2E_TOOLS    := test/e2e/tools
E2E_GOBUILD  := GOWORK=off $(GO) build -trimpath
E2E_LDFLAGS  := -s -w

# A plain `go build` leaves kube-apiserver reporting v0.0.0-master from
# /version, which breaks version checks (Helm's kubeVersion, discovery).
# Stamp the release the way Kubernetes' hack/lib/version.sh does, reading
# the version from the tools go.mod so the two cannot drift.
KUBE_VERSION  = $(shell cd $(E2E_TOOLS)/apiserver && GOWORK=off $(GO) list -m -f '{{.Version}}' k8s.io/kubernetes)
kube_ver_word = $(word $(1),$(subst ., ,$(patsubst v%,%,$(KUBE_VERSION))))
KUBE_LDFLAGS  = $(foreach pkg,k8s.io/component-base/version k8s.io/client-go/pkg/version, \
	-X $(pkg).gitVersion=$(KUBE_VERSION) -X $(pkg).gitMajor=$(call kube_ver_word,1) \
	-X $(pkg).gitMinor=$(call kube_ver_word,2) -X $(pkg).gitTreeState=clean)

.PHONY: e2e-bins

## e2e-bins: build bin/kube-apiserver, bin/etcd, bin/kubectl and bin/cert-manager for the
## end-to-end suite and the demo
e2e-bins: bin/kube-apiserver bin/etcd bin/kubectl bin/cert-manager

bin/kube-apiserver: $(E2E_TOOLS)/apiserver/go.mod $(E2E_TOOLS)/apiserver/go.sum
	@mkdir -p $(BIN)
	cd $(E2E_TOOLS)/apiserver && $(E2E_GOBUILD) -ldflags "$(E2E_LDFLAGS) $(strip $(KUBE_LDFLAGS))" -o $(BIN)/kube-apiserver.tmp k8s.io/kubernetes/cmd/kube-apiserver
	mv $(BIN)/kube-apiserver.tmp $(BIN)/kube-apiserver

# kubectl comes from the same k8s.io/kubernetes version as kube-apiserver (a second `tool`
# line in that module) and is stamped the same way, so `kubectl version` tells the truth.
bin/kubectl: $(E2E_TOOLS)/apiserver/go.mod $(E2E_TOOLS)/apiserver/go.sum
	@mkdir -p $(BIN)
	cd $(E2E_TOOLS)/apiserver && $(E2E_GOBUILD) -ldflags "$(E2E_LDFLAGS) $(strip $(KUBE_LDFLAGS))" -o $(BIN)/kubectl.tmp k8s.io/kubernetes/cmd/kubectl
	mv $(BIN)/kubectl.tmp $(BIN)/kubectl

# cert-manager's controllers and CA injector in one process (see its main.go).
bin/cert-manager: $(E2E_TOOLS)/certmanager/go.mod $(E2E_TOOLS)/certmanager/go.sum $(E2E_TOOLS)/certmanager/main.go
	@mkdir -p $(BIN)
	cd $(E2E_TOOLS)/certmanager && $(E2E_GOBUILD) -ldflags "$(E2E_LDFLAGS)" -o $(BIN)/cert-manager.tmp .
	mv $(BIN)/cert-manager.tmp $(BIN)/cert-manager

bin/etcd: $(E2E_TOOLS)/etcd/go.mod $(E2E_TOOLS)/etcd/go.sum $(E2E_TOOLS)/etcd/main.go
	@mkdir -p $(BIN)
	cd $(E2E_TOOLS)/etcd && $(E2E_GOBUILD) -ldflags "$(E2E_LDFLAGS)" -o $(BIN)/etcd.tmp .
	mv $(BIN)/etcd.tmp $(BIN)/etcd

clean:
	rm -rf $(BIN)
