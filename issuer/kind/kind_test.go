package kind_test

import (
	"errors"
	"fmt"
	"testing"

	"elicence/issuer/kind"
)

// TestOf checks that the first error in a chain that says a kind decides
// it, that a refined sentinel keeps its parent for errors.Is, and that an
// error of no kind is internal.
func TestOf(t *testing.T) {
	conflict := kind.New(kind.Conflict, "conflict")
	mismatch := kind.Refine(kind.IdempotencyMismatch, conflict, "idempotency key reused")
	notFound := kind.New(kind.NotFound, "not found")
	for _, tc := range []struct {
		name string
		err  error
		want kind.Kind
	}{
		{"nil", nil, kind.Internal},
		{"plain", errors.New("disk on fire"), kind.Internal},
		{"sentinel", notFound, kind.NotFound},
		{"wrapped", fmt.Errorf("licence L1: %w", notFound), kind.NotFound},
		{"refined", mismatch, kind.IdempotencyMismatch},
		{"refined wrapped", fmt.Errorf("issue: %w", mismatch), kind.IdempotencyMismatch},
		{"parent", fmt.Errorf("%w: duplicate", conflict), kind.Conflict},
		{"first of two", fmt.Errorf("%w: %w", notFound, conflict), kind.NotFound},
	} {
		if got := kind.Of(tc.err); got != tc.want {
			t.Errorf("%s: Of = %s, want %s", tc.name, got, tc.want)
		}
	}
	if !errors.Is(mismatch, conflict) || errors.Is(conflict, mismatch) {
		t.Error("a refined sentinel must wrap its parent, not the other way round")
	}
	if got, want := mismatch.Error(), "conflict: idempotency key reused"; got != want {
		t.Errorf("refined message %q, want %q", got, want)
	}
	if kind.Kind(99).String() != "unknown" || kind.NotFound.String() != "not-found" {
		t.Error("String")
	}
}
