package identifier

import (
	"strings"
	"time"
	"unicode/utf8"
)

// HolderKind says which code identifies a licence holder (持证人). The zero
// value is not a valid kind.
type HolderKind uint8

// The kinds of holder code.
const (
	// HolderCitizenID is a person's GB 11643 citizen identity number.
	HolderCitizenID HolderKind = iota + 1
	// HolderUSCC is an organisation's GB 32100 unified social credit code.
	HolderUSCC
)

// String returns "citizen-id", "uscc", or "unknown" for any other value.
func (k HolderKind) String() string {
	switch k {
	case HolderCitizenID:
		return "citizen-id"
	case HolderUSCC:
		return "uscc"
	}
	return "unknown"
}

// ValidateHolder checks code as a holder code of the given kind:
// [ValidateCitizenID] (with now) for [HolderCitizenID], [ValidateUSCC] for
// [HolderUSCC]. Any other kind is a [*ParseError] with Subject
// "holder code" and Field "kind".
func ValidateHolder(kind HolderKind, code string, now time.Time) error {
	switch kind {
	case HolderCitizenID:
		return ValidateCitizenID(code, now)
	case HolderUSCC:
		return ValidateUSCC(code)
	}
	return &ParseError{Subject: "holder code", Field: "kind", Reason: "unknown holder kind"}
}

// maskKeep is how many characters MaskHolder keeps at each end of an
// 18-character code it masks.
const maskKeep = 4

// MaskHolder returns the form of a holder code that may be displayed,
// printed or put in a credential or QR code. The rules, in order:
//
//  1. A unified social credit code is returned whole: it is public, printed
//     on the business licence and listed in the national enterprise credit
//     register. This applies only when kind is [HolderUSCC], code passes
//     [ValidateUSCC], and code does not also have the shape and check
//     character of a citizen identity number (17 digits and a valid MOD 11-2
//     check); such a code is masked as in rule 2, because a mislabelled
//     person's number must never be shown whole.
//  2. Any other 18-character code (a citizen identity number, or a code
//     that failed rule 1) keeps its first 4 and last 4 characters, the rest
//     replaced by "*": 11010519491231002X becomes 1101**********002X. The
//     birth date and most of the region code are hidden.
//  3. Any other code is replaced entirely by one "*" per character.
//
// MaskHolder never fails and never returns a citizen identity number whole,
// whatever kind it is given.
func MaskHolder(kind HolderKind, code string) string {
	if kind == HolderUSCC && ValidateUSCC(code) == nil && !isCitizenIDLike(code) {
		return code
	}
	if len(code) == 18 && utf8.RuneCountInString(code) == 18 {
		return code[:maskKeep] + strings.Repeat("*", 18-2*maskKeep) + code[18-maskKeep:]
	}
	return strings.Repeat("*", utf8.RuneCountInString(code))
}
