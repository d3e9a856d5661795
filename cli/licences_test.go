package cli

import (
	"path/filepath"
	"testing"
	"time"

	"elicence/format"
	"elicence/issuer"
	"elicence/keys"
	"elicence/qr"
)

// qrBudgetVersion is the largest QR version, at level M, that the reference
// business licence may need (DESIGN.md): a version 12 code has 65 modules a
// side and still scans from a phone screen or a worn print.
const qrBudgetVersion = 12

// TestReferenceLicencesQRBudget issues every licence in testdata/licences
// as the CLI does (a 14-character serial, a status index needing the
// longest encoding), reports the QR text length and version at level M, and
// holds the reference business licence to the budget.
func TestReferenceLicencesQRBudget(t *testing.T) {
	files, err := filepath.Glob("../testdata/licences/*.json")
	if err != nil || len(files) < 3 {
		t.Fatalf("want the reference licences in testdata/licences, got %v %v", files, err)
	}
	k, err := keys.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := keys.IDOf(&k.PublicKey)
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, chinaTime)
	serial, _ := defaultSerial(now)
	for _, f := range files {
		req, err := readRequest(f)
		if err != nil {
			t.Fatal(err)
		}
		typ, err := demoType(req.Type)
		if err != nil {
			t.Fatal(err)
		}
		v, err := req.Validate(typ, now)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		d := &issuer.Draft{
			Validated: v, Type: typ, IssuerCode: issuer.DemoDepartmentCode, Serial: serial, Version: 1,
			Status: format.StatusRef{List: "1", Index: format.MinStatusListSize - 1}, KeyID: id[:], IssuedAt: now,
		}
		_, cred, err := d.Build()
		if err != nil {
			t.Fatal(err)
		}
		s, err := format.SignCredential(k, *cred)
		if err != nil {
			t.Fatal(err)
		}
		text := format.QRText(format.KindCredential, s)
		version, err := qr.VersionFor(text, qr.LevelM)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s, QR text %d characters, version %d at level M", filepath.Base(f), typ.Name, len(text), version)
		if filepath.Base(f) == "business.json" && version > qrBudgetVersion {
			t.Errorf("%s needs QR version %d at level M, more than the budget %d", filepath.Base(f), version, qrBudgetVersion)
		}
	}
}
