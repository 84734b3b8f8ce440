# WeGO — make help lists the targets.
GO       ?= go
PKGS     ?= ./...
BENCHTIME ?= 200ms

.PHONY: help run test test-short bench lint fmt tidy

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

run: ## start the example mesh (orders on :8080, inventory on :8081) on embedded defaults
	./examples/mesh/run.sh

test: ## every test: vet, gofmt, then go test -race -shuffle=on
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) test -race -shuffle=on -count=1 $(PKGS)

test-short: ## the tests without the race detector, for a quick loop
	$(GO) test -short $(PKGS)

bench: ## the framework's own benchmarks, with -benchmem
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)

lint: ## go vet and gofmt
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l .)" || (gofmt -l .; exit 1)

fmt: ## gofmt the tree
	gofmt -w .
