package identifier

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// usccLen is the length of a GB 32100 unified social credit code.
const usccLen = 18

// usccAlphabet is the GB 32100 character set: digits and upper-case letters
// without I, O, S, V and Z. A character's value is its index.
const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// usccWeights are the GB 32100 weights of the first 17 characters:
// 3^(i-1) mod 31 for position i counted from 1.
var usccWeights = [usccLen - 1]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// ValidateUSCC checks that s is a GB 32100 unified social credit code
// (统一社会信用代码) in its exact 18-character form:
//
//   - every character is one of 0-9 and A-Z except I, O, S, V and Z;
//     lower case and spaces are rejected;
//   - characters 3-8, the administrative division code of the registering
//     authority, are digits;
//   - character 18 is the check character: with the weights
//     1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28 on the values of the
//     first 17 characters, its value is 31 - (sum mod 31), and 0 when that
//     is 31.
//
// The registration authority and organisation category (characters 1-2)
// and the organisation code (characters 9-17) are not checked further. A
// failure is a [*ParseError] with Subject "unified social credit code" and
// Field one of "length", "character", "region code" or "check character".
func ValidateUSCC(s string) error {
	if len(s) != usccLen {
		if utf8.RuneCountInString(s) == usccLen {
			return usccError("character", "contains characters other than 0-9 and A-Z")
		}
		return usccError("length", fmt.Sprintf("want %d characters, got %d", usccLen, utf8.RuneCountInString(s)))
	}
	sum := 0
	for i := 0; i < usccLen; i++ {
		c := s[i]
		v := strings.IndexByte(usccAlphabet, c)
		switch {
		case v >= 0:
		case 'a' <= c && c <= 'z':
			return usccError("character", fmt.Sprintf("character %d is lower-case, want upper-case", i+1))
		case c == 'I' || c == 'O' || c == 'S' || c == 'V' || c == 'Z':
			return usccError("character", fmt.Sprintf("character %d is %c, which codes never use", i+1, c))
		default:
			return usccError("character", fmt.Sprintf("character %d is not 0-9 or A-Z", i+1))
		}
		if i < usccLen-1 {
			sum += v * usccWeights[i]
		}
	}
	for i := 2; i < 8; i++ {
		if c := s[i]; c < '0' || c > '9' {
			return usccError("region code", "characters 3 to 8 must be digits")
		}
	}
	want := usccAlphabet[(31-sum%31)%31]
	if got := s[usccLen-1]; got != want {
		return usccError("check character", fmt.Sprintf("want %c, got %c", want, got))
	}
	return nil
}

func usccError(field, reason string) *ParseError {
	return &ParseError{Subject: "unified social credit code", Field: field, Reason: reason}
}
