package issuer

import (
	"fmt"

	"elicence/issuer/kind"
	"elicence/issuer/store"
)

// Sentinel errors of the issuer service, besides *ValidationError and the
// store's (store.ErrNotFound, store.ErrConflict and those wrapping it,
// store.ErrNotAuthorised), which the service passes through. Each says its
// [kind.Kind], which only the HTTP layer maps to a status; errors of no
// kind are internal.
var (
	// ErrUnauthenticated reports a missing, unknown, revoked or expired
	// bearer token or wallet session.
	ErrUnauthenticated = kind.New(kind.Unauthenticated, "unauthenticated")
	// ErrForbidden reports a token that lacks the scope an action needs,
	// or a department token used for an operator action.
	ErrForbidden = kind.New(kind.Forbidden, "forbidden")
	// ErrNotUsable reports a licence that cannot be presented: revoked,
	// suspended or expired. It wraps store.ErrConflict.
	ErrNotUsable = kind.Refine(kind.Conflict, store.ErrConflict, "licence not usable")
	// ErrUnavailable reports something the service cannot do in its
	// configuration, e.g. sign a trust list without the root key.
	ErrUnavailable = kind.New(kind.Unavailable, "unavailable")
)

// Problem is an error whose message is safe to show to the client. Err is
// the sentinel that classifies it: its kind is the problem's kind.
type Problem struct {
	Err    error
	Detail string
}

// Error returns the safe detail.
func (p *Problem) Error() string { return p.Detail }

// Unwrap returns the classifying sentinel.
func (p *Problem) Unwrap() error { return p.Err }

// problem returns a *Problem classified by err with a formatted detail.
func problem(err error, format string, args ...any) error {
	return &Problem{Err: err, Detail: fmt.Sprintf(format, args...)}
}

// fieldError returns a *ValidationError of one field.
func fieldError(field, format string, args ...any) error {
	return &ValidationError{Errors: []FieldError{{Field: field, Reason: fmt.Sprintf(format, args...)}}}
}
