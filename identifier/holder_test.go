package identifier

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestValidateHolder(t *testing.T) {
	for _, tt := range []struct {
		kind  HolderKind
		code  string
		field string // "" for valid
	}{
		{HolderCitizenID, "11010519491231002X", ""},
		{HolderUSCC, "91350100M000100Y43", ""},
		{HolderCitizenID, "91350100M000100Y43", "character"},
		{HolderUSCC, "11010519491231002X", "check character"},
		{HolderCitizenID, "11010519491231002x", "character"},
		{0, "11010519491231002X", "kind"},
		{9, "91350100M000100Y43", "kind"},
	} {
		err := ValidateHolder(tt.kind, tt.code, testNow)
		if tt.field == "" {
			if err != nil {
				t.Errorf("ValidateHolder(%v, %q): %v", tt.kind, tt.code, err)
			}
			continue
		}
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Field != tt.field {
			t.Errorf("ValidateHolder(%v, %q) = %v, want *ParseError for %q", tt.kind, tt.code, err, tt.field)
		}
	}
}

func TestHolderKindString(t *testing.T) {
	for k, want := range map[HolderKind]string{
		0: "unknown", HolderCitizenID: "citizen-id", HolderUSCC: "uscc", 7: "unknown",
	} {
		if got := k.String(); got != want {
			t.Errorf("HolderKind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

// citizenIDThatIsAlsoUSCC returns a valid citizen identity number that
// also passes ValidateUSCC.
func citizenIDThatIsAlsoUSCC(t *testing.T) string {
	t.Helper()
	for n := 0; n < 1000; n++ {
		id := withMod112(t, fmt.Sprintf("11010519491231%03d", n))
		if ValidateCitizenID(id, testNow) == nil && ValidateUSCC(id) == nil {
			return id
		}
	}
	t.Fatal("no citizen id number found that is also a valid unified social credit code")
	return ""
}

// uscc18DigitsWithCitizenCheck returns a valid unified social credit code
// of 18 digits whose last one is also its MOD 11-2 citizen ID check, but
// whose "birth date" (month 13) no citizen ID number has: it looks like a
// citizen ID without being a valid one (docs/FORMAT.md §7).
func uscc18DigitsWithCitizenCheck(t *testing.T) string {
	t.Helper()
	for n := 0; n < 10000; n++ {
		id := withMod112(t, fmt.Sprintf("91350119801399%04d", n)[:17])
		if ValidateUSCC(id) == nil && ValidateCitizenID(id, testNow) != nil {
			return id
		}
	}
	t.Fatal("no such code found")
	return ""
}

func TestMaskHolder(t *testing.T) {
	both := citizenIDThatIsAlsoUSCC(t)
	lookalike := uscc18DigitsWithCitizenCheck(t)
	for _, tt := range []struct {
		name string
		kind HolderKind
		code string
		want string
	}{
		{"citizen id", HolderCitizenID, "11010519491231002X", "1101**********002X"},
		{"citizen id, other", HolderCitizenID, "440524188001010014", "4405**********0014"},
		{"uscc whole", HolderUSCC, "91350100M000100Y43", "91350100M000100Y43"},
		{"uscc given as citizen", HolderCitizenID, "91350100M000100Y43", "9135**********0Y43"},
		{"citizen id given as uscc", HolderUSCC, "11010519491231002X", "1101**********002X"},
		{"citizen id passing the uscc check", HolderUSCC, both, both[:4] + "**********" + both[14:]},
		// The rule of §7 is the shape and the MOD 11-2 check, not full
		// validity: a code that merely looks like a citizen ID is masked.
		{"uscc looking like a citizen id, impossible birth date", HolderUSCC, lookalike, lookalike[:4] + "**********" + lookalike[14:]},
		{"invalid uscc", HolderUSCC, "91350100M000100Y44", "9135**********0Y44"},
		{"unknown kind", 0, "91350100M000100Y43", "9135**********0Y43"},
		{"old 15-digit number", HolderCitizenID, "110105491231002", "***************"},
		{"short", HolderUSCC, "12345", "*****"},
		{"empty", HolderCitizenID, "", ""},
		{"non-ascii", HolderCitizenID, "１１０１０５１９４９１２３１００２Ｘ", "******************"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaskHolder(tt.kind, tt.code); got != tt.want {
				t.Errorf("MaskHolder(%v, %q) = %q, want %q", tt.kind, tt.code, got, tt.want)
			}
		})
	}
}

// TestMaskHolderNeverRevealsCitizenID masks many valid citizen identity
// numbers under every kind and checks that neither the number nor its
// birth date survives.
func TestMaskHolderNeverRevealsCitizenID(t *testing.T) {
	for n := 0; n < 1000; n++ {
		id := withMod112(t, fmt.Sprintf("11010519491231%03d", n))
		for _, kind := range []HolderKind{0, HolderCitizenID, HolderUSCC, 200} {
			got := MaskHolder(kind, id)
			if got == id || strings.Contains(got, "19491231") {
				t.Fatalf("MaskHolder(%v, %q) = %q reveals the number", kind, id, got)
			}
		}
	}
}
