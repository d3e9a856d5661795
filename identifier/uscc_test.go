package identifier

import (
	"errors"
	"testing"
)

func TestValidateUSCCValid(t *testing.T) {
	for _, tt := range []struct{ code, from string }{
		{"91350100M000100Y43", "commonly cited GB 32100 example"},
		{"91110000600037341L", "commonly cited GB 32100 example"},
		// Department codes inside the published licence identifiers of
		// licence_test.go: issuers, and the defining department of a type.
		{"11430000006122244L", "issuer in national licence standard example"},
		{"11370800MB28559184", "issuer, Shandong"},
		{"11330105002500287C", "issuer, Zhejiang"},
		{"113700000045046442", "issuer, Shandong"},
		{"11100000000013338W", "type-defining department"},
		{"11100000MB03271699", "type-defining department"},
	} {
		if err := ValidateUSCC(tt.code); err != nil {
			t.Errorf("ValidateUSCC(%q) (%s): %v", tt.code, tt.from, err)
		}
	}
}

func TestValidateUSCCRejects(t *testing.T) {
	for _, tt := range []struct {
		name, in, field string
	}{
		{"empty", "", "length"},
		{"17 characters", "91350100M000100Y4", "length"},
		{"19 characters", "91350100M000100Y433", "length"},
		{"leading space", " 91350100M000100Y43", "length"},
		{"trailing space", "91350100M000100Y43 ", "length"},
		{"lower case", "91350100m000100Y43", "character"},
		{"letter I", "91350100I000100Y43", "character"},
		{"letter O", "91350100O000100Y43", "character"},
		{"letter S", "91350100S000100Y43", "character"},
		{"letter V", "91350100V000100Y43", "character"},
		{"letter Z", "91350100Z000100Y43", "character"},
		{"hyphen", "91350100-000100Y43", "character"},
		{"full-width", "９1350100M000100Y43", "character"},
		{"letter in region", "913A0100M000100Y43", "region code"},
		{"wrong check", "91350100M000100Y44", "check character"},
		{"transposed", "91350100M000100Y34", "check character"},
		{"citizen id", "11010519491231002X", "check character"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateUSCC(tt.in)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ValidateUSCC(%q) = %v, want *ParseError", tt.in, err)
			}
			if pe.Subject != "unified social credit code" || pe.Field != tt.field {
				t.Errorf("error %q: field %q, want %q", err, pe.Field, tt.field)
			}
		})
	}
}

func TestUSCCTables(t *testing.T) {
	if len(usccAlphabet) != 31 {
		t.Errorf("alphabet has %d characters, want 31", len(usccAlphabet))
	}
	// Weights are 3^(i-1) mod 31.
	w := 1
	for i, got := range usccWeights {
		if got != w {
			t.Errorf("weight %d = %d, want %d", i+1, got, w)
		}
		w = w * 3 % 31
	}
}

func TestValidateUSCCDetectsSubstitution(t *testing.T) {
	const code = "91350100M000100Y43"
	for i := 0; i < len(code); i++ {
		for j := 0; j < len(usccAlphabet); j++ {
			c := usccAlphabet[j]
			if c == code[i] || (i >= 2 && i < 8 && (c < '0' || c > '9')) {
				continue
			}
			changed := code[:i] + string(c) + code[i+1:]
			if ValidateUSCC(changed) == nil {
				t.Errorf("substituting %c at %d still validates", c, i+1)
			}
		}
	}
}
