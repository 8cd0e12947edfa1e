# The two commands the README opens with: `make demo` and `make test`.
SHELL := bash
GO ?= go
GOTEST_FLAGS ?= -race -shuffle=on -count=1 -timeout 40m
# gotestsum (pinned in go.mod as a tool) names every test and subtest, so the
# log shows which ran against the real broker and which were skipped, and why.
GOTESTSUM = $(GO) tool gotestsum --format testname --format-hide-empty-pkg

.PHONY: build demo test test-with-services test-without-vault test-vault check fuzz bench bench-audit services-up services-down

# bin/passerelle: the one binary every command in the README runs.
build:
	@deploy/local/build.sh bin/passerelle

# The whole system on its embedded default; flags: make demo DEMO_FLAGS="--citizens 1000".
demo: build
	bin/passerelle demo $(DEMO_FLAGS)

# Static checks first: they are fast and a failure there wastes no broker start.
check:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) mod tidy -diff
	$(GO) run ./cmd/passerelle schema check --dir internal/domains
	$(GO) run ./cmd/passerelle policy test --dir policy

# Everything, against the real services; deploy/local/test.sh says how.
test:
	@deploy/local/test.sh

# Every fuzz target beyond its seeds, FUZZTIME each (default 5s): `go test`
# alone only replays the seed corpus.
fuzz:
	deploy/local/fuzz.sh

# The packages whose tests need Vault; make test runs every other one while
# Vault builds (test-without-vault reads this list), then these.
VAULT_PKGS = ./internal/pseudo/ ./internal/seal/ ./internal/transit/ ./internal/link/ ./internal/memberkeys/ ./internal/kek/

# Tests of other packages that need Vault (the gateway with its keys in
# Vault, ./cmd/passerelle) are named TestWithVault*: skipped by
# test-without-vault, run by test-vault.
VAULT_TESTS = ^TestWithVault

# Run by `make test` once the services are up. The race detector slows the
# end-to-end runs tenfold, so they run small under -race and again at full
# size (100,000 citizens) without it.
test-with-services: test-without-vault test-vault

test-without-vault:
	$(GOTESTSUM) -- $(GOTEST_FLAGS) -skip '$(VAULT_TESTS)' $$($(GO) list ./... | grep -v -x -F "$$($(GO) list $(VAULT_PKGS))")
	$(GOTESTSUM) -- -count=1 -timeout 20m -run 'EndToEnd|Crash' ./internal/connect/

test-vault:
	$(GOTESTSUM) -- $(GOTEST_FLAGS) $(VAULT_PKGS)
	$(GOTESTSUM) -- $(GOTEST_FLAGS) -run '$(VAULT_TESTS)' ./cmd/passerelle/

bench:
	deploy/local/with-services.sh $(GO) test -run '^$$' -bench . -benchmem -benchtime $${BENCHTIME:-1s} ./...

# What the audit costs the view query, with the broker sharing the gateway's
# cores and on a core of its own (docs/benchmarks.md); about 20 minutes.
bench-audit:
	deploy/local/bench-audit.sh

services-up:
	deploy/local/kafka.sh up
	deploy/local/postgres.sh up
	deploy/local/vault.sh up

services-down:
	deploy/local/kafka.sh down
	deploy/local/postgres.sh down
	deploy/local/vault.sh down
