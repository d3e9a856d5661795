package identifier

import (
	"errors"
	"testing"
	"time"
)

// testNow is the clock the citizen ID tests run at.
var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// withMod112 appends the ISO/IEC 7064 MOD 11-2 check character to 17
// digits, computed with the standard's pure-system recursion rather than
// the weight table, as an independent cross-check of citizenIDCheck.
func withMod112(t *testing.T, body string) string {
	t.Helper()
	if len(body) != 17 {
		t.Fatalf("withMod112: %q is not 17 digits", body)
	}
	p := 0
	for i := 0; i < len(body); i++ {
		p = (p + int(body[i]-'0')) * 2 % 11
	}
	// The check value c satisfies (p + c) mod 11 = 1; 10 is written X.
	c := (12 - p) % 11
	if c == 10 {
		return body + "X"
	}
	return body + string(rune('0'+c))
}

func TestValidateCitizenIDValid(t *testing.T) {
	for _, tt := range []struct{ id, from string }{
		// The examples of GB 11643-1999 (公民身份号码), appendix.
		{"11010519491231002X", "GB 11643-1999"},
		{"440524188001010014", "GB 11643-1999"},
		{withMod112(t, "11010520000229123"), "leap day 2000"},
		{withMod112(t, "11010518000101123"), "earliest accepted year"},
		{withMod112(t, "91010519900101123"), "region code starting with 9"},
		// 2025-06-01 12:00 UTC is 20:00 in China: born that day is allowed.
		{withMod112(t, "11010520250601123"), "born today"},
	} {
		if err := ValidateCitizenID(tt.id, testNow); err != nil {
			t.Errorf("ValidateCitizenID(%q) (%s): %v", tt.id, tt.from, err)
		}
	}
}

func TestValidateCitizenIDUsesChinaDate(t *testing.T) {
	// 2025-06-01 16:30 UTC is already 2025-06-02 in China.
	now := time.Date(2025, 6, 1, 16, 30, 0, 0, time.UTC)
	id := withMod112(t, "11010520250602123")
	if err := ValidateCitizenID(id, now); err != nil {
		t.Errorf("born on the China date of now: %v", err)
	}
	if err := ValidateCitizenID(id, now.Add(-time.Hour)); err == nil {
		t.Errorf("born the day after the China date of now: accepted")
	}
}

func TestValidateCitizenIDRejects(t *testing.T) {
	for _, tt := range []struct {
		name, in, field string
	}{
		{"empty", "", "length"},
		{"17 characters", "11010519491231002", "length"},
		{"19 characters", "11010519491231002X0", "length"},
		{"15-digit old number", "110105491231002", "length"},
		{"leading space", " 11010519491231002X", "length"},
		{"trailing space", "11010519491231002X ", "length"},
		{"space inside", "110105 9491231002X", "character"},
		{"lower-case x", "11010519491231002x", "character"},
		{"letter inside", "1101051949123100AX", "character"},
		{"X inside", "1101051949123100X2", "character"},
		{"other check letter", "11010519491231002Y", "character"},
		{"full-width digit", "１1010519491231002X", "character"},
		{"region code 0", withMod112(t, "01010519491231002"), "region code"},
		{"month 13", withMod112(t, "11010519491331002"), "birth date"},
		{"month 00", withMod112(t, "11010519490031002"), "birth date"},
		{"day 00", withMod112(t, "11010519491200002"), "birth date"},
		{"day 32", withMod112(t, "11010519491232002"), "birth date"},
		{"april 31", withMod112(t, "11010519490431002"), "birth date"},
		{"feb 29 1900", withMod112(t, "11010519000229002"), "birth date"},
		{"feb 29 2023", withMod112(t, "11010520230229002"), "birth date"},
		{"before 1800", withMod112(t, "11010517991231002"), "birth date"},
		{"tomorrow", withMod112(t, "11010520250602002"), "birth date"},
		{"far future", withMod112(t, "11010529990101002"), "birth date"},
		{"wrong check", "110105194912310021", "check character"},
		{"wrong check X", "44052418800101001X", "check character"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateCitizenID(tt.in, testNow)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ValidateCitizenID(%q) = %v, want *ParseError", tt.in, err)
			}
			if pe.Subject != "citizen id number" || pe.Field != tt.field {
				t.Errorf("error %q: field %q, want %q", err, pe.Field, tt.field)
			}
		})
	}
}

func TestCitizenIDCheckMatchesMod112(t *testing.T) {
	// Weights are 2^(18-i) mod 11.
	w := 1
	for i := len(citizenIDWeights) - 1; i >= 0; i-- {
		w = w * 2 % 11
		if citizenIDWeights[i] != w {
			t.Errorf("weight %d = %d, want %d", i+1, citizenIDWeights[i], w)
		}
	}
	x := uint32(7)
	for n := 0; n < 2000; n++ {
		b := make([]byte, 17)
		for i := range b {
			x = x*1664525 + 1013904223
			b[i] = '0' + byte((x>>16)%10)
		}
		want := withMod112(t, string(b))
		if got := string(b) + string(citizenIDCheck(want)); got != want {
			t.Fatalf("citizenIDCheck gives %s, MOD 11-2 recursion %s", got, want)
		}
	}
}

func TestCitizenIDErrorHidesNumber(t *testing.T) {
	const id = "110105194912310021"
	err := ValidateCitizenID(id, testNow)
	if err == nil {
		t.Fatal("accepted a wrong check character")
	}
	if want := "citizen id number: check character: want X, got 1"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestNormalizeCitizenID(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"11010519491231002X", "11010519491231002X"},
		{"11010519491231002x", "11010519491231002X"},
		{" 11010519491231002x\n", "11010519491231002X"},
		{"\u3000１１０１０５１９４９１２３１００２ｘ\u3000", "11010519491231002X"},
		{"11010519491231002Ｘ", "11010519491231002X"},
		{"1101 0519", "1101 0519"}, // inner spaces are not removed
		{"", ""},
	} {
		if got := NormalizeCitizenID(tt.in); got != tt.want {
			t.Errorf("NormalizeCitizenID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if err := ValidateCitizenID(NormalizeCitizenID(" 11010519491231002x "), testNow); err != nil {
		t.Errorf("normalised input: %v", err)
	}
}
