package format

import (
	"fmt"
	"strings"
)

// base45Alphabet is the RFC 9285 alphabet: QR alphanumeric mode characters.
const base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

var base45Value = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(base45Alphabet); i++ {
		t[base45Alphabet[i]] = int8(i)
	}
	return t
}()

// EncodeBase45 encodes b as Base45 (RFC 9285).
func EncodeBase45(b []byte) string {
	var sb strings.Builder
	sb.Grow((len(b)/2)*3 + 2)
	for i := 0; i+1 < len(b); i += 2 {
		n := int(b[i])*256 + int(b[i+1])
		sb.WriteByte(base45Alphabet[n%45])
		sb.WriteByte(base45Alphabet[(n/45)%45])
		sb.WriteByte(base45Alphabet[n/2025])
	}
	if len(b)%2 == 1 {
		n := int(b[len(b)-1])
		sb.WriteByte(base45Alphabet[n%45])
		sb.WriteByte(base45Alphabet[n/45])
	}
	return sb.String()
}

// DecodeBase45 decodes Base45 (RFC 9285), refusing characters outside the
// alphabet, a dangling single character, and groups whose value does not fit
// (so every accepted string is the one encoding of its bytes).
func DecodeBase45(s string) ([]byte, error) {
	if len(s)%3 == 1 {
		return nil, fmt.Errorf("length %d leaves a single character", len(s))
	}
	out := make([]byte, 0, len(s)/3*2+1)
	i := 0
	for ; i+3 <= len(s); i += 3 {
		a, b, c := base45Value[s[i]], base45Value[s[i+1]], base45Value[s[i+2]]
		if a|b|c < 0 {
			return nil, invalidBase45(s, i, i+3)
		}
		n := int(a) + 45*int(b) + 2025*int(c)
		if n > 0xFFFF {
			return nil, fmt.Errorf("group at %d encodes %d, more than two bytes", i, n)
		}
		out = append(out, byte(n>>8), byte(n))
	}
	if i < len(s) {
		a, b := base45Value[s[i]], base45Value[s[i+1]]
		if a|b < 0 {
			return nil, invalidBase45(s, i, i+2)
		}
		n := int(a) + 45*int(b)
		if n > 0xFF {
			return nil, fmt.Errorf("final group at %d encodes %d, more than one byte", i, n)
		}
		out = append(out, byte(n))
	}
	return out, nil
}

// invalidBase45 names the last character of s[from:to] outside the
// alphabet, as the group is read from its most significant character.
func invalidBase45(s string, from, to int) error {
	for j := to - 1; j >= from; j-- {
		if base45Value[s[j]] < 0 {
			return fmt.Errorf("invalid character %q at %d", s[j], j)
		}
	}
	return fmt.Errorf("invalid group at %d", from)
}
