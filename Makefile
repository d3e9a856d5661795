# elicence: make run, make test. See README.md.

GO ?= go
FUZZTIME ?= 10s

.PHONY: run test vet fmt-check bench bench-quick bench-all fuzz vectors

run:
	$(GO) run ./cmd/elicence serve

test: fmt-check vet
	$(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...

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

# Each fuzz target for $(FUZZTIME); go test -fuzz takes one target at a time.
# Minimising a new input is capped: the trust-list seed is 3 KB, and the
# default minutes of minimisation would leave no time to fuzz.
fuzz:
	@set -e; for pkg in ./format ./verifier; do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s $$pkg; \
		done; \
	done

vectors:
	$(GO) run ./internal/vectors/gen -dir testdata/vectors
