# toolwarden — see README.md. `make help` lists the targets.

GO        ?= go
BUILD     := build
BIN       := $(BUILD)/toolwarden
WASM      := $(BUILD)/wasm
PLUGINS   := $(BUILD)/plugins
WASMFLAGS := -trimpath -buildvcs=false
QUICKSTART := examples/quickstart
REDTEAM   := examples/redteam
TOOLS     := echo jq httpfetch fsread
FIXTURES  := $(notdir $(wildcard sandbox/wasm/testdata/fixtures/*))
# Packages where data races would be security bugs run under -race.
RACE_PKGS := ./broker/... ./sandbox/...

.PHONY: help run build tools test test-race redteam soak bench fuzz check clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build the toolwarden binary into build/
	$(GO) build -trimpath -o $(BIN) ./cmd/toolwarden

tools: build ## build the wasm tools, fixtures and plugin tools, and pin the quickstart manifests to them
	@mkdir -p $(WASM) $(PLUGINS)
	@for t in $(TOOLS); do \
		GOOS=wasip1 GOARCH=wasm $(GO) build $(WASMFLAGS) -o $(WASM)/$$t.wasm ./tools/$$t || exit 1; \
	done
	@for f in $(FIXTURES); do \
		GOOS=wasip1 GOARCH=wasm $(GO) build $(WASMFLAGS) -o $(WASM)/$$f.wasm ./sandbox/wasm/testdata/fixtures/$$f || exit 1; \
	done
	@CGO_ENABLED=0 $(GO) build $(WASMFLAGS) -o $(PLUGINS)/sqlitequery ./tools/sqlitequery
	@$(PLUGINS)/sqlitequery -generate $(QUICKSTART)/data/sample.db
	@CGO_ENABLED=0 $(GO) build $(WASMFLAGS) -o $(PLUGINS)/hostile ./sandbox/plugin/testdata/fixture
	@$(BIN) manifest pin $(foreach t,$(TOOLS) sqlitequery,$(QUICKSTART)/manifests/$(t).yaml)
	@$(BIN) manifest pin $(filter-out %-role.yaml,$(wildcard $(REDTEAM)/manifests/*.yaml))
	@echo "built $(TOOLS) and $(words $(FIXTURES)) fixtures into $(WASM), sqlitequery and the hostile fixture into $(PLUGINS)"

run: tools ## run the quickstart: example calls through the full pipeline, then the audit log
	@./examples/quickstart/run.sh $(BIN)

test: tools ## build what the tests need, run the whole suite (-race where it matters), then the red-team corpus
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 15m -skip '^TestSoak$$' $$($(GO) list ./... | grep -v -e /broker -e /sandbox)
	$(GO) test -count=1 -race -timeout 15m $(RACE_PKGS)
	$(BIN) redteam --config $(REDTEAM)/toolwarden.yaml --corpus $(REDTEAM)/corpus --quiet --report $(BUILD)/redteam.json
	$(GO) test -count=1 -timeout 15m -run '^TestSoak$$' -v ./cmd/toolwarden -args -soak.calls=1000 -soak.clients=16

soak: tools ## the full soak: 10,000 calls from 16 clients, 5% to faulty tools, kill -9 and restart mid-load
	$(GO) test -count=1 -timeout 30m -run '^TestSoak$$' -v ./cmd/toolwarden -args -soak.calls=10000 -soak.clients=16

redteam: tools ## attack the red-team target (examples/redteam) with its corpus; exits non-zero on any failure
	$(BIN) redteam --config $(REDTEAM)/toolwarden.yaml --corpus $(REDTEAM)/corpus --quiet --report $(BUILD)/redteam.json

bench: tools ## run the benchmarks (medians of 6 runs) and print them with their baselines
	$(GO) run ./cmd/benchreport

fuzz: tools ## run every fuzz target for FUZZTIME each (default 30s)
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-30s} $$pkg || exit 1; \
		done; \
	done

check: ## gofmt, go vet and go mod tidy must leave the tree unchanged
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(GO) mod tidy
	git diff --exit-code

clean: ## remove build outputs
	rm -rf $(BUILD)
