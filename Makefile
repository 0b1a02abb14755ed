# privateguard — build, test and demo targets. Everything CI runs is `make test`.

GO       ?= go
BIN      := $(CURDIR)/bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
PKGS     := ./...

.PHONY: all build lint fmt vet unit test bench demo clean

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
	$(GO) vet $(PKGS)

## unit: unit tests, including every fuzz target's seed corpus
unit:
	$(GO) test -count=1 $(PKGS)

## test: everything CI runs
test: lint unit

## bench: the Go benchmarks of the engine and the admission handlers
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/policy/ ./pkg/admission/

## demo: starts a control plane and the webhook and applies examples/ (arrives with the e2e suite)
demo:
	@echo "make demo arrives with the end-to-end suite; until then see README.md" >&2; exit 1

clean:
	rm -rf $(BIN)
