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

// qrTargetVersion is the version the reference business licence fits as a
// plain format-version-2 text (issue 14, item 6).
const qrTargetVersion = 10

// referenceBaseURL is a 30-character public URL, the budget of the QR URL
// (issue 12, item 8).
const referenceBaseURL = "https://yzm.zwfw.fujian.gov.cn"

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
		// As the issuer names status lists: the department code, "-", 1.
		d := &issuer.Draft{
			Validated: v, Type: typ, IssuerCode: issuer.DemoDepartmentCode, Serial: serial, Version: 1,
			Status: format.StatusRef{List: format.StatusListName(issuer.DemoDepartmentCode, 1), Index: format.MinStatusListSize - 1}, KeyID: id[:], IssuedAt: now,
		}
		_, cred, err := d.Build()
		if err != nil {
			t.Fatal(err)
		}
		v1, err := format.SignCredential(k, *cred)
		if err != nil {
			t.Fatal(err)
		}
		cc, err := cred.Compact(typ.Number, 1)
		if err != nil {
			t.Fatal(err)
		}
		v2, err := format.SignCompactCredential(k, *cc)
		if err != nil {
			t.Fatal(err)
		}
		plain := format.QRText2(format.KindCredential, v2)
		u, err := format.QRURL(referenceBaseURL, format.KindCredential, v2)
		if err != nil {
			t.Fatal(err)
		}
		old := format.QRText(format.KindCredential, v1)
		versions := map[string]int{}
		for name, text := range map[string]string{"plain": plain, "url": u, "v1": old} {
			if versions[name], err = qr.VersionFor(text, qr.LevelM); err != nil {
				t.Fatal(err)
			}
		}
		name := filepath.Base(f)
		t.Logf("%s: %s, QR text %d characters, version %d at level M (format version 2, compact)", name, typ.Name, len(plain), versions["plain"])
		t.Logf("%s: as a QR URL under the %d-character %s: %d characters, version %d at level M", name, len(referenceBaseURL), referenceBaseURL, len(u), versions["url"])
		t.Logf("%s: in format version 1: %d characters, version %d at level M", name, len(old), versions["v1"])
		if name != "business.json" {
			continue
		}
		if versions["plain"] > qrTargetVersion {
			t.Errorf("%s needs QR version %d at level M as a plain text, more than the target %d", name, versions["plain"], qrTargetVersion)
		}
		if versions["url"] > qrBudgetVersion {
			t.Errorf("%s needs QR version %d at level M as a QR URL, more than the budget %d", name, versions["url"], qrBudgetVersion)
		}
		if versions["v1"] > qrBudgetVersion {
			t.Errorf("%s needs QR version %d at level M in format version 1, more than the budget %d", name, versions["v1"], qrBudgetVersion)
		}
		if len(referenceBaseURL) != 30 {
			t.Errorf("the reference public URL has %d characters, want 30", len(referenceBaseURL))
		}
	}
}
