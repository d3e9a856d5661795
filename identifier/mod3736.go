package identifier

import (
	"errors"
	"fmt"
)

// mod3736Alphabet is the character set of ISO/IEC 7064 MOD 37,36: the value
// of a character is its index, so '0' is 0, 'A' is 10 and 'Z' is 35.
const mod3736Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// mod3736Value returns the value of c in mod3736Alphabet, or -1.
func mod3736Value(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'Z':
		return int(c-'A') + 10
	}
	return -1
}

// Mod3736Check returns the ISO/IEC 7064 MOD 37,36 check character for s.
//
// MOD 37,36 is the standard's hybrid system with M = 36 and M+1 = 37 over
// the alphabet 0-9A-Z; the check character is also one of 0-9A-Z. Every
// byte of s is fed to the computation, in order: s must be non-empty and
// consist only of the characters 0-9 and A-Z. Nothing is skipped or
// case-folded, so separators and lower-case letters are errors; callers
// strip separators themselves. [LicenceID] defines the input for a
// licence identifier.
func Mod3736Check(s string) (byte, error) {
	if s == "" {
		return 0, errors.New("iso 7064 mod 37,36: empty input")
	}
	for i := 0; i < len(s); i++ {
		if mod3736Value(s[i]) < 0 {
			return 0, fmt.Errorf("iso 7064 mod 37,36: character %d is %q, want 0-9 or A-Z", i+1, s[i])
		}
	}
	return mod3736Final(mod3736Step(mod3736Start, s)), nil
}

// mod3736Start is the state P(1) = M of the MOD 37,36 recursion.
const mod3736Start = 36

// mod3736Step runs the recursion over s, whose characters are all 0-9 or
// A-Z, from state p.
func mod3736Step(p int, s string) int {
	const m = 36
	for i := 0; i < len(s); i++ {
		// P(j+1) = (||P(j) + a(j)||_M × 2) mod (M+1), where ||x||_M is
		// x mod M with 0 replaced by M.
		r := (p + mod3736Value(s[i])) % m
		if r == 0 {
			r = m
		}
		p = r * 2 % (m + 1)
	}
	return p
}

// mod3736Final returns the check character for state p: the a with
// ||P + a||_M = 1.
func mod3736Final(p int) byte {
	const m = 36
	return mod3736Alphabet[(m+1-p)%m]
}
