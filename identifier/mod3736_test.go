package identifier

import (
	"strings"
	"testing"
)

// TestMod3736CheckPublished checks MOD 37,36 against check characters
// computed by others.
func TestMod3736CheckPublished(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want byte
		from string
	}{
		// The IFPI GRid (Global Release Identifier) handbook's example
		// A1-2425G-ABC1234002-M; GRid uses ISO/IEC 7064 MOD 37,36.
		{"A12425GABC1234002", 'M', "GRid handbook"},
		// Check inputs of licence identifiers quoted as examples in the
		// national licence standard for 建筑施工企业安全生产管理人员考核合格证书
		// (appendix A.2): type code, issuer code, serial and version.
		{"11100000000013338W01111430000006122244L20230000403002", 'S', "national licence standard"},
		{"11100000000013338W01111430000006122244L20230000403001", 'U', "national licence standard"},
	} {
		got, err := Mod3736Check(tt.in)
		if err != nil {
			t.Errorf("Mod3736Check(%q) (%s): %v", tt.in, tt.from, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Mod3736Check(%q) (%s) = %c, want %c", tt.in, tt.from, got, tt.want)
		}
	}
}

// mod3736Reference is ISO/IEC 7064 MOD 37,36 written out step by step as
// the standard describes the hybrid system, used to cross-check
// Mod3736Check. It returns the check character as the unique candidate
// that makes the whole string verify, rather than by the closed form.
func mod3736Reference(t *testing.T, s string) byte {
	t.Helper()
	verifies := func(full string) bool {
		const m = 36
		p := m // P1 = M
		for i := 0; i < len(full); i++ {
			a := strings.IndexByte(mod3736Alphabet, full[i])
			if a < 0 {
				t.Fatalf("reference: bad character %q", full[i])
			}
			sum := p + a
			if i == len(full)-1 {
				// The last character is the check: the string verifies
				// when P(n) + a(n) ≡ 1 (mod M).
				return sum%m == 1
			}
			r := sum % m
			if r == 0 {
				r = m
			}
			p = (2 * r) % (m + 1)
		}
		return false
	}
	var found []byte
	for i := 0; i < len(mod3736Alphabet); i++ {
		if verifies(s + mod3736Alphabet[i:i+1]) {
			found = append(found, mod3736Alphabet[i])
		}
	}
	if len(found) != 1 {
		t.Fatalf("reference: %q has %d check characters, want 1", s, len(found))
	}
	return found[0]
}

func TestMod3736CheckMatchesReference(t *testing.T) {
	inputs := []string{"0", "A", "Z", "00000000", "ZZZZZZZZ", "A12425GABC1234002"}
	// Every single character, and a spread of longer strings.
	for i := 0; i < len(mod3736Alphabet); i++ {
		inputs = append(inputs, mod3736Alphabet[i:i+1], "1"+mod3736Alphabet[i:i+1]+"9")
	}
	x := uint32(1)
	for n := 0; n < 500; n++ {
		var b strings.Builder
		for j := 0; j < 1+n%60; j++ {
			x = x*1664525 + 1013904223
			b.WriteByte(mod3736Alphabet[(x>>16)%36])
		}
		inputs = append(inputs, b.String())
	}
	for _, in := range inputs {
		got, err := Mod3736Check(in)
		if err != nil {
			t.Fatalf("Mod3736Check(%q): %v", in, err)
		}
		if want := mod3736Reference(t, in); got != want {
			t.Errorf("Mod3736Check(%q) = %c, reference %c", in, got, want)
		}
	}
}

// TestMod3736CheckDetectsSubstitution checks the property the standard
// claims for the hybrid system: every single-character substitution
// changes the check character.
func TestMod3736CheckDetectsSubstitution(t *testing.T) {
	const base = "11100000000013338W01111430000006122244L20230000403002"
	want, err := Mod3736Check(base)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(base); i++ {
		for j := 0; j < len(mod3736Alphabet); j++ {
			c := mod3736Alphabet[j]
			if c == base[i] {
				continue
			}
			changed := base[:i] + string(c) + base[i+1:]
			if got, _ := Mod3736Check(changed); got == want {
				t.Errorf("substituting %c at %d leaves check %c unchanged", c, i+1, want)
			}
		}
	}
}

func TestMod3736CheckRejects(t *testing.T) {
	for _, in := range []string{
		"",
		"a12425GABC1234002", // lower case is not folded
		"A1-2425G",          // separators are not skipped
		"1.2.156",
		" A12425GABC1234002",
		"A12425GABC1234002 ",
		"Ａ1",     // full-width letter
		"A1\x00", // NUL
	} {
		if c, err := Mod3736Check(in); err == nil {
			t.Errorf("Mod3736Check(%q) = %c, want error", in, c)
		}
	}
}
