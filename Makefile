# elicence: make run, make test. See README.md.

GO ?= go
FUZZTIME ?= 10s

.PHONY: run test vet staticcheck fmt-check bench fuzz vectors

run:
	$(GO) run ./cmd/elicence serve

test: fmt-check vet staticcheck
	$(GO) test -race -count=1 ./...
	@echo "memory bounds, measured without the race detector (it multiplies memory):"
	$(GO) test -count=1 -run 'MemoryBound$$' ./api/...

vet:
	$(GO) vet ./...

# staticcheck is a tool dependency in go.mod (go get -tool), so its version is pinned.
staticcheck:
	$(GO) tool staticcheck ./...

fmt-check:
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

bench:
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
