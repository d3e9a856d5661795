package identifier

import (
	"fmt"
	"strings"
)

// LicenceIDPrefix is the root of every licence identifier: the GB/T 36904
// object identifier arc for electronic licences, followed by the dot that
// separates it from the licence type code.
const LicenceIDPrefix = "1.2.156.3005.2."

// maxCodeLen bounds the type code, issuer code and serial fields.
const maxCodeLen = 32

// maxVersion is the highest version three decimal digits can carry.
const maxVersion = 999

// LicenceID is a GB/T 36904 licence identifier (证照标识), written
//
//	1.2.156.3005.2.<type code>.<issuer code>.<serial>.<version>.<check>
//
// for example
//
//	1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.S
//
// TypeCode is the licence type code (证照类型代码). In the national catalogue
// it is 21 characters: the unified social credit code of the department that
// defines the licence type followed by a three-digit sequence number. This
// package accepts 1 to 32 characters of 0-9 and A-Z.
//
// IssuerCode is the code of the issuing department (颁发机构代码), normally
// its 18-character unified social credit code; some issuers use a shorter
// code such as an administrative division code. This package accepts 1 to 32
// characters of 0-9 and A-Z and does not apply the GB 32100 check, which
// [ValidateUSCC] does for callers that require it.
//
// Serial is the issuer's serial number (顺序号). It is text, not a number:
// issuers zero-pad serials and use up to 20 digits or more, so leading zeros
// are significant and kept. This package accepts 1 to 32 characters of 0-9
// and A-Z.
//
// Version is the licence version (版本号), 1 to 999, written as exactly three
// digits (001, 002, …) as the national licence standards do.
//
// The check character is not stored: String computes it with
// [Mod3736Check] over TypeCode, IssuerCode, Serial and the three version
// digits, concatenated without dots. The prefix is not part of the check
// input. This is how identifiers published in national licence standards
// and issued by departments are computed.
type LicenceID struct {
	TypeCode   string
	IssuerCode string
	Serial     string
	Version    int
}

// ParseLicenceID parses the text form of a licence identifier. It accepts
// only the canonical form, so String of the result returns s exactly:
// the prefix must be [LicenceIDPrefix], each code field 1 to 32 characters
// of 0-9 and A-Z (lower case is rejected), the version three digits from
// 001 to 999, and the final check character must match. Nothing is trimmed.
//
// A failure is a [*ParseError] with Subject "licence identifier" and Field
// one of "prefix", "structure", "type code", "issuer code", "serial",
// "version" or "check character".
func ParseLicenceID(s string) (LicenceID, error) {
	if !strings.HasPrefix(s, LicenceIDPrefix) {
		return LicenceID{}, licenceError("prefix", "want "+LicenceIDPrefix)
	}
	parts := strings.Split(s[len(LicenceIDPrefix):], ".")
	if len(parts) != 5 {
		return LicenceID{}, licenceError("structure",
			fmt.Sprintf("want 5 dot-separated fields after the prefix, got %d", len(parts)))
	}
	for i, field := range []string{"type code", "issuer code", "serial"} {
		if err := validateCodeField(field, parts[i]); err != nil {
			return LicenceID{}, err
		}
	}
	version, ok := parseVersion(parts[3])
	if !ok {
		return LicenceID{}, licenceError("version", "want three digits, 001 to 999")
	}
	id := LicenceID{
		TypeCode:   parts[0],
		IssuerCode: parts[1],
		Serial:     parts[2],
		Version:    version,
	}
	if len(parts[4]) != 1 {
		return LicenceID{}, licenceError("check character", "want exactly one character")
	}
	got := parts[4][0]
	if 'a' <= got && got <= 'z' {
		return LicenceID{}, licenceError("check character", "lower-case, want upper-case")
	}
	if mod3736Value(got) < 0 {
		return LicenceID{}, licenceError("check character", "want 0-9 or A-Z")
	}
	if want := id.check(); got != want {
		return LicenceID{}, licenceError("check character", fmt.Sprintf("want %c, got %c", want, got))
	}
	return id, nil
}

// Validate reports whether id can be written as a licence identifier, with
// the rules and errors of [ParseLicenceID].
func (id LicenceID) Validate() error {
	for _, f := range []struct{ name, value string }{
		{"type code", id.TypeCode},
		{"issuer code", id.IssuerCode},
		{"serial", id.Serial},
	} {
		if err := validateCodeField(f.name, f.value); err != nil {
			return err
		}
	}
	if id.Version < 1 || id.Version > maxVersion {
		return licenceError("version", fmt.Sprintf("want 1 to %d, got %d", maxVersion, id.Version))
	}
	return nil
}

// String returns the identifier in canonical form, check character
// included. If id fails [LicenceID.Validate], the check character is
// written as "?", which [ParseLicenceID] rejects.
func (id LicenceID) String() string {
	if id.Validate() != nil {
		return LicenceIDPrefix + id.TypeCode + "." + id.IssuerCode + "." + id.Serial + "." + versionDigits(id.Version) + ".?"
	}
	// Validated: the fields are 0-9 and A-Z and the version three digits,
	// so the check runs over the fields as they are written, and the
	// identifier is built in one allocation (String is on every issuance's
	// and verification's path).
	v := [3]byte{byte('0' + id.Version/100), byte('0' + id.Version/10%10), byte('0' + id.Version%10)}
	p := mod3736Start
	for _, f := range [...]string{id.TypeCode, id.IssuerCode, id.Serial, string(v[:])} {
		p = mod3736Step(p, f)
	}
	var b strings.Builder
	b.Grow(len(LicenceIDPrefix) + len(id.TypeCode) + len(id.IssuerCode) + len(id.Serial) + 3 + 5)
	for _, f := range [...]string{LicenceIDPrefix, id.TypeCode, ".", id.IssuerCode, ".", id.Serial, ".", string(v[:]), "."} {
		b.WriteString(f)
	}
	b.WriteByte(mod3736Final(p))
	return b.String()
}

// MarshalText implements [encoding.TextMarshaler]. It fails if id fails
// [LicenceID.Validate].
func (id LicenceID) MarshalText() ([]byte, error) {
	if err := id.Validate(); err != nil {
		return nil, err
	}
	return []byte(id.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with
// [ParseLicenceID].
func (id *LicenceID) UnmarshalText(text []byte) error {
	parsed, err := ParseLicenceID(string(text))
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}

// check returns the check character of a valid id.
func (id LicenceID) check() byte {
	c, err := Mod3736Check(id.TypeCode + id.IssuerCode + id.Serial + versionDigits(id.Version))
	if err != nil {
		panic("identifier: check of a validated licence identifier: " + err.Error())
	}
	return c
}

// versionDigits writes a version as "%03d" does, without fmt for the
// versions 0 to 999 (String is on every verification's path).
func versionDigits(v int) string {
	if v < 0 || v > maxVersion {
		return fmt.Sprintf("%03d", v)
	}
	return string([]byte{byte('0' + v/100), byte('0' + v/10%10), byte('0' + v%10)})
}

// parseVersion parses the version field: exactly three digits, not 000.
func parseVersion(v string) (int, bool) {
	if len(v) != 3 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n >= 1
}

// validateCodeField checks one code field of a licence identifier.
func validateCodeField(field, v string) error {
	if v == "" {
		return licenceError(field, "empty")
	}
	if len(v) > maxCodeLen {
		return licenceError(field, fmt.Sprintf("longer than %d characters", maxCodeLen))
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if mod3736Value(c) >= 0 {
			continue
		}
		if 'a' <= c && c <= 'z' {
			return licenceError(field, fmt.Sprintf("character %d is lower-case, want upper-case", i+1))
		}
		return licenceError(field, fmt.Sprintf("character %d is not 0-9 or A-Z", i+1))
	}
	return nil
}

func licenceError(field, reason string) *ParseError {
	return &ParseError{Subject: "licence identifier", Field: field, Reason: reason}
}
