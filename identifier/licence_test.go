package identifier

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// publishedLicenceIDs are licence identifiers issued or published by
// government departments, with the check characters their issuers
// computed.
var publishedLicenceIDs = []struct {
	id   string
	want LicenceID
	from string
}{
	{
		"1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.S",
		LicenceID{"11100000000013338W011", "11430000006122244L", "20230000403", 2},
		"national licence standard for 建筑施工企业安全生产管理人员考核合格证书, appendix A.2",
	},
	{
		"1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
		LicenceID{"11100000000013338W011", "11430000006122244L", "20230000403", 1},
		"same standard, the licence's previous version",
	},
	{
		"1.2.156.3005.2.11100000000013338W087.11370800MB28559184.37080001202411010001.001.3",
		LicenceID{"11100000000013338W087", "11370800MB28559184", "37080001202411010001", 1},
		"Shandong completion-acceptance filing; 20-digit serial",
	},
	{
		"1.2.156.3005.2.11100000MB03271699022.340100.000000016.001.9",
		LicenceID{"11100000MB03271699022", "340100", "000000016", 1},
		"Hefei; issuer is a region code, serial has leading zeros",
	},
	{
		"1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
		LicenceID{"11100000000013338W009", "11330105002500287C", "2025052201", 2},
		"Zhejiang investment project platform",
	},
}

func TestParseLicenceIDPublished(t *testing.T) {
	for _, tt := range publishedLicenceIDs {
		got, err := ParseLicenceID(tt.id)
		if err != nil {
			t.Errorf("ParseLicenceID(%q) (%s): %v", tt.id, tt.from, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseLicenceID(%q) = %+v, want %+v", tt.id, got, tt.want)
		}
		if s := got.String(); s != tt.id {
			t.Errorf("String() = %q, want %q", s, tt.id)
		}
		if s := tt.want.String(); s != tt.id {
			t.Errorf("%+v.String() = %q, want %q", tt.want, s, tt.id)
		}
	}
}

// TestLicenceIDCheckExcludesPrefix pins the choice of check input: the
// check over the fields without the prefix reproduces the published check
// characters, the check over the whole identifier without dots does not.
func TestLicenceIDCheckExcludesPrefix(t *testing.T) {
	for _, tt := range publishedLicenceIDs {
		body := tt.id[:len(tt.id)-2]
		published := tt.id[len(tt.id)-1]
		withPrefix, err := Mod3736Check(strings.ReplaceAll(body, ".", ""))
		if err != nil {
			t.Fatal(err)
		}
		if withPrefix == published {
			t.Errorf("%s: check over the prefix too also gives %c; the example does not tell the two apart", tt.id, published)
		}
	}
}

func TestParseLicenceIDRejects(t *testing.T) {
	const valid = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.S"
	long := strings.Repeat("1", 33)
	for _, tt := range []struct {
		name, in, field string
	}{
		{"empty", "", "prefix"},
		{"wrong arc", "1.2.156.3005.1.11100000000013338W011.11430000006122244L.20230000403.002.S", "prefix"},
		{"prefix only", "1.2.156.3005.2.", "structure"},
		{"leading space", " " + valid, "prefix"},
		{"trailing space", valid + " ", "check character"},
		{"trailing newline", valid + "\n", "check character"},
		{"no check", "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002", "structure"},
		{"extra field", "1.2.156.3005.2.11100000000013338W011.X.11430000006122244L.20230000403.002.S", "structure"},
		{"trailing dot", valid + ".", "structure"},
		{"empty type code", "1.2.156.3005.2..11430000006122244L.20230000403.002.S", "type code"},
		{"lower-case type code", "1.2.156.3005.2.11100000000013338w011.11430000006122244L.20230000403.002.S", "type code"},
		{"long type code", "1.2.156.3005.2." + long + ".11430000006122244L.20230000403.002.S", "type code"},
		{"empty issuer", "1.2.156.3005.2.11100000000013338W011..20230000403.002.S", "issuer code"},
		{"lower-case issuer", "1.2.156.3005.2.11100000000013338W011.11430000006122244l.20230000403.002.S", "issuer code"},
		{"long issuer", "1.2.156.3005.2.11100000000013338W011." + long + ".20230000403.002.S", "issuer code"},
		{"hyphen in serial", "1.2.156.3005.2.11100000000013338W011.11430000006122244L.2023-0000403.002.S", "serial"},
		{"underscore in serial", "1.2.156.3005.2.062301.1101101102.0624_001.001.U", "serial"},
		{"empty serial", "1.2.156.3005.2.11100000000013338W011.11430000006122244L..002.S", "serial"},
		{"long serial", "1.2.156.3005.2.11100000000013338W011.11430000006122244L." + long + ".002.S", "serial"},
		{"non-ascii serial", "1.2.156.3005.2.11100000000013338W011.11430000006122244L.２０２３.002.S", "serial"},
		{"version one digit", "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.2.S", "version"},
		{"version four digits", "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.0002.S", "version"},
		{"version zero", "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.000.S", "version"},
		{"version letter", "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.00A.S", "version"},
		{"version sign", "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.+02.S", "version"},
		{"wrong check", "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.T", "check character"},
		{"lower-case check", "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.s", "check character"},
		{"empty check", "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.", "check character"},
		{"two check characters", valid + "S", "check character"},
		{"check symbol", "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.*", "check character"},
		// Published, but its issuer's check character does not follow
		// ISO/IEC 7064 MOD 37,36 (it gives D).
		{"nonstandard check", "1.2.156.3005.2.11100000000013661B006.113700000045046442.209FA4E88F9E4C878F3E9BED2CE7EA49.001.M", "check character"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ParseLicenceID(tt.in)
			if err == nil {
				t.Fatalf("ParseLicenceID(%q) = %+v, want error", tt.in, id)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is %T, want *ParseError", err, err)
			}
			if pe.Subject != "licence identifier" || pe.Field != tt.field {
				t.Errorf("error %q: subject %q field %q, want licence identifier, %q", err, pe.Subject, pe.Field, tt.field)
			}
			if id != (LicenceID{}) {
				t.Errorf("returned %+v with the error, want zero", id)
			}
		})
	}
}

func TestParseLicenceIDErrorMessage(t *testing.T) {
	_, err := ParseLicenceID("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.T")
	const want = "licence identifier: check character: want S, got T"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestLicenceIDRoundTrip(t *testing.T) {
	for _, id := range []LicenceID{
		{"1", "1", "1", 1},
		{"Z", "Z", "0", 999},
		{"11100000000013338W011", "91350100M000100Y43", "00000000000000000001", 10},
		{strings.Repeat("A", 32), strings.Repeat("9", 32), strings.Repeat("Z", 32), 123},
	} {
		s := id.String()
		got, err := ParseLicenceID(s)
		if err != nil {
			t.Errorf("ParseLicenceID(%q) of %+v: %v", s, id, err)
			continue
		}
		if got != id {
			t.Errorf("ParseLicenceID(%q) = %+v, want %+v", s, got, id)
		}
	}
}

func TestLicenceIDValidate(t *testing.T) {
	good := LicenceID{"11100000000013338W011", "11430000006122244L", "20230000403", 2}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(%+v): %v", good, err)
	}
	for _, tt := range []struct {
		name  string
		edit  func(*LicenceID)
		field string
	}{
		{"empty type", func(id *LicenceID) { id.TypeCode = "" }, "type code"},
		{"dot in type", func(id *LicenceID) { id.TypeCode = "A.B" }, "type code"},
		{"lower issuer", func(id *LicenceID) { id.IssuerCode = "abc" }, "issuer code"},
		{"space in serial", func(id *LicenceID) { id.Serial = "1 2" }, "serial"},
		{"version 0", func(id *LicenceID) { id.Version = 0 }, "version"},
		{"version 1000", func(id *LicenceID) { id.Version = 1000 }, "version"},
		{"negative version", func(id *LicenceID) { id.Version = -1 }, "version"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := good
			tt.edit(&id)
			err := id.Validate()
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Field != tt.field {
				t.Fatalf("Validate(%+v) = %v, want *ParseError for %q", id, err, tt.field)
			}
			s := id.String()
			if !strings.HasSuffix(s, ".?") {
				t.Errorf("String() of invalid id = %q, want check character ?", s)
			}
			if _, err := ParseLicenceID(s); err == nil {
				t.Errorf("ParseLicenceID(%q) accepted the String of an invalid id", s)
			}
			if _, err := id.MarshalText(); err == nil {
				t.Errorf("MarshalText accepted an invalid id")
			}
		})
	}
}

func TestLicenceIDJSON(t *testing.T) {
	type doc struct {
		ID LicenceID `json:"id"`
	}
	in := doc{publishedLicenceIDs[0].want}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":"` + publishedLicenceIDs[0].id + `"}`; string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Errorf("round trip = %+v, want %+v", out, in)
	}
	err = json.Unmarshal([]byte(`{"id":"1.2.156.3005.2.A.B.C.001.0"}`), &out)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Field != "check character" {
		t.Errorf("unmarshal of a bad check = %v, want check character *ParseError", err)
	}
}

func FuzzParseLicenceID(f *testing.F) {
	for _, tt := range publishedLicenceIDs {
		f.Add(tt.id)
	}
	f.Add("1.2.156.3005.2.11100000000013661B006.113700000045046442.209FA4E88F9E4C878F3E9BED2CE7EA49.001.M")
	f.Add("1.2.156.3005.2.A.B.C.001.0")
	f.Add("1.2.156.3005.2.....")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseLicenceID(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseLicenceID(%q) error %v is %T, want *ParseError", s, err, err)
			}
			if id != (LicenceID{}) {
				t.Fatalf("ParseLicenceID(%q) returned %+v with an error", s, id)
			}
			return
		}
		if err := id.Validate(); err != nil {
			t.Fatalf("parsed %q but Validate: %v", s, err)
		}
		if got := id.String(); got != s {
			t.Fatalf("ParseLicenceID(%q).String() = %q", s, got)
		}
		again, err := ParseLicenceID(id.String())
		if err != nil || again != id {
			t.Fatalf("reparse of %q = %+v, %v", s, again, err)
		}
	})
}

// String, built in one allocation, writes what concatenating the fields
// with the check over their concatenation writes, for valid identifiers of
// every field length and version, and "?" as the check of invalid ones.
func TestLicenceIDStringOneAllocation(t *testing.T) {
	alphabet := "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	field := func(n, seed int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[(seed*7+i*13)%len(alphabet)]
		}
		return string(b)
	}
	for i := range 2000 {
		id := LicenceID{TypeCode: field(1+i%32, i), IssuerCode: field(1+i*5%32, i+1), Serial: field(1+i*3%32, i+2), Version: 1 + i%999}
		check, err := Mod3736Check(id.TypeCode + id.IssuerCode + id.Serial + fmt.Sprintf("%03d", id.Version))
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("%s%s.%s.%s.%03d.%c", LicenceIDPrefix, id.TypeCode, id.IssuerCode, id.Serial, id.Version, check)
		if got := id.String(); got != want {
			t.Fatalf("%+v: String %q, want %q", id, got, want)
		}
		if back, err := ParseLicenceID(want); err != nil || back != id {
			t.Fatalf("%q: parsed %+v, %v", want, back, err)
		}
	}
	id := LicenceID{TypeCode: "11100000000013338W011", IssuerCode: "11430000006122244L", Serial: "20230000403", Version: 2}
	if n := testing.AllocsPerRun(100, func() { _ = id.String() }); n != 1 {
		t.Errorf("String: %v allocations, want 1", n)
	}
	for _, bad := range []LicenceID{{TypeCode: "a", IssuerCode: "B", Serial: "1", Version: 1}, {TypeCode: "A", IssuerCode: "B", Serial: "1", Version: 0}, {}} {
		if s := bad.String(); s[len(s)-1] != '?' {
			t.Errorf("%+v: String %q, want the check ?", bad, s)
		}
	}
}
