package identifier

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// citizenIDLen is the length of a GB 11643 citizen identity number.
const citizenIDLen = 18

// citizenIDWeights are the GB 11643 (ISO/IEC 7064 MOD 11-2) weights of the
// first 17 digits: 2^(18-i) mod 11 for position i counted from 1.
var citizenIDWeights = [citizenIDLen - 1]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// citizenIDChecks maps the weighted sum mod 11 to the check character.
const citizenIDChecks = "10X98765432"

// earliestBirthYear is the earliest birth year ValidateCitizenID accepts.
const earliestBirthYear = 1800

// NormalizeCitizenID tidies a typed-in citizen identity number before
// [ValidateCitizenID]: it removes leading and trailing white space, turns
// full-width digits (０-９) into ASCII digits, and turns x, ｘ and Ｘ into the
// upper-case X that GB 11643 prescribes. It changes nothing else and never
// fails; the result still has to be validated.
func NormalizeCitizenID(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == 'x' || r == 'ｘ' || r == 'Ｘ':
			return 'X'
		case '０' <= r && r <= '９':
			return '0' + (r - '０')
		}
		return r
	}, strings.TrimSpace(s))
}

// ValidateCitizenID checks that s is a GB 11643 citizen identity number
// (公民身份号码) in its exact 18-character form:
//
//   - 17 digits and a check character that is a digit or an upper-case X;
//     a lower-case x, spaces or any other character are rejected (use
//     [NormalizeCitizenID] on typed-in text first);
//   - the region code (characters 1-6) does not start with 0;
//   - the birth date (characters 7-14, YYYYMMDD) is a real calendar date,
//     not before the year 1800 and not after the date that now falls on in
//     China Standard Time (UTC+8);
//   - the check character is the ISO/IEC 7064 MOD 11-2 check of the first
//     17 digits, with weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2.
//
// The old 15-digit numbers are not accepted. A failure is a [*ParseError]
// with Subject "citizen id number" and Field one of "length",
// "character", "region code", "birth date" or "check character"; its
// message never contains the number.
func ValidateCitizenID(s string, now time.Time) error {
	if err := validateCitizenIDShape(s); err != nil {
		return err
	}
	if s[0] == '0' {
		return citizenError("region code", "first digit is 0")
	}
	if err := validateBirthDate(s[6:14], now); err != nil {
		return err
	}
	if want, got := citizenIDCheck(s), s[citizenIDLen-1]; got != want {
		return citizenError("check character", fmt.Sprintf("want %c, got %c", want, got))
	}
	return nil
}

// validateCitizenIDShape checks the length and characters of a citizen
// identity number.
func validateCitizenIDShape(s string) error {
	if len(s) != citizenIDLen {
		if utf8.RuneCountInString(s) == citizenIDLen {
			return citizenError("character", "contains characters other than 0-9 and X")
		}
		return citizenError("length", fmt.Sprintf("want %d characters, got %d", citizenIDLen, utf8.RuneCountInString(s)))
	}
	for i := 0; i < citizenIDLen-1; i++ {
		if c := s[i]; c < '0' || c > '9' {
			return citizenError("character", fmt.Sprintf("character %d is not a digit", i+1))
		}
	}
	switch c := s[citizenIDLen-1]; {
	case '0' <= c && c <= '9', c == 'X':
	case c == 'x':
		return citizenError("character", "character 18 is a lower-case x, want X")
	default:
		return citizenError("character", "character 18 is not a digit or X")
	}
	return nil
}

// validateBirthDate checks the YYYYMMDD birth date of a citizen identity
// number whose characters are known to be digits.
func validateBirthDate(yyyymmdd string, now time.Time) error {
	year := atoiDigits(yyyymmdd[0:4])
	month := atoiDigits(yyyymmdd[4:6])
	day := atoiDigits(yyyymmdd[6:8])
	birth := time.Date(year, time.Month(month), day, 0, 0, 0, 0, chinaTime)
	if birth.Year() != year || int(birth.Month()) != month || birth.Day() != day {
		return citizenError("birth date", "not a calendar date")
	}
	if year < earliestBirthYear {
		return citizenError("birth date", fmt.Sprintf("before %d", earliestBirthYear))
	}
	ny, nm, nd := now.In(chinaTime).Date()
	if birth.After(time.Date(ny, nm, nd, 0, 0, 0, 0, chinaTime)) {
		return citizenError("birth date", "in the future")
	}
	return nil
}

// citizenIDCheck returns the MOD 11-2 check character of the first 17
// digits of s.
func citizenIDCheck(s string) byte {
	sum := 0
	for i, w := range citizenIDWeights {
		sum += int(s[i]-'0') * w
	}
	return citizenIDChecks[sum%11]
}

// isCitizenIDLike reports whether s has the shape and check character of a
// citizen identity number, whatever its region code and birth date.
func isCitizenIDLike(s string) bool {
	return validateCitizenIDShape(s) == nil && citizenIDCheck(s) == s[citizenIDLen-1]
}

// atoiDigits converts a string known to hold only ASCII digits.
func atoiDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func citizenError(field, reason string) *ParseError {
	return &ParseError{Subject: "citizen id number", Field: field, Reason: reason}
}
