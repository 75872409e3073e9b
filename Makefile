# Every entry point of the project. The machine's own Node may be too old: all
# JavaScript here runs on the Node pinned in package.json (node-linux-<arch>).
SHELL := /bin/bash
.DEFAULT_GOAL := build

ARCH := $(shell uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')
NODE := $(CURDIR)/node_modules/node-linux-$(ARCH)/bin/node
ESBUILD := node_modules/.bin/esbuild
LAYER := dist/layer
BUNDLE := $(LAYER)/lambda-trace-proxy/extension.cjs
SOURCES := $(shell find src -name '*.ts') package.json
# Native addons (aws-lambda-ric) must compile against the pinned Node, not /usr.
export npm_config_nodedir := $(CURDIR)/node_modules/node-linux-$(ARCH)
export PATH := $(dir $(NODE)):$(PATH)

.PHONY: build deps typecheck test test-runtimes collector unit integration demo bench e2e layer clean

deps: node_modules/.deps-installed
node_modules/.deps-installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@test -x $(NODE) || { echo "pinned Node missing at $(NODE): is node-linux-$(ARCH) in optionalDependencies?" >&2; exit 1; }
	touch $@

build: $(LAYER)/extensions/lambda-trace-proxy $(LAYER)/wrapper-script.sh $(LAYER)/lambda-trace-proxy/bin/node $(BUNDLE)

$(BUNDLE): node_modules/.deps-installed $(SOURCES)
	@mkdir -p $(dir $@)
	$(ESBUILD) src/main.ts --bundle --platform=node --target=node22 --format=cjs \
	  --minify --legal-comments=none --log-level=warning \
	  --define:LRAP_VERSION='"$(shell $(NODE) -p 'require("./package.json").version')"' \
	  --outfile=$@

$(LAYER)/lambda-trace-proxy/bin/node: node_modules/.deps-installed
	@mkdir -p $(dir $@)
	cp -f $(NODE) $@

$(LAYER)/extensions/lambda-trace-proxy: src/launcher.sh
	@mkdir -p $(dir $@)
	install -m 0755 $< $@

$(LAYER)/wrapper-script.sh: wrapper-script.sh
	@mkdir -p $(dir $@)
	install -m 0755 $< $@

# Real Lambda runtime interface clients (Node, Go, Python) for tests and the demo.
test-runtimes: node_modules/.deps-installed
	test/runtimes/install.sh

# A real OpenTelemetry Collector, to validate collector-config/ (built from the Go module proxy, cached).
collector: 
	test/e2e/install-tools.sh otelcol

typecheck: node_modules/.deps-installed
	node_modules/.bin/tsc -p tsconfig.json

unit: node_modules/.deps-installed
	$(NODE) --test --test-reporter=spec 'test/unit/**/*.test.ts' 'test/sandbox/**/*.test.ts'

integration: build test-runtimes
	$(NODE) --test --test-reporter=spec --test-concurrency=2 'test/integration/**/*.test.ts'

# Every test but the end-to-end ones (make e2e), which build and run heavier tools.
TESTS := 'test/unit/**/*.test.ts' 'test/sandbox/**/*.test.ts' 'test/support/**/*.test.ts' \
  'test/runtimes/**/*.test.ts' 'test/integration/**/*.test.ts' 'test/layer/**/*.test.ts' \
  test/e2e/collector-configs.test.ts

test: typecheck build test-runtimes collector
	$(NODE) --test --test-reporter=spec --test-concurrency=2 $(TESTS)

demo: build test-runtimes
	$(NODE) test/demo/demo.ts

# Figures, not tests: prints a table and rewrites BENCHMARKS.md and its chart.
bench: build
	$(NODE) test/bench/bench.ts

clean:
	rm -rf dist
