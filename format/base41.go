package format

import (
	"fmt"
	"strings"
)

// base41Alphabet is the alphabet of the version-2 QR texts: the QR
// alphanumeric characters that pass through a URL path unchanged. Base45's
// space, '%', '+' and '/' are left out: a browser percent-encodes a space,
// '%' starts an escape, '+' means a space to some decoders, and '/'
// separates path segments (docs/FORMAT.md §4.1).
const base41Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ$*-.:"

var base41Value = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(base41Alphabet); i++ {
		t[base41Alphabet[i]] = int8(i)
	}
	return t
}()

// EncodeBase41 encodes b as Base41: Base45 (RFC 9285) with 41 in place of
// 45 and the alphabet above. Two bytes become three characters (41³ ≥
// 65 536), a final single byte two (41² ≥ 256).
func EncodeBase41(b []byte) string {
	var sb strings.Builder
	sb.Grow((len(b)/2)*3 + 2)
	for i := 0; i+1 < len(b); i += 2 {
		n := int(b[i])*256 + int(b[i+1])
		sb.WriteByte(base41Alphabet[n%41])
		sb.WriteByte(base41Alphabet[(n/41)%41])
		sb.WriteByte(base41Alphabet[n/(41*41)])
	}
	if len(b)%2 == 1 {
		n := int(b[len(b)-1])
		sb.WriteByte(base41Alphabet[n%41])
		sb.WriteByte(base41Alphabet[n/41])
	}
	return sb.String()
}

// DecodeBase41 decodes Base41 strictly, as DecodeBase45 does Base45: a
// character outside the alphabet, a dangling single character, or a group
// whose value does not fit its bytes is an error, so every accepted string
// is the one encoding of its bytes.
func DecodeBase41(s string) ([]byte, error) {
	if len(s)%3 == 1 {
		return nil, fmt.Errorf("length %d leaves a single character", len(s))
	}
	out := make([]byte, 0, len(s)/3*2+1)
	i := 0
	for ; i+3 <= len(s); i += 3 {
		a, b, c := base41Value[s[i]], base41Value[s[i+1]], base41Value[s[i+2]]
		if a|b|c < 0 {
			return nil, invalidBase41(s, i, i+3)
		}
		n := int(a) + 41*int(b) + 41*41*int(c)
		if n > 0xFFFF {
			return nil, fmt.Errorf("group at %d encodes %d, more than two bytes", i, n)
		}
		out = append(out, byte(n>>8), byte(n))
	}
	if i < len(s) {
		a, b := base41Value[s[i]], base41Value[s[i+1]]
		if a|b < 0 {
			return nil, invalidBase41(s, i, i+2)
		}
		n := int(a) + 41*int(b)
		if n > 0xFF {
			return nil, fmt.Errorf("final group at %d encodes %d, more than one byte", i, n)
		}
		out = append(out, byte(n))
	}
	return out, nil
}

func invalidBase41(s string, from, to int) error {
	for j := to - 1; j >= from; j-- {
		if base41Value[s[j]] < 0 {
			return fmt.Errorf("invalid character %q at %d", s[j], j)
		}
	}
	return fmt.Errorf("invalid group at %d", from)
}
