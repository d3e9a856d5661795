package store

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"elicence/issuer/kind"
)

// Sentinel errors returned (wrapped) by every [Store] implementation. Test
// for them with errors.Is; each says its [kind.Kind] (ErrChainBroken is
// internal).
var (
	// ErrNotFound reports that the record does not exist, or belongs to
	// another department than the one named in the request.
	ErrNotFound = kind.New(kind.NotFound, "not found")

	// ErrInvalid reports a record or argument that breaks a documented rule
	// (a malformed code, a missing field); the wrapping message says which.
	ErrInvalid = kind.New(kind.Invalid, "invalid argument")

	// ErrConflict reports that the request conflicts with the current state.
	// ErrDuplicate, ErrInvalidTransition and ErrIdempotencyMismatch wrap it.
	ErrConflict = kind.New(kind.Conflict, "conflict")

	// ErrDuplicate reports that a record with the same identity exists.
	ErrDuplicate = kind.Refine(kind.Conflict, ErrConflict, "duplicate")

	// ErrInvalidTransition reports a state change the rules forbid, such as
	// reinstating a revoked licence or revoking a token twice.
	ErrInvalidTransition = kind.Refine(kind.Conflict, ErrConflict, "invalid state transition")

	// ErrIdempotencyMismatch reports that an idempotency key was used before
	// with a different request body.
	ErrIdempotencyMismatch = kind.Refine(kind.IdempotencyMismatch, ErrConflict, "idempotency key reused with a different request")

	// ErrKeyNotActive reports that the signing key named for an issuance
	// is not (or no longer) the department's active key: a retired or
	// compromised key signs nothing new.
	ErrKeyNotActive = kind.Refine(kind.Conflict, ErrConflict, "signing key not active")

	// ErrNotAuthorised reports that the department is not authorised to
	// issue the licence type.
	ErrNotAuthorised = kind.New(kind.NotAuthorised, "department not authorised for licence type")

	// ErrChainBroken reports that the audit chain does not verify.
	ErrChainBroken = errors.New("audit chain broken")
)

// invalidf returns an error wrapping ErrInvalid.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// ErrUnavailable reports that the store could not be reached or is not
// accepting work (the database is down, restarting or out of
// connections): the request may succeed if sent again later. Test with
// [IsUnavailable], which also recognises the drivers' own connection
// errors.
var ErrUnavailable = kind.New(kind.StoreUnavailable, "store unavailable")

// IsUnavailable reports whether err says the store could not be reached
// or is not accepting work, rather than that the request was wrong: it
// wraps ErrUnavailable, a network error (refused, reset, closed, timed
// out dialling), an unexpected end of the connection, a driver error that
// says it happened before anything was sent (SafeToRetry), or a SQLSTATE of
// class 08 (connection exception), 53 (insufficient resources) or 57P
// (the server is shutting down, crashed, or is not yet accepting
// connections).
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) {
		return true
	}
	var st interface{ SQLState() string }
	if errors.As(err, &st) {
		code := st.SQLState()
		return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "53") || strings.HasPrefix(code, "57P")
	}
	// Drivers mark errors that happened before anything was sent (pgx:
	// a connection closed by an earlier failure, a failed dial).
	var retry interface{ SafeToRetry() bool }
	if errors.As(err, &retry) && retry.SafeToRetry() {
		return true
	}
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &oe) || (errors.As(err, &ne) && ne.Timeout()) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
