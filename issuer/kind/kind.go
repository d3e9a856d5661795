// Package kind is the issuer's one error-kind enum, as boulder's
// ErrorType: every expected failure of the issuer and its store (a
// sentinel such as store.ErrNotFound, an issuer.Problem classified by
// one, an issuer.ValidationError) says its Kind, and only api/ turns a
// kind into an HTTP status and problem type. An error of no kind is
// internal.
//
// The kind is found with [Of], which takes the first error in the chain
// that says one: a sentinel that refines another (store.ErrDuplicate wraps
// store.ErrConflict) says its own kind, so no table of sentinels, and no
// order among them, is needed to classify an error.
package kind

import "errors"

// Kind is the kind of an expected failure.
type Kind int

// The kinds. Internal is the zero value: an error that says no kind.
const (
	// Internal is a failure the caller cannot act on; its detail is
	// never shown.
	Internal Kind = iota
	// Invalid is a request that breaks a documented rule (a malformed
	// code, a missing argument).
	Invalid
	// Validation is a request whose fields are invalid, each with its
	// reason (issuer.ValidationError).
	Validation
	// Unauthenticated is a missing, unknown, revoked or expired token or
	// wallet session.
	Unauthenticated
	// Forbidden is a caller that may not do what it asked.
	Forbidden
	// NotAuthorised is a department not authorised for a licence type.
	NotAuthorised
	// NotFound is a record that does not exist, or is another
	// department's.
	NotFound
	// Conflict is a request that conflicts with the current state.
	Conflict
	// IdempotencyMismatch is an idempotency key used before with another
	// request.
	IdempotencyMismatch
	// Unavailable is something the service cannot do now or in its
	// configuration (no active key, no root key, shutting down).
	Unavailable
	// StoreUnavailable is a store that could not be reached or is not
	// accepting work: the request may be sent again.
	StoreUnavailable
)

var names = [...]string{"internal", "invalid", "validation", "unauthenticated", "forbidden", "not-authorised",
	"not-found", "conflict", "idempotency-mismatch", "unavailable", "store-unavailable"}

// String returns the kind's name, e.g. "not-found".
func (k Kind) String() string {
	if k < 0 || int(k) >= len(names) {
		return "unknown"
	}
	return names[k]
}

// Kinded is an error that says its kind.
type Kinded interface {
	error
	Kind() Kind
}

// Of returns the kind of the first error in err's chain that says one,
// or Internal.
func Of(err error) Kind {
	var k Kinded
	if errors.As(err, &k) {
		return k.Kind()
	}
	return Internal
}

// sentinel is an error of a kind, optionally refining a parent sentinel.
type sentinel struct {
	kind   Kind
	msg    string
	parent error
}

func (e *sentinel) Error() string {
	if e.parent != nil {
		return e.parent.Error() + ": " + e.msg
	}
	return e.msg
}

func (e *sentinel) Unwrap() error { return e.parent }

func (e *sentinel) Kind() Kind { return e.kind }

// New returns a sentinel error of kind k with message msg.
func New(k Kind, msg string) error { return &sentinel{kind: k, msg: msg} }

// Refine returns a sentinel error of kind k that wraps parent (so that
// errors.Is(err, parent) holds) with the message "parent: msg", as
// fmt.Errorf("%w: msg", parent) would.
func Refine(k Kind, parent error, msg string) error {
	return &sentinel{kind: k, msg: msg, parent: parent}
}
