package store

import (
	"errors"
	"fmt"
)

// Sentinel errors returned (wrapped) by every [Store] implementation. Test
// for them with errors.Is.
var (
	// ErrNotFound reports that the record does not exist, or belongs to
	// another department than the one named in the request.
	ErrNotFound = errors.New("not found")

	// ErrInvalid reports a record or argument that breaks a documented rule
	// (a malformed code, a missing field); the wrapping message says which.
	ErrInvalid = errors.New("invalid argument")

	// ErrConflict reports that the request conflicts with the current state.
	// ErrDuplicate, ErrInvalidTransition and ErrIdempotencyMismatch wrap it.
	ErrConflict = errors.New("conflict")

	// ErrDuplicate reports that a record with the same identity exists.
	ErrDuplicate = fmt.Errorf("%w: duplicate", ErrConflict)

	// ErrInvalidTransition reports a state change the rules forbid, such as
	// reinstating a revoked licence or revoking a token twice.
	ErrInvalidTransition = fmt.Errorf("%w: invalid state transition", ErrConflict)

	// ErrIdempotencyMismatch reports that an idempotency key was used before
	// with a different request body.
	ErrIdempotencyMismatch = fmt.Errorf("%w: idempotency key reused with a different request", ErrConflict)

	// ErrKeyNotActive reports that the signing key named for an issuance
	// is not (or no longer) the department's active key: a retired or
	// compromised key signs nothing new.
	ErrKeyNotActive = fmt.Errorf("%w: signing key not active", ErrConflict)

	// ErrNotAuthorised reports that the department is not authorised to
	// issue the licence type.
	ErrNotAuthorised = errors.New("department not authorised for licence type")

	// ErrChainBroken reports that the audit chain does not verify.
	ErrChainBroken = errors.New("audit chain broken")
)

// invalidf returns an error wrapping ErrInvalid.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}
