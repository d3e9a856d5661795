package format

import (
	"errors"
	"fmt"
)

// Problem classifies why an input was refused, so that a verifier can name a
// specific sub-indication for each.
type Problem int

// Problems a decoder reports.
const (
	// ProblemFormat is any malformed structure: bad CBOR, wrong field types,
	// missing fields, non-canonical encoding.
	ProblemFormat Problem = iota + 1
	// ProblemPrefix is a QR text whose prefix or version is not one we know.
	ProblemPrefix
	// ProblemBase45 is a QR text whose Base45 (version 1) or Base41
	// (version 2) part is not valid and canonical.
	ProblemBase45
	// ProblemTooLarge is an input longer than the format allows.
	ProblemTooLarge
	// ProblemTrailing is an input with bytes after the encoded object.
	ProblemTrailing
	// ProblemNonCanonical is CBOR that decodes but is not the one canonical encoding.
	ProblemNonCanonical
	// ProblemKind is a well-formed object of another kind than expected.
	ProblemKind
)

var problemNames = map[Problem]string{
	ProblemFormat:       "format",
	ProblemPrefix:       "prefix",
	ProblemBase45:       "base45",
	ProblemTooLarge:     "too large",
	ProblemTrailing:     "trailing bytes",
	ProblemNonCanonical: "non-canonical",
	ProblemKind:         "kind",
}

// String returns a short lower-case name of the problem.
func (p Problem) String() string {
	if s, ok := problemNames[p]; ok {
		return s
	}
	return fmt.Sprintf("problem(%d)", int(p))
}

// ParseError reports an input that does not follow the format.
type ParseError struct {
	// What names what was being parsed, e.g. "credential" or "qr text".
	What string
	// Problem classifies the failure.
	Problem Problem
	// Err is the underlying cause.
	Err error
}

// Error returns e.g. "qr text: base45: invalid character '~' at 12".
func (e *ParseError) Error() string {
	return fmt.Sprintf("%s: %s: %v", e.What, e.Problem, e.Err)
}

// Unwrap returns the underlying cause.
func (e *ParseError) Unwrap() error { return e.Err }

func parseErr(what string, p Problem, format string, args ...any) *ParseError {
	return &ParseError{What: what, Problem: p, Err: fmt.Errorf(format, args...)}
}

// ProblemOf returns the Problem of a *ParseError in err's chain, or 0.
func ProblemOf(err error) Problem {
	var pe *ParseError
	if errors.As(err, &pe) {
		return pe.Problem
	}
	return 0
}

// ErrSignature reports a signature that does not verify.
var ErrSignature = errors.New("signature does not verify")

// ErrDuplicateKey reports a trust list that names one key twice, within a
// department or across departments: whatever states the entries give, the
// list contradicts itself and is refused as a whole.
var ErrDuplicateKey = errors.New("key listed twice")
