# WeGO — make help lists the targets.
GO         ?= go
PKGS       ?= ./...
BENCHTIME  ?= 200ms
FUZZTIME   ?= 10s
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: help run test test-short lint fuzz soak bench bench-quick bench-micro fmt

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

run: ## start the example mesh (orders on 127.0.0.1:8080, inventory on 127.0.0.1:8081, shipping on 127.0.0.1:8083) on embedded defaults
	./examples/mesh/run.sh

test: ## every test: gofmt, go vet, then go test -race -shuffle=on (features, codegen and the short reliability suite included)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) test -race -shuffle=on -count=1 -timeout 15m $(PKGS)
	$(GO) test -count=1 ./internal/hotpath   # allocation counts are exact only without -race
	cd bench && $(GO) vet ./... && $(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./inproc >/dev/null

test-short: ## the tests without the race detector and the slow ones, for a quick loop
	$(GO) test -short $(PKGS)

lint: ## go vet, gofmt and staticcheck
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || (gofmt -l .; exit 1)
	$(GO) run $(STATICCHECK) $(PKGS)

fuzz: ## every fuzz target for FUZZTIME (10s) each
	GO=$(GO) .ci/fuzz-one ./codec FuzzDecodeStrict $(FUZZTIME)
	GO=$(GO) .ci/fuzz-one ./codec FuzzFastDecode $(FUZZTIME)
	GO=$(GO) .ci/fuzz-one ./codec FuzzEncPlan $(FUZZTIME)
	GO=$(GO) .ci/fuzz-one ./transport/http FuzzBind $(FUZZTIME)
	GO=$(GO) .ci/fuzz-one ./transport/http FuzzDecodeError $(FUZZTIME)
	GO=$(GO) .ci/fuzz-one ./transport/http FuzzRemoteResponse $(FUZZTIME)
	GO=$(GO) .ci/fuzz-one ./transport/http FuzzEncodeRequest $(FUZZTIME)
	GO=$(GO) .ci/fuzz-one ./transport/http FuzzGuard $(FUZZTIME)
	GO=$(GO) .ci/fuzz-one ./config FuzzLoad $(FUZZTIME)
	GO=$(GO) .ci/fuzz-one ./config FuzzEnv $(FUZZTIME)
	GO=$(GO) .ci/fuzz-one ./templates FuzzParseSpec $(FUZZTIME)
	GO=$(GO) .ci/fuzz-one ./log FuzzParseRequestID $(FUZZTIME)
	GO=$(GO) .ci/fuzz-one ./err FuzzRender $(FUZZTIME)
	GO=$(GO) .ci/fuzz-one ./i18n FuzzLocalize $(FUZZTIME)
	GO=$(GO) .ci/fuzz-one ./middleware FuzzPattern $(FUZZTIME)
	GO=$(GO) .ci/fuzz-one ./middleware/requestid FuzzFromHeader $(FUZZTIME)
	GO=$(GO) .ci/fuzz-one ./middleware/logging FuzzAppendString $(FUZZTIME)
	GO=$(GO) .ci/fuzz-one ./auth FuzzAuthenticate $(FUZZTIME)
	GO=$(GO) .ci/fuzz-one ./auth FuzzRuleMatch $(FUZZTIME)
	GO=$(GO) .ci/fuzz-one ./middleware/auth FuzzAuthorizationHeader $(FUZZTIME)

soak: ## the long runs: 50,000 orders, faults, shutdown, integrity, memory; 1,000 fresh-process catalog isolation runs
	WEGO_SOAK=1 $(GO) test -race -shuffle=on -count=1 -timeout 30m -v ./examples/mesh/reliability
	WEGO_SOAK=1 $(GO) test -race -count=1 -timeout 30m -run TestIsolationInFreshProcesses ./catalog/catalogtest

bench: ## WeGO beside go-kit, gin and net/http (bench/ module): medians, ratios, targets; writes docs/performance.md
	cd bench && $(GO) run ./cmd/benchreport

bench-quick: ## the same in under two minutes
	cd bench && $(GO) run ./cmd/benchreport -quick

bench-micro: ## the framework's own micro-benchmarks, with -benchmem
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)

fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')
