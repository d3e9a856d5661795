# elicence: make run, make test. See README.md.

GO ?= go
FUZZTIME ?= 10s

.PHONY: run test cgo-check vet staticcheck fmt-check bench bench-quick bench-all fuzz vectors crash soak

# make run ADDR=127.0.0.1:9090 listens there (it sets ELICENCE_SERVE_ADDR).
# The first build takes about two minutes and prints nothing meanwhile.
run:
	@echo 'make run: building and starting elicence serve (the first build takes about two minutes)' >&2
	$(if $(ADDR),ELICENCE_SERVE_ADDR='$(ADDR)' )$(GO) run ./cmd/elicence serve

test: cgo-check fmt-check vet staticcheck
	$(GO) test -race -count=1 ./...
	@echo "without the race detector: the memory bounds (it multiplies memory) and the memo's million verifications of a revoked licence (20,000 under it):"
	$(GO) test -count=1 -run 'MemoryBound$$|^TestMemoNeverSkipsStatus$$' ./api/... ./document/... ./verifier

# The race detector needs cgo, so a C compiler: without one, go test -race
# says "-race requires cgo; enable cgo", which points the wrong way.
cgo-check:
	@command -v "$$($(GO) env CC)" >/dev/null 2>&1 || { \
		echo "make test needs a C compiler for the race detector: install gcc (Debian: apt-get install gcc libc6-dev)"; exit 1; }

vet:
	$(GO) vet ./...

# staticcheck is a tool dependency in go.mod (go get -tool), so its version is pinned.
staticcheck:
	$(GO) tool staticcheck ./...

fmt-check:
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Every performance figure beside its limit, in one Markdown table, measured
# in one run (PostgreSQL figures need ELICENCE_TEST_POSTGRES or a local
# server; see docs/performance.md). bench-quick takes under two minutes and
# is for development: its figures are rough. Neither asserts timings.
bench:
	$(GO) run ./internal/benchtable -go $(GO) -out docs/performance-latest.md

bench-quick:
	$(GO) run ./internal/benchtable -go $(GO) -quick -out bench-quick.md

# Every benchmark of every package, unsummarised.
bench-all:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Each fuzz target for $(FUZZTIME), in every package that has one (go test
# -fuzz takes one target at a time). Minimising a new input is capped so
# that the time goes to fuzzing.
fuzz:
	@set -e; for pkg in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for target in $$(grep -h '^func Fuzz' $$pkg/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "fuzz $$pkg $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s $$pkg; \
		done; \
	done

vectors:
	$(GO) run ./internal/vectors/gen -dir testdata/vectors

# The full crash and reliability runs (make test runs a short variant of
# each): the issuer killed with SIGKILL (10 rounds per store, single and
# bulk), PostgreSQL stopped -m immediate on a private cluster (5 rounds),
# bulk uploads up to 200,000 rows through the API and bulk-issue.
crash:
	ELICENCE_LONG=1 $(GO) test -count=1 -timeout 90m -v -run 'TestCrash|TestBulkSizes|TestBulkIssue|TestFlushSurvivesImmediateStop' \
		./e2e ./api/issuerapi ./cli ./issuer/store/postgres

# A soak of SOAK (default 10m) of mixed issuance, revocation and
# verification at a steady rate against real processes.
SOAK ?= 10m
soak:
	ELICENCE_SOAK=$(SOAK) $(GO) test -count=1 -timeout 60m -v -run '^TestSoak$$' ./e2e
